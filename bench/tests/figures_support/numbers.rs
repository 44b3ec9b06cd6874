//! Finding numbers in text: every number of a results file, and the figure-shaped numbers of
//! a README paragraph or table cell.

/// A number as a README writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Quoted {
    /// The text as written, e.g. `1,642,649`, `0.86`, `4.15` (of `4.15 G`).
    pub text: String,
    /// Its value without the thousands separators.
    pub value: f64,
    /// Decimal places written: the precision a results file's value is rounded to.
    pub decimals: i32,
    /// 1, or 10³ / 10⁶ / 10⁹ for a `K` / `M` / `G` after it (`962 K`, `2.27 M`, `4.15 G`).
    pub scale: f64,
    /// The unit right after it, one of [`UNITS`] or a glued `x`.
    pub unit: Option<&'static str>,
    /// Written after `≈` or `~`: its trailing zeros are not significant (`≈ 2,800`).
    pub approximate: bool,
    /// Written after `<`, `>`, `≤` or `≥`: a bound (a test's threshold), not a measurement.
    pub bound: bool,
}

impl Quoted {
    /// A ratio, share or duration with decimals (`1.13×`, `8.2 %`, `0.57 µs`): a measurement
    /// wherever it stands, so it must sit where a results file is cited.
    pub fn is_measurement(&self) -> bool {
        self.decimals > 0 && self.unit.is_some_and(|u| u != "req/s")
    }

    /// Whether some value of a results file, divided by the scale and rounded to the
    /// decimals written, is this number (`9.59` matches `9.592`, `962 K` matches `962,096`).
    /// An approximation (`≈ 2,800`) is rounded to its significant digits (`2,827` matches),
    /// and a time in µs or ms may stand in the file in the other unit (`20 µs`, `0.02 ms`).
    pub fn found_in(&self, values: &[f64]) -> bool {
        let mut precision = 10f64.powi(-self.decimals);
        if self.approximate && self.decimals == 0 {
            let digits = self.text.replace(',', "");
            let zeros = digits.len() - digits.trim_end_matches('0').len();
            precision = 10f64.powi(zeros.min(digits.len() - 1) as i32);
        }
        let tolerance = 0.5 * precision + 1e-9;
        let other_unit = match self.unit {
            Some("µs" | "us") => 1e-3,
            Some("ms") => 1e3,
            _ => self.scale,
        };
        values.iter().any(|v| {
            [self.scale, other_unit]
                .iter()
                .any(|scale| (v / scale - self.value).abs() <= tolerance)
        })
    }
}

/// One number found at `start..end` (char indices) of a text.
#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    text: String,
}

const SPACES: [char; 3] = [' ', '\u{a0}', '\u{202f}'];
/// Units that make a bare integer a measurement in prose.
const UNITS: [&str; 7] = ["×", "%", "ms", "µs", "us", "ns", "req/s"];

/// Every number in `text`, digits inside words included (`plain1024` gives 1024): what a
/// README number is looked up in.
pub fn all_values(text: &str) -> Vec<f64> {
    let chars: Vec<char> = text.chars().collect();
    scan(&chars, false)
        .iter()
        .map(|t| t.text.replace(',', "").parse().unwrap())
        .collect()
}

/// Every number of `text` that stands alone (not part of a word such as `v769`, `face029`).
pub fn all_quoted(text: &str) -> Vec<Quoted> {
    let chars: Vec<char> = text.chars().collect();
    scan(&chars, true)
        .into_iter()
        .map(|t| quoted(&chars, t))
        .collect()
}

/// The figure-shaped numbers of prose: with a thousands separator, with decimals, with a
/// `K`/`M`/`G` scale, or followed by a unit of [`UNITS`] (directly or as the first number
/// of a range `A–B unit`).
pub fn figure_shaped(text: &str) -> Vec<Quoted> {
    let chars: Vec<char> = text.chars().collect();
    let tokens = scan(&chars, true);
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let formatted = t.text.contains(',') || t.text.contains('.');
        let mut unit = unit_after(&chars, t.end).is_some();
        if !unit {
            // `98–99 %`: the first number of a range takes the unit of the second.
            if let Some(next) = tokens.get(i + 1) {
                let gap: String = chars[t.end..next.start].iter().collect();
                if gap.trim_matches(&SPACES[..]) == "–" {
                    unit = unit_after(&chars, next.end).is_some();
                }
            }
        }
        let q = quoted(&chars, t.clone());
        if formatted || unit || q.scale != 1.0 {
            out.push(q);
        }
    }
    out
}

/// Whether a table cell holds only numbers and units (`227,734`, `3.61 / 3.94`, `0.04 ms`,
/// `0 (0)`): then every number in it is a figure.
pub fn is_numeric_cell(cell: &str) -> bool {
    cell.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .all(|w| matches!(w, "ms" | "µs" | "us" | "ns" | "s" | "x" | "K" | "M" | "G"))
        && cell.chars().any(|c| c.is_ascii_digit())
}

/// Numbers of `chars`; with `standalone`, only those not glued to a word before or after
/// (a unit or scale letter may follow).
fn scan(chars: &[char], standalone: bool) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        // Thousands groups: a comma and exactly three digits.
        while chars.get(i) == Some(&',')
            && chars[i + 1..]
                .iter()
                .take(3)
                .filter(|c| c.is_ascii_digit())
                .count()
                == 3
            && !chars.get(i + 4).is_some_and(char::is_ascii_digit)
        {
            i += 4;
        }
        if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
        // `127.0.0.1`, `6.18.44`, `10.99.x.y`: an address or version, not a figure.
        let number_end = i;
        let mut dotted = false;
        while standalone
            && chars.get(i) == Some(&'.')
            && chars.get(i + 1).is_some_and(|c| c.is_alphanumeric())
        {
            dotted = true;
            i += 1;
            while chars.get(i).is_some_and(|c| c.is_alphanumeric()) {
                i += 1;
            }
        }
        let glued_before = start > 0
            && (chars[start - 1].is_alphanumeric() || matches!(chars[start - 1], '.' | '_'));
        let glued_after = chars
            .get(i)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
            && unit_after(chars, i).is_none()
            && scale_after(chars, i).is_none();
        if !standalone || !(glued_before || glued_after || dotted) {
            out.push(Token {
                start,
                end: number_end,
                text: chars[start..number_end].iter().collect(),
            });
        }
    }
    out
}

fn quoted(chars: &[char], t: Token) -> Quoted {
    let decimals = t.text.split_once('.').map_or(0, |(_, d)| d.len() as i32);
    Quoted {
        value: t.text.replace(',', "").parse().unwrap(),
        decimals,
        scale: scale_after(chars, t.end).unwrap_or(1.0),
        unit: unit_after(chars, t.end),
        approximate: ["≈", "~"].contains(&word_before(chars, t.start)),
        bound: ["<", ">", "≤", "≥"].contains(&word_before(chars, t.start)),
        text: t.text,
    }
}

/// The non-space character before `start`, skipping spaces, as a string (`≈`, `<`, …).
fn word_before(chars: &[char], start: usize) -> &'static str {
    let mut at = start;
    while at > 0 && SPACES.contains(&chars[at - 1]) {
        at -= 1;
    }
    match at.checked_sub(1).map(|i| chars[i]) {
        Some('≈') => "≈",
        Some('~') => "~",
        Some('<') => "<",
        Some('>') => ">",
        Some('≤') => "≤",
        Some('≥') => "≥",
        _ => "",
    }
}

/// The index after the spaces that follow `at`.
fn skip_spaces(chars: &[char], mut at: usize) -> usize {
    while chars.get(at).is_some_and(|c| SPACES.contains(c)) {
        at += 1;
    }
    at
}

/// Whether `word` is at `at` and not followed by another letter.
fn word_at(chars: &[char], at: usize, word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    chars.get(at..at + w.len()) == Some(&w[..])
        && !chars.get(at + w.len()).is_some_and(|c| c.is_alphabetic())
}

fn unit_after(chars: &[char], end: usize) -> Option<&'static str> {
    if word_at(chars, end, "x") {
        return Some("x");
    }
    let at = skip_spaces(chars, end);
    UNITS.into_iter().find(|u| word_at(chars, at, u))
}

fn scale_after(chars: &[char], end: usize) -> Option<f64> {
    let at = skip_spaces(chars, end);
    [("K", 1e3), ("M", 1e6), ("G", 1e9)]
        .into_iter()
        .find(|(w, _)| word_at(chars, at, w))
        .map(|(_, s)| s)
}
