//! The Hello World worker over real sockets: keep-alive, close, HTTP/1.0, pipelining, bad input.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A timeout no test waits for: with it, a worker that failed to act at once would hang far
/// past the bounds the tests assert.
const LONG: Duration = Duration::from_secs(60);

/// Starts one worker (id 7) on a free port in a background thread; idle timeout 300 ms, header
/// timeout 600 ms.
fn worker() -> u16 {
    worker_with(Duration::from_millis(300), Duration::from_millis(600))
}

fn worker_with(idle: Duration, header: Duration) -> u16 {
    let listener = hello::worker::bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = hello::Timeouts { idle, header };
    std::thread::spawn(move || hello::worker::serve_listener(listener, 7, t));
    port
}

/// A connection whose reads fail after 20 s: a worker that never answers fails the test, however
/// slow the machine is.
fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads until the peer closes; returns everything.
fn read_all(s: &mut TcpStream) -> String {
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Reads exactly `n` complete Hello World responses (each ends with the body).
fn read_responses(s: &mut TcpStream, n: usize) -> String {
    let mut out = String::new();
    let mut buf = [0u8; 4096];
    while out.matches("Hello World").count() < n {
        let k = s.read(&mut buf).unwrap();
        assert!(k > 0, "closed early after {out:?}");
        out.push_str(std::str::from_utf8(&buf[..k]).unwrap());
    }
    out
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let mut s = connect(worker());
    for _ in 0..3 {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let r = read_responses(&mut s, 1);
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(
            r.contains("Content-Length: 11\r\n") && r.contains("X-Worker: 7\r\n"),
            "{r}"
        );
    }
}

#[test]
fn connection_close_and_http10_close_after_the_response() {
    let port = worker();
    for req in [
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
    ] {
        let mut s = connect(port);
        s.write_all(req.as_bytes()).unwrap();
        let r = read_all(&mut s);
        assert!(r.starts_with("HTTP/1.1 200 OK") && r.ends_with("Hello World"), "{r}");
    }
}

#[test]
fn http10_keep_alive_is_announced_and_kept() {
    // ApacheBench -k speaks exactly this; unless the response says `Connection: keep-alive`, an
    // HTTP/1.0 client waits for the close that ends the response.
    let mut s = connect(worker());
    for _ in 0..3 {
        s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap();
        let r = read_responses(&mut s, 1);
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("\r\nConnection: keep-alive\r\n"), "{r}");
    }
    // A plain HTTP/1.0 request on the same connection is answered with a close.
    s.write_all(b"HEAD / HTTP/1.0\r\n\r\n").unwrap();
    let r = read_all(&mut s);
    assert!(r.ends_with("Connection: close\r\n\r\n"), "{r}");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut s = connect(worker());
    s.write_all(b"GET /1 HTTP/1.1\r\nHost: t\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: t\r\n\r\nGET /3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let r = read_all(&mut s);
    assert_eq!(r.matches("HTTP/1.1 200 OK").count(), 3, "{r}");
    assert_eq!(r.matches("Hello World").count(), 2, "HEAD has no body: {r}");
    assert!(
        r.ends_with("Connection: close\r\n\r\nHello World"),
        "the close comes last: {r}"
    );
}

#[test]
fn malformed_requests_get_400_and_the_connection_closes() {
    let mut s = connect(worker());
    s.write_all(b"THIS IS NOT HTTP\r\n\r\n").unwrap();
    let r = read_all(&mut s);
    assert!(r.starts_with("HTTP/1.1 400 Bad Request"), "{r}");
}

#[test]
fn oversized_headers_get_431() {
    let mut s = connect(worker());
    let big = format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n", "a".repeat(9 * 1024));
    // The worker may close before reading all of it; a reset on write is fine.
    let _ = s.write_all(big.as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let r = String::from_utf8_lossy(&out);
    assert!(r.starts_with("HTTP/1.1 431 "), "{r}");
}

#[test]
fn lengths_that_disagree_get_400_not_a_hang() {
    // Long timeouts: a worker that waited for a body (or for anything) would still be waiting
    // when the generous bound below has passed. The 400 itself shows it refused: a timeout
    // closes without a byte.
    let mut s = connect(worker_with(LONG, LONG));
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n")
        .unwrap();
    let t = Instant::now();
    let r = read_all(&mut s);
    assert!(r.starts_with("HTTP/1.1 400 Bad Request"), "{r}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "answered after {:?}",
        t.elapsed()
    );
}

#[test]
fn a_request_trickling_in_is_cut_off() {
    // Only the 600 ms header timeout can end this: the idle one is long, and a byte comes every
    // 100 ms, for 30 s unless the worker closes (a write fails soon after it has).
    let mut s = connect(worker_with(LONG, Duration::from_millis(600)));
    let t = Instant::now();
    let endless = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "
        .iter()
        .chain(std::iter::repeat(&b'a'));
    for b in endless {
        if s.write_all(&[*b]).is_err() || t.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let closed_after = t.elapsed();
    assert!(
        closed_after < Duration::from_secs(10),
        "the worker waited {closed_after:?} for a request that never ended"
    );
}

#[test]
fn idle_connections_are_closed() {
    let mut s = connect(worker());
    let t = Instant::now();
    assert_eq!(read_all(&mut s), "", "no bytes before the idle close");
    // 300 ms idle timeout; without one, the read would fail at the 20 s read timeout.
    assert!(t.elapsed() < Duration::from_secs(10), "closed after {:?}", t.elapsed());
}

#[test]
fn a_request_larger_than_the_first_buffer_is_served() {
    let mut s = connect(worker());
    let body = "b".repeat(20_000);
    let req = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let r = read_all(&mut s);
    assert!(r.starts_with("HTTP/1.1 200 OK") && r.ends_with("Hello World"), "{r}");
}

#[test]
fn requests_get_the_service_time_they_ask_for_and_a_bad_spec_gets_400() {
    let port = worker();
    for (path, at_least) in [("/?block=60ms", 60), ("/?cpu=40ms", 40), ("/?cpu=20ms&block=20ms", 40)] {
        let mut s = connect(port);
        let t = Instant::now();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
            .unwrap();
        let r = read_all(&mut s);
        assert!(r.starts_with("HTTP/1.1 200 OK"), "{path}: {r}");
        assert!(
            t.elapsed() >= Duration::from_millis(at_least),
            "{path} took {:?}",
            t.elapsed()
        );
    }
    let mut s = connect(port);
    s.write_all(b"GET /?cpu=lots HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert!(read_all(&mut s).starts_with("HTTP/1.1 400 Bad Request"));
}
