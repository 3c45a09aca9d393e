//! Response bytes, built once per worker so the hot path only copies, and the minimal response
//! head parser the proxy needs for its upstream connections.

use crate::request::Refusal;

pub const BODY: &[u8] = b"Hello World";

/// The success responses of one worker, built once.
#[derive(Debug, Clone)]
pub struct Responses {
    get_keep: Vec<u8>,
    get_close: Vec<u8>,
    head_keep: Vec<u8>,
    head_close: Vec<u8>,
    worker: String,
}

impl Responses {
    pub fn new(worker: &str) -> Self {
        let build = |close: bool, head: bool| {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Worker: {worker}\r\n{}\r\n",
                BODY.len(),
                if close { "Connection: close\r\n" } else { "" }
            )
            .into_bytes();
            if !head {
                r.extend_from_slice(BODY);
            }
            r
        };
        Responses {
            get_keep: build(false, false),
            get_close: build(true, false),
            head_keep: build(false, true),
            head_close: build(true, true),
            worker: worker.to_string(),
        }
    }

    pub fn ok(&self, keep_alive: bool, head: bool) -> &[u8] {
        match (keep_alive, head) {
            (true, false) => &self.get_keep,
            (false, false) => &self.get_close,
            (true, true) => &self.head_keep,
            (false, true) => &self.head_close,
        }
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
        let ok = String::from_utf8(r.ok(true, false).to_vec()).unwrap();
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(ok.contains("Content-Length: 11\r\n") && ok.contains("X-Worker: 3\r\n"));
        assert!(ok.ends_with("\r\n\r\nHello World"));
        assert!(String::from_utf8(r.ok(false, true).to_vec())
            .unwrap()
            .ends_with("Connection: close\r\n\r\n"));
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
