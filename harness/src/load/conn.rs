//! The one connection loop: closed loop, keep-alive or a new connection per request.

use super::stats::{ErrorKind, ThreadStats};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::ops::Range;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Responses larger than this are refused as a protocol error (Hello World is ~100 bytes).
const MAX_RESPONSE: usize = 1 << 20;

/// What every connection of a run shares, read-only.
#[derive(Clone)]
pub struct Plan {
    pub addr: SocketAddr,
    /// Built once; every request is these bytes.
    pub request: Vec<u8>,
    pub keepalive: bool,
    pub measure_from: Instant,
    pub end: Instant,
    pub timeout: Duration,
}

struct Response {
    status: u16,
    worker: Option<Range<usize>>,
    close: bool,
}

/// Sends requests one after another until `plan.end`, recording those started in the window.
pub async fn run(plan: &Plan, stats: &RefCell<ThreadStats>) {
    let mut stream: Option<TcpStream> = None;
    let mut buf = vec![0u8; 4096];
    loop {
        let start = Instant::now();
        if start >= plan.end {
            return;
        }
        let measured = start >= plan.measure_from;
        let deadline = (start + plan.timeout).min(plan.end);
        let outcome = tokio::time::timeout_at(deadline.into(), exchange(plan, &mut stream, &mut buf)).await;
        let next = record(plan, &mut stats.borrow_mut(), outcome, &buf, start, measured, deadline);
        match next {
            Next::Reconnect => stream = None,
            Next::Backoff => {
                stream = None;
                // A refused connect returns at once; don't spin on a server that is gone.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Next::Keep => {}
        }
    }
}

/// What the connection does after an exchange.
enum Next {
    /// Send the next request on the same connection.
    Keep,
    /// Open a new connection for the next request.
    Reconnect,
    /// The connect itself failed: pause briefly, then reconnect.
    Backoff,
}

/// Books one exchange into `st` (only if it started in the measured window).
fn record(
    plan: &Plan,
    st: &mut ThreadStats,
    outcome: Result<Result<Response, ErrorKind>, tokio::time::error::Elapsed>,
    buf: &[u8],
    start: Instant,
    measured: bool,
    deadline: Instant,
) -> Next {
    st.sent += measured as u64;
    match outcome {
        Ok(Ok(r)) => {
            if measured {
                let micros = start.elapsed().as_micros() as u64;
                st.response(r.status, r.worker.map(|w| &buf[w]), micros);
            }
            if r.close || !plan.keepalive {
                Next::Reconnect
            } else {
                Next::Keep
            }
        }
        Ok(Err(kind)) => {
            if measured {
                st.error(kind);
            }
            if kind == ErrorKind::Connect {
                Next::Backoff
            } else {
                Next::Reconnect
            }
        }
        Err(_elapsed) => {
            if measured {
                if deadline == plan.end && start + plan.timeout > plan.end {
                    st.in_flight_at_end += 1;
                } else {
                    st.error(ErrorKind::Timeout);
                }
            }
            Next::Reconnect
        }
    }
}

async fn exchange(plan: &Plan, stream: &mut Option<TcpStream>, buf: &mut Vec<u8>) -> Result<Response, ErrorKind> {
    let s = match stream {
        Some(s) => s,
        None => {
            let s = TcpStream::connect(plan.addr).await.map_err(|_| ErrorKind::Connect)?;
            let _ = s.set_nodelay(true);
            stream.insert(s)
        }
    };
    s.write_all(&plan.request).await.map_err(io_kind)?;
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if buf.len() >= MAX_RESPONSE {
                return Err(ErrorKind::Protocol);
            }
            buf.resize(buf.len() * 2, 0);
        }
        let n = s.read(&mut buf[filled..]).await.map_err(io_kind)?;
        if n == 0 {
            return Err(ErrorKind::Reset);
        }
        filled += n;
        if let Some(r) = parse(&buf[..filled])? {
            return Ok(r);
        }
    }
}

fn io_kind(e: std::io::Error) -> ErrorKind {
    match e.kind() {
        std::io::ErrorKind::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Reset,
    }
}

/// Parses just enough of a response: status, length, `X-Worker`, `Connection: close`.
fn parse(buf: &[u8]) -> Result<Option<Response>, ErrorKind> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ErrorKind::Protocol),
    };
    let mut r = Response {
        status: resp.code.unwrap_or(0),
        worker: None,
        close: resp.version == Some(0),
    };
    let mut length = None;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
        } else if h.name.eq_ignore_ascii_case("x-worker") {
            let at = h.value.as_ptr() as usize - buf.as_ptr() as usize;
            r.worker = Some(at..at + h.value.len());
        } else if h.name.eq_ignore_ascii_case("connection") {
            r.close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    // Every server measured here sends a Content-Length; anything else is reported, not guessed at.
    let length = length.ok_or(ErrorKind::Protocol)?;
    Ok((buf.len() >= head + length).then_some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_worker_and_close() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Worker: 7\r\nConnection: close\r\n\r\nHello World";
        assert!(parse(&raw[..raw.len() - 1]).unwrap().is_none());
        let r = parse(raw).unwrap().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&raw[r.worker.unwrap()], b"7");
        assert!(r.close);
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\n\r\n").err(), Some(ErrorKind::Protocol));
        assert_eq!(parse(b"garbage\r\n\r\n").err(), Some(ErrorKind::Protocol));
    }
}
