//! `--config FILE`: a TOML file whose keys are `serve`'s long flag names, read into the
//! arguments those flags would be. Every value then goes through the flag's own parser, so
//! the file and the command line accept exactly the same things.
//!
//! ```toml
//! listen = ["127.0.0.1:8080", ":8443"]   # a repeatable flag: a list (or one string)
//! max-connections = 10000                # numbers as numbers or strings
//! reuse-port = true                      # a switch: true or false
//! tcp-nodelay = "off"                    # on|off flags also take true/false
//! ```

use std::path::Path;

use clap::{Arg, ArgAction};
use toml::de::{DeTable, DeValue};

/// One key of the file as arguments.
#[derive(Debug, Clone)]
pub struct FileArg {
    /// The flag's id (to see whether the command line gives it too).
    pub id: String,
    /// `--key VALUE...`, or `--key` for a switch set to true, or nothing.
    pub args: Vec<String>,
}

/// Keys of `serve` that are not settings.
const NOT_KEYS: &[&str] = &["config", "help", "version"];

/// Reads `path` as `serve` arguments. `Err` is one line: `FILE:LINE: what is wrong`.
pub fn read(path: &Path, serve: &clap::Command) -> Result<Vec<FileArg>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let at = |offset: usize, message: &str| {
        let before = &text.as_bytes()[..offset.min(text.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        format!("{shown}:{line}: {message}")
    };
    let table = DeTable::parse(&text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        at(offset, e.message().trim())
    })?;
    let mut out = Vec::new();
    for (key, value) in table.get_ref() {
        let name: &str = key.get_ref();
        let flag = serve
            .get_arguments()
            .find(|a| a.get_long() == Some(name) && !NOT_KEYS.contains(&name))
            .ok_or_else(|| at(key.span().start, &format!("unknown key '{name}'")))?;
        let args = arguments(flag, name, value.get_ref())
            .map_err(|e| at(key.span().start, &format!("{name}: {e}")))?;
        // Each value alone through its parser, so an error points at this line.
        let mut alone = vec!["serve".to_string()];
        alone.extend(args.iter().cloned());
        if let Err(e) = serve.clone().try_get_matches_from(alone) {
            return Err(at(key.span().start, &super::one_line(&e)));
        }
        out.push(FileArg {
            id: flag.get_id().to_string(),
            args,
        });
    }
    Ok(out)
}

/// The arguments a key's value stands for.
fn arguments(flag: &Arg, name: &str, value: &DeValue<'_>) -> Result<Vec<String>, String> {
    let long = format!("--{name}");
    match flag.get_action() {
        ArgAction::SetTrue => match value.as_bool() {
            Some(true) => Ok(vec![long]),
            Some(false) => Ok(Vec::new()),
            None => Err("takes true or false".into()),
        },
        ArgAction::Append => {
            let items: Vec<&DeValue<'_>> = match value.as_array() {
                Some(list) => list.iter().map(|v| v.get_ref()).collect(),
                None => vec![value],
            };
            let mut args = Vec::new();
            for item in items {
                args.push(long.clone());
                args.push(scalar(item)?);
            }
            Ok(args)
        }
        _ => Ok(vec![long, scalar(value)?]),
    }
}

/// A string, number or boolean as the text a flag would be given (`true`/`false` as
/// `on`/`off`).
fn scalar(value: &DeValue<'_>) -> Result<String, String> {
    match value {
        DeValue::String(s) => Ok(s.to_string()),
        DeValue::Integer(n) => i128::from_str_radix(n.as_str(), n.radix())
            .map(|n| n.to_string())
            .map_err(|e| e.to_string()),
        DeValue::Float(x) => Ok(x.as_str().to_string()),
        DeValue::Boolean(b) => Ok(if *b { "on" } else { "off" }.to_string()),
        other => Err(format!("takes a single value, not {}", other.type_str())),
    }
}
