//! Response bytes, built once per worker so the hot path only copies, and the minimal response
//! head parser the proxy needs for its upstream connections.

use crate::request::{Persistence, Refusal};

pub const BODY: &[u8] = b"Hello World";

/// The success responses of one worker, built once: GET and HEAD, for each [`Persistence`].
#[derive(Debug, Clone)]
pub struct Responses {
    /// Indexed by [`Responses::slot`].
    ok: [Vec<u8>; 6],
    worker: String,
}

const PERSISTENCES: [Persistence; 3] = [Persistence::Keep, Persistence::KeepAnnounced, Persistence::Close];

impl Responses {
    pub fn new(worker: &str) -> Self {
        let ok = std::array::from_fn(|i| {
            let (persistence, head) = (PERSISTENCES[i % 3], i >= 3);
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Worker: {worker}\r\n{}\r\n",
                BODY.len(),
                persistence.header()
            )
            .into_bytes();
            if !head {
                r.extend_from_slice(BODY);
            }
            r
        });
        Responses {
            ok,
            worker: worker.to_string(),
        }
    }

    fn slot(persistence: Persistence, head: bool) -> usize {
        let p = match persistence {
            Persistence::Keep => 0,
            Persistence::KeepAnnounced => 1,
            Persistence::Close => 2,
        };
        p + if head { 3 } else { 0 }
    }

    /// The 200 answering a request with this persistence (`head`: to a HEAD, without the body).
    pub fn ok(&self, persistence: Persistence, head: bool) -> &[u8] {
        &self.ok[Self::slot(persistence, head)]
    }

    pub fn refusal(&self, r: Refusal) -> Vec<u8> {
        let body = r.status_line();
        format!(
            "HTTP/1.1 {body}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Worker: {}\r\nConnection: close\r\n\r\n{body}",
            body.len(),
            self.worker
        )
        .into_bytes()
    }
}

/// Just enough of an upstream response head for the proxy: status, framing, close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// Bytes of the head, up to and including the empty line.
    pub len: usize,
    /// Content-Length (a response to HEAD carries none of it).
    pub body_len: usize,
    /// The upstream closes the connection after this response.
    pub close: bool,
}

/// Why an upstream response cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadResponse {
    Malformed,
    /// The workers behind the proxy always send a Content-Length; anything else is refused.
    NoLength,
}

/// Parses the response head at the front of `buf`; `Ok(None)` until it is complete.
pub fn response_head(buf: &[u8]) -> Result<Option<ResponseHead>, BadResponse> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(BadResponse::Malformed),
    };
    let mut body_len = None;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            body_len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h
                .value
                .split(|b| *b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
    }
    Ok(Some(ResponseHead {
        status: resp.code.unwrap_or(0),
        len,
        body_len: body_len.ok_or(BadResponse::NoLength)?,
        close,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_carry_length_and_worker() {
        let r = Responses::new("3");
        let ok = String::from_utf8(r.ok(Persistence::Keep, false).to_vec()).unwrap();
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(ok.contains("Content-Length: 11\r\n") && ok.contains("X-Worker: 3\r\n"));
        assert!(ok.ends_with("\r\n\r\nHello World"));
        assert!(!ok.contains("Connection:"), "HTTP/1.1 keep-alive is the default: {ok}");
        assert!(String::from_utf8(r.ok(Persistence::Close, true).to_vec())
            .unwrap()
            .ends_with("Connection: close\r\n\r\n"));
        let announced = String::from_utf8(r.ok(Persistence::KeepAnnounced, false).to_vec()).unwrap();
        assert!(
            announced.contains("\r\nConnection: keep-alive\r\n\r\nHello World"),
            "{announced}"
        );
        // Every variant is distinct and well-formed.
        for p in PERSISTENCES {
            for head in [false, true] {
                let r = r.ok(p, head);
                assert_eq!(response_head(r).unwrap().unwrap().close, p == Persistence::Close);
                assert_eq!(r.ends_with(BODY), !head);
            }
        }
        let bad = String::from_utf8(r.refusal(Refusal::HeadersTooLarge)).unwrap();
        assert!(bad.starts_with("HTTP/1.1 431 "));
    }

    #[test]
    fn upstream_heads_give_status_framing_and_close() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Worker: 7\r\nConnection: close\r\n\r\nHello World";
        assert_eq!(response_head(&raw[..20]), Ok(None));
        let h = response_head(raw).unwrap().unwrap();
        assert_eq!((h.status, h.len + h.body_len, h.close), (200, raw.len(), true));
        let keep = response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!keep.close);
        let old = response_head(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(old.close);
        assert_eq!(response_head(b"HTTP/1.1 200 OK\r\n\r\n"), Err(BadResponse::NoLength));
        assert_eq!(response_head(b"garbage\r\n\r\n"), Err(BadResponse::Malformed));
    }
}
