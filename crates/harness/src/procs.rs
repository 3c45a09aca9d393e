//! The strategy's processes, seen from its cell: every descendant of the cell process. The cell
//! is a child subreaper, so a process whose parent dies is re-parented to the cell and stays
//! among them, with or without a PID namespace.

use anyhow::{Context, Result};
use procfs::process::Stat;
use std::collections::{BTreeSet, HashMap};

use lbproc::WORKER_NAME;

/// Makes orphaned descendants of this process its children instead of init's.
pub fn become_subreaper() -> Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER only sets an attribute of the calling process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) } != 0 {
        return Err(std::io::Error::last_os_error()).context("prctl(PR_SET_CHILD_SUBREAPER)");
    }
    Ok(())
}

/// This process's pid as /proc numbers it. In a PID namespace of its own the cell is pid 1 to
/// itself, but /proc (the host's mount) numbers every process as the host does: /proc/self says
/// which one we are there.
pub fn proc_self_pid() -> i32 {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse().ok())
        .unwrap_or(std::process::id() as i32)
}

/// Every live process of the strategy: below this cell process.
pub fn of_cell() -> Vec<Stat> {
    descendants(proc_self_pid())
}

/// Every live process below `root` (not `root` itself), as /proc shows it now.
pub fn descendants(root: i32) -> Vec<Stat> {
    below(root, false)
}

/// Every process below `root`, zombies too (they still hold their CPU time), by pid.
pub fn descendants_with_zombies(root: i32) -> Vec<i32> {
    below_in(&all(), root, true)
}

fn below(root: i32, zombies: bool) -> Vec<Stat> {
    let stats = all();
    below_in(&stats, root, zombies)
        .into_iter()
        .filter_map(|pid| stats.iter().find(|s| s.pid == pid).cloned())
        .collect()
}

/// Every process /proc shows now (one that exits between the listing and the read is simply not
/// there).
pub fn all() -> Vec<Stat> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.flatten().filter_map(|p| p.stat().ok()).collect()
}

/// The pids below `root` among `stats` (not `root` itself), ascending; zombies if asked.
pub fn below_in(stats: &[Stat], root: i32, zombies: bool) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<usize>> = HashMap::new();
    for (i, s) in stats.iter().enumerate() {
        children.entry(s.ppid).or_default().push(i);
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &i in children.get(&pid).into_iter().flatten() {
            if zombies || stats[i].state != 'Z' {
                queue.push(stats[i].pid);
                found.push(stats[i].pid);
            }
        }
    }
    found.sort_unstable();
    found
}

/// `pid` and every process above it among `stats`.
pub fn ancestors_in(stats: &[Stat], pid: i32) -> Vec<i32> {
    let mut out = vec![pid];
    let mut at = pid;
    while let Some(s) = stats.iter().find(|s| s.pid == at) {
        if s.ppid <= 0 || out.contains(&s.ppid) {
            break;
        }
        out.push(s.ppid);
        at = s.ppid;
    }
    out
}

/// The indices of the workers among `procs` that have announced themselves by name.
pub fn named_workers(procs: &[Stat]) -> BTreeSet<usize> {
    procs.iter().filter_map(|p| worker_index(&p.comm)).collect()
}

/// `k` for a process named `lbbench-w<k>`.
pub fn worker_index(comm: &str) -> Option<usize> {
    comm.strip_prefix(WORKER_NAME)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_names() {
        assert_eq!(worker_index("lbbench-w0"), Some(0));
        assert_eq!(worker_index("lbbench-w12"), Some(12));
        assert_eq!(worker_index("lbbench-wx"), None);
        assert_eq!(worker_index("nginx"), None);
    }

    #[test]
    fn descendants_are_found_below_a_process() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        let me = std::process::id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let names = || -> Vec<String> { descendants(me).into_iter().map(|s| s.comm).collect() };
        // The shell's fork is called "sh" too until it has exec'd sleep.
        let mut found = names();
        while !found.iter().any(|n| n == "sleep") && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            found = names();
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            found.iter().any(|n| n == "sh") && found.iter().any(|n| n == "sleep"),
            "{found:?}"
        );
    }
}
