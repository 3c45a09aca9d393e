//! Open-loop pacing with a timerfd armed at the absolute due time. tokio's timer wheel has 1 ms
//! resolution, which would add up to a millisecond of send lag to every request and put a false
//! 1 ms floor under the corrected latency of sub-millisecond servers.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;

/// Ties `Instant`s to CLOCK_MONOTONIC readings (std's `Instant` is CLOCK_MONOTONIC on Linux).
#[derive(Clone, Copy)]
pub struct Clock {
    at: Instant,
    monotonic: Duration,
}

impl Clock {
    pub fn now() -> Clock {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes into the timespec we own.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        Clock {
            at: Instant::now(),
            monotonic: Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
        }
    }

    fn monotonic(&self, t: Instant) -> Duration {
        self.monotonic + t.saturating_duration_since(self.at)
    }
}

/// One connection's alarm clock.
pub struct Pacer {
    timer: AsyncFd<OwnedFd>,
    clock: Clock,
}

impl Pacer {
    pub fn new(clock: Clock) -> io::Result<Pacer> {
        // SAFETY: timerfd_create returns a new descriptor we own, or -1.
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor owned by nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: the OwnedFd stays open and keeps its number while the AsyncFd owns it.
        let timer = unsafe { AsyncFd::register(owned) }.map_err(io::Error::from)?;
        Ok(Pacer { timer, clock })
    }

    /// Returns at `due` (at once when it has passed).
    pub async fn until(&self, due: Instant) -> io::Result<()> {
        if due <= Instant::now() {
            return Ok(());
        }
        let at = self.clock.monotonic(due);
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: at.as_secs() as libc::time_t,
                tv_nsec: at.subsec_nanos() as libc::c_long,
            },
        };
        let fd = self.timer.as_raw_fd();
        // SAFETY: arms our own timerfd with a valid itimerspec.
        if unsafe { libc::timerfd_settime(fd, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            let mut ready = self.timer.readable().await?;
            let fired = ready.try_io(|t| {
                let mut expirations = [0u8; 8];
                // SAFETY: reads 8 bytes into our buffer from our timerfd.
                let n = unsafe { libc::read(t.as_raw_fd(), expirations.as_mut_ptr().cast(), 8) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            match fired {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}
