//! The servers a comparison knows: coreline (as shipped, or a variant of the same binary that
//! turns on latency metrics or the access log, forces one file-body method with
//! `--file-body`, picks a `--listener-mode` or keeps the kernel's congestion control), nginx, the hyper peer and the
//! runtime's ceiling, and the axum example's router on coreline and on `axum::serve`; their
//! names, binaries and what each variant adds to `coreline serve`.

use std::path::Path;

use crate::paths::{self, Binary};

/// A server the comparison knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `coreline serve`.
    Coreline,
    /// `coreline serve --metrics ADDR`: latency histograms on (their cost against `coreline`).
    CorelineMetrics,
    /// `coreline-metrics` plus `--metrics-rx-timestamps` (kernel receive timestamps).
    CorelineRxts,
    /// `coreline serve --access-log DIR/access.log`: a combined line per response (its cost
    /// against `coreline`).
    CorelineAccessLog,
    /// `coreline serve --file-body splice`: file → pipe → socket at every size.
    CorelineSplice,
    /// `--file-body read`: read into the output buffer, then send, at every size.
    CorelineRead,
    /// `--file-body send-zc`: read, then `IORING_OP_SEND_ZC`, at every size.
    CorelineSendZc,
    /// `--listener-mode steered`: a BPF program picks the least-loaded core per connection.
    CorelineSteered,
    /// `--listener-mode shared`: one listening socket for every core.
    CorelineShared,
    /// `--congestion-control kernel`: the kernel's congestion control on the loopback
    /// listener too (BBR's pacing where that is the default), like the other servers.
    CorelineKernelCc,
    /// nginx with the reference config.
    Nginx,
    /// `hyper-peer` (bench/hyper-peer).
    Hyper,
    /// The runtime's `ceiling` example: canned responses, no HTTP.
    Ceiling,
    /// coreline-http's `axum` example: an `axum::Router` served by coreline (`--features tower`).
    AxumCoreline,
    /// `axum-peer` (bench/axum-peer): the same router on `axum::serve`, tokio current-thread.
    AxumTokio,
}

impl Kind {
    /// Every server, in report order (the first one selected is the base of the ratios).
    pub const ALL: [Kind; 15] = [
        Kind::Coreline,
        Kind::CorelineMetrics,
        Kind::CorelineRxts,
        Kind::CorelineAccessLog,
        Kind::CorelineSplice,
        Kind::CorelineRead,
        Kind::CorelineSendZc,
        Kind::CorelineSteered,
        Kind::CorelineShared,
        Kind::CorelineKernelCc,
        Kind::Nginx,
        Kind::Hyper,
        Kind::Ceiling,
        Kind::AxumCoreline,
        Kind::AxumTokio,
    ];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Coreline => "coreline",
            Kind::CorelineMetrics => "coreline-metrics",
            Kind::CorelineRxts => "coreline-rxts",
            Kind::CorelineAccessLog => "coreline-access-log",
            Kind::CorelineSplice => "coreline-splice",
            Kind::CorelineRead => "coreline-read",
            Kind::CorelineSendZc => "coreline-send-zc",
            Kind::CorelineSteered => "coreline-steered",
            Kind::CorelineShared => "coreline-shared",
            Kind::CorelineKernelCc => "coreline-kernel-cc",
            Kind::Nginx => "nginx",
            Kind::Hyper => "hyper",
            Kind::Ceiling => "ceiling",
            Kind::AxumCoreline => "axum-coreline",
            Kind::AxumTokio => "axum-tokio",
        }
    }

    /// Whether it serves the axum example's router (on either stack).
    pub fn is_axum(self) -> bool {
        matches!(self, Kind::AxumCoreline | Kind::AxumTokio)
    }

    /// Whether it is the `coreline` binary (any variant): same flags, TLS and files.
    pub fn is_coreline(self) -> bool {
        matches!(
            self,
            Kind::Coreline
                | Kind::CorelineMetrics
                | Kind::CorelineRxts
                | Kind::CorelineAccessLog
                | Kind::CorelineSplice
                | Kind::CorelineRead
                | Kind::CorelineSendZc
                | Kind::CorelineSteered
                | Kind::CorelineShared
                | Kind::CorelineKernelCc
        )
    }

    /// The binary it runs (`None`: nginx, found on `PATH`).
    pub fn binary(self) -> Option<Binary> {
        match self {
            Kind::Nginx => None,
            Kind::Hyper => Some(paths::HYPER_PEER),
            Kind::Ceiling => Some(paths::CEILING),
            Kind::AxumCoreline => Some(paths::AXUM_EXAMPLE),
            Kind::AxumTokio => Some(paths::AXUM_PEER),
            _ => Some(paths::CORELINE),
        }
    }

    /// The admin (metrics) port of a variant with metrics on, for plain port `port`: out of
    /// the way of the servers' plain/TLS port pairs.
    pub fn admin_port(self, port: u16) -> Option<u16> {
        matches!(self, Kind::CorelineMetrics | Kind::CorelineRxts).then_some(port + 1000)
    }

    /// What a coreline variant adds to `coreline serve`'s arguments; `tmp` takes the
    /// metrics' interval logs and the access log.
    pub fn coreline_flags(self, port: u16, tmp: &Path) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(admin) = self.admin_port(port) {
            flags.extend([
                "--metrics".to_string(),
                format!("127.0.0.1:{admin}"),
                "--metrics-hlog".into(),
                tmp.display().to_string(),
            ]);
        }
        if self == Kind::CorelineRxts {
            flags.push("--metrics-rx-timestamps".into());
        }
        if self == Kind::CorelineAccessLog {
            let log = Self::access_log(tmp).display().to_string();
            flags.extend(["--access-log".to_string(), log]);
        }
        if let Some(method) = self.file_body() {
            flags.extend(["--file-body".to_string(), method.into()]);
        }
        let mode = match self {
            Kind::CorelineSteered => Some("steered"),
            Kind::CorelineShared => Some("shared"),
            _ => None,
        };
        if let Some(mode) = mode {
            flags.extend(["--listener-mode".to_string(), mode.into()]);
        }
        if self == Kind::CorelineKernelCc {
            flags.extend(["--congestion-control".to_string(), "kernel".into()]);
        }
        flags
    }

    /// The access log of `coreline-access-log`, under the run's temporary directory.
    pub fn access_log(tmp: &Path) -> std::path::PathBuf {
        tmp.join("access.log")
    }

    /// The file-body method a variant forces (`coreline serve --file-body`).
    fn file_body(self) -> Option<&'static str> {
        match self {
            Kind::CorelineSplice => Some("splice"),
            Kind::CorelineRead => Some("read"),
            Kind::CorelineSendZc => Some("send-zc"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_coreline_with_their_own_flags() {
        let tmp = Path::new("/t");
        assert!(Kind::ALL.iter().filter(|k| k.is_coreline()).count() == 10);
        assert_eq!(
            Kind::CorelineSteered.coreline_flags(20000, tmp).join(" "),
            "--listener-mode steered"
        );
        assert!(Kind::Coreline.coreline_flags(20000, tmp).is_empty());
        assert_eq!(
            Kind::CorelineRxts.coreline_flags(20000, tmp).join(" "),
            "--metrics 127.0.0.1:21000 --metrics-hlog /t --metrics-rx-timestamps"
        );
        assert_eq!(
            Kind::CorelineAccessLog.coreline_flags(20000, tmp).join(" "),
            "--access-log /t/access.log"
        );
        assert_eq!(
            Kind::CorelineSendZc.coreline_flags(20000, tmp).join(" "),
            "--file-body send-zc"
        );
        assert_eq!(
            Kind::CorelineKernelCc.coreline_flags(20000, tmp).join(" "),
            "--congestion-control kernel"
        );
        assert!(Kind::Nginx.binary().is_none() && !Kind::Hyper.is_coreline());
        assert!(Kind::AxumCoreline.is_axum() && !Kind::AxumCoreline.is_coreline());
    }
}
