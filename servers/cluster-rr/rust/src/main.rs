//! Cluster round-robin: the master owns the listening socket, accepts every connection and hands
//! its descriptor to the next worker in turn over a Unix channel (Node's default SCHED_RR).

use anyhow::Result;
use hello::{worker, StrategyArgs};
use lbproc::fdpass::{channel, send_fd};
use lbproc::supervise::{supervise, Master};
use nix::poll::PollFlags;
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

fn main() -> std::process::ExitCode {
    hello::main(|a: &StrategyArgs| a, run)
}

fn run(args: StrategyArgs) -> Result<()> {
    let mut master = RoundRobin {
        listener: worker::bind(args.addr(), false)?,
        channels: (0..args.workers).map(|_| None).collect(),
        pending: (0..args.workers).map(|_| VecDeque::new()).collect(),
        next: 0,
        timeouts: args.timeouts(),
    };
    supervise(&mut master, args.workers, args.policy())
}

struct RoundRobin {
    listener: TcpListener,
    /// The master's end of each live worker's channel.
    channels: Vec<Option<OwnedFd>>,
    /// Connections accepted for a worker whose channel was full, in order.
    pending: Vec<VecDeque<OwnedFd>>,
    next: usize,
    timeouts: hello::Timeouts,
}

impl Master for RoundRobin {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        let (mine, theirs) = channel()?;
        let timeouts = self.timeouts;
        // The worker keeps only its end: not the listener, not its siblings' channels.
        let pid = lbproc::fork_child(&[theirs.as_raw_fd()], move || {
            worker::serve_channel(theirs, i, timeouts)
        })?;
        self.channels[i] = Some(mine);
        Ok(pid)
    }

    fn exited(&mut self, i: usize) {
        // Connections still queued for a dead worker are lost with it, as in Node's cluster.
        self.channels[i] = None;
        self.pending[i].clear();
    }

    fn watch(&self) -> Vec<(RawFd, PollFlags)> {
        let mut fds = vec![(self.listener.as_raw_fd(), PollFlags::POLLIN)];
        for (chan, queue) in self.channels.iter().zip(&self.pending) {
            if let (Some(c), false) = (chan, queue.is_empty()) {
                fds.push((c.as_raw_fd(), PollFlags::POLLOUT));
            }
        }
        fds
    }

    fn ready(&mut self, fd: RawFd, _events: PollFlags) -> Result<()> {
        if fd != self.listener.as_raw_fd() {
            if let Some(i) = self
                .channels
                .iter()
                .position(|c| c.as_ref().is_some_and(|c| c.as_raw_fd() == fd))
            {
                self.flush(i);
            }
            return Ok(());
        }
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => self.hand(stream.into()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                // Out of descriptors, or a connection aborted before accept: poll again later.
                Err(e) => {
                    eprintln!("master: accept: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                    return Ok(());
                }
            }
        }
    }
}

impl RoundRobin {
    /// Gives connection k to the k-th live worker in turn.
    fn hand(&mut self, conn: OwnedFd) {
        let n = self.channels.len();
        let Some(i) = (0..n)
            .map(|k| (self.next + k) % n)
            .find(|&i| self.channels[i].is_some())
        else {
            return; // every worker is being replaced: the connection is dropped
        };
        self.next = (i + 1) % n;
        self.pending[i].push_back(conn);
        self.flush(i);
    }

    /// Sends worker `i` its queued connections until its channel is full.
    fn flush(&mut self, i: usize) {
        let Some(chan) = &self.channels[i] else { return };
        while let Some(conn) = self.pending[i].front() {
            match send_fd(chan, conn.as_raw_fd()) {
                // The worker now holds the connection; the master's copy closes here.
                Ok(()) => drop(self.pending[i].pop_front()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    eprintln!("master: handing a connection to worker {i}: {e}");
                    self.pending[i].clear();
                    return;
                }
            }
        }
    }
}
