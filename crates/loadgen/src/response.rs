//! The load generator's own HTTP/1.x response parser. It shares no code with the servers it
//! measures (their framing lives in crates/http1), so a framing bug cannot hide on both sides.
//! It follows RFC 9112 §6.3 for any server: Content-Length, chunked, close-delimited bodies,
//! interim 1xx responses, and bodiless responses (HEAD, 204, 304).

use std::ops::Range;

/// Heads with more header fields than this are parsed again with room for [`MAX_HEADERS`].
const FIRST_HEADERS: usize = 32;
pub const MAX_HEADERS: usize = 256;

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    None,
    Length(usize),
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// Why bytes are not a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    Head,
    /// Content-Length is not a number, or two of them disagree.
    Length,
    Chunk,
    /// A 101 Switching Protocols, which a plain GET never asks for.
    Upgrade,
}

/// What was wrong, for people.
impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Malformed::Head => "its status line or headers are not HTTP/1.x",
            Malformed::Length => "its Content-Length is not a number, or two of them disagree",
            Malformed::Chunk => "its chunked body is malformed",
            Malformed::Upgrade => "it switched protocols (101), which a plain GET never asks for",
        })
    }
}

/// A whole response at the front of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Bytes from the start of the buffer to the end of this response (interim 1xx included).
    pub len: usize,
    /// Where the body's bytes sit in the buffer (still chunk-encoded if chunked).
    pub body: Range<usize>,
    /// The server closes the connection after it.
    pub close: bool,
    /// Where the `X-Worker` value sits in the buffer.
    pub worker: Option<Range<usize>>,
}

struct Head {
    status: u16,
    len: usize,
    body: Body,
    close: bool,
    worker: Option<Range<usize>>,
}

/// The response at the front of `buf`, once it is whole. `head_request`: it answers a HEAD (no
/// body whatever the headers say). `eof`: the server has closed, which ends a close-delimited body.
pub fn parse(buf: &[u8], head_request: bool, eof: bool) -> Result<Option<Response>, Malformed> {
    let mut at = 0;
    loop {
        let Some(head) = parse_head(&buf[at..], head_request)? else {
            return Ok(None);
        };
        let start = at + head.len;
        if (100..200).contains(&head.status) {
            if head.status == 101 {
                return Err(Malformed::Upgrade);
            }
            // An interim response (100 Continue, 103 Early Hints): the real one follows.
            at = start;
            continue;
        }
        let end = match head.body {
            Body::None => Some(start),
            Body::Length(n) => start.checked_add(n).filter(|&e| e <= buf.len()),
            Body::Chunked => chunked_end(buf, start)?,
            Body::UntilClose => eof.then_some(buf.len()),
        };
        let worker = head.worker.map(|w| w.start + at..w.end + at);
        return Ok(end.map(|len| Response {
            status: head.status,
            len,
            body: start..len,
            close: head.close || head.body == Body::UntilClose,
            worker,
        }));
    }
}

fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<Head>, Malformed> {
    let mut few = [httparse::EMPTY_HEADER; FIRST_HEADERS];
    match parse_head_with(buf, head_request, &mut few) {
        Err(httparse::Error::TooManyHeaders) => {
            let mut many = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
            parse_head_with(buf, head_request, &mut many).map_err(|_| Malformed::Head)?
        }
        r => r.map_err(|_| Malformed::Head)?,
    }
}

/// The outer Result is httparse's; the inner one ours.
#[allow(clippy::type_complexity)]
fn parse_head_with<'h>(
    buf: &'h [u8],
    head_request: bool,
    headers: &mut [httparse::Header<'h>],
) -> Result<Result<Option<Head>, Malformed>, httparse::Error> {
    let mut resp = httparse::Response::new(headers);
    let len = match resp.parse(buf)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(Ok(None)),
    };
    let status = resp.code.unwrap_or(0);
    let mut close = resp.version == Some(0);
    let (mut length, mut chunked, mut encoded, mut worker) = (None, false, false, None);
    for h in resp.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
            match (n, length) {
                (None, _) => return Ok(Err(Malformed::Length)),
                (Some(n), Some(m)) if n != m => return Ok(Err(Malformed::Length)),
                (n, _) => length = n,
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            encoded = true;
            // Chunked must be the final coding for the body to be framed by it.
            chunked = tokens(h.value)
                .last()
                .is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for t in tokens(h.value) {
                if t.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if t.eq_ignore_ascii_case(b"keep-alive") && resp.version == Some(0) {
                    close = false;
                }
            }
        } else if name.eq_ignore_ascii_case("x-worker") {
            let at = h.value.as_ptr() as usize - buf.as_ptr() as usize;
            worker = Some(at..at + h.value.len());
        }
    }
    let body = if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        Body::None
    } else if chunked {
        Body::Chunked
    } else if encoded {
        Body::UntilClose
    } else {
        length.map_or(Body::UntilClose, Body::Length)
    };
    // The HTTP/1.0 keep-alive rule needs the whole head, so `close` for 1.0 is settled above.
    Ok(Ok(Some(Head {
        status,
        len,
        body,
        close,
        worker,
    })))
}

fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// Where a chunked body starting at `at` ends (after its trailers), once it is all in `buf`.
fn chunked_end(buf: &[u8], mut at: usize) -> Result<Option<usize>, Malformed> {
    loop {
        let (consumed, size) = match httparse::parse_chunk_size(&buf[at..]) {
            Ok(httparse::Status::Complete(c)) => c,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(Malformed::Chunk),
        };
        at += consumed;
        if size == 0 {
            // Trailer lines, then the empty line.
            loop {
                let Some(eol) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                at += eol + 2;
                if eol == 0 {
                    return Ok(Some(at));
                }
            }
        }
        let size = usize::try_from(size).map_err(|_| Malformed::Chunk)?;
        let data_end = at.checked_add(size).ok_or(Malformed::Chunk)?;
        if buf.len() < data_end.saturating_add(2) {
            return Ok(None);
        }
        if &buf[data_end..data_end + 2] != b"\r\n" {
            return Err(Malformed::Chunk);
        }
        at = data_end + 2;
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
