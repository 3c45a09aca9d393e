//! Real-time priority for the open loop's pacing threads. A pacing thread sleeps until its next
//! send is due; at normal priority its wake-up waits behind whatever else the scheduler has put
//! on its CPU (kernel threads such as DAMON's `kdamond` or `ksoftirqd`, for milliseconds at a
//! time on the development VMs), and every send due meanwhile leaves late. At SCHED_FIFO it
//! runs as soon as it wakes. The lowest real-time priority is enough for that, and it is only
//! for paced windows: a paced thread sleeps between sends, and the kernel keeps a share of each
//! CPU for normal tasks even when it does not (`kernel.sched_rt_runtime_us`).

use std::io;

/// SCHED_FIFO's lowest priority: above every normal task, below every real-time one.
pub const PRIORITY: i32 = 1;

/// Moves the calling thread to SCHED_FIFO at [`PRIORITY`].
pub fn raise() -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: PRIORITY,
    };
    // SAFETY: pid 0 is the calling thread; the parameter is read during the call only.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether this process may run threads at real-time priority, tried on a thread of its own
/// (which then ends, taking its priority with it); why not, if not, for people.
pub fn allowed() -> Result<(), String> {
    let tried = std::thread::spawn(raise)
        .join()
        .map_err(|_| "the trial thread panicked".to_string())?;
    tried.map_err(|e| match e.raw_os_error() {
        Some(libc::EPERM) => "SCHED_FIFO needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO of at least 1, \
                              and a real-time budget in this cgroup"
            .to_string(),
        _ => format!("SCHED_FIFO: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where it is allowed, a raised thread is in SCHED_FIFO at the lowest priority; where it
    /// is not, the reason names what it takes.
    #[test]
    fn a_raised_thread_runs_at_the_lowest_real_time_priority() {
        match allowed() {
            Ok(()) => std::thread::spawn(|| {
                raise().unwrap();
                // SAFETY: pid 0 is this thread.
                assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_FIFO);
            })
            .join()
            .unwrap(),
            Err(why) => assert!(why.contains("root") || why.starts_with("SCHED_FIFO: "), "{why}"),
        }
        // SAFETY: pid 0 is this thread, which was never raised.
        assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_OTHER);
    }
}
