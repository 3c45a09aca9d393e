//! The open-connection counts the least-loaded program reads: one BPF_F_MMAPABLE array value
//! that the master maps before forking, so every worker inherits the mapping and counts in it
//! with plain atomics (no system call per connection), and the program reads the same memory.
//!
//! Counts are per process, not per slot: a worker that dies leaves its count as it was (its
//! connections died with it, uncounted), and a reload's predecessor goes on counting down while
//! its successor counts up. So each new process gets a cell of its own, zeroed only once every
//! process that counted in it is gone (its pidfd says so), and the master points the slot at it.

use crate::asm::Layout;
use crate::bpf::{Map, F_MMAPABLE, MAP_ARRAY};
use anyhow::{ensure, Context, Result};
use nix::unistd::Pid;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Loads {
    pub map: Map,
    pub layout: Layout,
    words: &'static [AtomicU64],
    /// The processes that count in each cell (pidfds), and each slot's latest cell.
    owners: Vec<Vec<OwnedFd>>,
    latest: Vec<Option<usize>>,
}

impl Loads {
    /// The map for `slots` workers, every slot pointing at no cell yet.
    pub fn create(slots: usize) -> Result<Loads> {
        // Two cells per slot: its worker's, and a reload's predecessor still draining.
        let layout = Layout {
            cells: 2 * slots as u32,
            slots: slots as u32,
        };
        // The program reads each slot's word at a constant 16-bit offset.
        ensure!(
            layout.assignment(layout.slots) <= i16::MAX as u32,
            "at most {} workers for the least-loaded program",
            i16::MAX / 8
        );
        let map = Map::create(MAP_ARRAY, layout.value_size(), 1, F_MMAPABLE)?;
        let base = map.map_shared()?;
        // SAFETY: the mapping is at least value_size() bytes, page-aligned, never unmapped, and
        // only ever accessed through atomics (here, in the workers, and by the program's loads).
        let words = unsafe { std::slice::from_raw_parts(base as *const AtomicU64, layout.value_size() as usize / 8) };
        let loads = Loads {
            map,
            layout,
            words,
            owners: (0..layout.cells).map(|_| Vec::new()).collect(),
            latest: vec![None; slots],
        };
        for s in 0..layout.slots {
            loads.point(s as usize, None);
        }
        Ok(loads)
    }

    /// Points slot `slot` at `cell` (None: the slot is skipped, its worker being dead).
    pub fn point(&self, slot: usize, cell: Option<usize>) {
        let to = cell.map_or(u64::from(self.layout.cells), |c| c as u64);
        self.words[self.layout.assignment(slot as u32) as usize / 8].store(to, Ordering::SeqCst);
    }

    /// A cell for a new process of slot `slot`: a free one, zeroed; when none is (reloads faster
    /// than drains), the slot's latest, shared and left as it is (its count stays a true sum).
    pub fn take(&mut self, slot: usize) -> usize {
        let free = (0..self.owners.len()).find(|&c| self.owners[c].iter().all(exited));
        let cell = match (free, self.latest[slot]) {
            (Some(c), _) => {
                self.owners[c].clear();
                self.counter(c).store(0, Ordering::SeqCst);
                c
            }
            (None, Some(c)) => c,
            // Every cell is in use and the slot never had one: cannot happen with two cells per slot.
            (None, None) => 0,
        };
        self.latest[slot] = Some(cell);
        cell
    }

    /// Cell `cell`'s counter, for the worker that counts in it.
    pub fn counter(&self, cell: usize) -> &'static AtomicU64 {
        &self.words[self.layout.cell(cell as u32) as usize / 8]
    }

    /// Process `pid` counts in `cell` until it exits.
    pub fn owned_by(&mut self, cell: usize, pid: Pid) -> Result<()> {
        // SAFETY: pidfd_open only creates a descriptor; `pid` is our unreaped child, so its pid
        // cannot have been reused.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
        ensure!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
        // SAFETY: a descriptor the kernel just returned.
        self.owners[cell].push(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        Ok(())
    }
}

/// Whether the process of a pidfd has exited (its pidfd is readable).
fn exited(pidfd: &OwnedFd) -> bool {
    let mut fds = [nix::poll::PollFd::new(pidfd.as_fd(), nix::poll::PollFlags::POLLIN)];
    nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO)
        .context("polling a pidfd")
        .is_ok_and(|n| n > 0)
}
