//! One process's CPU time, thread by thread, in nanoseconds: each thread's schedstat (its time on
//! a CPU, from the scheduler's own clock) instead of the 10 ms ticks of `/proc/<pid>/stat`, so a
//! one-second window is read to well under 0.1 %.

use serde::{Deserialize, Serialize};

/// What one process had used at one instant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcTime {
    pub pid: i32,
    /// Which program it belongs to (see `cpu::program`).
    pub program: String,
    /// Each live thread's time on a CPU so far, ns, by thread id.
    pub threads: Vec<(i32, u64)>,
    /// Its reaped children's time (ticks, all the kernel keeps of them), ns.
    pub children_ns: u64,
    /// User and system ticks so far (its threads' and reaped children's): the split of `threads`
    /// between user and kernel, which schedstat does not make.
    pub user_ticks: u64,
    pub system_ticks: u64,
    /// Times its threads were preempted so far (involuntary context switches).
    pub involuntary: u64,
}

/// Nanoseconds per clock tick of /proc.
pub fn tick_ns() -> u64 {
    1_000_000_000 / lbproc::cpustat::ticks_per_second()
}

/// Reads process `p` (whatever of it is still there: a thread may exit meanwhile).
pub fn read(p: &procfs::process::Process, program: String, stat: &procfs::process::Stat) -> ProcTime {
    let tick = tick_ns();
    let mut threads = Vec::new();
    let mut involuntary = 0;
    for task in p.tasks().into_iter().flatten().flatten() {
        if let Some(ns) = schedstat_ns(p.pid, task.tid) {
            threads.push((task.tid, ns));
        }
        involuntary += task
            .status()
            .map(|s| s.nonvoluntary_ctxt_switches.unwrap_or(0))
            .unwrap_or(0);
    }
    if threads.is_empty() {
        // A zombie (or a kernel without schedstat): what its ticks say, under its own pid.
        threads.push((p.pid, (stat.utime + stat.stime) * tick));
    }
    with_ticks(
        ProcTime {
            pid: p.pid,
            program,
            threads,
            children_ns: 0,
            user_ticks: 0,
            system_ticks: 0,
            involuntary,
        },
        stat,
    )
}

/// `p` with its reaped children's time and its user and system ticks as `stat` says.
fn with_ticks(p: ProcTime, stat: &procfs::process::Stat) -> ProcTime {
    ProcTime {
        children_ns: (stat.cutime.max(0) + stat.cstime.max(0)) as u64 * tick_ns(),
        user_ticks: stat.utime + stat.cutime.max(0) as u64,
        system_ticks: stat.stime + stat.cstime.max(0) as u64,
        ..p
    }
}

/// `p` read again, quickly: its threads' time by the thread ids read before and its ticks as
/// they are now, its preemptions as they were (each thread's status is the slow read). A thread
/// started since counts at the end with all its time; whatever cannot be read keeps its figure.
pub fn reread(p: &ProcTime) -> ProcTime {
    let Some(stat) = procfs::process::Process::new(p.pid).and_then(|q| q.stat()).ok() else {
        return p.clone();
    };
    let threads = p
        .threads
        .iter()
        .map(|&(tid, ns)| (tid, schedstat_ns(p.pid, tid).unwrap_or(ns)))
        .collect();
    with_ticks(ProcTime { threads, ..p.clone() }, &stat)
}

/// The first field of /proc/<pid>/task/<tid>/schedstat: time on a CPU, ns.
fn schedstat_ns(pid: i32, tid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?;
    text.split_ascii_whitespace().next()?.parse().ok()
}

/// What processes spent between two readings of them, ns, by program, with the preemptions.
///
/// A thread seen at both ends adds its difference, one seen only at the end (started inside the
/// window) all its time; one seen only at the start exited inside the window and its time since
/// is lost (a thread of these servers lives as long as its process). A process seen only at the
/// start was reaped: its time moves into its parent's children's time, counted at the end, so
/// its total at the start is taken off.
pub fn spent(start: &[ProcTime], end: &[ProcTime]) -> Vec<Spent> {
    let mut out: Vec<Spent> = Vec::new();
    let mut add = |program: &str, ns: i64, p: (&ProcTime, Option<&ProcTime>)| {
        let i = match out.iter().position(|s| s.program == program) {
            Some(i) => i,
            None => {
                out.push(Spent {
                    program: program.to_string(),
                    ..Spent::default()
                });
                out.len() - 1
            }
        };
        let s = &mut out[i];
        s.ns += ns;
        let (now, before) = p;
        let d = |f: fn(&ProcTime) -> u64| f(now) as i64 - before.map_or(0, f) as i64;
        s.user_ticks += d(|p| p.user_ticks);
        s.system_ticks += d(|p| p.system_ticks);
        s.involuntary += d(|p| p.involuntary);
    };
    for e in end {
        let before = start.iter().find(|s| s.pid == e.pid);
        let mut ns = e.children_ns as i64 - before.map_or(0, |b| b.children_ns as i64);
        for &(tid, t) in &e.threads {
            let then = before.and_then(|b| b.threads.iter().find(|(id, _)| *id == tid));
            ns += t as i64 - then.map_or(0, |(_, t0)| *t0 as i64);
        }
        add(&e.program, ns, (e, before));
    }
    for s in start.iter().filter(|s| !end.iter().any(|e| e.pid == s.pid)) {
        let total: u64 = s.threads.iter().map(|(_, t)| t).sum::<u64>() + s.children_ns;
        let gone = ProcTime {
            threads: Vec::new(),
            children_ns: 0,
            user_ticks: 0,
            system_ticks: 0,
            involuntary: 0,
            ..s.clone()
        };
        add(&s.program, -(total as i64), (&gone, Some(s)));
    }
    out
}

/// One program's share of a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spent {
    pub program: String,
    /// Time on a CPU, ns (negative only through a reaped process's rounding).
    pub ns: i64,
    pub user_ticks: i64,
    pub system_ticks: i64,
    pub involuntary: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: i32, threads: &[(i32, u64)], children_ns: u64) -> ProcTime {
        ProcTime {
            pid,
            program: "w".into(),
            threads: threads.to_vec(),
            children_ns,
            user_ticks: 1,
            system_ticks: 1,
            involuntary: 3,
        }
    }

    #[test]
    fn threads_started_exited_and_processes_reaped_inside_the_window_are_counted_once() {
        let start = [
            proc(1, &[(1, 1_000), (2, 5_000)], 0),
            // Reaped inside the window, with 7 µs used before it and 2 µs inside.
            proc(9, &[(9, 7_000)], 0),
        ];
        let end = [
            // Thread 2 exited; thread 3 started with 400 ns; the reaped child moved 9 µs in.
            proc(1, &[(1, 1_600), (3, 400)], 9_000),
        ];
        let s = spent(&start, &end);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].ns, 600 + 400 + 9_000 - 7_000);
        assert_eq!(s[0].involuntary, -3, "the reaped one's switches leave with it");
    }

    #[test]
    fn this_process_reads_at_nanosecond_resolution() {
        let me = procfs::process::Process::myself().unwrap();
        let stat = me.stat().unwrap();
        let t = read(&me, "me".into(), &stat);
        assert!(!t.threads.is_empty());
        // Spins for 3 ms of this thread's own CPU time, however long a busy machine makes that.
        let cpu = || {
            let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: clock_gettime writes into the timespec we own.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            ts.tv_sec * 1_000_000_000 + ts.tv_nsec
        };
        let from = cpu();
        while cpu() - from < 3_000_000 {}
        let later = read(&me, "me".into(), &me.stat().unwrap());
        let ns = spent(&[t], &[later])[0].ns;
        assert!(ns >= 3_000_000, "{ns}");
        // Ticks would say a whole number of 10 ms.
        assert!(ns % 1_000_000 != 0, "{ns}");
    }

    #[test]
    fn a_quick_reread_keeps_the_threads_and_preemptions_read_before_and_updates_their_time() {
        let me = procfs::process::Process::myself().unwrap();
        let stat = me.stat().unwrap();
        let before = read(&me, "self".into(), &stat);
        let mut gone = before.clone();
        gone.threads.push((i32::MAX, 7));
        let after = reread(&gone);
        let ids = |p: &ProcTime| p.threads.iter().map(|t| t.0).collect::<Vec<_>>();
        assert_eq!(ids(&after), ids(&gone), "the same threads, none listed again");
        assert_eq!(after.involuntary, before.involuntary, "preemptions are not read again");
        assert_eq!(
            after.threads.last(),
            Some(&(i32::MAX, 7)),
            "what cannot be read keeps its figure"
        );
        // This thread's own time grows as it works (bounded generously: a loaded machine is slow).
        let tid = nix::unistd::gettid().as_raw();
        let own = |p: &ProcTime| p.threads.iter().find(|t| t.0 == tid).map(|t| t.1);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while own(&reread(&gone)) == own(&before) && std::time::Instant::now() < deadline {
            std::hint::black_box((0..10_000u64).sum::<u64>());
        }
        assert!(own(&before).is_some(), "this thread is among those read");
        assert!(own(&reread(&gone)) > own(&before), "its time is read again");
    }
}
