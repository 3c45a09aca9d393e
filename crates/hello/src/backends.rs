//! Workers on private ports, for strategies that put something in front of them (iptables NAT,
//! a proxy, nginx, haproxy): worker i listens on `public + 1 + i`.

use crate::worker;
use anyhow::{Context, Result};
use nix::unistd::Pid;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

/// The private ports of `n` workers behind `public`.
pub fn ports(public: u16, n: usize) -> Result<Vec<u16>> {
    (1..=n)
        .map(|i| {
            u16::try_from(i)
                .ok()
                .and_then(|i| public.checked_add(i))
                .with_context(|| format!("no room for {n} worker ports after port {public}: choose a lower --port"))
        })
        .collect()
}

/// The workers behind a front: every port is bound before any worker starts (so the front finds
/// them all listening), and worker i is forked on port i; a replacement binds its port again.
/// Ports are bound with SO_REUSEPORT so that a reload's successor can bind beside a predecessor
/// still finishing its connections.
pub struct Backends {
    host: IpAddr,
    ports: Vec<u16>,
    timeouts: crate::Timeouts,
    bound: Vec<Option<TcpListener>>,
}

impl Backends {
    pub fn bind(host: IpAddr, public: u16, n: usize, timeouts: crate::Timeouts) -> Result<Backends> {
        let ports = ports(public, n)?;
        let bound = ports
            .iter()
            .map(|&p| worker::bind(SocketAddr::new(host, p), true).map(Some))
            .collect::<Result<Vec<_>>>()?;
        Ok(Backends {
            host,
            ports,
            timeouts,
            bound,
        })
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    pub fn len(&self) -> usize {
        self.ports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// Forks worker `i`. Only the worker keeps its listener: when it dies, its port closes, so a
    /// front sees refused connections instead of a queue nobody serves.
    pub fn spawn(&mut self, i: usize) -> Result<Pid> {
        let listener = match self.bound[i].take() {
            Some(l) => l,
            None => worker::bind(SocketAddr::new(self.host, self.ports[i]), true)?,
        };
        let timeouts = self.timeouts;
        lbproc::fork_child(&[listener.as_raw_fd()], || {
            worker::serve_listener(listener, i, timeouts)
        })
    }
}

/// On their own (behind iptables rules, say), the workers are the whole strategy.
impl lbproc::supervise::Master for Backends {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        Backends::spawn(self, i)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_follow_the_public_one() {
        assert_eq!(super::ports(8080, 3).unwrap(), [8081, 8082, 8083]);
        assert!(super::ports(65534, 2).is_err());
    }
}
