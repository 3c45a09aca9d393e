//! Request balancing: each request goes to the next upstream over a pooled keep-alive connection;
//! responses come back in request order, `X-Worker` untouched.

use crate::upstream::{Upstreams, BAD_GATEWAY, UPSTREAM_TIMEOUT};
use http1::reader::MAX_BUF;
use http1::{response_head, Frame, Persistence, Reader, Request, Responses};
use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Idle upstream connections per upstream, owned by one proxy process.
pub struct Pool {
    upstreams: Rc<Upstreams>,
    idle: RefCell<Vec<Vec<TcpStream>>>,
    /// Answers for requests the proxy itself refuses (tagged `X-Worker: proxy`).
    refusals: Responses,
}

impl Pool {
    pub fn new(upstreams: Rc<Upstreams>) -> Pool {
        let n = upstreams.len();
        Pool {
            upstreams,
            idle: RefCell::new((0..n).map(|_| Vec::new()).collect()),
            refusals: Responses::new("proxy"),
        }
    }
}

pub async fn serve(mut client: TcpStream, pool: Rc<Pool>, timeouts: http1::Timeouts) {
    let mut reader = Reader::default();
    let mut request = Vec::with_capacity(512);
    let mut response = Vec::with_capacity(512);
    loop {
        loop {
            // One parse frames the request and rewrites its head for the upstream.
            let (len, head_len, persistence, head) = match reader.next_with(|r, h| upstream_head(r, h, &mut request)) {
                Frame::Request((r, ())) => (r.len, r.head_len, r.persistence(), r.head),
                Frame::Partial => break,
                Frame::Refused(r) => {
                    let _ = client.write_all(&pool.refusals.refusal(r)).await;
                    return;
                }
            };
            request.extend_from_slice(&reader.request_bytes(len)[head_len..]);
            let sent = match forward(&pool, &request, &mut response, head).await {
                Ok(head_len) => {
                    // The upstream connection is always HTTP/1.1 keep-alive; the client's own may not be.
                    say_persistence(&mut response, head_len, persistence);
                    http1::write_all(&mut client, &response, timeouts.idle).await
                }
                Err(_) => {
                    pool.upstreams.failed();
                    let _ = client.write_all(BAD_GATEWAY).await;
                    return;
                }
            };
            if sent.is_err() || persistence == Persistence::Close {
                let _ = client.shutdown().await;
                return;
            }
            reader.consume(len);
        }
        match reader.fill(&mut client, timeouts).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Sends `request` to the next upstream; fills `response` with exactly one response and returns
/// the length of its head. A pooled connection the worker has closed meanwhile is retried once on
/// a fresh one (GET and HEAD are idempotent); a timeout is not retried.
async fn forward(pool: &Pool, request: &[u8], response: &mut Vec<u8>, head_only: bool) -> io::Result<usize> {
    let i = pool.upstreams.pick();
    let pooled = pool.idle.borrow_mut()[i].pop();
    if let Some(mut up) = pooled {
        match timeout(UPSTREAM_TIMEOUT, exchange(&mut up, request, response, head_only)).await {
            Ok(Ok((head_len, reusable))) => {
                if reusable {
                    pool.idle.borrow_mut()[i].push(up);
                }
                return Ok(head_len);
            }
            Ok(Err(_stale)) => {}
            Err(_) => return Err(io::ErrorKind::TimedOut.into()),
        }
    }
    let exchanged = timeout(UPSTREAM_TIMEOUT, async {
        let mut up = TcpStream::connect(pool.upstreams.addr(i)).await?;
        up.set_nodelay(true)?;
        let (head_len, reusable) = exchange(&mut up, request, response, head_only).await?;
        if reusable {
            pool.idle.borrow_mut()[i].push(up);
        }
        Ok::<_, io::Error>(head_len)
    });
    exchanged.await.map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
}

/// One request/response on an upstream connection; returns (head length, connection reusable).
async fn exchange(
    up: &mut TcpStream,
    request: &[u8],
    response: &mut Vec<u8>,
    head_only: bool,
) -> io::Result<(usize, bool)> {
    up.write_all(request).await?;
    response.clear();
    loop {
        if response.len() >= MAX_BUF {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "upstream response too large",
            ));
        }
        response.reserve(1024);
        if up.read_buf(response).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Some((head_len, total, close)) = response_frame(response, head_only)? {
            if response.len() >= total {
                response.truncate(total);
                return Ok((head_len, !close));
            }
        }
    }
}

/// (head length, total length, upstream closes) once the head is complete.
fn response_frame(buf: &[u8], head_only: bool) -> io::Result<Option<(usize, usize, bool)>> {
    let head = response_head(buf)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("upstream response: {e:?}")))?;
    Ok(head.map(|h| (h.len, h.len + if head_only { 0 } else { h.body_len }, h.close)))
}

/// The request head as sent upstream: HTTP/1.1 without hop-by-hop headers, so the upstream
/// connection stays open whatever the client asked of its own connection.
fn upstream_head(req: &Request<'_>, headers: &[httparse::Header<'_>], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(req.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(req.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    // HTTP/1.1 requires a Host (RFC 9112 §3.2), which an HTTP/1.0 client may not have sent: a
    // proxy that upgrades the request supplies one.
    if !headers.iter().any(|h| h.name.eq_ignore_ascii_case("host")) {
        out.extend_from_slice(b"Host: upstream\r\n");
    }
    for h in headers {
        let hop = ["connection", "keep-alive", "proxy-connection"]
            .iter()
            .any(|n| h.name.eq_ignore_ascii_case(n));
        if !hop {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Tells the client what becomes of its connection (`Connection: close`, or `keep-alive` to an
/// HTTP/1.0 client that asked for it), when that is not HTTP/1.1's default.
fn say_persistence(response: &mut Vec<u8>, head_len: usize, persistence: Persistence) {
    let header = persistence.header().as_bytes();
    if !header.is_empty() {
        // The head ends with an empty line; insert the header before it.
        response.splice(head_len - 2..head_len - 2, header.iter().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped_and_version_raised() {
        let mut out = Vec::new();
        let raw = b"GET /x HTTP/1.0\r\nHost: a\r\nConnection: close\r\nKeep-Alive: 5\r\n\r\n";
        let framed = http1::frame_with(raw, |r, h| upstream_head(r, h, &mut out));
        assert!(matches!(framed, Frame::Request(_)));
        assert_eq!(out, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    }

    #[test]
    fn responses_are_framed_by_length_and_persistence_is_said() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Worker: 1\r\n\r\nok";
        assert_eq!(response_frame(&raw[..10], false).unwrap(), None);
        let (head, total, close) = response_frame(raw, false).unwrap().unwrap();
        assert_eq!((total, close), (raw.len(), false));
        assert_eq!(
            response_frame(raw, true).unwrap().unwrap().1,
            head,
            "HEAD responses have no body"
        );
        let said = |p| {
            let mut r = raw.to_vec();
            say_persistence(&mut r, head, p);
            String::from_utf8(r).unwrap()
        };
        assert_eq!(said(Persistence::Keep), std::str::from_utf8(raw).unwrap());
        assert_eq!(
            said(Persistence::Close),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Worker: 1\r\nConnection: close\r\n\r\nok"
        );
        assert_eq!(
            said(Persistence::KeepAnnounced),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Worker: 1\r\nConnection: keep-alive\r\n\r\nok"
        );
        assert!(response_frame(b"HTTP/1.1 200 OK\r\n\r\n", false).is_err());
    }
}
