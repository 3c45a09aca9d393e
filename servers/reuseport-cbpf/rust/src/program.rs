//! The classic BPF program that picks a socket of the port's SO_REUSEPORT group for each new
//! connection, and attaching it. Its return value is an index into the group's socket array
//! (the order in which the sockets began listening); an index past the end makes the kernel
//! fall back to its hash. The packet it sees is a SYN with the data pointer past the TCP
//! header, so only ancillary loads (the receiving CPU, a random number) can be used: a packet
//! load would fail, and a failed load returns 0, sending everything to socket 0.

use anyhow::{ensure, Result};
use libc::sock_filter;
use std::os::fd::AsRawFd;

/// How a connection's socket is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Select {
    /// By the CPU that received the SYN: one of the workers pinned to that CPU.
    Cpu,
    /// Uniformly at random over the workers.
    Random,
}

/// A worker's socket in the group: its index in the group's array, and the worker's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub slot: u32,
    pub worker: usize,
}

/// The kernel's limit on a classic BPF program's length (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;
/// A jump offset is one byte.
const MAX_JUMP: usize = u8::MAX as usize;

fn stmt(code: u32, k: u32) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn load_ancillary(what: i32) -> sock_filter {
    stmt(
        libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
        (libc::SKF_AD_OFF + what) as u32,
    )
}

fn ret(k: u32) -> sock_filter {
    stmt(libc::BPF_RET | libc::BPF_K, k)
}

/// `if A == k` falls through to the next instruction, else skips `skip`.
fn unless_eq(k: u32, skip: usize) -> sock_filter {
    sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt: 0,
        jf: skip as u8,
        k,
    }
}

/// Returns one of `slots` (sorted), at random when there are several.
fn pick(slots: &[u32]) -> Vec<sock_filter> {
    let (first, m) = match slots {
        // No worker: an index past any group's end, so the kernel hashes.
        [] => return vec![ret(u32::MAX)],
        [only] => return vec![ret(*only)],
        [first, ..] => (*first, slots.len() as u32),
    };
    let mut p = vec![
        load_ancillary(libc::SKF_AD_RANDOM),
        stmt(libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K, m),
    ];
    if slots.windows(2).all(|w| w[1] == w[0] + 1) {
        if first != 0 {
            p.push(stmt(libc::BPF_ALU | libc::BPF_ADD | libc::BPF_K, first));
        }
        p.push(stmt(libc::BPF_RET | libc::BPF_A, 0));
    } else {
        // Slots apart (a worker replaced, so its socket joined the group at the end): a table.
        for (i, s) in slots[..slots.len() - 1].iter().enumerate() {
            p.push(unless_eq(i as u32, 1));
            p.push(ret(*s));
        }
        p.push(ret(slots[slots.len() - 1]));
    }
    p
}

/// The program for the group's current `targets` (each worker's newest socket; sockets of
/// workers on their way out are left out, so nothing new is sent to them). `cpus[k % len]` is
/// worker k's CPU. `Cpu`: a SYN received on a worker's CPU goes to that worker (one of them at
/// random if it has several), a SYN received on any other CPU to any worker at random.
pub fn program(select: Select, cpus: &[usize], targets: &[Target]) -> Result<Vec<sock_filter>> {
    let slots_of = |keep: &dyn Fn(&Target) -> bool| {
        let mut s: Vec<u32> = targets.iter().filter(|t| keep(t)).map(|t| t.slot).collect();
        s.sort_unstable();
        s
    };
    let anyone = pick(&slots_of(&|_| true));
    let p = match select {
        Select::Random => anyone,
        Select::Cpu => {
            let mut p = vec![load_ancillary(libc::SKF_AD_CPU)];
            for (j, &cpu) in cpus.iter().enumerate() {
                let slots = slots_of(&|t| t.worker % cpus.len() == j);
                if slots.is_empty() {
                    // Its worker is being replaced: the CPU's SYNs go to anyone meanwhile.
                    continue;
                }
                let body = pick(&slots);
                ensure!(
                    body.len() <= MAX_JUMP,
                    "too many workers on CPU {cpu} for one classic BPF jump"
                );
                // Each body returns, so A still holds the CPU for the next comparison.
                p.push(unless_eq(cpu as u32, body.len()));
                p.extend(body);
            }
            p.extend(anyone);
            p
        }
    };
    ensure!(
        p.len() <= MAX_INSNS,
        "the program would take {} instructions; the kernel allows {MAX_INSNS}",
        p.len()
    );
    Ok(p)
}

/// Attaches `program` to the group of `member`, one of its listening sockets: the program is
/// the group's, replacing any before it, and sockets that join later inherit it. Only after
/// `listen()`: attached to a socket bound but not listening, it would make a group of that
/// socket alone, whose `listen()` then fails with EADDRINUSE.
pub fn attach(member: &impl AsRawFd, program: &[sock_filter]) -> Result<()> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut sock_filter,
    };
    // SAFETY: the kernel copies the program out of `prog`, which points into `program`, alive here.
    let rc = unsafe {
        libc::setsockopt(
            member.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_REUSEPORT_CBPF,
            (&prog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    ensure!(
        rc == 0,
        "setsockopt(SO_ATTACH_REUSEPORT_CBPF): {}",
        std::io::Error::last_os_error()
    );
    Ok(())
}

#[cfg(test)]
#[path = "program_tests.rs"]
mod tests;
