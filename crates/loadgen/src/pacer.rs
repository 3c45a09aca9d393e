//! Open-loop pacing: one timer per client thread over the schedule of all its connections. The
//! timerfd is armed at the earliest due time (tokio's own timer has 1 ms resolution, which would
//! put a false millisecond under every corrected latency); when it fires, every connection whose
//! send is due — or due within [`SHARE`] — is woken at once, in one pass of the thread's event
//! loop: one wake-up for many sends, not one timer and three system calls per request. A send
//! that leaves early for it is timed from when it left (see `conn::Attempt`).
//!
//! Each wake-up's lateness against the due time it was armed for is measured, so a late send can
//! be told the machine's fault (the wake-up came late) or the client's (it woke in time and was
//! busy). A timerfd takes no timer slack (it is an exact hrtimer), so asking for less changes
//! nothing (measured: 48 µs at the median either way); what a wake-up waits for is the CPU.

use hdrhistogram::Histogram;
use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;

/// How far ahead of its due time a send may leave to share a wake-up with sends due now. The
/// wake-ups, not the sends, are what pacing costs: against nginx at half of lbbench's maximum
/// (59k req/s, 64 connections, Intel Xeon VM, 5 runs each) 50 µs gave 14,400 wake-ups a second
/// and 1.68x the closed loop's client CPU per request, 200 µs 4,500 and 1.18x (1.15–1.28) with
/// the send lag's p99 no worse (18 µs against 49), 500 µs 1,900 and 1.15x but stalls of up to
/// 1.7 ms at p99. A send that leaves early is timed from when it left, so no latency is made
/// shorter by it; the schedule is only burstier below 200 µs.
pub const SHARE: Duration = Duration::from_micros(200);

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

/// The send times one client thread's connections are waiting for.
pub struct Schedule {
    timer: AsyncFd<OwnedFd>,
    clock: Clock,
    /// (due, connection), earliest first; a connection waits for one due time at a time.
    due: RefCell<BinaryHeap<Reverse<(Instant, usize)>>>,
    wakers: RefCell<Vec<Option<Waker>>>,
    /// What the timer is armed for, if anything.
    armed: Cell<Option<Instant>>,
    /// When each connection was last woken by the timer (taken by the connection).
    woken: RefCell<Vec<Option<Instant>>>,
    /// Wake-ups from the window's start: how late each was, µs.
    lateness: RefCell<Histogram<u64>>,
    measure_from: Instant,
}

impl Schedule {
    /// The schedule of `connections` connections; wake-ups from `measure_from` on are measured.
    pub fn new(clock: Clock, connections: usize, measure_from: Instant) -> io::Result<Rc<Schedule>> {
        // SAFETY: timerfd_create returns a new descriptor we own, or -1.
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor owned by nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: the OwnedFd stays open and keeps its number while the AsyncFd owns it.
        let timer = unsafe { AsyncFd::register(owned) }.map_err(io::Error::from)?;
        Ok(Rc::new(Schedule {
            timer,
            clock,
            due: RefCell::new(BinaryHeap::with_capacity(connections)),
            wakers: RefCell::new(vec![None; connections]),
            armed: Cell::new(None),
            woken: RefCell::new(vec![None; connections]),
            lateness: RefCell::new(model::histogram::histogram()),
            measure_from,
        }))
    }

    /// When the timer last woke connection `conn` for a send, if it did since this was asked.
    pub fn woken(&self, conn: usize) -> Option<Instant> {
        self.woken.borrow_mut()[conn].take()
    }

    /// How late the measured wake-ups were, µs.
    pub fn lateness(&self) -> Histogram<u64> {
        self.lateness.borrow().clone()
    }

    /// Completes at `due` for connection `conn` (at once when it has passed).
    pub fn until(self: &Rc<Self>, conn: usize, due: Instant) -> Due {
        Due {
            schedule: self.clone(),
            conn,
            at: due,
            queued: false,
        }
    }

    fn arm(&self, at: Instant) -> io::Result<()> {
        let t = self.clock.monotonic(at);
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: t.as_secs() as libc::time_t,
                tv_nsec: t.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: arms our own timerfd with a valid itimerspec.
        let r = unsafe {
            libc::timerfd_settime(
                self.timer.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        self.armed.set(Some(at));
        Ok(())
    }

    /// The thread's pacing task: waits for the timer, wakes every connection whose send is due,
    /// re-arms for the next. Runs until the thread's connections are done and it is dropped.
    pub async fn run(self: Rc<Self>) -> io::Result<()> {
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
                // It cannot fire again before it is re-armed below: forget the readiness now
                // rather than learn it from a read that fails.
                Ok(r) => {
                    r?;
                    ready.clear_ready();
                }
                Err(_would_block) => continue,
            }
            let woke = Instant::now();
            if let Some(target) = self.armed.take().filter(|t| *t >= self.measure_from) {
                let late = woke.saturating_duration_since(target).as_micros() as u64;
                self.lateness.borrow_mut().saturating_record(late.max(1));
            }
            let (mut due, mut wakers) = (self.due.borrow_mut(), self.wakers.borrow_mut());
            let mut woken = self.woken.borrow_mut();
            while let Some(&Reverse((at, conn))) = due.peek() {
                if at > woke + SHARE {
                    self.arm(at)?;
                    break;
                }
                due.pop();
                if let Some(w) = wakers[conn].take() {
                    woken[conn] = Some(woke);
                    w.wake();
                }
            }
        }
    }
}

/// A connection waiting for its next send time.
pub struct Due {
    schedule: Rc<Schedule>,
    conn: usize,
    at: Instant,
    queued: bool,
}

impl Future for Due {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if Instant::now() + SHARE >= self.at {
            return Poll::Ready(Ok(()));
        }
        let s = &self.schedule;
        s.wakers.borrow_mut()[self.conn] = Some(cx.waker().clone());
        if !self.queued {
            s.due.borrow_mut().push(Reverse((self.at, self.conn)));
            if s.armed.get().is_none_or(|armed| self.at < armed) {
                s.arm(self.at)?;
            }
            self.queued = true;
        }
        Poll::Pending
    }
}
