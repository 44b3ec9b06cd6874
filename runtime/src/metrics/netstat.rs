//! The kernel's listen-queue counters from `/proc/net/netstat` (the `TcpExt` lines).

use std::io;

/// Listen-queue counters of the network namespace of the reading thread (`/proc/net`
/// follows it). They are namespace-wide totals since boot: compare two readings with
/// [`delta`](ListenCounters::delta).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenCounters {
    /// `ListenOverflows`: SYNs or handshake-completing ACKs dropped because an accept
    /// queue was full.
    pub listen_overflows: u64,
    /// `ListenDrops`: every drop at a listener (overflows included).
    pub listen_drops: u64,
    /// `TCPReqQFullDrop`: SYNs dropped because the SYN queue was full and syncookies off.
    pub req_q_full_drop: u64,
    /// `TCPReqQFullDoCookies`: SYNs answered with a syncookie because the SYN queue was full.
    pub req_q_full_do_cookies: u64,
    /// `SyncookiesSent`: syncookies sent.
    pub syncookies_sent: u64,
}

impl ListenCounters {
    /// Reads `/proc/net/netstat`.
    pub fn read() -> io::Result<Self> {
        Self::parse(&std::fs::read_to_string("/proc/net/netstat")?)
    }

    /// Parses the text of `/proc/net/netstat`: a `TcpExt:` line of names followed by a
    /// `TcpExt:` line of values. Counters the kernel does not report read as zero.
    pub fn parse(text: &str) -> io::Result<Self> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
        let names = lines
            .next()
            .ok_or_else(|| bad("no TcpExt lines in netstat"))?;
        let values = lines
            .next()
            .ok_or_else(|| bad("TcpExt values line missing"))?;
        let mut c = ListenCounters::default();
        let pairs = names
            .split_whitespace()
            .zip(values.split_whitespace())
            .skip(1);
        for (name, value) in pairs {
            let field = match name {
                "ListenOverflows" => &mut c.listen_overflows,
                "ListenDrops" => &mut c.listen_drops,
                "TCPReqQFullDrop" => &mut c.req_q_full_drop,
                "TCPReqQFullDoCookies" => &mut c.req_q_full_do_cookies,
                "SyncookiesSent" => &mut c.syncookies_sent,
                _ => continue,
            };
            *field = value
                .parse()
                .map_err(|_| bad(&format!("TcpExt {name}: not a number: {value}")))?;
        }
        Ok(c)
    }

    /// What happened between `earlier` and `self` (saturating at zero).
    pub fn delta(&self, earlier: &ListenCounters) -> ListenCounters {
        ListenCounters {
            listen_overflows: self
                .listen_overflows
                .saturating_sub(earlier.listen_overflows),
            listen_drops: self.listen_drops.saturating_sub(earlier.listen_drops),
            req_q_full_drop: self.req_q_full_drop.saturating_sub(earlier.req_q_full_drop),
            req_q_full_do_cookies: self
                .req_q_full_do_cookies
                .saturating_sub(earlier.req_q_full_do_cookies),
            syncookies_sent: self.syncookies_sent.saturating_sub(earlier.syncookies_sent),
        }
    }
}
