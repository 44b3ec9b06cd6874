//! The nginx peer's config, written from the reference (`bench/nginx/nginx.conf`):
//! its plain and TLS servers moved to our ports, root and certificate, one worker per server
//! CPU pinned with `worker_cpu_affinity`, and the file descriptors and temp paths a run needs.

use std::path::Path;

use crate::fail::{setup, Fail};

/// Where and how this run's nginx listens.
#[derive(Debug, Clone)]
pub struct NginxSetup<'a> {
    /// Plain HTTP port.
    pub port: u16,
    /// TLS port.
    pub tls_port: u16,
    /// Document root (the files of the file scenarios).
    pub root: &'a Path,
    /// Directory holding `cert.pem` and `key.pem`.
    pub cert_dir: &'a Path,
    /// nginx's prefix: temp paths go under it.
    pub prefix: &'a Path,
    /// The server CPUs: one worker each, pinned.
    pub cpus: &'a [usize],
    /// RLIMIT_NOFILE for the workers.
    pub nofile: u64,
    /// The upstream coreline's port (the reference's `UPSTREAM_PORT`); without one, the
    /// reference's `upstream` block points at a port nothing listens on.
    pub upstream_port: Option<u16>,
}

/// Rewrites the reference config `src` for this run. Fails (exit 2) when the reference no
/// longer has what the comparison relies on: a plain and a TLS `listen 127.0.0.1:PORT`, and
/// `location = /plaintext`.
pub fn derive_config(src: &str, s: &NginxSetup<'_>) -> Result<String, Fail> {
    let mut out = String::new();
    let (mut plain, mut tls) = (0, 0);
    for line in src.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with("listen 127.0.0.1:") {
            // Keep the options (reuseport, backlog, ssl), replace the address.
            let opts = trimmed
                .split_once(char::is_whitespace)
                .map_or("", |(_, rest)| rest)
                .split_once(char::is_whitespace)
                .map_or(";", |(_, rest)| rest);
            let is_tls = trimmed.contains(" ssl");
            let port = if is_tls { s.tls_port } else { s.port };
            if is_tls {
                tls += 1
            } else {
                plain += 1
            }
            out += &format!("{indent}listen 127.0.0.1:{port} {opts}\n");
        } else if trimmed.starts_with("worker_processes") {
            let n = s.cpus.len();
            let masks: Vec<String> = s.cpus.iter().map(|c| affinity_mask(*c)).collect();
            out += &format!("{indent}worker_processes {n};\n");
            out += &format!("{indent}worker_cpu_affinity {};\n", masks.join(" "));
            out += &format!("{indent}worker_rlimit_nofile {};\n", s.nofile);
        } else if trimmed.starts_with("http {") {
            out += line;
            out += "\n";
            for k in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
                let dir = s.prefix.join("tmp").join(k);
                out += &format!("    {k}_temp_path {};\n", dir.display());
            }
        } else {
            out += &line
                .replace("WWW_ROOT", &s.root.display().to_string())
                .replace("CERT_DIR", &s.cert_dir.display().to_string())
                .replace("UPSTREAM_PORT", &s.upstream_port.unwrap_or(9).to_string());
            out += "\n";
        }
    }
    if plain != 1
        || tls != 1
        || !out.contains("location = /plaintext")
        || !out.contains("worker_cpu_affinity")
    {
        return Err(setup(
            "the reference nginx config no longer has one plain and one ssl `listen 127.0.0.1:PORT`, \
             `worker_processes` and `location = /plaintext`: fix it or pass --nginx-conf FILE",
        ));
    }
    Ok(out)
}

/// nginx's CPU mask for one CPU: a binary string, CPU 0 rightmost.
fn affinity_mask(cpu: usize) -> String {
    let mut m = "0".repeat(cpu + 1);
    m.replace_range(0..1, "1");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> String {
        let path = crate::paths::default_nginx_conf();
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn reference_is_rewritten_for_the_run() {
        let p = Path::new("/tmp/x");
        let setup = NginxSetup {
            port: 18080,
            tls_port: 18081,
            root: Path::new("/tmp/x/www"),
            cert_dir: Path::new("/tmp/x/cert"),
            prefix: p,
            cpus: &[0, 2],
            nofile: 65536,
            upstream_port: Some(18090),
        };
        let c = derive_config(&reference(), &setup).unwrap();
        assert!(
            c.contains("listen 127.0.0.1:18080 reuseport backlog=4096;"),
            "{c}"
        );
        assert!(
            c.contains("listen 127.0.0.1:18081 ssl reuseport backlog=4096;"),
            "{c}"
        );
        assert!(
            c.contains("worker_processes 2;\nworker_cpu_affinity 1 100;"),
            "{c}"
        );
        assert!(c.contains("ssl_certificate /tmp/x/cert/cert.pem;"));
        assert!(
            c.contains("ssl_session_cache shared:SSL:10m;")
                && c.contains("ssl_session_tickets on;")
        );
        assert!(
            c.contains("root /tmp/x/www;") && !c.contains("WWW_ROOT") && !c.contains("CERT_DIR")
        );
        assert!(c.contains("proxy_temp_path /tmp/x/tmp/proxy;"));
        assert!(c.contains("server 127.0.0.1:18090;") && c.contains("proxy_pass http://"));
        assert!(derive_config("worker_processes 1;\n", &setup).is_err());
    }

    #[test]
    fn masks_put_cpu0_rightmost() {
        assert_eq!(affinity_mask(0), "1");
        assert_eq!(affinity_mask(3), "1000");
    }
}
