//! The read side of one server connection: a buffer that starts small, grows only for a large
//! request, and is refilled with a timeout. The worker and the proxy both frame requests from it.

use crate::request::{frame_with, Frame, Request, MAX_BODY, MAX_HEAD};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Room for a maximal head and body plus one read's worth of pipelined bytes.
pub const MAX_BUF: usize = MAX_HEAD + MAX_BODY + 4096;
/// Most requests fit here; a connection grows its buffer only when one does not.
pub const FIRST_BUF: usize = 4096;

/// How long a connection may make the server wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// With nothing pending: between requests, and for a write to make progress.
    pub idle: Duration,
    /// From the first byte of a request until the whole of it is in, however it trickles.
    pub header: Duration,
}

pub struct Reader {
    buf: Vec<u8>,
    /// Where the next unframed request starts.
    start: usize,
    filled: usize,
    /// When the bytes now waiting began to arrive (into an empty buffer).
    pending_since: Option<Instant>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            buf: vec![0u8; FIRST_BUF],
            start: 0,
            filled: 0,
            pending_since: None,
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
        if self.start == self.filled {
            self.pending_since = None;
        }
    }

    /// Reads more bytes; `Ok(0)` when the peer closed or the time ran out: `idle` with nothing
    /// pending, else what is left of `header` since the pending request began to arrive.
    pub async fn fill<S: AsyncRead + Unpin>(&mut self, stream: &mut S, t: Timeouts) -> std::io::Result<usize> {
        self.buf.copy_within(self.start..self.filled, 0);
        self.filled -= self.start;
        self.start = 0;
        // `frame` refuses any request that could outgrow MAX_BUF, so a full buffer at the maximum
        // never needs another byte.
        if self.filled == self.buf.len() && self.buf.len() < MAX_BUF {
            self.buf.resize((self.buf.len() * 2).min(MAX_BUF), 0);
        }
        let wait = match self.pending_since {
            Some(since) => (since + t.header).saturating_duration_since(Instant::now()),
            None => t.idle,
        };
        match tokio::time::timeout(wait, stream.read(&mut self.buf[self.filled..])).await {
            Ok(Ok(n)) => {
                if self.filled == 0 && n > 0 {
                    self.pending_since = Some(Instant::now());
                }
                self.filled += n;
                Ok(n)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(0),
        }
    }
}

/// Writes all of `bytes`; fails when the write takes longer than `idle` (a peer that stops
/// reading must not hold the connection forever). A write that completes at once, the common
/// case, arms no timer: tokio registers a timeout's timer only when the write must wait.
pub async fn write_all<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8], idle: Duration) -> std::io::Result<()> {
    match tokio::time::timeout(idle, stream.write_all(bytes)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOW: Timeouts = Timeouts {
        idle: Duration::from_secs(5),
        header: Duration::from_secs(5),
    };

    #[tokio::test]
    async fn a_trickling_request_is_cut_off_by_the_header_timeout() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let t = Timeouts {
            idle: Duration::from_secs(60),
            header: Duration::from_millis(300),
        };
        // A byte every 50 ms, far within the idle timeout, of a header line that never ends; for
        // 20 s, then the client closes (which would end the reads too, but later than the bound).
        let trickle = tokio::spawn(async move {
            let endless = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "
                .iter()
                .chain(std::iter::repeat(&b'a'));
            let until = Instant::now() + Duration::from_secs(20);
            for b in endless {
                if Instant::now() > until || client.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let start = Instant::now();
        let mut r = Reader::default();
        while r.fill(&mut server, t).await.unwrap() > 0 {
            assert_eq!(r.next(), Frame::Partial);
        }
        // The header timeout runs from the first byte, which came after `start` (250 ms: room
        // for the timer's rounding).
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(10),
            "{took:?}"
        );
        trickle.abort();
    }

    #[tokio::test]
    async fn a_write_to_a_peer_that_never_reads_gives_up() {
        let (_client, mut server) = tokio::io::duplex(16);
        let err = write_all(&mut server, &[b'x'; 1024], Duration::from_millis(200))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn requests_are_framed_across_reads_and_buffers_grow() {
        let body = "b".repeat(10_000);
        let big = format!(
            "GET /big HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let raw = format!("GET /a HTTP/1.1\r\nHost: t\r\n\r\n{big}");
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
                None => assert!(r.fill(&mut server, SLOW).await.unwrap() > 0),
            }
        }
        writer.await.unwrap();
        assert_eq!(paths, ["/a", "/big"]);
    }
}
