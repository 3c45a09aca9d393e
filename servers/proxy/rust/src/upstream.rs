//! What both modes share: the upstreams in turn, and what a client gets when none answers.

use std::cell::Cell;
use std::net::SocketAddr;
use std::time::Duration;

/// Gives up on an upstream exchange after this long: the client gets a 502, never a hang.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

pub const BAD_GATEWAY: &[u8] =
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Gateway";

/// The upstreams of one proxy process, picked in turn; failures counted and reported at exit.
pub struct Upstreams {
    addrs: Vec<SocketAddr>,
    next: Cell<usize>,
    failures: Cell<u64>,
}

impl Upstreams {
    /// The upstreams at `addrs`, the first to be picked first.
    pub fn new(addrs: Vec<SocketAddr>) -> Upstreams {
        Upstreams {
            addrs,
            next: Cell::new(0),
            failures: Cell::new(0),
        }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// The index of the next upstream in round-robin order.
    pub fn pick(&self) -> usize {
        let i = self.next.get();
        self.next.set((i + 1) % self.addrs.len());
        i
    }

    pub fn addr(&self, i: usize) -> SocketAddr {
        self.addrs[i]
    }

    pub fn failed(&self) {
        let n = self.failures.get() + 1;
        self.failures.set(n);
        // Power-of-two reports keep a dead upstream from flooding the log.
        if n.is_power_of_two() {
            eprintln!(
                "proxy {}: {n} upstream failure(s) answered with 502",
                std::process::id()
            );
        }
    }
}
