//! Handing accepted connections from a master to a worker: SCM_RIGHTS over a SOCK_SEQPACKET pair,
//! one descriptor per message, so message boundaries never split a descriptor from its byte.

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A connected pair; both ends non-blocking and close-on-exec.
pub fn channel() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
    )?)
}

/// Sends one descriptor; `WouldBlock` when the channel is full.
pub fn send_fd(chan: &impl AsRawFd, fd: RawFd) -> io::Result<()> {
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(
        chan.as_raw_fd(),
        &[IoSlice::new(&[0])],
        &cmsg,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    Ok(())
}

/// Receives one descriptor; `Ok(None)` when the other end has closed.
pub fn recv_fd(chan: &impl AsRawFd) -> io::Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(chan.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)?;
    if msg.bytes == 0 {
        return Ok(None);
    }
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this descriptor in our table; we own it now.
                return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "message without a descriptor",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_descriptor_crosses_the_channel() {
        let (a, b) = channel().unwrap();
        let (mut left, right) = UnixStream::pair().unwrap();
        send_fd(&a, right.as_raw_fd()).unwrap();
        drop(right);
        let got = recv_fd(&b).unwrap().expect("a descriptor");
        let mut got = UnixStream::from(got);
        left.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        got.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        drop(a);
        assert!(recv_fd(&b).unwrap().is_none(), "closed channel reads as None");
    }
}
