//! Which CPUs the runtime runs on: parsing CPU lists and checking them against the
//! process's affinity mask.

use crate::error::Error;
use crate::sys;

/// Which CPUs get a core (a pinned thread with its own ring).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cores {
    /// Every CPU this process may run on.
    #[default]
    All,
    /// The first `n` CPUs this process may run on.
    Count(usize),
    /// Exactly these CPUs.
    List(Vec<usize>),
}

impl Cores {
    /// Parses `"all"` or a CPU list like `"0"`, `"0,1"` or `"0-3"`.
    /// Use [`Cores::Count`] directly for a count.
    pub fn parse_list(spec: &str) -> Result<Cores, Error> {
        if spec.trim() == "all" {
            return Ok(Cores::All);
        }
        cpu_numbers(spec).map(Cores::List)
    }

    /// Parses a CPU list like `"0"`, `"0,1"` or `"0-3"` that must name at least one CPU,
    /// each once (for tools that pin their own threads rather than build a runtime).
    pub fn parse_cpus(spec: &str) -> Result<Vec<usize>, Error> {
        let cpus = cpu_numbers(spec)?;
        if cpus.is_empty() {
            return Err(Error::Cores(format!("'{spec}' names no CPU")));
        }
        for (i, cpu) in cpus.iter().enumerate() {
            if cpus[..i].contains(cpu) {
                return Err(Error::Cores(format!("CPU {cpu} is listed twice")));
            }
        }
        Ok(cpus)
    }

    pub(crate) fn resolve(&self) -> Result<Vec<usize>, Error> {
        let allowed = sys::allowed_cpus()?;
        let cpus = match self {
            Cores::All => allowed.clone(),
            Cores::Count(n) => {
                if *n == 0 || *n > allowed.len() {
                    return Err(Error::Cores(format!(
                        "asked for {n} cores but this process may use {} CPUs",
                        allowed.len()
                    )));
                }
                allowed[..*n].to_vec()
            }
            Cores::List(list) => list.clone(),
        };
        if cpus.is_empty() {
            return Err(Error::Cores("no CPUs selected".into()));
        }
        for (i, cpu) in cpus.iter().enumerate() {
            if !allowed.contains(cpu) {
                return Err(Error::Cores(format!(
                    "CPU {cpu} is not available to this process (allowed: {allowed:?})"
                )));
            }
            if cpus[..i].contains(cpu) {
                return Err(Error::Cores(format!("CPU {cpu} is listed twice")));
            }
        }
        Ok(cpus)
    }
}

/// The CPU numbers of a list of numbers and ranges, in the order written.
fn cpu_numbers(spec: &str) -> Result<Vec<usize>, Error> {
    /// No machine has more CPUs in one range; a longer one is a typo, not a list to expand.
    const MAX_RANGE: usize = 4096;
    let mut cpus = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || Error::Cores(format!("'{part}' in '{spec}' is not a CPU number or range"));
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                if a > b || b - a > MAX_RANGE {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_explicit_cpus() {
        assert_eq!(Cores::parse_list("all").unwrap(), Cores::All);
        assert_eq!(
            Cores::parse_list("0-2, 5").unwrap(),
            Cores::List(vec![0, 1, 2, 5])
        );
        assert_eq!(Cores::parse_cpus("3,1").unwrap(), vec![3, 1]);
        for bad in ["", "all", "1,1", "0-1,1", "2-1", "x", "0-999999"] {
            assert!(Cores::parse_cpus(bad).is_err(), "{bad}");
        }
    }
}
