//! What a Rust master does when a worker dies or it is told to reload: the checks every strategy
//! binary passes (through `strategy_contract!`).

use crate::procs::{gone, named_workers, wait_for};
use crate::running::{Answering, Running};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Waits until both workers have named themselves; returns their pids.
fn both_named(server: &Running) -> Vec<u32> {
    let mut pids = Vec::new();
    let named = wait_for(Duration::from_secs(10), || {
        pids = named_workers(server.child.id(), 2).into_iter().flatten().collect();
        pids.len() == 2
    });
    assert!(named, "the workers never named themselves lbbench-w0 and lbbench-w1");
    pids
}

/// A master replaces a worker killed with SIGKILL, and both workers answer again.
pub fn check_dead_worker_is_replaced(bin: &str, extra: &[&str]) {
    check_dead_worker_is_replaced_answering(bin, extra, Answering::Every);
}

/// [`check_dead_worker_is_replaced`], with the workers answering as `answering` says.
pub fn check_dead_worker_is_replaced_answering(bin: &str, extra: &[&str], answering: Answering) {
    let server = Running::start(bin, 2, extra);
    let before = both_named(&server);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(before[0] as i32), nix::sys::signal::SIGKILL).unwrap();
    let mut now = Vec::new();
    let replaced = wait_for(Duration::from_secs(10), || {
        now = named_workers(server.child.id(), 2);
        now[0].is_some_and(|p| p != before[0]) && gone(before[0])
    });
    assert!(replaced, "worker 0 ({}) was not replaced: {now:?}", before[0]);
    assert_eq!(now[1], Some(before[1]), "worker 1 must be left alone");
    server.assert_answering(2, answering);
}

/// SIGHUP replaces every worker (new pids, the old ones gone) while a keep-alive client goes on
/// getting 200s: a draining worker closes a connection only after answering on it, with
/// `Connection: close`, and the client reconnects. What is checked is that the client is
/// answered before and after the reload and never fails, not how many answers it gets: that
/// depends on the machine.
pub fn check_reload_replaces_every_worker(bin: &str, extra: &[&str]) {
    let server = Running::start(bin, 2, extra);
    let before = both_named(&server);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let client = {
        let (stop, ok, port) = (stop.clone(), ok.clone(), server.port);
        std::thread::spawn(move || keep_alive_client(port, &stop, &ok))
    };
    // Whether the client has had `n` answers, waiting for them up to 20 s (less if it failed).
    let answered = |n: u64| {
        wait_for(Duration::from_secs(20), || {
            ok.load(Ordering::SeqCst) >= n || client.is_finished()
        });
        ok.load(Ordering::SeqCst) >= n
    };
    // Connected and answered, so the reload happens in the middle of its keep-alive traffic.
    let going = answered(10);
    let (mut now, mut replaced, mut answered_after) = (Vec::new(), false, false);
    if going {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(server.child.id() as i32),
            nix::sys::signal::SIGHUP,
        )
        .unwrap();
        replaced = wait_for(Duration::from_secs(20), || {
            now = named_workers(server.child.id(), 2);
            now.iter().zip(&before).all(|(n, b)| n.is_some_and(|n| n != *b)) && before.iter().all(|b| gone(*b))
        });
        // The old workers are gone: these answers come from the new ones.
        answered_after = replaced && answered(ok.load(Ordering::SeqCst) + 10);
    }
    stop.store(true, Ordering::SeqCst);
    let answers = client
        .join()
        .expect("client thread")
        .expect("the keep-alive client must never fail during a reload");
    assert!(going, "the client was not answered 10 times in 20 s: {answers:?}");
    assert!(replaced, "workers {before:?} were not all replaced: now {now:?}");
    assert!(
        answered_after,
        "the client was not answered 10 more times in 20 s after the reload: {answers:?}"
    );
    assert!(
        answers.reconnects >= 1,
        "the old workers closed the client's connection without saying so: {answers:?}"
    );
}

#[derive(Debug, Default)]
pub struct Answers {
    pub ok: u64,
    /// Connections the server closed after a `Connection: close` answer.
    pub reconnects: u64,
}

/// Sends `GET /` back to back on one keep-alive connection until `stop`, reconnecting when the
/// server announces a close; `ok` follows the count of 200s. Any other status, a reset or a close
/// without an answer is an error.
fn keep_alive_client(port: u16, stop: &AtomicBool, ok: &AtomicU64) -> Result<Answers, String> {
    let mut answers = Answers::default();
    let mut conn: Option<TcpStream> = None;
    while !stop.load(Ordering::SeqCst) {
        let s = match &mut conn {
            Some(s) => s,
            None => {
                let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
                s.set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(|e| e.to_string())?;
                conn.insert(s)
            }
        };
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .map_err(|e| format!("after {answers:?}: send: {e}"))?;
        let head = read_response(s).map_err(|e| format!("after {answers:?}: {e}"))?;
        if !head.starts_with("HTTP/1.1 200 OK") {
            return Err(format!("after {answers:?}: answered {head:?}"));
        }
        answers.ok += 1;
        ok.store(answers.ok, Ordering::SeqCst);
        if head.to_ascii_lowercase().contains("connection: close") {
            answers.reconnects += 1;
            conn = None;
        }
    }
    Ok(answers)
}

/// Reads one Hello World response (its head, and the 11-byte body it announces).
fn read_response(s: &mut TcpStream) -> Result<String, String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) => return Err(format!("closed after {} bytes of a response", buf.len())),
            Ok(_) => buf.push(byte[0]),
            Err(e) => return Err(format!("receive: {e}")),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut body = [0u8; 11];
    s.read_exact(&mut body).map_err(|e| format!("body: {e}"))?;
    Ok(head)
}
