//! A Python upstream from `tests/scripts/` (it prints its port on its first line), killed
//! on drop. Included with `#[path]` by the test binaries that need one.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running Python upstream script.
pub struct Python {
    child: Child,
    /// Its loopback port.
    pub port: u16,
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tests/scripts/SCRIPT` and waits for the port it prints.
pub fn start(script: &str) -> Python {
    start_with("python3", script)
}

/// Starts `tests/scripts/SCRIPT` under the Python `interpreter` and waits for the port it
/// prints.
pub fn start_with(interpreter: &str, script: &str) -> Python {
    let path = format!("{}/tests/scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(interpreter)
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the script prints its port");
    Python { child, port }
}
