//! The proxy for real: both modes reach both workers; L7 balances requests on one connection,
//! L4 whole connections; a dead upstream gives a prompt 502.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::running::{check_two_workers_answer_and_stop, check_workers_die_with_master};
use testkit::{worker_of, Running};

const BIN: &str = env!("CARGO_BIN_EXE_lbproxy");

/// The responses to `n` copies of `request` sent one after another on one connection.
fn exchanges_on_one_connection(port: u16, request: &[u8], n: usize) -> Vec<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut responses = Vec::new();
    for _ in 0..n {
        s.write_all(request).unwrap();
        let mut got = String::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with("Hello World") {
            let k = s.read(&mut buf).unwrap();
            assert!(k > 0, "closed after {got:?}");
            got.push_str(std::str::from_utf8(&buf[..k]).unwrap());
        }
        responses.push(got);
    }
    responses
}

/// Worker ids answering `n` requests sent one after another on one keep-alive connection.
fn workers_on_one_connection(port: u16, n: usize) -> Vec<String> {
    exchanges_on_one_connection(port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", n)
        .iter()
        .map(|r| worker_of(r).expect("X-Worker passed through"))
        .collect()
}

#[test]
fn both_modes_reach_both_workers_and_stop_cleanly() {
    for mode in ["l7", "l4"] {
        // 2 workers + 1 proxy process (no --cpus: one proxy).
        check_two_workers_answer_and_stop(BIN, &["--mode", mode], 3);
        check_workers_die_with_master(BIN, &["--mode", mode]);
    }
}

#[test]
fn l7_balances_requests_l4_balances_connections() {
    let l7 = Running::start(BIN, 2, &["--mode", "l7"]);
    let ids = workers_on_one_connection(l7.port, 4);
    // Alternating, whichever worker the readiness probe left next.
    assert!(
        ids[0] != ids[1] && ids[0] == ids[2] && ids[1] == ids[3],
        "per-request round-robin: {ids:?}"
    );
    let l4 = Running::start(BIN, 2, &["--mode", "l4"]);
    let ids = workers_on_one_connection(l4.port, 4);
    assert!(ids.iter().all(|w| w == &ids[0]), "one connection, one worker: {ids:?}");
}

#[test]
fn http10_keep_alive_is_announced_through_both_modes() {
    for mode in ["l7", "l4"] {
        let proxy = Running::start(BIN, 2, &["--mode", mode]);
        // Twice on one connection: the proxy must keep it open, and say so, as ApacheBench -k expects.
        let request = b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
        for got in exchanges_on_one_connection(proxy.port, request, 2) {
            assert_eq!(got.matches("Connection: keep-alive\r\n").count(), 1, "{mode}: {got}");
            assert!(!got.contains("Connection: close"), "{mode}: {got}");
        }
    }
}

/// A port no one listens on, nor can while the returned socket lives: it is bound there and never
/// listens, so connections to it are refused. (A port merely found free could be taken
/// meanwhile by a test beside this one.)
fn dead_port() -> (OwnedFd, u16) {
    use nix::sys::socket::{bind, getsockname, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let sock = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
    bind(sock.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).unwrap();
    let port = getsockname::<SockaddrIn>(sock.as_raw_fd()).unwrap().port();
    (sock, port)
}

/// Whether process `pid` holds the socket listening on `port`: then what answers there is it.
fn listens_on(pid: u32, port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!(":{port:04X}");
    let Some(ino) = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 9 && f[1].ends_with(&local) && f[3] == "0A")
        .map(|f| format!("socket:[{}]", f[9]))
    else {
        return false;
    };
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == ino.as_str()))
}

/// The answer of a proxy in `mode` in front of `upstream` alone. Its port, found free, may be
/// taken before it binds it (a test beside this one forks, and the fork holds every socket until
/// it execs): a proxy that exits at once is retried on another port.
fn answer_through_proxy(mode: &str, upstream: &str) -> String {
    for _ in 0..5 {
        let port = lbproc::ports::free_block(0).unwrap();
        let mut child = Command::new(BIN)
            .args(["--mode", mode, "--port", &port.to_string(), "--upstreams", upstream])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (mut exited, mut answer) = (false, None);
        testkit::wait_for(Duration::from_secs(10), || {
            exited = matches!(child.try_wait(), Ok(Some(_)));
            if !exited && listens_on(child.id(), port) {
                answer = testkit::get_close(port).ok();
            }
            exited || answer.is_some()
        });
        let _ = child.kill();
        child.wait().unwrap();
        if !exited {
            return answer.unwrap_or_else(|| panic!("{mode}: no answer on port {port} within 10 s"));
        }
        eprintln!("{mode}: the proxy exited at once on port {port}; trying another port");
    }
    panic!("{mode}: the proxy exited at once on five ports in a row")
}

#[test]
fn a_dead_upstream_gives_502_not_a_hang() {
    let (_held, dead) = dead_port();
    for mode in ["l7", "l4"] {
        let answer = answer_through_proxy(mode, &format!("127.0.0.1:{dead}"));
        assert!(answer.starts_with("HTTP/1.1 502 Bad Gateway"), "{mode}: {answer:?}");
    }
}

#[test]
fn a_dead_worker_is_replaced_and_a_reload_replaces_every_worker() {
    for mode in ["l7", "l4"] {
        testkit::recovery::check_dead_worker_is_replaced(BIN, &["--mode", mode]);
        testkit::recovery::check_reload_replaces_every_worker(BIN, &["--mode", mode]);
    }
}
