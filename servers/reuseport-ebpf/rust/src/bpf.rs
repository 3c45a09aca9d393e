//! The bpf() system call, raw: creating maps, writing a sockarray slot, loading a program,
//! attaching it to a reuseport group, mapping a map's memory. Errors name the command and the
//! errno, and say what a refusal for want of privilege means.

use crate::asm::Insn;
use anyhow::{bail, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const MAP_CREATE: i32 = 0;
const MAP_UPDATE_ELEM: i32 = 2;
const PROG_LOAD: i32 = 5;

pub const MAP_ARRAY: u32 = 2;
pub const MAP_REUSEPORT_SOCKARRAY: u32 = 20;
/// An array whose values user space can mmap (Linux 5.5).
pub const F_MMAPABLE: u32 = 1 << 10;
const PROG_SK_REUSEPORT: u32 = 21;
const SK_REUSEPORT_SELECT: u32 = 39;

#[repr(C)]
#[derive(Default)]
struct MapCreate {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
}

#[repr(C)]
struct MapElem {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// bpf(cmd, attr): the kernel reads only `size_of::<T>()` bytes of its attribute union (the rest
/// counts as zero).
fn bpf<T>(cmd: i32, attr: &mut T) -> Result<i64, nix::errno::Errno> {
    // SAFETY: `attr` is a live, fully initialised #[repr(C)] prefix of union bpf_attr; every
    // pointer in it points to memory alive for the call.
    let rc = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>() as u32) };
    if rc < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(rc)
    }
}

/// What a failed bpf() command says, as a reason a user can act on.
fn refused(what: &str, e: nix::errno::Errno) -> anyhow::Error {
    match e {
        nix::errno::Errno::EPERM => {
            anyhow::anyhow!("needs CAP_BPF (root; CAP_SYS_ADMIN before Linux 5.8): bpf({what}) failed with EPERM")
        }
        e => anyhow::anyhow!("bpf({what}) failed with {e:?} ({})", e.desc()),
    }
}

/// A BPF map, closed when dropped (a loaded program keeps the maps it uses alive).
pub struct Map {
    pub fd: OwnedFd,
    pub value_size: u32,
}

impl Map {
    pub fn create(map_type: u32, value_size: u32, max_entries: u32, map_flags: u32) -> Result<Map> {
        let mut attr = MapCreate {
            map_type,
            key_size: 4,
            value_size,
            max_entries,
            map_flags,
        };
        let fd = bpf(MAP_CREATE, &mut attr).map_err(|e| match (e, map_flags & F_MMAPABLE != 0) {
            (nix::errno::Errno::EINVAL, true) => {
                anyhow::anyhow!(
                    "needs Linux 5.5 or later for BPF_F_MMAPABLE arrays: bpf(BPF_MAP_CREATE) failed with EINVAL"
                )
            }
            (e, _) => refused("BPF_MAP_CREATE", e),
        })?;
        // SAFETY: a descriptor bpf() just returned, owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok(Map { fd, value_size })
    }

    pub fn raw(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Puts listening socket `socket` into sockarray slot `slot`, replacing whatever was there.
    pub fn set_socket(&self, slot: u32, socket: &impl AsRawFd) -> Result<()> {
        let value = socket.as_raw_fd() as u64;
        let mut attr = MapElem {
            map_fd: self.raw() as u32,
            _pad: 0,
            key: &slot as *const u32 as u64,
            value: &value as *const u64 as u64,
            flags: 0, // BPF_ANY
        };
        bpf(MAP_UPDATE_ELEM, &mut attr).map_err(|e| refused("BPF_MAP_UPDATE_ELEM", e))?;
        Ok(())
    }

    /// Maps the map's values (a BPF_F_MMAPABLE array) shared and writable, for the life of the
    /// process: children forked later share the mapping, so their writes reach the map too.
    pub fn map_shared(&self) -> Result<*mut u8> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let len = (self.value_size as usize).div_ceil(page) * page;
        // SAFETY: a fresh shared mapping of the map's descriptor; nothing else is at that address.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.raw(),
                0,
            )
        };
        if at == libc::MAP_FAILED {
            bail!("mmap of a BPF array: {}", std::io::Error::last_os_error());
        }
        Ok(at.cast())
    }
}

/// Loads `insns` as an sk_reuseport program choosing a socket (BPF_SK_REUSEPORT_SELECT: it
/// does not choose where a closing socket's queue migrates, which net.ipv4.tcp_migrate_req
/// would leave to the kernel's hash). When the verifier refuses it, the error ends with the
/// verifier's last words.
pub fn load(insns: &[Insn]) -> Result<OwnedFd> {
    let license = c"Dual MIT/GPL";
    let attempt = |log: &mut [u8]| {
        let mut attr = ProgLoad {
            prog_type: PROG_SK_REUSEPORT,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: u32::from(!log.is_empty()),
            log_size: log.len() as u32,
            // No log: no buffer at all (the kernel refuses a buffer without a log level).
            log_buf: if log.is_empty() { 0 } else { log.as_mut_ptr() as u64 },
            kern_version: 0,
            prog_flags: 0,
            prog_name: *b"lbbench_select\0\0",
            prog_ifindex: 0,
            expected_attach_type: SK_REUSEPORT_SELECT,
        };
        bpf(PROG_LOAD, &mut attr)
    };
    let fd = match attempt(&mut []) {
        Ok(fd) => fd,
        Err(e) => {
            // Again with the verifier's log (not asked the first time: a log too small for a
            // program the verifier accepts would fail its load).
            let mut log = vec![0u8; 1 << 20];
            let _ = attempt(&mut log);
            let text = String::from_utf8_lossy(&log);
            let said: Vec<&str> = text.trim_end_matches('\0').lines().rev().take(3).collect();
            let said: Vec<&str> = said.into_iter().rev().collect();
            return Err(anyhow::anyhow!(
                "{}; the verifier said: {}",
                refused("BPF_PROG_LOAD", e),
                said.join(" / ")
            ));
        }
    };
    // SAFETY: a descriptor bpf() just returned, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attaches program `prog` to the reuseport group of `member`, a listening socket: the program
/// is the group's, replacing any before it. After `listen()` only (before it, the socket would
/// get a group of its own and its `listen()` would fail with EADDRINUSE).
pub fn attach(member: &impl AsRawFd, prog: &OwnedFd) -> Result<()> {
    let fd: libc::c_int = prog.as_raw_fd();
    // SAFETY: the kernel reads an int from `fd`, alive here.
    let rc = unsafe {
        libc::setsockopt(
            member.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_REUSEPORT_EBPF,
            (&fd as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        bail!(
            "setsockopt(SO_ATTACH_REUSEPORT_EBPF): {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}
