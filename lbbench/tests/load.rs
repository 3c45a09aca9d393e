//! The load generator against real local servers: every request accounted for.

mod common;

use loadgen::{run, LoadOptions};
use model::load::LoadReport;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn options(port: u16, keepalive: bool) -> LoadOptions {
    LoadOptions {
        addr: ([127, 0, 0, 1], port).into(),
        host: "test".into(),
        path: "/".into(),
        connections: 8,
        threads: 2,
        cpus: Vec::new(),
        duration: Duration::from_millis(400),
        warmup: Duration::ZERO,
        timeout: Duration::from_secs(2),
        keepalive,
        pipeline: 1,
        interval: Duration::from_millis(100),
        rate: None,
        realtime: false,
    }
}

/// A thread-per-connection server that counts the responses it writes.
fn counting_server() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicU64::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || {
                let mut s = stream;
                let mut buf = [0u8; 4096];
                let mut pending = Vec::new();
                loop {
                    let n = match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let close = String::from_utf8_lossy(&pending[..end]).contains("Connection: close");
                        pending.drain(..end + 4);
                        let resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Worker: c\r\n\r\nok";
                        // Counted before it is written: once the client has read a response,
                        // the server has counted it, however late this thread runs after.
                        count.fetch_add(1, Ordering::SeqCst);
                        if s.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                        if close {
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, served)
}

fn assert_accounted(r: &LoadReport) {
    assert_eq!(
        r.sent,
        r.requests + r.errors + r.in_flight_at_end,
        "every request accounted for: {r:?}"
    );
    assert_eq!(r.requests, r.ok + r.non_2xx.values().sum::<u64>());
}

#[test]
fn keepalive_and_close_counts_match_the_server_in_closed_and_open_loop() {
    for (keepalive, rate) in [(true, None), (false, None), (true, Some(2000.0)), (false, Some(2000.0))] {
        let (port, served) = counting_server();
        let r = run(&LoadOptions {
            rate,
            ..options(port, keepalive)
        })
        .unwrap();
        assert_accounted(&r);
        // How many answers a 400 ms window holds is this machine's speed: only that there were.
        assert!(
            r.requests > 0,
            "keepalive={keepalive} rate={rate:?}: no response: {r:?}"
        );
        assert_eq!(r.target_rps, rate);
        assert_eq!(r.errors, 0, "keepalive={keepalive}: {:?}", r.error_kinds);
        assert_eq!(r.per_worker["c"], r.requests);
        let served = served.load(Ordering::SeqCst);
        assert!(
            served >= r.requests && served <= r.sent,
            "keepalive={keepalive}: server wrote {served}, client counted {} of {} sent",
            r.requests,
            r.sent
        );
        assert!(r.latency_us.p50 > 0 && r.latency_us.p50 <= r.latency_us.p99 && r.latency_us.p99 <= r.latency_us.max);
    }
}

#[test]
fn a_hello_worker_answers_every_request_from_its_id() {
    let bin = common::debug_bin("reuseport").join("reuseport");
    let server = testkit::Running::start(bin.to_str().unwrap(), 1, &[]);
    for keepalive in [true, false] {
        let r = run(&options(server.port, keepalive)).unwrap();
        assert_accounted(&r);
        assert_eq!(r.errors, 0, "{:?}", r.error_kinds);
        assert_eq!(r.per_worker.keys().collect::<Vec<_>>(), ["0"]);
        assert_eq!(r.per_worker["0"], r.ok);
    }
}

#[test]
fn refused_connections_are_counted_as_connect_errors() {
    let port = lbproc::ports::free_block(1).unwrap();
    let mut o = options(port, true);
    o.duration = Duration::from_millis(200);
    let r = run(&o).unwrap();
    assert_accounted(&r);
    assert_eq!(r.requests, 0);
    assert!(r.error_kinds.connect > 0, "{r:?}");
    assert_eq!(r.error_kinds.connect, r.errors);
}

#[test]
fn a_tiny_rate_is_refused_with_the_reason() {
    for rate in [1e-300, 0.5] {
        let o = LoadOptions {
            rate: Some(rate),
            ..options(1, true)
        };
        let err = run(&o).unwrap_err().to_string();
        assert!(err.contains("less than one request"), "{rate}: {err}");
    }
}

#[test]
fn a_server_that_never_answers_gives_timeouts() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut o = options(port, true);
    o.connections = 2;
    o.timeout = Duration::from_millis(100);
    let r = run(&o).unwrap();
    drop(listener);
    assert_accounted(&r);
    assert_eq!(r.requests, 0);
    assert!(r.error_kinds.timeout >= 2, "{r:?}");
    // A dropped request must not improve the percentiles: it is recorded at its timeout.
    assert!(r.latency_us.p50 >= 100_000, "timeouts enter the histogram: {r:?}");
}

/// A thread-per-connection server answering each read with one small response, after
/// `before_answer(age)` (the server's age) says how long to wait first — or not at all (None).
fn timed_server(before_answer: fn(Duration) -> Option<Duration>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let born = std::time::Instant::now();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = stream;
                let _ = s.set_nodelay(true);
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    let Some(wait) = before_answer(born.elapsed()) else {
                        continue;
                    };
                    std::thread::sleep(wait);
                    let resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Worker: s\r\n\r\nok";
                    if s.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Answers at once for 600 ms, then reads but never answers again.
fn going_quiet_server() -> u16 {
    timed_server(|age| (age < Duration::from_millis(600)).then_some(Duration::ZERO))
}

#[test]
fn open_loop_accounts_for_requests_due_while_the_server_stalls_at_the_end() {
    // 1000 req/s over 4 connections for 1 s; the server stops answering 600 ms in.
    let port = going_quiet_server();
    let o = LoadOptions {
        connections: 4,
        duration: Duration::from_secs(1),
        rate: Some(1000.0),
        timeout: Duration::from_secs(5),
        ..options(port, true)
    };
    let r = run(&o).unwrap();
    assert_accounted(&r);
    // ~400 requests fell due in the quiet part: 4 are in flight, the rest never left.
    assert!(r.not_sent_in_time >= 300, "{r:?}");
    assert_eq!(r.in_flight_at_end, 4, "{r:?}");
    let due = r.sent + r.not_sent_in_time;
    assert!(
        (950..=1050).contains(&due),
        "every request due in 1 s at 1000/s is accounted: {r:?}"
    );
    // Their lower bounds run up to 400 ms: the quiet part is 40 % of the schedule.
    assert!(
        r.latency_us.p99 >= 300_000,
        "the stall shows in the corrected p99: {r:?}"
    );
}

/// Answers at once, except that (when `stall`) it stops answering for 200 ms once per second.
fn stalling_server(stall: bool) -> u16 {
    if !stall {
        return timed_server(|_| Some(Duration::ZERO));
    }
    timed_server(|age| {
        let phase = age.as_millis() as u64 % 1000;
        Some(Duration::from_millis(200u64.saturating_sub(phase)))
    })
}

/// 1000 req/s over 4 keep-alive connections for 3 s: far below what the server can do.
fn open_loop_against(port: u16) -> LoadReport {
    let o = LoadOptions {
        connections: 4,
        duration: Duration::from_secs(3),
        rate: Some(1000.0),
        ..options(port, true)
    };
    let r = run(&o).unwrap();
    assert_accounted(&r);
    assert_eq!(r.errors, 0, "{:?}", r.error_kinds);
    r
}

#[test]
fn open_loop_latency_shows_a_stall_that_uncorrected_latency_hides() {
    let r = open_loop_against(stalling_server(true));
    let corrected = r.latency_us.p99;
    let uncorrected = r.uncorrected_latency_us.unwrap().p99;
    // A 200 ms stall per second delays ~20 % of the schedule by up to 200 ms ...
    assert!(
        corrected >= 100_000,
        "corrected p99 {corrected} µs should show the stall: {r:?}"
    );
    // ... but only the few requests in flight when it began (4 per stall, ~0.4 %) waited on it:
    // measured from their actual sends, the rest never saw it. (Relative to the same run, so a
    // slow machine, which slows both, cannot make it fail.)
    assert!(
        uncorrected * 2 < corrected,
        "uncorrected p99 {uncorrected} µs should not show it as corrected {corrected} µs does: {r:?}"
    );
    assert!(
        r.send_lag_us.unwrap().p99 >= 100_000,
        "requests left late after each stall: {r:?}"
    );
    // The timeline shows when: every 100 ms interval is counted, and stalls leave intervals bare.
    let t = r.timeline.as_ref().expect("a timeline");
    assert_eq!(t.interval_ms, 100);
    assert_eq!(t.ok.iter().sum::<u64>(), r.ok, "the intervals add up to the report");
    let (quiet, busy) = (t.ok.iter().min().unwrap(), t.ok.iter().max().unwrap());
    assert!(*quiet * 4 < *busy, "stalled intervals stand out: {:?}", t.ok);
    assert!(t.p99_us.iter().max().unwrap() >= &100_000, "{:?}", t.p99_us);
}

#[test]
fn without_stalls_the_correction_adds_exactly_the_send_lag() {
    let r = open_loop_against(stalling_server(false));
    // Each answered request's corrected latency is its send lag plus its uncorrected latency.
    // The corrected histogram also holds, at the least latency they will have, the requests
    // still in flight at the end and those never sent (a loaded machine makes the client late,
    // and more of them): each such entry is at most the corrected maximum, and at least the lag
    // recorded for it. So, in sums, however late the client was:
    //   0 <= corrected - (uncorrected + lag) <= extra entries x corrected max
    // (to the histograms' precision: 3 significant figures, and values below 1 µs kept at 1).
    // How small the lag is, is the instrument's speed: `make bench-loadgen` reports it.
    let h = &r.histograms;
    let (c, u, l) = (
        &h.latency.0,
        &h.uncorrected.as_ref().unwrap().0,
        &h.send_lag.as_ref().unwrap().0,
    );
    let sum = |h: &hdrhistogram::Histogram<u64>| h.mean() * h.len() as f64;
    let extra = r.in_flight_at_end + r.not_sent_in_time;
    assert_eq!(c.len(), u.len() + extra, "corrected holds every due request: {r:?}");
    assert_eq!(l.len(), r.sent, "a lag for every send: {r:?}");
    let slack = 0.002 * (sum(c) + sum(u) + sum(l)) + 3.0 * c.len() as f64;
    let gap = sum(c) - (sum(u) + sum(l));
    assert!(
        gap >= -slack && gap <= extra as f64 * c.max() as f64 + slack,
        "corrected {} µs, uncorrected {} + lag {} µs, {extra} extra entries: {r:?}",
        sum(c),
        sum(u),
        sum(l)
    );
    // The verdict on the rate is the report's own rule, whatever this machine could do.
    let target = r.target_rps.unwrap();
    let reached = r.achieved_rps.unwrap() >= 0.95 * target && !r.client_lagged();
    assert_eq!(r.rate_reached, Some(reached), "{r:?}");
}

#[test]
fn pipelined_sends_are_counted_one_request_at_a_time() {
    let (port, served) = counting_server();
    let r = run(&LoadOptions {
        pipeline: 8,
        ..options(port, true)
    })
    .unwrap();
    assert_accounted(&r);
    assert_eq!(r.errors, 0, "{:?}", r.error_kinds);
    assert!(r.requests > 0, "{r:?}");
    assert_eq!(r.sent % 8, 0, "whole batches of 8: {r:?}");
    let served = served.load(Ordering::SeqCst);
    assert!(served >= r.requests && served <= r.sent, "server wrote {served}: {r:?}");
    let refused = run(&LoadOptions {
        pipeline: 8,
        rate: Some(1000.0),
        ..options(port, true)
    })
    .unwrap_err();
    assert!(refused.to_string().contains("closed loop"), "{refused}");
}
