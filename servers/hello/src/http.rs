//! Request framing and response bytes. Pure functions, so the protocol rules are unit-tested
//! without sockets.

/// Request heads larger than this are refused with 431.
pub const MAX_HEAD: usize = 8 * 1024;
/// Request bodies larger than this are refused with 413 (a Hello World server needs none).
pub const MAX_BODY: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;
pub const BODY: &[u8] = b"Hello World";

/// Error statuses the worker can answer with before closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    HeadersTooLarge,
    NotImplemented,
}

impl Refusal {
    fn status_line(self) -> &'static str {
        match self {
            Refusal::BadRequest => "400 Bad Request",
            Refusal::MethodNotAllowed => "405 Method Not Allowed",
            Refusal::PayloadTooLarge => "413 Payload Too Large",
            Refusal::HeadersTooLarge => "431 Request Header Fields Too Large",
            Refusal::NotImplemented => "501 Not Implemented",
        }
    }
}

/// What the front of a receive buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// One whole request of `len` bytes (head and body).
    Request { len: usize, keep_alive: bool, head: bool },
    /// More bytes are needed.
    Partial,
    /// The request is refused; answer and close.
    Refused(Refusal),
}

/// Parses the request at the front of `buf`.
pub fn frame(buf: &[u8]) -> Frame {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => return Frame::Refused(Refusal::HeadersTooLarge),
        Ok(httparse::Status::Partial) => return Frame::Partial,
        Err(httparse::Error::TooManyHeaders) => return Frame::Refused(Refusal::HeadersTooLarge),
        Err(_) => return Frame::Refused(Refusal::BadRequest),
    };
    if head_len > MAX_HEAD {
        return Frame::Refused(Refusal::HeadersTooLarge);
    }
    let method = req.method.unwrap_or("");
    let head = method == "HEAD";
    if method != "GET" && !head {
        return Frame::Refused(Refusal::MethodNotAllowed);
    }
    // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    let mut keep_alive = req.version == Some(1);
    let mut body_len = 0usize;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse().ok()) {
                Some(n) if n > MAX_BODY => return Frame::Refused(Refusal::PayloadTooLarge),
                Some(n) => body_len = n,
                None => return Frame::Refused(Refusal::BadRequest),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Frame::Refused(Refusal::NotImplemented);
        }
    }
    let len = head_len + body_len;
    if buf.len() < len {
        return Frame::Partial;
    }
    Frame::Request { len, keep_alive, head }
}

/// The four success responses of one worker, built once so the hot path only copies bytes.
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

/// Just enough of a response head for a client or a proxy: status, framing, `X-Worker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// Bytes of the head, up to and including the empty line.
    pub len: usize,
    /// Content-Length (a response to HEAD carries none of it).
    pub body_len: usize,
    /// The server closes the connection after this response.
    pub close: bool,
    /// Where the `X-Worker` value sits in the buffer.
    pub worker: Option<std::ops::Range<usize>>,
}

/// Why a response cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadResponse {
    Malformed,
    /// Every server measured here sends a Content-Length; anything else is reported, not guessed at.
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
    let (mut body_len, mut worker) = (None, None);
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            body_len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
        } else if h.name.eq_ignore_ascii_case("x-worker") {
            let at = h.value.as_ptr() as usize - buf.as_ptr() as usize;
            worker = Some(at..at + h.value.len());
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    let body_len = body_len.ok_or(BadResponse::NoLength)?;
    Ok(Some(ResponseHead {
        status: resp.code.unwrap_or(0),
        len,
        body_len,
        close,
        worker,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_heads_give_status_framing_worker_and_close() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Worker: 7\r\nConnection: close\r\n\r\nHello World";
        assert_eq!(response_head(&raw[..20]), Ok(None));
        let h = response_head(raw).unwrap().unwrap();
        assert_eq!((h.status, h.len + h.body_len, h.close), (200, raw.len(), true));
        assert_eq!(&raw[h.worker.unwrap()], b"7");
        assert!(
            !response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .unwrap()
                .unwrap()
                .close
        );
        assert!(
            response_head(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
                .unwrap()
                .unwrap()
                .close
        );
        assert_eq!(response_head(b"HTTP/1.1 200 OK\r\n\r\n"), Err(BadResponse::NoLength));
        assert_eq!(response_head(b"garbage\r\n\r\n"), Err(BadResponse::Malformed));
    }

    #[test]
    fn keep_alive_rules_follow_the_version() {
        let f = |s: &str| frame(s.as_bytes());
        let one_one = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            f(one_one),
            Frame::Request {
                len: one_one.len(),
                keep_alive: true,
                head: false
            }
        );
        let close = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
        assert!(matches!(f(close), Frame::Request { keep_alive: false, .. }));
        let one_zero = "GET / HTTP/1.0\r\n\r\n";
        assert!(matches!(f(one_zero), Frame::Request { keep_alive: false, .. }));
        let one_zero_ka = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
        assert!(matches!(f(one_zero_ka), Frame::Request { keep_alive: true, .. }));
    }

    #[test]
    fn partial_then_complete_and_pipelined() {
        assert_eq!(frame(b"GET / HTTP/1.1\r\nHo"), Frame::Partial);
        let two = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        assert_eq!(
            frame(two),
            Frame::Request {
                len: 19,
                keep_alive: true,
                head: false
            }
        );
        assert!(matches!(frame(&two[19..]), Frame::Request { len: 19, .. }));
    }

    #[test]
    fn bodies_are_skipped_whole() {
        let req = b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(frame(&req[..req.len() - 1]), Frame::Partial);
        assert!(matches!(frame(req), Frame::Request { len, .. } if len == req.len()));
    }

    #[test]
    fn refusals() {
        assert_eq!(frame(b"NOT A REQUEST\r\n\r\n"), Frame::Refused(Refusal::BadRequest));
        assert_eq!(
            frame(b"POST / HTTP/1.1\r\n\r\n"),
            Frame::Refused(Refusal::MethodNotAllowed)
        );
        let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(frame(huge.as_bytes()), Frame::Refused(Refusal::HeadersTooLarge));
        let chunked = b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(frame(chunked), Frame::Refused(Refusal::NotImplemented));
    }

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
}
