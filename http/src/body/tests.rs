//! Unit tests of response bodies.

use super::*;

fn block_on<F, Fut>(make: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future + 'static,
    Fut::Output: Send,
{
    coreline_runtime::Runtime::builder()
        .cores(coreline_runtime::Cores::Count(1))
        .build()
        .unwrap()
        .block_on(make)
        .unwrap()
}

#[test]
fn lengths_of_response_bodies() {
    assert_eq!(Body::empty().len(), Some(0));
    assert_eq!(Body::from("abc").len(), Some(3));
    assert_eq!(Body::from(vec![1u8; 10]).len(), Some(10));
    let s = Body::from_stream(Chunks(vec![]));
    assert_eq!(s.len(), None);
    assert!(Body::from_static(b"").is_empty());
}

struct Chunks(Vec<&'static str>);

impl Stream for Chunks {
    type Item = io::Result<Bytes>;
    fn poll_next(
        mut self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let next = if self.0.is_empty() {
            None
        } else {
            Some(Ok(Bytes::from_static(self.0.remove(0).as_bytes())))
        };
        std::task::Poll::Ready(next)
    }
}

#[test]
fn collect_joins_chunks_and_enforces_the_limit() {
    let got = block_on(|| async {
        let all = Body::from_stream(Chunks(vec!["ab", "", "cd"]))
            .collect(10)
            .await
            .unwrap();
        let one = Body::from("xyz").collect(3).await.unwrap();
        let over = Body::from_stream(Chunks(vec!["abc", "def"]))
            .collect(5)
            .await;
        let over_static = Body::from("abcdef").collect(5).await;
        (all, one, over.is_err(), over_static.is_err())
    });
    assert_eq!(got.0, Bytes::from_static(b"abcd"));
    assert_eq!(got.1, Bytes::from_static(b"xyz"));
    assert!(got.2 && got.3);
}
