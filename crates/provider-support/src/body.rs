//! Response bodies read with a size cap into zeroizing buffers: never more than the cap is
//! buffered, a declared `Content-Length` over it is refused before reading, and every copy of
//! the bytes this crate makes is zeroized when dropped (transport chunks too, when they are
//! not shared).

use bytes::Bytes;
use zeroize::{Zeroize, Zeroizing};

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The body is longer than the cap.
    TooLarge,
    /// The connection failed or timed out while reading.
    Transport(reqwest::Error),
}

/// Reads the body of `response`, at most `limit` bytes.
pub async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, BodyError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let initial = response
        .content_length()
        .map_or(8 * 1024, |len| len as usize)
        .min(limit);
    let mut body = Zeroizing::new(Vec::with_capacity(initial));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        let fits = body.len() + chunk.len() <= limit;
        if fits {
            append(&mut body, &chunk, limit);
        }
        scrub(chunk);
        if !fits {
            return Err(BodyError::TooLarge);
        }
    }
    Ok(body)
}

/// Appends without letting `Vec` reallocate: a larger zeroizing buffer is made and the old
/// one zeroized, so no unzeroized copy of the body is left in freed memory.
fn append(body: &mut Zeroizing<Vec<u8>>, chunk: &[u8], limit: usize) {
    let needed = body.len() + chunk.len();
    if needed > body.capacity() {
        let capacity = needed
            .max(body.capacity().saturating_mul(2))
            .min(limit.max(needed));
        let mut bigger = Zeroizing::new(Vec::with_capacity(capacity));
        bigger.extend_from_slice(body);
        *body = bigger;
    }
    body.extend_from_slice(chunk);
}

/// Zeroizes a transport chunk when this is its only handle.
fn scrub(chunk: Bytes) {
    if let Ok(mut owned) = chunk.try_into_mut() {
        owned.as_mut().zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: Vec<u8>, declare_length: bool) -> reqwest::Response {
        let mut builder = http::Response::builder().status(200);
        if declare_length {
            builder = builder.header("content-length", body.len().to_string());
        }
        reqwest::Response::from(builder.body(body).expect("response"))
    }

    #[tokio::test]
    async fn bodies_up_to_the_limit_are_read() {
        let got = read_bounded(response(b"0123456789".to_vec(), true), 10)
            .await
            .expect("fits");
        assert_eq!(got.as_slice(), b"0123456789");
        let got = read_bounded(response(Vec::new(), false), 10)
            .await
            .expect("empty");
        assert!(got.is_empty());
    }

    #[tokio::test]
    async fn longer_bodies_are_refused() {
        for declared in [true, false] {
            let err = read_bounded(response(vec![b'x'; 11], declared), 10)
                .await
                .expect_err("too large");
            assert!(matches!(err, BodyError::TooLarge), "declared={declared}");
        }
    }

    #[test]
    fn appending_grows_within_the_limit() {
        let mut body = Zeroizing::new(Vec::with_capacity(2));
        append(&mut body, b"abc", 8);
        append(&mut body, b"defgh", 8);
        assert_eq!(body.as_slice(), b"abcdefgh");
        assert!(body.capacity() <= 8);
    }
}
