//! Whether a run can be trusted on a shared machine: the CPUs were quiet before it, other
//! processes took little of the pinned CPUs during it, and a closed-loop run saturated a side.

use crate::measure::{limit, Measured, OTHER_PCT};
use crate::procstat::QUIET_PCT;

/// Why a run cannot be trusted on a shared machine, or `None`.
pub fn disturbed(
    m: &Measured,
    busy_before: f64,
    waited: bool,
    closed_loop: bool,
) -> Option<String> {
    if waited && busy_before >= QUIET_PCT {
        return Some(format!("CPUs {busy_before:.0} % busy just before it"));
    }
    if m.other_pct >= OTHER_PCT {
        return Some(format!(
            "{:.0} % of a pinned CPU went to other processes",
            m.other_pct
        ));
    }
    // A quiet closed-loop run saturates one side; this VM reports no steal time, so load from
    // outside it shows only this way.
    if closed_loop && limit(m.server_core_pct, m.client_core_pct) == "neither" {
        return Some(format!(
            "neither side saturated (server {:.0} %, client {:.0} %): load from outside, or a server that stalls",
            m.server_core_pct, m.client_core_pct
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disturbed_runs_are_recognised() {
        let m = Measured {
            server_core_pct: 99.0,
            client_core_pct: 60.0,
            ..Measured::default()
        };
        assert!(disturbed(&m, 1.0, true, true).is_none());
        assert!(disturbed(&m, 50.0, true, true)
            .unwrap()
            .contains("busy just before"));
        assert!(disturbed(&m, 50.0, false, true).is_none());
        let idle = Measured {
            server_core_pct: 40.0,
            client_core_pct: 40.0,
            ..Measured::default()
        };
        assert!(disturbed(&idle, 0.0, true, true)
            .unwrap()
            .contains("neither"));
        assert!(
            disturbed(&idle, 0.0, true, false).is_none(),
            "open loop need not saturate"
        );
        let noisy = Measured {
            other_pct: 30.0,
            ..m
        };
        assert!(disturbed(&noisy, 0.0, true, true)
            .unwrap()
            .contains("other processes"));
    }
}
