//! A real nginx (one worker) on free loopback ports, http and https (a certificate from the
//! tls crate), closing keep-alive connections every 10 requests, gzip on (so text files
//! come back chunked), and an access log of one `$ssl_session_reused` line per request:
//! the server-side count and the resumption count for the tests.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running nginx; stopped on drop.
pub struct Nginx {
    child: Child,
    pub http: SocketAddr,
    pub https: SocketAddr,
    pub cert: PathBuf,
    log: PathBuf,
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
}

impl Nginx {
    pub fn start(dir: &Path) -> Nginx {
        let (cert, key) = coreline_tls::generate_self_signed(dir, &[]).unwrap();
        let www = dir.join("www");
        std::fs::create_dir_all(&www).unwrap();
        std::fs::write(www.join("text.txt"), "a line of text\n".repeat(2000)).unwrap();
        let (http, https) = (free_port(), free_port());
        let d = dir.display();
        let temps: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .iter()
            .map(|k| format!("    {k}_temp_path {d}/{k}_temp;\n"))
            .collect();
        let conf = format!(
            "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n{temps}\
             log_format counted \"$ssl_session_reused $request_method\";\n\
             access_log {d}/access.log counted;\n\
             keepalive_requests 10;\n\
             gzip on; gzip_types text/plain; gzip_min_length 0;\n\
             server {{\n\
               listen {http};\n\
               listen {https} ssl;\n\
               ssl_certificate {cert};\n\
               ssl_certificate_key {key};\n\
               ssl_protocols TLSv1.2 TLSv1.3;\n\
               ssl_session_cache shared:SSL:1m;\n\
               ssl_session_tickets on;\n\
               location = /plaintext {{ default_type text/plain; return 200 \"Hello, World!\"; }}\n\
               location / {{ root {www}; }}\n\
             }}\n}}\n",
            cert = cert.display(),
            key = key.display(),
            www = www.display(),
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx (apt-get install nginx-light; ci/test.sh installs it)");
        let mut nginx = Nginx {
            child,
            http,
            https,
            cert,
            log: dir.join("access.log"),
        };
        let end = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(http).is_err() || TcpStream::connect(https).is_err() {
            if let Some(status) = nginx.child.try_wait().unwrap() {
                panic!(
                    "nginx exited with {status}: {}",
                    read(dir.join("error.log"))
                );
            }
            assert!(Instant::now() < end, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The probes above are not requests, but start the log afresh anyway.
        std::fs::write(&nginx.log, "").unwrap();
        nginx
    }

    /// The access log's lines since the last call (and empties it).
    pub fn take_log(&self) -> Vec<String> {
        let text = read(&self.log);
        std::fs::write(&self.log, "").unwrap();
        text.lines().map(str::to_string).collect()
    }
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its worker too (a SIGKILLed master would leave it).
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
