//! Requests that must not reach outside the root or into hidden files: traversal in every
//! encoding, symlinks out of the root, NUL bytes, dotfiles (except `.well-known`).

use crate::{curl, raw, serve, SECRET};

#[test]
fn traversal_attempts_are_refused() {
    let s = serve("traversal");
    let via_curl = [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/etc/passwd",
        "/..%2fsecret.txt",
        "/dir/..%2f..%2fsecret.txt",
        "/%252e%252e/secret.txt",
        "/%252e%252e%252fsecret.txt",
        "/..%5csecret.txt",
        "/dir%5c..%5c..%5csecret.txt",
        "//etc/passwd",
        "/%2fetc/passwd",
        "/escape",
        "/up/secret.txt",
        "/up/up/etc/passwd",
        "/dir/../../secret.txt",
        "/f1.bin%00.html",
        "/%00",
        "/fifo",
    ];
    for path in via_curl {
        let out = curl(&["--path-as-is", "-w", "\n%{http_code}", &s.url(path)]);
        let code = out.rsplit('\n').next().unwrap();
        assert!(code == "400" || code == "404", "{path}: {out}");
        assert!(
            !out.contains(SECRET) && !out.contains("root:"),
            "{path}: {out}"
        );
    }
    let raws: [&[u8]; 5] = [
        b"GET /..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET \\..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET http://x/../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /f1.bin\0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    for r in raws {
        let (out, _) = raw(s.served.addr, r);
        let code = out.get(9..12).unwrap_or("");
        assert!(
            code.starts_with('4'),
            "{:?}: {out}",
            String::from_utf8_lossy(r)
        );
        assert!(!out.contains(SECRET) && !out.contains("root:"), "{out}");
    }
}

#[test]
fn dotfiles_are_not_served_except_well_known() {
    let s = serve("dotfiles");
    std::fs::create_dir_all(s.root.join(".git")).unwrap();
    std::fs::create_dir_all(s.root.join(".well-known/acme-challenge")).unwrap();
    std::fs::write(s.root.join(".git/config"), SECRET).unwrap();
    std::fs::write(s.root.join(".env"), SECRET).unwrap();
    std::fs::write(s.root.join("dir/.htpasswd"), SECRET).unwrap();
    std::fs::write(s.root.join(".well-known/.hidden"), SECRET).unwrap();
    std::fs::write(s.root.join(".well-known/acme-challenge/token"), "proof").unwrap();
    for path in [
        "/.git/config",
        "/.git/",
        "/.env",
        "/%2eenv",
        "/dir/.htpasswd",
        "/.well-known/.hidden",
    ] {
        let out = curl(&["--path-as-is", "-w", "\n%{http_code}", &s.url(path)]);
        assert!(
            out.ends_with("\n404") && !out.contains(SECRET),
            "{path}: {out}"
        );
    }
    let token = curl(&[
        "-w",
        " %{http_code}",
        &s.url("/.well-known/acme-challenge/token"),
    ]);
    assert_eq!(token, "proof 200");
}
