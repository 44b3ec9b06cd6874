//! A grouped bar chart as a self-contained SVG (no plotting crate): one group per scenario,
//! one bar per ratio series, a dashed line at 1.0, the value above each bar.

use std::fmt::Write as _;

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Group (scenario) label; groups keep first-seen order.
    pub group: String,
    /// Series (e.g. `coreline/nginx`); each series has its own colour.
    pub series: String,
    /// Height.
    pub value: f64,
}

const COLOURS: [&str; 4] = ["#3b6fb6", "#e08a2c", "#5a9e4b", "#9a5ab0"];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Draws `bars` under `title`. Non-finite values are drawn as zero-height bars labelled "n/a".
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let mut groups: Vec<&str> = Vec::new();
    let mut series: Vec<&str> = Vec::new();
    for b in bars {
        if !groups.contains(&b.group.as_str()) {
            groups.push(&b.group);
        }
        if !series.contains(&b.series.as_str()) {
            series.push(&b.series);
        }
    }
    let top = bars
        .iter()
        .map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max)
        * 1.15;
    let (left, plot_h, bar_w, gap) = (50.0, 300.0, 22.0, 26.0);
    let group_w = bar_w * series.len() as f64 + gap;
    let width = left + group_w * groups.len() as f64 + 20.0;
    let height = plot_h + 150.0; // room for the slanted scenario names and the legend
    let y = |v: f64| 40.0 + plot_h * (1.0 - v / top);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{left}" y="20" font-size="13">{}</text>"#,
        escape(title)
    );
    for tick in 0..=4 {
        let v = top * tick as f64 / 4.0;
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{:.0}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.0}" y="{:.1}" text-anchor="end">{v:.2}</text>"##,
            width - 20.0,
            left - 4.0,
            y(v) + 4.0,
            y = y(v)
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{left}" x2="{:.0}" y1="{y1:.1}" y2="{y1:.1}" stroke="#c00" stroke-dasharray="4 3"/>"##,
        width - 20.0,
        y1 = y(1.0)
    );
    for (gi, g) in groups.iter().enumerate() {
        let x0 = left + gap / 2.0 + group_w * gi as f64;
        for (si, name) in series.iter().enumerate() {
            let Some(b) = bars.iter().find(|b| b.group == *g && b.series == *name) else {
                continue;
            };
            let x = x0 + bar_w * si as f64;
            let (v, label) = if b.value.is_finite() {
                (b.value, format!("{:.2}", b.value))
            } else {
                (0.0, "n/a".into())
            };
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
                y(v),
                bar_w - 2.0,
                plot_h + 40.0 - y(v),
                COLOURS[si % COLOURS.len()]
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9">{label}</text>"#,
                x + bar_w / 2.0 - 1.0,
                y(v) - 3.0
            );
        }
        let cx = x0 + bar_w * series.len() as f64 / 2.0;
        let _ = writeln!(
            s,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="end" transform="rotate(-35 {cx:.1} {:.1})">{}</text>"#,
            plot_h + 55.0,
            plot_h + 55.0,
            escape(g)
        );
    }
    for (si, name) in series.iter().enumerate() {
        let x = left + 130.0 * si as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{:.0}" width="10" height="10" fill="{}"/><text x="{:.0}" y="{:.0}">{}</text>"#,
            height - 18.0,
            COLOURS[si % COLOURS.len()],
            x + 14.0,
            height - 9.0,
            escape(name)
        );
    }
    s += "</svg>\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rect_per_bar_and_escaped_labels() {
        let bars = vec![
            Bar {
                group: "plain64".into(),
                series: "coreline/nginx".into(),
                value: 1.2,
            },
            Bar {
                group: "plain64".into(),
                series: "coreline/hyper".into(),
                value: f64::NAN,
            },
            Bar {
                group: "a<b".into(),
                series: "coreline/nginx".into(),
                value: 0.5,
            },
        ];
        let svg = bar_chart("t & t", &bars);
        // background + 3 bars + 2 legend swatches
        assert_eq!(svg.matches("<rect").count(), 6, "{svg}");
        assert!(
            svg.contains(">1.20<")
                && svg.contains(">n/a<")
                && svg.contains("a&lt;b")
                && svg.contains("t &amp; t")
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}
