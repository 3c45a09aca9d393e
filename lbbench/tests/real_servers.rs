//! `lbbench load` against servers it did not come from: nginx `return 200`, haproxy `http-request
//! return`, Node's `http` with a chunked body, Python's `http.server` (HTTP/1.0), a Python server
//! with a close-delimited body, and a server that closes every third response. Each run must count
//! exactly what the server sent, all 2xx, with no protocol (or any other) error. A test needing a
//! program is reported ignored without it outside CI, and fails in CI.

use model::load::LoadReport;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::{trial, wait_for, Needs};

fn main() {
    testkit::run_trials(vec![
        trial("nginx_return_200", Needs::programs(&["nginx"]), nginx),
        trial("haproxy_http_request_return", Needs::programs(&["haproxy"]), haproxy),
        trial("node_http_chunked", Needs::programs(&["node"]), node_chunked),
        trial(
            "python_http_server_http10",
            Needs::programs(&["python3"]),
            python_http_server,
        ),
        trial(
            "python_close_delimited_body",
            Needs::programs(&["python3"]),
            python_close_delimited,
        ),
        trial("closes_every_third_response", Needs::NOTHING, closes_every_third),
    ]);
}

/// `lbbench load URL` for 1 s over 4 connections, as a user runs it; its `--json` report.
fn load(port: u16) -> LoadReport {
    let url = format!("http://127.0.0.1:{port}/");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbbench"));
    cmd.args([
        "load",
        &url,
        "-c",
        "4",
        "-d",
        "1s",
        "--threads",
        "2",
        "--timeout",
        "2s",
        "--json",
    ]);
    let out = testkit::output_within(&mut cmd, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("lbbench load --json prints one report")
}

/// Every request accounted for, every response a 2xx, and as many as the server says it sent
/// (those it sent for requests still in flight when the window closed may be uncounted).
fn assert_counted(r: &LoadReport, served: u64) {
    assert_eq!(r.errors, 0, "no errors of any kind: {:?}", r.error_kinds);
    assert!(r.non_2xx.is_empty(), "only 2xx: {:?}", r.non_2xx);
    assert_eq!(r.ok, r.requests);
    // How many fit in 1 s is this machine's speed; that each was counted is the point.
    assert!(r.requests > 0, "no response in 1 s: {r:?}");
    assert_eq!(
        r.sent,
        r.ok + r.errors + r.in_flight_at_end,
        "sent = ok + non-2xx + errors + in flight"
    );
    assert!(
        served >= r.requests && served <= r.requests + r.in_flight_at_end,
        "the server sent {served}; the client counted {} with {} in flight at the end",
        r.requests,
        r.in_flight_at_end
    );
}

/// Starts `cmd` serving on `port`, loads it, stops it with `graceful` (so it finishes what it
/// was writing: haproxy logs a response after sending it), and checks the report against how many
/// responses `served` (asked after the stop) says the server sent.
fn load_and_count(cmd: &mut Command, port: u16, graceful: Signal, served: impl FnOnce() -> u64) -> LoadReport {
    let server = Server::start(cmd, port, graceful);
    let r = load(port);
    drop(server);
    assert_counted(&r, served());
    r
}

/// A program serving on `port`; when dropped, stopped with its graceful signal, then SIGTERM and
/// SIGKILL if it is still there 3 s later.
struct Server(Child, Signal);

impl Server {
    fn start(cmd: &mut Command, port: u16, graceful: Signal) -> Server {
        let child = lbproc::tie(cmd.stdin(Stdio::null()))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let server = Server(child, graceful);
        // A bare connect, not a request: the server must not count the probe.
        let up = wait_for(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "{cmd:?} is not listening on port {port} after 10 s");
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, self.1);
        wait_for(Duration::from_secs(3), || !lbproc::alive(pid));
        lbproc::stop(&[pid], Duration::from_secs(3), None);
    }
}

fn port() -> u16 {
    lbproc::ports::free_block(0).unwrap()
}

fn lines_containing(path: &Path, needles: &[&str]) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter(|l| needles.iter().all(|n| l.contains(n))).count() as u64
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(name)).unwrap()
}

fn nginx() {
    let (dir, port) = (tempfile::tempdir().unwrap(), port());
    let d = dir.path().display();
    // nginx closes a connection after 1000 requests by default (keepalive_requests), with
    // `Connection: close`: the load generator must reconnect without an error. SIGQUIT stops it
    // gracefully.
    let conf = format!(
        "worker_processes 1; daemon off; pid {d}/nginx.pid; error_log stderr warn;
         events {{ worker_connections 256; }}
         http {{
             access_log {d}/access.log;
             client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f;
             uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
             server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"Hello World\"; }} }}
         }}"
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    load_and_count(
        Command::new("nginx").args(["-e", "stderr", "-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")]),
        port,
        Signal::SIGQUIT,
        || lines_containing(&dir.path().join("access.log"), &["\"GET / HTTP/1.1\" 200 "]),
    );
}

fn haproxy() {
    let (dir, port) = (tempfile::tempdir().unwrap(), port());
    let socket = dir.path().join("admin.sock");
    let conf = format!(
        "global
    stats socket {}
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend hello
    bind 127.0.0.1:{port}
    http-request return status 200 content-type text/plain string \"Hello World\"
",
        socket.display()
    );
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, conf).unwrap();
    let server = Server::start(
        Command::new("haproxy").arg("-db").arg("-f").arg(&cfg),
        port,
        Signal::SIGUSR1,
    );
    let r = load(port);
    // haproxy's own count of 2xx answers from its frontend (its logs can drop lines under load).
    let served = haproxy_stat(&socket, "hello", "hrsp_2xx");
    drop(server);
    assert_counted(&r, served);
}

/// A counter of a frontend from haproxy's stats socket (`show stat`, CSV).
fn haproxy_stat(socket: &Path, frontend: &str, column: &str) -> u64 {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket).expect("haproxy's stats socket");
    s.write_all(b"show stat\n").unwrap();
    let mut csv = String::new();
    s.read_to_string(&mut csv).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().trim_start_matches("# ").split(',').collect();
    let at = header.iter().position(|h| *h == column).expect("the column");
    let row = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[0] == frontend && f[1] == "FRONTEND")
        .expect("the frontend's row");
    row[at].parse().unwrap()
}

fn node_chunked() {
    let (dir, port) = (tempfile::tempdir().unwrap(), port());
    // No Content-Length and two writes: a chunked body in two chunks. Counted once flushed.
    let script = format!(
        "const http = require('node:http');
         let sent = 0;
         http.createServer((req, res) => {{
             res.setHeader('X-Worker', 'node');
             res.write('Hello ');
             res.write('World');
             res.end(() => sent++);
         }}).listen({port}, '127.0.0.1');
         process.on('SIGTERM', () => {{ require('node:fs').writeFileSync('{}/sent', String(sent)); process.exit(0); }});",
        dir.path().display()
    );
    let r = load_and_count(
        Command::new("node").args(["-e", &script]),
        port,
        Signal::SIGTERM,
        || {
            let sent = std::fs::read_to_string(dir.path().join("sent")).expect("node wrote its count on SIGTERM");
            sent.parse().unwrap()
        },
    );
    assert_eq!(r.per_worker.get("node"), Some(&r.requests));
}

/// Responses Python's http.server logged (one stderr line each, written as the head is sent).
fn python_logged(dir: &Path) -> u64 {
    lines_containing(&dir.join("log"), &["\"GET / HTTP/1.1\" 200"])
}

fn python_http_server() {
    let (dir, port) = (tempfile::tempdir().unwrap(), port());
    std::fs::write(dir.path().join("index.html"), "Hello World").unwrap();
    // HTTP/1.0: every response ends its connection; each request is logged to stderr.
    load_and_count(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(log_file(dir.path(), "log")),
        port,
        Signal::SIGTERM,
        || python_logged(dir.path()),
    );
}

fn python_close_delimited() {
    let (dir, port) = (tempfile::tempdir().unwrap(), port());
    let script = format!(
        "import http.server
class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.0'
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.end_headers()  # no Content-Length: the body ends when the connection closes
        self.wfile.write(b'Hello World')
http.server.ThreadingHTTPServer(('127.0.0.1', {port}), Hello).serve_forever()
"
    );
    load_and_count(
        Command::new("python3")
            .args(["-c", &script])
            .stderr(log_file(dir.path(), "log")),
        port,
        Signal::SIGTERM,
        || python_logged(dir.path()),
    );
}

/// A thread per connection; the third response on each connection says `Connection: close` and
/// the connection closes after it.
fn closes_every_third() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicU64::new(0));
    let count = sent.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || serve_three(stream, &count));
        }
    });
    let r = load(port);
    assert_counted(&r, sent.load(Ordering::SeqCst));
}

fn serve_three(mut s: TcpStream, sent: &AtomicU64) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    for n in 1..=3 {
        let end = loop {
            if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(k) => pending.extend_from_slice(&buf[..k]),
            }
        };
        pending.drain(..end);
        let close = if n == 3 { "Connection: close\r\n" } else { "" };
        let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n{close}\r\nHello World");
        // Counted before it is written: a response the client has read is always counted,
        // however late this thread runs after writing it.
        sent.fetch_add(1, Ordering::SeqCst);
        if s.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}
