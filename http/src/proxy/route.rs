//! [`Route`]: one `PREFIX=URL` rule, and how a request path under its prefix becomes the
//! upstream's request target.

use std::fmt;
use std::str::FromStr;

use http::Uri;

use crate::client::Upstream;

/// Requests whose path starts with `prefix` go to `upstream`.
///
/// Written `PREFIX=URL`, e.g. `/api/=http://127.0.0.1:9000/`. As with nginx's
/// `proxy_pass`: a URL without a path (`http://127.0.0.1:9000`) gets the request's path
/// unchanged; a URL with a path (even just `/`) has it replace the matched prefix
/// (`/api/users` becomes `/users` above). The query string is always kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    prefix: String,
    /// `scheme://authority`, without a path.
    origin: String,
    /// The URL's path, if it has one: what the prefix is replaced with.
    path: Option<String>,
}

impl Route {
    /// The path prefix this route matches.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The upstream as `scheme://host[:port]`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The upstream's scheme, host and port.
    pub(crate) fn upstream(&self) -> Upstream {
        let origin = Uri::try_from(self.origin.as_str()).expect("checked when parsed");
        Upstream::of(&origin).expect("checked when parsed")
    }

    /// Whether a request for `path` goes to this route.
    pub fn matches(&self, path: &str) -> bool {
        path.starts_with(&self.prefix)
    }

    /// The absolute upstream URI of a request for `path_and_query` (which this route
    /// matches).
    pub fn upstream_uri(&self, path_and_query: &str) -> Result<Uri, http::Error> {
        let mut uri = self.origin.clone();
        for piece in self.upstream_target(path_and_query) {
            uri.push_str(piece);
        }
        Ok(Uri::try_from(uri)?)
    }

    /// The upstream's request target for `path_and_query` (which this route matches), in
    /// pieces to write one after the other: the URL's path, a separator, the request's
    /// rest. Valid without a check: the URL's path was checked when the route was parsed,
    /// and the rest is part of a request target the server parsed.
    pub(crate) fn upstream_target<'a>(&'a self, path_and_query: &'a str) -> [&'a str; 3] {
        let rest = match &self.path {
            Some(_) => path_and_query.get(self.prefix.len()..).unwrap_or(""),
            None => path_and_query,
        };
        let base = self.path.as_deref().unwrap_or("");
        // `/api` = `http://u/v1`, request `/api?x` or `/apix`: keep one separator.
        let separator = !rest.starts_with('/')
            && !base.ends_with('/')
            && (!rest.starts_with('?') || self.path.is_none());
        [base, if separator { "/" } else { "" }, rest]
    }
}

/// Why a `PREFIX=URL` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError(String);

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RouteError {}

impl FromStr for Route {
    type Err = RouteError;

    fn from_str(s: &str) -> Result<Route, RouteError> {
        let err = |why: &str| RouteError(format!("`{s}`: {why}"));
        let (prefix, url) = s
            .split_once('=')
            .ok_or_else(|| err("expected PREFIX=URL"))?;
        if !prefix.starts_with('/') {
            return Err(err("the prefix must start with /"));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| err("the URL must start with http:// or https://"))?;
        if scheme != "http" && scheme != "https" {
            return Err(err("the URL must start with http:// or https://"));
        }
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], Some(&rest[i..])),
            Some(_) => return Err(err("the URL may not have a query or fragment")),
            None => (rest, None),
        };
        if path.is_some_and(|p| p.contains(['?', '#'])) {
            return Err(err("the URL may not have a query or fragment"));
        }
        let origin = format!("{scheme}://{authority}");
        let parsed = Uri::try_from(origin.as_str()).map_err(|e| err(&e.to_string()))?;
        if Upstream::of(&parsed).is_err() || authority.contains('@') {
            return Err(err("the URL needs a host (and no user info)"));
        }
        if let Some(path) = path {
            // Request targets are written after this path unchecked: it must be valid.
            Uri::try_from(format!("{origin}{path}")).map_err(|e| err(&e.to_string()))?;
        }
        Ok(Route {
            prefix: prefix.to_owned(),
            origin,
            path: path.map(str::to_owned),
        })
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.as_deref().unwrap_or("");
        write!(f, "{}={}{}", self.prefix, self.origin, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(route: &str, path: &str) -> String {
        let route: Route = route.parse().unwrap();
        assert!(route.matches(path));
        route.upstream_uri(path).unwrap().to_string()
    }

    #[test]
    fn a_url_without_a_path_keeps_the_request_path() {
        assert_eq!(target("/=http://u:9", "/a/b?q=1"), "http://u:9/a/b?q=1");
        assert_eq!(target("/api=http://u", "/api/x"), "http://u/api/x");
    }

    #[test]
    fn a_url_path_replaces_the_prefix() {
        assert_eq!(
            target("/api/=http://u/", "/api/users?x"),
            "http://u/users?x"
        );
        assert_eq!(
            target("/api=http://u/v1", "/api/users"),
            "http://u/v1/users"
        );
        assert_eq!(target("/api=http://u/v1", "/api?x=1"), "http://u/v1?x=1");
        assert_eq!(target("/api/=http://u/", "/api/"), "http://u/");
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            "http://u",
            "api=http://u",
            "/=ftp://u",
            "/=http://",
            "/=http://u/?q",
            "/=http://user@u",
        ] {
            assert!(bad.parse::<Route>().is_err(), "{bad}");
        }
        let ok: Route = "/a=https://[::1]:8443/b".parse().unwrap();
        assert_eq!(ok.to_string(), "/a=https://[::1]:8443/b");
    }
}
