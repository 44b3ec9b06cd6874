//! Files under `--root`: the library's [`StaticFiles`] (see its docs for the semantics
//! and what is refused), and which fixed routes files of the same name take over.

use std::path::Path;
use std::rc::Rc;

use coreline_http::static_files::StaticFiles;
use coreline_http::Body;
use http::{Request, Response};

/// The file root.
pub type Files = StaticFiles;

/// `--root DIR`: its files, and whether DIR has an entry named `plaintext` or `echo`, in
/// which case that file (or directory) answers `/plaintext` or `/echo` instead of the
/// fixed route. The entries are looked up once, here, at start, so that `/plaintext` (the
/// benchmark route) costs no filesystem lookup per request: an entry of either name
/// created or removed while the server runs is not seen until a restart.
#[derive(Clone, Debug)]
pub struct Root {
    /// The files under DIR.
    pub files: Files,
    /// DIR has an entry named `plaintext`.
    pub has_plaintext: bool,
    /// DIR has an entry named `echo`.
    pub has_echo: bool,
}

impl Root {
    /// Checks that `dir` is a readable directory and looks for the two names.
    pub fn new(dir: &Path) -> Result<Root, String> {
        let files = Files::new(dir)?;
        // Any entry counts (a file, a directory, a symlink): the file server then decides
        // what it answers, as it does for every other path.
        let has = |name: &str| files.root().join(name).symlink_metadata().is_ok();
        Ok(Root {
            has_plaintext: has("plaintext"),
            has_echo: has("echo"),
            files,
        })
    }
}

/// Answers a GET or HEAD for a file.
pub async fn serve(files: Rc<Files>, req: Request<Body>) -> Response<Body> {
    files.serve(req).await
}
