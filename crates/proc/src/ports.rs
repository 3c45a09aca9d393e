//! Free TCP ports on loopback, for strategies run outside a private network namespace.

use anyhow::Result;

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
        let bound: std::io::Result<Vec<_>> = (start..=start + n)
            .map(|p| std::net::TcpListener::bind(("127.0.0.1", p as u16)))
            .collect();
        if bound.is_ok() {
            return Ok(start as u16);
        }
        start = low + (start - low + n + 1 + 97) % (high - low);
    }
    anyhow::bail!("no block of {} free ports found below {ephemeral_low}", n + 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_free_block_is_free() {
        let p = super::free_block(3).unwrap();
        for q in p..=p + 3 {
            std::net::TcpListener::bind(("127.0.0.1", q)).unwrap();
        }
    }
}
