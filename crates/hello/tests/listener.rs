//! What a worker does with its listener beyond serving: counting its open connections in a
//! shared word, and draining once the listener is shut down under it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use testkit::wait_for;

const T: hello::Timeouts = hello::Timeouts {
    idle: Duration::from_secs(60),
    header: Duration::from_secs(60),
};

/// Sends one keep-alive request and reads its answer; returns the answer's head.
fn exchange(s: &mut TcpStream) -> String {
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).ends_with("Hello World") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

#[test]
fn a_counted_worker_keeps_its_open_connections_in_the_shared_word() {
    let open: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
    let listener = hello::worker::bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || hello::worker::serve_listener_counted(listener, 3, T, open));
    let mut conns: Vec<TcpStream> = (0..3).map(|_| connect(port)).collect();
    for c in &mut conns {
        exchange(c);
    }
    // Each was accepted before it was answered, and none has closed.
    assert_eq!(open.load(Ordering::SeqCst), 3);
    conns.truncate(1);
    assert!(
        wait_for(Duration::from_secs(20), || open.load(Ordering::SeqCst) == 1),
        "two closed: {open:?}"
    );
    drop(conns);
    assert!(wait_for(Duration::from_secs(20), || open.load(Ordering::SeqCst) == 0));
}

#[test]
fn a_worker_whose_listener_is_shut_down_drains_and_returns() {
    let listener = hello::worker::bind("127.0.0.1:0".parse().unwrap(), true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let master_copy = listener.try_clone().unwrap();
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || done_tx.send(hello::worker::serve_listener(listener, 4, T).is_ok()));
    let mut kept = connect(port);
    assert!(exchange(&mut kept).contains("X-Worker: 4"));
    // As a master takes a socket out of its port's group: the worker's copy stays open.
    nix::sys::socket::shutdown(master_copy.as_raw_fd(), nix::sys::socket::Shutdown::Read).unwrap();
    // Draining: once the worker has seen it (a request may be answered first), an answer says
    // the connection closes, and then the worker returns.
    let closing = wait_for(Duration::from_secs(20), || {
        exchange(&mut kept).to_ascii_lowercase().contains("connection: close")
    });
    assert!(closing, "the worker never drained");
    assert_eq!(done.recv_timeout(Duration::from_secs(20)), Ok(true));
}
