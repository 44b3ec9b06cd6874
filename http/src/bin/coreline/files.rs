//! Files under `--root`: the library's [`StaticFiles`] (see its docs for the semantics
//! and what is refused).

use std::rc::Rc;

use coreline_http::static_files::StaticFiles;
use coreline_http::Body;
use http::{Request, Response};

/// The file root.
pub type Files = StaticFiles;

/// Answers a GET or HEAD for a file.
pub async fn serve(files: Rc<Files>, req: Request<Body>) -> Response<Body> {
    files.serve(req).await
}
