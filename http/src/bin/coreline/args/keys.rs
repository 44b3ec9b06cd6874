//! The settings as given, key by key (`serve`'s long flag names, as in the config file):
//! what SIGHUP compares to tell which keys a new config file changed.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;

use clap::parser::ValueSource;
use clap::ArgMatches;

/// Each key given (on the command line or in the config file) and its raw values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys(BTreeMap<String, Vec<OsString>>);

impl Keys {
    /// The keys `matches` (of the `serve` command) gives.
    pub fn of(serve: &clap::Command, matches: &ArgMatches) -> Keys {
        let mut keys = BTreeMap::new();
        for arg in serve.get_arguments() {
            let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else {
                continue;
            };
            // Only what was given: switches report `false` as a default value.
            if matches.value_source(id) != Some(ValueSource::CommandLine) {
                continue;
            }
            let values = matches.get_raw(id).map(|v| v.map(OsString::from).collect());
            keys.insert(long.to_string(), values.unwrap_or_default());
        }
        Keys(keys)
    }

    /// The keys whose values differ between `self` and `other` (given in one only, or
    /// with other values), in name order.
    pub fn changed<'a>(&'a self, other: &'a Keys) -> Vec<&'a str> {
        let names: BTreeSet<&String> = self.0.keys().chain(other.0.keys()).collect();
        names
            .into_iter()
            .filter(|name| self.0.get(*name) != other.0.get(*name))
            .map(String::as_str)
            .collect()
    }

    /// A copy of `self` with the keys `names` as `other` has them.
    pub fn with(&self, other: &Keys, names: &[&str]) -> Keys {
        let mut out = self.clone();
        for &name in names {
            match other.0.get(name) {
                Some(values) => out.0.insert(name.to_string(), values.clone()),
                None => out.0.remove(name),
            };
        }
        out
    }
}

/// `key=value key=value1,value2 switch=true`, in name order.
impl fmt::Display for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, values)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let values: Vec<_> = values.iter().map(|v| v.to_string_lossy()).collect();
            write!(f, "{sep}{key}={}", values.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::args::{parse, Command};

    fn serve(args: &[&str]) -> crate::args::Serve {
        match parse(args.iter().copied()) {
            Ok(Command::Serve(s)) => *s,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn keys_tell_what_changed() {
        let old = serve(&[
            "serve",
            "--cpus",
            "0",
            "--log-level",
            "warn",
            "--reuse-port",
        ])
        .keys;
        let new = serve(&[
            "serve",
            "--cpus",
            "0",
            "--log-level",
            "info",
            "--backlog",
            "8",
        ])
        .keys;
        assert_eq!(old.changed(&new), ["backlog", "log-level", "reuse-port"]);
        assert!(old.changed(&old).is_empty());
        // Taking only log-level from the new keys leaves the other two changed.
        let applied = old.with(&new, &["log-level"]);
        assert_eq!(applied.changed(&new), ["backlog", "reuse-port"]);
        assert_eq!(applied.to_string(), "cpus=0 log-level=info reuse-port=true");
    }
}
