//! Free TCP ports on loopback, for strategies run outside a private network namespace.

use anyhow::Result;

/// The ports of a strategy whose public port is `first`, with `n` workers on the ports after it.
pub fn block(first: u16, n: usize) -> std::ops::RangeInclusive<u16> {
    first..=u16::try_from(n).map_or(u16::MAX, |n| first.saturating_add(n))
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
    // Blocks already handed out by this process: a port is free only until its taker binds it,
    // and tests running side by side in one process must never be given the same one (the
    // strategies bind with SO_REUSEPORT, so a shared port would be shared silently).
    static GIVEN: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1000 {
        let overlaps = given.iter().any(|&(a, b)| start <= b && a <= start + n);
        let bound: std::io::Result<Vec<_>> = (start..=start + n)
            .map(|p| std::net::TcpListener::bind(("127.0.0.1", p as u16)))
            .collect();
        if !overlaps && bound.is_ok() {
            given.push((start, start + n));
            return Ok(start as u16);
        }
        start = low + (start - low + n + 1 + 97) % (high - low);
    }
    anyhow::bail!("no block of {} free ports found below {ephemeral_low}", n + 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_block_is_the_public_port_and_one_per_worker() {
        assert_eq!(super::block(8080, 4), 8080..=8084);
        assert_eq!(super::block(65534, 10), 65534..=65535);
    }

    #[test]
    fn blocks_handed_out_never_overlap() {
        let blocks: Vec<u16> = (0..200).map(|_| super::free_block(3).unwrap()).collect();
        for (i, a) in blocks.iter().enumerate() {
            for b in &blocks[i + 1..] {
                assert!(a.abs_diff(*b) > 3, "{a} and {b} overlap");
            }
        }
    }

    #[test]
    fn a_free_block_is_free() {
        let p = super::free_block(3).unwrap();
        for q in p..=p + 3 {
            std::net::TcpListener::bind(("127.0.0.1", q)).unwrap();
        }
    }
}
