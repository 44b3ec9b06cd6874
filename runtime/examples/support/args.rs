//! Command-line parsing shared by the runtime examples: `NAME ADDR [CPUS]`.

use std::net::SocketAddr;

use coreline_runtime::Cores;

/// Parses `ADDR [CPUS]` from the process arguments, or explains the problem on stderr and
/// returns the exit code to use.
pub fn addr_and_cores(name: &str, example_addr: &str) -> Result<(SocketAddr, Cores), u8> {
    let mut args = std::env::args().skip(1);
    let Some(addr) = args.next() else {
        eprintln!("usage: {name} ADDR [CPUS]   e.g. {name} {example_addr} 0,1");
        return Err(2);
    };
    let addr = addr.parse().map_err(|e| {
        eprintln!("{name}: '{addr}' is not an IP:PORT address: {e}");
        2
    })?;
    let cores = match args.next() {
        None => Cores::All,
        Some(list) => Cores::parse_list(&list).map_err(|e| {
            eprintln!("{name}: {e}");
            2
        })?,
    };
    Ok((addr, cores))
}
