//! Kernel settings a cell makes in its private network namespace: lbbench's own (room for
//! connection-per-request load) and those a strategy's manifest asks for (`sysctls`). Only
//! `net.*` keys, which the kernel keeps per network namespace, so the host's are never touched.

use anyhow::{Context, Result};
use std::path::PathBuf;

/// Checks a manifest's `sysctls` entry: a `net.*` key and a one-line value.
pub fn check(key: &str, value: &str) -> Result<(), String> {
    let segments: Vec<&str> = key.split('.').collect();
    let well_formed = segments.len() >= 2
        && segments
            .iter()
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    if !well_formed || segments[0] != "net" {
        return Err(format!(
            "sysctls: {key:?} is not allowed: only net.* keys (e.g. \"net.ipv4.tcp_migrate_req\"), which the kernel \
             keeps per network namespace, so setting them in the cell's namespace leaves the host's alone"
        ));
    }
    if value.is_empty() || value.contains('\n') {
        return Err(format!("sysctls: {key:?} needs a one-line value, e.g. \"1\""));
    }
    Ok(())
}

/// Where `key` lives under /proc/sys.
pub fn path(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}

/// Writes each (key, value); call only inside a private network namespace.
pub fn apply(settings: &[(String, String)]) -> Result<()> {
    for (key, value) in settings {
        let file = path(key);
        std::fs::write(&file, value).with_context(|| {
            let hint = if file.exists() {
                "is the value one the kernel accepts?"
            } else {
                "this kernel does not have it"
            };
            format!("setting {key} = {value} ({}): {hint}", file.display())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_net_keys_with_one_line_values_are_allowed() {
        assert_eq!(check("net.ipv4.tcp_migrate_req", "1"), Ok(()));
        assert_eq!(check("net.core.somaxconn", "4096"), Ok(()));
        for key in [
            "kernel.pid_max",
            "net",
            "net..x",
            "net.ipv4/../x",
            "net.ipv4.x y",
            "vm.swappiness",
        ] {
            let err = check(key, "1").unwrap_err();
            assert!(err.contains("only net.*"), "{key}: {err}");
        }
        assert!(check("net.ipv4.x", "").is_err());
        assert!(check("net.ipv4.x", "1\n2").is_err());
    }

    #[test]
    fn keys_name_their_proc_file() {
        assert_eq!(
            path("net.ipv4.tcp_migrate_req"),
            PathBuf::from("/proc/sys/net/ipv4/tcp_migrate_req")
        );
    }
}
