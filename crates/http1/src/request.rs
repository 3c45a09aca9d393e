//! Request framing: where the request at the front of a buffer ends, and how to answer it.

/// Request heads larger than this are refused with 431.
pub const MAX_HEAD: usize = 8 * 1024;
/// Request bodies larger than this are refused with 413 (a Hello World server needs none).
pub const MAX_BODY: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;

/// Error statuses answered before closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    HeadersTooLarge,
    NotImplemented,
}

impl Refusal {
    pub fn status_line(self) -> &'static str {
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
pub enum Frame<T> {
    /// One whole request (head and body).
    Request(T),
    /// More bytes are needed.
    Partial,
    /// The request is refused; answer and close.
    Refused(Refusal),
}

impl<T> Frame<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Frame<U> {
        match self {
            Frame::Request(t) => Frame::Request(f(t)),
            Frame::Partial => Frame::Partial,
            Frame::Refused(r) => Frame::Refused(r),
        }
    }
}

/// One complete request at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'b> {
    /// Bytes of the whole request, head and body.
    pub len: usize,
    /// Bytes of the head, up to and including the empty line.
    pub head_len: usize,
    /// The connection stays open after the response.
    pub keep_alive: bool,
    /// A HEAD request: the response carries no body.
    pub head: bool,
    /// The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    pub method: &'b str,
    pub path: &'b str,
}

/// What happens to the connection after a response, and what the response must say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// HTTP/1.1's default: the connection stays open and the response says nothing.
    Keep,
    /// An HTTP/1.0 client asked for keep-alive: the connection stays open only if the response
    /// says `Connection: keep-alive` (RFC 9112 §9.3, Appendix C.2.2); without it the client
    /// waits for a close that never comes.
    KeepAnnounced,
    /// The connection closes after the response, which says `Connection: close`.
    Close,
}

impl Persistence {
    /// The header line the response carries ("" for none), CRLF included.
    pub fn header(self) -> &'static str {
        match self {
            Persistence::Keep => "",
            Persistence::KeepAnnounced => "Connection: keep-alive\r\n",
            Persistence::Close => "Connection: close\r\n",
        }
    }
}

impl Request<'_> {
    pub fn persistence(&self) -> Persistence {
        match (self.keep_alive, self.version) {
            (false, _) => Persistence::Close,
            (true, 0) => Persistence::KeepAnnounced,
            (true, _) => Persistence::Keep,
        }
    }
}

/// Frames the request at the front of `buf`.
pub fn frame(buf: &[u8]) -> Frame<Request<'_>> {
    frame_with(buf, |_, _| ()).map(|(r, ())| r)
}

/// Frames the request at the front of `buf` and hands its head to `f` in the same parse (the
/// proxy rewrites headers from it).
pub fn frame_with<'b, T>(
    buf: &'b [u8],
    f: impl FnOnce(&Request<'b>, &[httparse::Header<'b>]) -> T,
) -> Frame<(Request<'b>, T)> {
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
    let version = req.version.unwrap_or(1);
    // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    let mut keep_alive = version == 1;
    let mut body_len = 0usize;
    let mut seen_length: Option<usize> = None;
    let mut hosts = 0;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("host") {
            hosts += 1;
        }
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
            match content_length(h.value) {
                // Two lengths that disagree make the framing ambiguous (RFC 9112 §6.3).
                Some(n) if seen_length.is_some_and(|m| m != n) => return Frame::Refused(Refusal::BadRequest),
                Some(n) if n > MAX_BODY => return Frame::Refused(Refusal::PayloadTooLarge),
                Some(n) => {
                    body_len = n;
                    seen_length = Some(n);
                }
                None => return Frame::Refused(Refusal::BadRequest),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Frame::Refused(Refusal::NotImplemented);
        }
    }
    // An HTTP/1.1 request names exactly one host; no request may name two (RFC 9112 §3.2).
    if hosts > 1 || (hosts == 0 && version == 1) {
        return Frame::Refused(Refusal::BadRequest);
    }
    let len = head_len + body_len;
    if buf.len() < len {
        return Frame::Partial;
    }
    let request = Request {
        len,
        head_len,
        keep_alive,
        head,
        version,
        method,
        path: req.path.unwrap_or("/"),
    };
    let extra = f(&request, req.headers);
    Frame::Request((request, extra))
}

/// A Content-Length value: digits only (RFC 9110 §8.6: no sign, no spaces inside), around
/// optional whitespace; None when it is anything else or does not fit.
fn content_length(value: &[u8]) -> Option<usize> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(f: Frame<Request<'_>>) -> Option<(usize, bool, bool)> {
        match f {
            Frame::Request(r) => Some((r.len, r.keep_alive, r.head)),
            _ => None,
        }
    }

    #[test]
    fn keep_alive_rules_follow_the_version() {
        let f = |s: &str| parts(frame(s.as_bytes()));
        let one_one = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(f(one_one), Some((one_one.len(), true, false)));
        assert_eq!(
            f("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").map(|p| p.1),
            Some(false)
        );
        assert_eq!(f("GET / HTTP/1.0\r\n\r\n").map(|p| p.1), Some(false));
        assert_eq!(
            f("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").map(|p| p.1),
            Some(true)
        );
        assert_eq!(
            f("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n").map(|p| p.1),
            Some(false)
        );
    }

    #[test]
    fn an_http10_keep_alive_must_be_announced() {
        let p = |s: &str| match frame(s.as_bytes()) {
            Frame::Request(r) => r.persistence(),
            other => panic!("{other:?}"),
        };
        assert_eq!(p("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Persistence::Keep);
        assert_eq!(
            p("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"),
            Persistence::Keep
        );
        assert_eq!(
            p("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            Persistence::Close
        );
        assert_eq!(p("GET / HTTP/1.0\r\n\r\n"), Persistence::Close);
        assert_eq!(
            p("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
            Persistence::KeepAnnounced
        );
        assert_eq!(Persistence::KeepAnnounced.header(), "Connection: keep-alive\r\n");
    }

    #[test]
    fn partial_then_complete_and_pipelined() {
        assert_eq!(frame(b"GET / HTTP/1.1\r\nHo"), Frame::Partial);
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(parts(frame(two)), Some((28, true, false)));
        match frame(&two[28..]) {
            Frame::Request(r) => assert_eq!((r.len, r.path, r.version), (28, "/b", 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bodies_are_skipped_whole() {
        let req = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(frame(&req[..req.len() - 1]), Frame::Partial);
        assert_eq!(parts(frame(req)).map(|p| p.0), Some(req.len()));
    }

    #[test]
    fn refusals() {
        assert_eq!(frame(b"NOT A REQUEST\r\n\r\n"), Frame::Refused(Refusal::BadRequest));
        assert_eq!(
            frame(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Frame::Refused(Refusal::MethodNotAllowed)
        );
        let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(frame(huge.as_bytes()), Frame::Refused(Refusal::HeadersTooLarge));
        let chunked = b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(frame(chunked), Frame::Refused(Refusal::NotImplemented));
        let big_body = format!("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert_eq!(frame(big_body.as_bytes()), Frame::Refused(Refusal::PayloadTooLarge));
        let two = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(frame(two), Frame::Refused(Refusal::BadRequest), "lengths that disagree");
        let same = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";
        assert!(
            matches!(frame(same), Frame::Request(_)),
            "repeated, equal lengths are one length"
        );
        for length in ["+5", "-1", "5 5", "0x5", "", "99999999999999999999999"] {
            let req = format!("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\nhello");
            assert_eq!(frame(req.as_bytes()), Frame::Refused(Refusal::BadRequest), "{length:?}");
        }
        assert!(matches!(
            frame(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length:  5 \r\n\r\nhello"),
            Frame::Request(_)
        ));
        // HTTP/1.1 names exactly one host; HTTP/1.0 may name none, but not two.
        assert_eq!(frame(b"GET / HTTP/1.1\r\n\r\n"), Frame::Refused(Refusal::BadRequest));
        let two_hosts = b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
        assert_eq!(frame(two_hosts), Frame::Refused(Refusal::BadRequest));
        assert!(matches!(frame(b"GET / HTTP/1.0\r\n\r\n"), Frame::Request(_)));
        let two_old = b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n";
        assert_eq!(frame(two_old), Frame::Refused(Refusal::BadRequest));
    }

    #[test]
    fn the_head_is_handed_over_in_the_same_parse() {
        let raw = b"GET /x HTTP/1.0\r\nHost: a\r\nConnection: close\r\n\r\n";
        let Frame::Request((r, names)) =
            frame_with(raw, |_, h| h.iter().map(|h| h.name.to_string()).collect::<Vec<_>>())
        else {
            panic!("a complete request")
        };
        assert_eq!((r.method, r.path, r.version), ("GET", "/x", 0));
        assert_eq!(names, ["Host", "Connection"]);
    }

    proptest::proptest! {
        /// Never panics, and a framed request never claims more bytes than the buffer holds.
        #[test]
        fn framing_any_bytes_is_safe(buf in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            if let Frame::Request(r) = frame(&buf) {
                proptest::prop_assert!(r.len <= buf.len() && r.len > 0);
            }
        }

        /// Whatever the split, a valid request frames the same way once it is whole.
        #[test]
        fn framing_does_not_depend_on_how_bytes_arrive(cut in 0usize..60, path in "/[a-z0-9?=&]{0,20}") {
            let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
            let cut = cut.min(raw.len() - 1);
            proptest::prop_assert_eq!(frame(&raw.as_bytes()[..cut]), Frame::Partial);
            proptest::prop_assert_eq!(parts(frame(raw.as_bytes())), Some((raw.len(), true, false)));
        }
    }
}
