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

/// A port P such that P..=P+n are all free on loopback now: for a strategy with n workers on the
/// ports after its public one. Chosen below the kernel's ephemeral range, so outgoing connections
/// are unlikely to take one of them before the strategy binds it.
pub fn free_block(n: usize) -> Result<u16> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse::<usize>().ok()))
        .unwrap_or(32768);
    let (low, high) = (10_000usize, ephemeral_low.max(20_000).saturating_sub(n + 1));
    // No RNG crate for this: the clock and our pid spread concurrent callers apart.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as usize);
    let mut start = low + (seed ^ (std::process::id() as usize * 7919)) % (high - low);
    for _ in 0..1000 {
        let ports = start..=start + n;
        let bound: std::io::Result<Vec<_>> = ports
            .map(|p| std::net::TcpListener::bind(("127.0.0.1", p as u16)))
            .collect();
        if bound.is_ok() {
            return Ok(start as u16);
        }
        start = low + (start - low + n + 1 + 97) % (high - low);
    }
    anyhow::bail!("no block of {} free ports found below {ephemeral_low}", n + 1)
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

    #[test]
    fn a_free_block_is_free() {
        let p = super::free_block(3).unwrap();
        for q in p..=p + 3 {
            std::net::TcpListener::bind(("127.0.0.1", q)).unwrap();
        }
    }
}
