//! One connection: read, answer every complete request in order (pipelining), repeat.

use crate::http::{frame, Frame, Responses, MAX_BODY, MAX_HEAD};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Room for a maximal head and body plus one read's worth of pipelined bytes.
pub const MAX_BUF: usize = MAX_HEAD + MAX_BODY + 4096;
/// Most requests fit here; a connection grows its buffer only when one does not.
pub const FIRST_BUF: usize = 4096;

/// Makes room to read more when `buf` is full, doubling up to [`MAX_BUF`]. `frame` refuses any
/// request that could outgrow it, so a full buffer at the maximum never needs another byte.
pub fn grow(buf: &mut Vec<u8>, filled: usize) {
    if filled == buf.len() && buf.len() < MAX_BUF {
        buf.resize((buf.len() * 2).min(MAX_BUF), 0);
    }
}

/// Serves `stream` until the peer closes, asks to close, misbehaves, or stays idle for `idle`.
pub async fn serve(mut stream: TcpStream, responses: &Responses, idle: Duration) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; FIRST_BUF];
    let mut filled = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(512);
    loop {
        let mut start = 0;
        let mut close = false;
        while start < filled {
            match frame(&buf[start..filled]) {
                Frame::Request { len, keep_alive, head } => {
                    out.extend_from_slice(responses.ok(keep_alive, head));
                    start += len;
                    if !keep_alive {
                        close = true;
                        break;
                    }
                }
                Frame::Partial => break,
                Frame::Refused(r) => {
                    out.extend_from_slice(&responses.refusal(r));
                    close = true;
                    break;
                }
            }
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if close {
            let _ = stream.shutdown().await;
            return;
        }
        grow(&mut buf, filled);
        match tokio::time::timeout(idle, stream.read(&mut buf[filled..])).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => filled += n,
        }
    }
}
