//! A README as blocks (paragraphs and table rows), each with the results files it cites.

use std::path::{Path, PathBuf};

/// A paragraph, a list item or one table row, with code spans, link targets and comments taken out.
#[derive(Debug)]
pub struct Block {
    /// 1-based line of its first line.
    pub line: usize,
    /// The text left after cleaning (for a row: with its `|` separators).
    pub text: String,
    /// Whether it is a table data row (header and separator rows are not blocks).
    pub is_row: bool,
    /// The results files it cites: its own links to results files, else the marker's.
    pub cites: Vec<PathBuf>,
}

/// The marker comment that cites results files for what follows it.
pub const MARKER: &str = "<!-- figures:";

/// The blocks of `text`, a README in directory `dir`; marker paths are relative to `root`.
/// Fenced code and headings are not blocks. Errors name a cited file that does not exist.
pub fn blocks(text: &str, dir: &Path, root: &Path) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut marker: Vec<PathBuf> = Vec::new();
    let mut paragraph: Option<(usize, String)> = None;
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        let in_table = line.starts_with('|');
        let list_item = line.starts_with("- ")
            || line.starts_with("* ")
            || line
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let ends_paragraph = line.is_empty()
            || list_item
            || in_table
            || line.starts_with('#')
            || line.starts_with("```")
            || line.starts_with(MARKER);
        if ends_paragraph || in_fence {
            if let Some((at, text)) = paragraph.take() {
                out.push(block(at, &text, false, &marker, dir)?);
            }
        }
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(rest) = line.strip_prefix(MARKER) {
            marker = marker_files(rest, root, i + 1)?;
        } else if line.starts_with('#') {
            marker.clear();
        } else if in_table {
            let next_is_separator = lines.get(i + 1).is_some_and(|l| is_separator(l));
            if !is_separator(line) && !next_is_separator {
                out.push(block(i + 1, line, true, &marker, dir)?);
            }
        } else if !line.is_empty() {
            let p = paragraph.get_or_insert((i + 1, String::new()));
            p.1.push(' ');
            p.1.push_str(line);
        }
    }
    if let Some((at, text)) = paragraph {
        out.push(block(at, &text, false, &marker, dir)?);
    }
    Ok(out)
}

fn is_separator(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('|') && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// `<!-- figures: a b -->`: paths from the workspace root; `none` cites nothing.
fn marker_files(rest: &str, root: &Path, line: usize) -> Result<Vec<PathBuf>, String> {
    let list = rest
        .split("-->")
        .next()
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty() && *p != "none");
    list.map(|p| existing(&root.join(p), line)).collect()
}

fn existing(path: &Path, line: usize) -> Result<PathBuf, String> {
    path.canonicalize()
        .map_err(|e| format!("line {line}: cited results file {}: {e}", path.display()))
}

fn block(
    line: usize,
    raw: &str,
    is_row: bool,
    marker: &[PathBuf],
    dir: &Path,
) -> Result<Block, String> {
    let (text, targets) = clean(raw);
    let mut cites = Vec::new();
    for target in targets {
        let path = target.split('#').next().unwrap_or_default();
        let is_results =
            path.contains("results/") && [".md", ".json", ".txt"].iter().any(|e| path.ends_with(e));
        if is_results {
            cites.push(existing(&dir.join(path), line)?);
        }
    }
    if cites.is_empty() {
        cites = marker.to_vec();
    }
    Ok(Block {
        line,
        text,
        is_row,
        cites,
    })
}

/// Takes out link targets (returned), code spans and HTML comments.
fn clean(raw: &str) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut targets = Vec::new();
    let mut rest = raw;
    while let Some(at) = rest.find("](") {
        text.push_str(&rest[..=at]);
        let after = &rest[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        targets.push(after[..end].to_string());
        rest = &after[(end + 1).min(after.len())..];
    }
    text.push_str(rest);
    let mut out = String::new();
    let mut in_code = false;
    let mut in_comment = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if in_comment {
            if text[i..].starts_with("-->") {
                in_comment = false;
                chars.nth(1);
            }
        } else if text[i..].starts_with("<!--") {
            in_comment = true;
        } else if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else if !in_code {
            out.push(c);
        }
    }
    (out, targets)
}
