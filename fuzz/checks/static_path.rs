//! Request path → relative file path (`static_files::decode_path`) on arbitrary bytes.
//! Shared by the `static_path` fuzz target and `http/tests/fuzz_regressions.rs`.
//!
//! Besides "never panics": the decision agrees with a second, independent decoder (a
//! path is refused with 400 exactly when a segment has a bad escape or decodes to `.`,
//! `..`, or holds `/`, `\` or NUL; otherwise with 404 exactly when a segment other than a
//! first `.well-known` begins with `.`); an accepted path has one plain component per non-empty
//! segment, never more bytes than its input, stays beneath any root it is joined to, and
//! percent-encoding it again decodes to the same path.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use coreline_http::static_files::decode_path;
use http::StatusCode;

/// Runs every property on `data` (read as UTF-8, invalid sequences replaced).
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let decoded = decode_path(&text);
    let expected = reference(&text);
    match (&decoded, &expected) {
        (Err(status), None) => assert_eq!(*status, StatusCode::BAD_REQUEST),
        (Err(status), Some(names)) if hidden(names) => assert_eq!(*status, StatusCode::NOT_FOUND),
        (Ok(path), Some(names)) if !hidden(names) => {
            let components: Vec<&OsStr> = path.iter().collect();
            let names: Vec<&OsStr> = names.iter().map(|n| OsStr::from_bytes(n)).collect();
            assert_eq!(components, names, "components of {text:?}");
            accepted_properties(&text, path);
        }
        _ => panic!("{text:?}: decode_path gave {decoded:?}, the reference {expected:?}"),
    }
}

/// What must hold for every accepted path.
fn accepted_properties(text: &str, path: &Path) {
    let mut bytes = 0;
    for component in path.components() {
        let Component::Normal(name) = component else {
            panic!("{text:?}: component {component:?} is not a plain name");
        };
        let name = name.as_bytes();
        assert!(
            !name.iter().any(|b| matches!(b, b'/' | b'\\' | 0)),
            "{text:?}"
        );
        bytes += name.len();
    }
    assert!(
        bytes <= text.len(),
        "{text:?}: decoded longer than its input"
    );
    let root = Path::new("/srv/root");
    let joined = root.join(path);
    assert!(joined.starts_with(root), "{text:?} leaves the root");
    // Encoding every byte of every name again must give the same path back.
    let mut encoded = String::new();
    for name in path.iter() {
        encoded.push('/');
        for b in name.as_bytes() {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    assert_eq!(
        decode_path(&encoded).as_deref(),
        Ok(path),
        "re-encoded {encoded:?}"
    );
}

/// Whether decoded names include a dotfile that is not served (any name beginning with `.`
/// except a first `.well-known`).
fn hidden(names: &[Vec<u8>]) -> bool {
    names
        .iter()
        .enumerate()
        .any(|(i, n)| n.starts_with(b".") && !(i == 0 && n == b".well-known"))
}

/// An independent decoder: the names a path should decode to, `None` if refused.
fn reference(text: &str) -> Option<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    for segment in text.split('/').filter(|s| !s.is_empty()) {
        let mut name = Vec::new();
        let mut rest = segment.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            if first != b'%' {
                name.push(first);
                rest = tail;
                continue;
            }
            let hex = tail.get(..2)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            name.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        }
        let refused = name == b"." || name == b".." || name.iter().any(|b| b"/\\\0".contains(b));
        if refused {
            return None;
        }
        names.push(name);
    }
    Some(names)
}
