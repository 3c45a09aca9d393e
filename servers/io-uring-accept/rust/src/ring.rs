//! One worker's accepts through an io_uring of its own, on the listening socket every worker
//! shares, fed into the worker's tokio runtime: the ring's descriptor is pollable (readable while
//! completions wait), so the runtime watches it like any socket and the worker drains the
//! completion queue when it is readable, each accepted descriptor becoming a connection served
//! by the Hello World worker's code.
//!
//! Which worker gets a connection is the kernel's doing. An accept request waits on the
//! socket's wait queue as an exclusive waiter, and a connection wakes the first waiter only.
//! A multishot request stays where it is after each connection, so the worker whose request is
//! first takes them all; a one-shot request leaves the queue when woken and its worker re-arms
//! at the back, so connections go round the workers.

use clap::ValueEnum;
use hello::worker::Accept;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use std::collections::VecDeque;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// One request that stays armed, posting a completion per connection (Linux 5.19).
    Multishot,
    /// One request per connection, submitted again after each completion.
    Oneshot,
}

/// The accept request's tag in its completions; the cancel request's.
const ACCEPT: u64 = 1;
const CANCEL: u64 = 2;

/// Completions the ring holds between two drains. A multishot accept that finds the queue
/// full ends (its completion comes without IORING_CQE_F_MORE), and re-arming it would move
/// this worker to the back of the wait queue: a fault of the ring's size, not of the
/// mechanism. Four times the listen backlog (4096), so a burst the socket queued whole fits
/// with room for more while the worker serves; 256 KiB.
const CQ_ENTRIES: u32 = 16384;

/// Accepts (one request at a time) and cancels.
const SQ_ENTRIES: u32 = 4;

/// The accept flags: what the worker's code expects of a descriptor.
const FLAGS: i32 = libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;

/// The accept request for `listener` in `mode`.
pub fn accept_entry(listener: RawFd, mode: Mode) -> squeue::Entry {
    let fd = types::Fd(listener);
    let entry = match mode {
        Mode::Multishot => opcode::AcceptMulti::new(fd).flags(FLAGS).build(),
        // No peer address: the worker never asks for one.
        Mode::Oneshot => opcode::Accept::new(fd, std::ptr::null_mut(), std::ptr::null_mut())
            .flags(FLAGS)
            .build(),
    };
    entry.user_data(ACCEPT)
}

/// A worker's ring and its accept request on the shared listener. Made after fork (a ring
/// belongs to the task that made it), on the worker's runtime.
pub struct RingAccept {
    /// The ring's descriptor in the runtime; dropped before the ring it watches.
    ready: AsyncFd<RawFd>,
    ring: IoUring,
    listener: TcpListener,
    mode: Mode,
    /// Whether the accept request is in the kernel.
    armed: bool,
    /// Accepted, not yet handed to the worker.
    accepted: VecDeque<OwnedFd>,
    /// Failed accepts (out of descriptors, say), reported one per call.
    failed: VecDeque<io::Error>,
}

impl RingAccept {
    /// Sets up the ring and arms the accept: once this returns, the worker waits in the
    /// socket's queue.
    pub fn new(listener: TcpListener, mode: Mode) -> io::Result<RingAccept> {
        let ring = IoUring::builder().setup_cqsize(CQ_ENTRIES).build(SQ_ENTRIES)?;
        // SAFETY: the ring's descriptor stays open, the same file, for as long as `ready`: the
        // struct holds both, and its fields drop in order, `ready` first.
        let ready = unsafe { AsyncFd::register_with_interest(ring.as_raw_fd(), Interest::READABLE) }
            .map_err(io::Error::from)?;
        let mut r = RingAccept {
            ready,
            ring,
            listener,
            mode,
            armed: false,
            accepted: VecDeque::new(),
            failed: VecDeque::new(),
        };
        r.arm()?;
        Ok(r)
    }

    fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        // SAFETY: neither request points at memory of ours (no peer address is asked for).
        unsafe { self.ring.submission().push(entry) }.map_err(|_| io::Error::other("the submission queue is full"))?;
        self.ring.submit()?;
        Ok(())
    }

    fn arm(&mut self) -> io::Result<()> {
        self.push(&accept_entry(self.listener.as_raw_fd(), self.mode))?;
        self.armed = true;
        Ok(())
    }

    /// Takes every completion waiting; re-arms the accept when it has ended (a one-shot
    /// accept always, a multishot one when the kernel stopped it), unless `rearm` is false.
    /// Returns how many there were.
    fn reap(&mut self, rearm: bool) -> io::Result<usize> {
        let mut n = 0;
        loop {
            for cqe in self.ring.completion() {
                n += 1;
                if cqe.user_data() != ACCEPT {
                    continue;
                }
                match cqe.result() {
                    // SAFETY: a successful accept's result is a new descriptor, ours alone.
                    fd if fd >= 0 => self.accepted.push_back(unsafe { OwnedFd::from_raw_fd(fd) }),
                    e => self.failed.push_back(io::Error::from_raw_os_error(-e)),
                }
                if !cqueue::more(cqe.flags()) {
                    self.armed = false;
                }
            }
            // Completions that found the queue full wait in the kernel until an enter moves them in.
            if !self.ring.submission().cq_overflow() {
                break;
            }
            self.ring.submit()?;
        }
        if rearm && !self.armed {
            self.arm()?;
        }
        Ok(n)
    }
}

fn stream(fd: OwnedFd) -> io::Result<TcpStream> {
    // Non-blocking already (SOCK_NONBLOCK).
    TcpStream::from_std(std::net::TcpStream::from(fd))
}

impl Accept for RingAccept {
    async fn next_stream(&mut self) -> io::Result<TcpStream> {
        loop {
            if let Some(fd) = self.accepted.pop_front() {
                return stream(fd);
            }
            if let Some(e) = self.failed.pop_front() {
                return Err(e);
            }
            // Readiness is cleared before the queue is read: a completion posted after the
            // read makes the descriptor readable again, so none is missed.
            if self.reap(true)? == 0 {
                self.ready.readable().await?.clear_ready();
            }
        }
    }

    /// Cancels the accept, so the socket's queue goes to the other workers' requests, and
    /// returns what it had accepted meanwhile, with the connection a cancel may have stranded.
    fn stop(mut self) -> Vec<TcpStream> {
        // The cancel completes at once (a request waiting on a socket is removed from its queue
        // on the spot); the bound only keeps a surprise from holding up the drain.
        let until = Instant::now() + Duration::from_secs(1);
        self.cancel(until);
        self.take_stranded(until);
        self.accepted.drain(..).filter_map(|fd| stream(fd).ok()).collect()
    }
}

impl RingAccept {
    /// Cancels the accept request, if it is in the kernel, and waits until it has ended.
    fn cancel(&mut self, until: Instant) {
        if self.armed {
            let cancel = opcode::AsyncCancel::new(ACCEPT).build().user_data(CANCEL);
            if let Err(e) = self.push(&cancel) {
                eprintln!("cancelling the accept: {e}");
                return;
            }
        }
        self.settle(until, Duration::from_millis(100));
    }

    /// Waits, `tick` at a time, until the accept request has ended or `until`.
    fn settle(&mut self, until: Instant, tick: Duration) {
        let tick = types::Timespec::from(tick);
        while self.armed && Instant::now() < until {
            let args = types::SubmitArgs::new().timespec(&tick);
            let _ = self.ring.submitter().submit_with_args(1, &args);
            let _ = self.reap(false);
        }
    }

    /// The socket wakes one waiting request per connection. A request woken for a connection
    /// and cancelled before it accepted passes the wake-up on to no one, and the connection
    /// stays queued, unanswered, until the next one arrives (measured: 167 of 3,000 connects
    /// timed around a cancel, Linux 6.18). So after the cancel this ring takes one queued
    /// connection, if there is one, with a one-shot accept; that accept can meet the same race,
    /// hence the loop, which ends once the queue is seen empty with no request of ours in it.
    fn take_stranded(&mut self, until: Instant) {
        let had = self.accepted.len();
        while self.accepted.len() == had && Instant::now() < until && self.queued() {
            if self
                .push(&accept_entry(self.listener.as_raw_fd(), Mode::Oneshot))
                .is_err()
            {
                return;
            }
            self.armed = true;
            // A queued connection is accepted as the request is submitted; none means another
            // worker took it first.
            self.settle(
                until.min(Instant::now() + Duration::from_millis(1)),
                Duration::from_millis(1),
            );
            self.cancel(until);
        }
    }

    /// Whether a connection waits in the socket's accept queue.
    fn queued(&self) -> bool {
        let mut fds = [PollFd::new(self.listener.as_fd(), PollFlags::POLLIN)];
        nix::poll::poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0)
    }
}
