//! One client connection's socket and what it has read: as few system calls per request as the
//! kernel allows — a write, a read, and a share of the thread's epoll_wait.

use crate::response::{self, Response};
use model::load::ErrorKind;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::task::Poll;
use tokio::io::unix::AsyncFd;
use tokio::io::Ready;

/// Most responses fit here; a connection grows its buffer only when one does not. Small, so
/// 10,000 connections stay in a few tens of MiB.
const FIRST_BUF: usize = 1024;
/// Responses larger than this are refused as a protocol error (Hello World is ~100 bytes).
const MAX_RESPONSE: usize = 1 << 20;

/// A connect error no retry can cure: the run stops and says how to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fatal {
    /// EMFILE/ENFILE: no file descriptors left.
    Descriptors,
    /// EADDRNOTAVAIL: no local port left for a new connection.
    Ports,
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Fatal::Descriptors => {
                "out of file descriptors: raise the limit (`ulimit -n`, or the hard limit in \
                 /etc/security/limits.conf) or use fewer connections"
            }
            Fatal::Ports => {
                "out of local ports for new connections: use fewer connections, keep-alive, or a \
                 wider net.ipv4.ip_local_port_range (lbbench sets 1024-65535 in its own namespaces)"
            }
        })
    }
}

/// How an exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoFailure {
    Error(ErrorKind),
    Fatal(Fatal),
}

fn connect_failure(e: io::Error) -> IoFailure {
    match e.raw_os_error() {
        Some(libc::EMFILE) | Some(libc::ENFILE) => IoFailure::Fatal(Fatal::Descriptors),
        Some(libc::EADDRNOTAVAIL) => IoFailure::Fatal(Fatal::Ports),
        _ => IoFailure::Error(ErrorKind::Connect),
    }
}

fn io_failure(e: io::Error) -> IoFailure {
    IoFailure::Error(match e.kind() {
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::ConnectionRefused => ErrorKind::Connect,
        _ => ErrorKind::Reset,
    })
}

/// One client connection: the socket (opened lazily) and what it has read but not consumed.
pub struct Conn {
    sock: Option<AsyncFd<TcpStream>>,
    /// Whether the socket's connect is known to have completed.
    connected: bool,
    pub buf: Vec<u8>,
    filled: usize,
}

impl Default for Conn {
    fn default() -> Conn {
        Conn {
            sock: None,
            connected: false,
            buf: vec![0u8; FIRST_BUF],
            filled: 0,
        }
    }
}

impl Conn {
    /// A non-blocking socket with its connect started. On loopback the handshake is usually done
    /// by the time the request is written, so nothing waits for it unless it must.
    fn open(addr: SocketAddr) -> Result<AsyncFd<TcpStream>, IoFailure> {
        let s = Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking(),
            Some(Protocol::TCP),
        )
        .map_err(connect_failure)?;
        match s.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(connect_failure(e)),
        }
        // SAFETY: the stream owns its descriptor and keeps it open as long as the AsyncFd lives.
        unsafe { AsyncFd::register(TcpStream::from(s)) }.map_err(|e| connect_failure(e.into()))
    }

    /// Writes the whole request; waits for the connect to finish only if the first write finds
    /// it unfinished.
    async fn send(&mut self, request: &[u8]) -> Result<(), IoFailure> {
        let fd = self.sock.as_ref().expect("an open socket");
        let mut sent = 0;
        while sent < request.len() {
            match fd.get_ref().write(&request[sent..]) {
                Ok(n) => {
                    sent += n;
                    self.connected = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOTCONN) => {
                    let mut ready = fd.writable().await.map_err(io_failure)?;
                    ready.clear_ready();
                    if !self.connected {
                        if let Some(e) = fd.get_ref().take_error().map_err(io_failure)? {
                            return Err(connect_failure(e));
                        }
                    }
                }
                Err(e) if !self.connected => return Err(connect_failure(e)),
                Err(e) => return Err(io_failure(e)),
            }
        }
        Ok(())
    }

    /// Sends `request` (one or several pipelined requests), connecting first if needed.
    pub async fn send_request(&mut self, addr: SocketAddr, request: &[u8]) -> Result<(), IoFailure> {
        if self.sock.is_none() {
            self.sock = Some(Self::open(addr)?);
            self.connected = false;
        }
        self.send(request).await?;
        let fd = self.sock.as_ref().expect("an open socket");
        // The answer cannot have come before the request left: forget any readiness left from
        // the last response, so the read below waits for the kernel's word instead of trying,
        // failing and then waiting (one system call saved per request). A close stays seen.
        // Unless an earlier response is still buffered: then the answers are already coming.
        if self.filled == 0 {
            std::future::poll_fn(|cx| {
                if let Poll::Ready(Ok(mut ready)) = fd.poll_read_ready(cx) {
                    ready.clear_ready_matching(Ready::READABLE);
                }
                Poll::Ready(())
            })
            .await;
        }
        Ok(())
    }

    /// Reads until the next whole response is at the front of the buffer.
    pub async fn receive(&mut self) -> Result<Response, IoFailure> {
        let fd = self.sock.as_ref().expect("a request was sent");
        loop {
            let parsed = response::parse(&self.buf[..self.filled], false, false);
            if let Some(r) = parsed.map_err(|_| IoFailure::Error(ErrorKind::Protocol))? {
                return Ok(r);
            }
            if self.filled == self.buf.len() {
                if self.buf.len() >= MAX_RESPONSE {
                    return Err(IoFailure::Error(ErrorKind::Protocol));
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let mut ready = fd.readable().await.map_err(io_failure)?;
            let n = match ready.try_io(|s| s.get_ref().read(&mut self.buf[self.filled..])) {
                Ok(r) => r.map_err(io_failure)?,
                Err(_would_block) => continue,
            };
            if n == 0 {
                // A close-delimited body ends here; anything else was cut short.
                return match response::parse(&self.buf[..self.filled], false, true) {
                    Ok(Some(r)) => Ok(r),
                    _ => Err(IoFailure::Error(ErrorKind::Reset)),
                };
            }
            self.filled += n;
        }
    }

    /// Drops a response's bytes, keeping whatever followed it.
    pub fn consume(&mut self, len: usize) {
        self.buf.copy_within(len..self.filled, 0);
        self.filled -= len;
    }

    /// Forgets the connection: the next exchange opens a new one.
    pub fn reset(&mut self) {
        self.sock = None;
        self.filled = 0;
    }
}
