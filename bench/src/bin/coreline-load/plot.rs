//! `--plot FILE`: the latency percentile spectrum as an SVG, drawn like HdrHistogram's
//! plotter: x is the percentile on a log scale of 1/(1-p) (0 %, 90 %, 99 % ... 99.999 %
//! equally spaced), y is the latency in milliseconds.

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 500.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
/// Decades of 1/(1-p) shown: 0 % up to 99.999 %.
const DECADES: f64 = 5.0;
/// Points along the curve.
const STEPS: usize = 400;

/// Writes the plot of `latency_us` to `path`, titled `title`.
pub fn write(path: &Path, latency_us: &Histogram<u64>, title: &str) -> Result<(), String> {
    std::fs::write(path, svg(latency_us, title))
        .map_err(|e| format!("--plot {}: {e}", path.display()))
}

/// The SVG document.
pub fn svg(latency_us: &Histogram<u64>, title: &str) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max_ms = (latency_us.max() as f64 / 1000.0).max(0.001);
    let (y_top, y_step) = nice_axis(max_ms);
    let x_at = |decade: f64| LEFT + decade / DECADES * plot_w;
    let y_at = |ms: f64| TOP + plot_h - ms / y_top * plot_h;

    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"25\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
        WIDTH / 2.0,
        escape(title)
    );
    // Grid and labels: x at each decade, y at each step.
    for d in 0..=DECADES as usize {
        let x = x_at(d as f64);
        let label = match d {
            0 => "0%".to_string(),
            _ => format!("{}%", 100.0 - 100.0 / 10f64.powi(d as i32)),
        };
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>\n",
            TOP + plot_h,
            TOP + plot_h + 18.0
        );
    }
    let mut v = 0.0;
    while v <= y_top + y_step / 2.0 {
        let y = y_at(v);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            trim(v)
        );
        v += y_step;
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">percentile</text>\n\
         <text x=\"18\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {:.1})\">\
         latency (ms)</text>\n\
         <rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" \
         stroke=\"black\"/>\n",
        LEFT + plot_w / 2.0,
        HEIGHT - 15.0,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    // The curve: the latency at each percentile, stepping evenly along the log axis.
    let mut points = String::new();
    for i in 0..=STEPS {
        let decade = DECADES * i as f64 / STEPS as f64;
        let quantile = 1.0 - 10f64.powf(-decade);
        let ms = latency_us.value_at_quantile(quantile) as f64 / 1000.0;
        let _ = write!(points, "{:.1},{:.1} ", x_at(decade), y_at(ms));
    }
    let _ = write!(
        s,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n</svg>\n",
        points.trim_end()
    );
    s
}

/// A round axis top at or above `max` and a step that divides it into 4 to 10 parts.
fn nice_axis(max: f64) -> (f64, f64) {
    let magnitude = 10f64.powf(max.log10().floor());
    let step = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| (max / step).ceil() <= 10.0)
        .unwrap_or(magnitude);
    ((max / step).ceil().max(1.0) * step, step)
}

/// A tick label without float noise.
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_is_round_and_covers_the_max() {
        for max in [0.003, 0.9, 1.0, 7.3, 12.0, 250.0, 9999.0] {
            let (top, step) = nice_axis(max);
            assert!(top >= max && top / step <= 10.5, "{max}: {top} {step}");
        }
    }

    #[test]
    fn curve_has_every_point() {
        let mut h = crate::stats::histogram();
        for v in 1..=10_000 {
            h.record(v).unwrap();
        }
        let svg = svg(&h, "a <b>");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt;b&gt;") && svg.contains("99.999%"));
        let points = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), STEPS + 1);
    }
}
