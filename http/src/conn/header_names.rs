//! Header names of incoming requests (and of upstream responses, for the client), with the
//! common spellings of the most frequent fields mapped straight to the `http` crate's constants: an exact byte match is several times
//! cheaper than `HeaderName::from_bytes`, which lowercases the name into a scratch buffer
//! before it looks it up.

use http::header::{self, HeaderName, InvalidHeaderName};

/// The name `bytes` stands for (case-insensitive, like `HeaderName::from_bytes`).
pub(crate) fn header_name(bytes: &[u8]) -> Result<HeaderName, InvalidHeaderName> {
    let known = match bytes {
        b"Host" | b"host" => header::HOST,
        b"User-Agent" | b"user-agent" => header::USER_AGENT,
        b"Accept" | b"accept" => header::ACCEPT,
        b"Accept-Encoding" | b"accept-encoding" => header::ACCEPT_ENCODING,
        b"Accept-Language" | b"accept-language" => header::ACCEPT_LANGUAGE,
        b"Connection" | b"connection" => header::CONNECTION,
        b"Content-Length" | b"content-length" => header::CONTENT_LENGTH,
        b"Content-Type" | b"content-type" => header::CONTENT_TYPE,
        b"Cookie" | b"cookie" => header::COOKIE,
        b"Date" | b"date" => header::DATE,
        b"Server" | b"server" => header::SERVER,
        b"Cache-Control" | b"cache-control" => header::CACHE_CONTROL,
        b"ETag" | b"etag" => header::ETAG,
        b"Last-Modified" | b"last-modified" => header::LAST_MODIFIED,
        _ => return HeaderName::from_bytes(bytes),
    };
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_names_as_the_http_crate() {
        for name in [
            "Host",
            "host",
            "HOST",
            "User-Agent",
            "user-agent",
            "Accept",
            "accept-encoding",
            "Accept-Language",
            "Connection",
            "content-length",
            "Content-Type",
            "Cookie",
            "Date",
            "server",
            "Cache-Control",
            "ETag",
            "last-modified",
            "X-Custom",
        ] {
            assert_eq!(
                header_name(name.as_bytes()).unwrap(),
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                "{name}"
            );
        }
        assert!(header_name(b"bad name").is_err());
        assert!(header_name(b"").is_err());
    }
}
