//! Looking at processes from outside: who is whose child, who is gone; running one with a time bound.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// (pid, parent pid) of every live process (zombies excluded).
fn processes() -> Vec<(u32, u32)> {
    let mut all = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // Fields after the parenthesised command name: state, ppid, ...
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        if let (Some(state), Some(ppid)) = (f.next(), f.next().and_then(|p| p.parse().ok())) {
            if state != "Z" {
                all.push((pid, ppid));
            }
        }
    }
    all
}

/// Live children of `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, pp)| *pp == pid)
        .map(|(p, _)| p)
        .collect()
}

/// Every live descendant of `root`.
pub fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}

/// The process is gone, or a zombie awaiting its reaper.
pub fn gone(pid: u32) -> bool {
    !lbproc::alive(nix::unistd::Pid::from_raw(pid as i32))
}

/// Waits up to `limit` for `cond`; returns whether it came true.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Runs `cmd` to completion with its output captured, unless it takes longer than `limit`: then
/// it is stopped (SIGTERM, SIGKILL 2 s later) and the error says so, with what it printed.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    // Drained as it comes, so a chatty program never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let mut status = None;
    let finished = wait_for(limit, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if !finished {
        lbproc::stop(
            &[nix::unistd::Pid::from_raw(child.id() as i32)],
            Duration::from_secs(2),
            None,
        );
    }
    let output = Output {
        status: status.unwrap_or_else(|| child.wait().expect("reaping a stopped child")),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    if finished {
        Ok(output)
    } else {
        Err(format!(
            "{cmd:?} did not finish within {limit:?} and was stopped; it printed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The pid of each worker below `master` that has named itself `lbbench-w<k>`, by k (None: not
/// named yet). A reload may briefly show two processes for one k: the newest (highest pid) counts.
pub fn named_workers(master: u32, n: usize) -> Vec<Option<u32>> {
    let mut found = vec![None; n];
    for pid in descendants(master) {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let Some(k) = comm
            .trim_end()
            .strip_prefix(lbproc::WORKER_NAME)
            .and_then(|k| k.parse::<usize>().ok())
        else {
            continue;
        };
        if k < n && found[k].is_none_or(|p| p < pid) {
            found[k] = Some(pid);
        }
    }
    found
}
