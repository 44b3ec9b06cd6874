//! The per-core open-file cache behind `--root` (http/src/static_files/cache.rs), through
//! the `coreline` binary on one core: every request of a test goes over one keep-alive
//! connection, so it reaches the core whose cache holds the file. A change to a file
//! (rewritten, truncated, grown, replaced by a rename, deleted) shows in the very next
//! response; a path that now names another file shows once the entry's validity window
//! (1 s) ends; a symlink swapped to leave the root is never followed.

#[path = "common/served.rs"]
mod served;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use served::Served;

/// The cache's validity window (`cache::VALID_MS`) plus a margin.
const PAST_WINDOW: Duration = Duration::from_millis(1300);

const SECRET: &str = "outside the root";

struct Setup {
    _served: Served,
    base: PathBuf,
    root: PathBuf,
    conn: Conn,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn setup(name: &str) -> Setup {
    setup_limited(name, None)
}

/// [`setup`], with the server under an open-file limit.
fn setup_limited(name: &str, nofile: Option<u64>) -> Setup {
    let base = std::env::temp_dir().join(format!("coreline-fcache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    let args = [OsStr::new("--root"), root.as_os_str()];
    let served = match nofile {
        Some(n) => Served::start_limited(n, &args, Stdio::null),
        None => Served::start(&args, Stdio::null),
    };
    let conn = Conn::open(&served);
    Setup {
        _served: served,
        base,
        root,
        conn,
    }
}

/// One keep-alive connection.
struct Conn(BufReader<TcpStream>);

/// Status, ETag and body of one response.
#[derive(Debug)]
struct Reply {
    status: u16,
    etag: Option<String>,
    body: Vec<u8>,
}

impl Conn {
    fn open(served: &Served) -> Conn {
        let s = TcpStream::connect(served.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Conn(BufReader::new(s))
    }

    fn get(&mut self, path: &str) -> Reply {
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        self.0.get_mut().write_all(req.as_bytes()).unwrap();
        let mut line = String::new();
        self.0.read_line(&mut line).unwrap();
        let status = line.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        let (mut len, mut etag) = (0usize, None);
        loop {
            line.clear();
            self.0.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            let value = value.trim().to_string();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => len = value.parse().unwrap(),
                "etag" => etag = Some(value),
                _ => {}
            }
        }
        let mut body = vec![0; len];
        self.0.read_exact(&mut body).unwrap();
        Reply { status, etag, body }
    }
}

fn write(path: &Path, data: &[u8], mtime_secs: u64) {
    std::fs::write(path, data).unwrap();
    set_mtime(path, mtime_secs);
}

/// A distinct mtime per version, so validators change even within one clock tick.
fn set_mtime(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

/// Large enough to be spliced, so both body paths are covered.
fn big(byte: u8) -> Vec<u8> {
    vec![byte; 100 * 1024]
}

#[test]
fn changes_in_place_show_in_the_next_response() {
    let mut s = setup("inplace");
    for (name, data) in [
        ("small.txt", b"first version".to_vec()),
        ("big.bin", big(b'a')),
    ] {
        let path = s.root.join(name);
        let url = format!("/{name}");
        write(&path, &data, 1_000_000);
        let first = s.conn.get(&url);
        assert_eq!((first.status, &first.body), (200, &data));
        assert_eq!(s.conn.get(&url).etag, first.etag, "unchanged: same ETag");

        // Rewritten in place (same inode), same length.
        let mut same_len = data.clone();
        same_len[0] ^= 0xff;
        write(&path, &same_len, 1_000_001);
        let r = s.conn.get(&url);
        assert_eq!(r.body, same_len, "{name}: rewritten");
        assert_ne!(r.etag, first.etag, "{name}: new ETag after a rewrite");

        // Truncated, then grown, in place.
        write(&path, &data[..5], 1_000_002);
        assert_eq!(s.conn.get(&url).body, &data[..5], "{name}: truncated");
        let mut grown = data.clone();
        grown.extend_from_slice(&data);
        write(&path, &grown, 1_000_003);
        assert_eq!(s.conn.get(&url).body, grown, "{name}: grown");
    }
}

#[test]
fn replaced_by_rename_or_deleted_shows_at_once() {
    let mut s = setup("rename");
    for (name, data) in [("small.txt", b"old".to_vec()), ("big.bin", big(b'o'))] {
        let path = s.root.join(name);
        let url = format!("/{name}");
        write(&path, &data, 2_000_000);
        assert_eq!(s.conn.get(&url).body, data);

        let tmp = s.root.join(format!(".{name}.tmp"));
        let new: Vec<u8> = data.iter().map(|b| b ^ 0x20).collect();
        write(&tmp, &new, 2_000_001);
        std::fs::rename(&tmp, &path).unwrap();
        assert_eq!(s.conn.get(&url).body, new, "{name}: replaced by rename");

        std::fs::remove_file(&path).unwrap();
        assert_eq!(s.conn.get(&url).status, 404, "{name}: deleted");
        write(&path, &data, 2_000_002);
        assert_eq!(s.conn.get(&url).body, data, "{name}: created again");
    }
    // A directory's index replaced by a rename.
    std::fs::create_dir(s.root.join("d")).unwrap();
    write(&s.root.join("d/index.html"), b"one", 2_000_003);
    assert_eq!(s.conn.get("/d/").body, b"one");
    write(&s.root.join("d/.new"), b"two", 2_000_004);
    std::fs::rename(s.root.join("d/.new"), s.root.join("d/index.html")).unwrap();
    assert_eq!(s.conn.get("/d/").body, b"two");
}

#[test]
fn a_path_that_names_another_file_is_rechecked_after_the_window() {
    let mut s = setup("moved");
    let path = s.root.join("page.html");
    write(&path, b"cached", 3_000_000);
    let opened = Instant::now();
    assert_eq!(s.conn.get("/page.html").body, b"cached");
    // Moved away, still linked: only the path can tell, and the cache trusts the path
    // for its window (as nginx's open_file_cache_valid) ...
    std::fs::create_dir(s.root.join("old")).unwrap();
    std::fs::rename(&path, s.root.join("old/page.html")).unwrap();
    let r = s.conn.get("/page.html");
    if opened.elapsed() < Duration::from_millis(800) {
        assert_eq!(
            (r.status, &r.body[..]),
            (200, &b"cached"[..]),
            "a cache hit"
        );
    }
    // ... and looks again once it ends.
    std::thread::sleep(PAST_WINDOW);
    assert_eq!(s.conn.get("/page.html").status, 404);
    write(&path, b"new file", 3_000_001);
    assert_eq!(s.conn.get("/page.html").body, b"new file");
    assert_eq!(s.conn.get("/old/page.html").body, b"cached");
}

#[test]
fn a_symlink_swapped_to_leave_the_root_is_never_followed() {
    let mut s = setup("symlink");
    write(&s.root.join("inside.txt"), b"inside", 4_000_000);
    let link = s.root.join("link");
    std::os::unix::fs::symlink("inside.txt", &link).unwrap();
    assert_eq!(s.conn.get("/link").body, b"inside");
    for target in [s.base.join("secret.txt"), PathBuf::from("../secret.txt")] {
        let tmp = s.root.join("link.tmp");
        std::os::unix::fs::symlink(&target, &tmp).unwrap();
        std::fs::rename(&tmp, &link).unwrap(); // atomic swap, as a deploy would
        let deadline = Instant::now() + PAST_WINDOW;
        loop {
            let r = s.conn.get("/link");
            assert!(!r.body.starts_with(SECRET.as_bytes()), "{target:?}: {r:?}");
            assert!(r.status == 200 || r.status == 404, "{r:?}");
            if Instant::now() > deadline {
                assert_eq!(r.status, 404, "{target:?}: refused once rechecked");
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn more_files_than_the_cache_holds_are_all_served_right() {
    let mut s = setup("evict");
    let n = 300; // cache::MAX_ENTRIES is 256
    for i in 0..n {
        std::fs::write(s.root.join(format!("f{i}")), format!("file {i}")).unwrap();
    }
    for round in 0..2 {
        for i in 0..n {
            let r = s.conn.get(&format!("/f{i}"));
            assert_eq!(r.body, format!("file {i}").as_bytes(), "round {round}");
        }
    }
}

#[test]
fn the_cache_stays_within_a_low_open_file_limit() {
    // A server limited to 256 fds: its cores together may cache 1/8.
    let mut s = setup_limited("fdlimit", Some(256));
    let pid = s._served.child.id();
    let fds = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    let before = fds();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let cap = (256 / 8 / cpus).min(256);
    for i in 0..300 {
        std::fs::write(s.root.join(format!("f{i}")), format!("file {i}")).unwrap();
        let r = s.conn.get(&format!("/f{i}"));
        assert_eq!(r.body, format!("file {i}").as_bytes());
    }
    let after = fds();
    assert!(
        after <= before + cap + 2,
        "{after} fds open, {before} before, cache cap {cap}"
    );
}
