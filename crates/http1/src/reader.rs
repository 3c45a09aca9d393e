//! The read side of one server connection: a buffer that starts small, grows only for a large
//! request, and is refilled with a timeout. The worker and the proxy both frame requests from it.

use crate::request::{frame_with, Frame, Request, MAX_BODY, MAX_HEAD};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Room for a maximal head and body plus one read's worth of pipelined bytes.
pub const MAX_BUF: usize = MAX_HEAD + MAX_BODY + 4096;
/// Most requests fit here; a connection grows its buffer only when one does not.
pub const FIRST_BUF: usize = 4096;

pub struct Reader {
    buf: Vec<u8>,
    /// Where the next unframed request starts.
    start: usize,
    filled: usize,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            buf: vec![0u8; FIRST_BUF],
            start: 0,
            filled: 0,
        }
    }
}

impl Reader {
    /// Frames the next buffered request; `f` sees its head (see [`frame_with`]). Call
    /// [`Reader::consume`] with the request's length once it is answered.
    pub fn next_with<T>(&self, f: impl FnOnce(&Request<'_>, &[httparse::Header<'_>]) -> T) -> Frame<(Request<'_>, T)> {
        if self.start == self.filled {
            return Frame::Partial;
        }
        frame_with(&self.buf[self.start..self.filled], f)
    }

    /// Frames the next buffered request.
    pub fn next(&self) -> Frame<Request<'_>> {
        self.next_with(|_, _| ()).map(|(r, ())| r)
    }

    /// The bytes of the request at the front, `len` long (as framed).
    pub fn request_bytes(&self, len: usize) -> &[u8] {
        &self.buf[self.start..self.start + len]
    }

    pub fn consume(&mut self, len: usize) {
        self.start += len;
    }

    /// Reads more bytes, waiting at most `idle`; `Ok(0)` when the peer closed or the time ran out.
    pub async fn fill<S: AsyncRead + Unpin>(&mut self, stream: &mut S, idle: Duration) -> std::io::Result<usize> {
        self.buf.copy_within(self.start..self.filled, 0);
        self.filled -= self.start;
        self.start = 0;
        // `frame` refuses any request that could outgrow MAX_BUF, so a full buffer at the maximum
        // never needs another byte.
        if self.filled == self.buf.len() && self.buf.len() < MAX_BUF {
            self.buf.resize((self.buf.len() * 2).min(MAX_BUF), 0);
        }
        match tokio::time::timeout(idle, stream.read(&mut self.buf[self.filled..])).await {
            Ok(Ok(n)) => {
                self.filled += n;
                Ok(n)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_framed_across_reads_and_buffers_grow() {
        let body = "b".repeat(10_000);
        let big = format!("GET /big HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        let raw = format!("GET /a HTTP/1.1\r\n\r\n{big}");
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            tokio::io::AsyncWriteExt::write_all(&mut client, raw.as_bytes())
                .await
                .unwrap();
        });
        let mut r = Reader::default();
        let mut paths = Vec::new();
        while paths.len() < 2 {
            let framed = match r.next() {
                Frame::Request(req) => Some((req.path.to_string(), req.len)),
                Frame::Partial => None,
                Frame::Refused(x) => panic!("{x:?}"),
            };
            match framed {
                Some((path, len)) => {
                    r.consume(len);
                    paths.push(path);
                }
                None => assert!(r.fill(&mut server, Duration::from_secs(5)).await.unwrap() > 0),
            }
        }
        writer.await.unwrap();
        assert_eq!(paths, ["/a", "/big"]);
    }
}
