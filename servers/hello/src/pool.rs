//! Workers on private ports, for strategies that put something in front of them (iptables NAT,
//! a proxy): worker i listens on `public + 1 + i`.

use crate::{process, worker};
use anyhow::{Context, Result};
use nix::unistd::Pid;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

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

/// Binds every worker's port first (so whatever is started next finds them listening), then forks
/// worker i on port i. Call before any runtime or thread exists.
pub fn fork_upstreams(host: IpAddr, ports: &[u16], idle: Duration) -> Result<Vec<Pid>> {
    let listeners = ports
        .iter()
        .map(|&p| worker::bind(SocketAddr::new(host, p), false))
        .collect::<Result<Vec<_>>>()?;
    let pids = process::fork_workers(ports.len(), |id| {
        worker::serve_listener(listeners[id].try_clone()?, id, idle)
    })?;
    Ok(pids)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_follow_the_public_one() {
        assert_eq!(super::ports(8080, 3).unwrap(), [8081, 8082, 8083]);
        assert!(super::ports(65534, 2).is_err());
    }
}
