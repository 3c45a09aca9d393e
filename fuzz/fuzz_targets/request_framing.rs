//! Arbitrary bytes through the worker's request framing (crates/http1): `frame`, `frame_with`, and
//! the connection `Reader` fed the same bytes in small reads. None may panic or loop, a framed
//! request must lie inside the bytes it came from, and how the bytes arrive must not change how
//! they are framed.
//!
//! Input: the first byte picks the sizes of the reads, the rest is what a client sent on one
//! connection.
#![no_main]

use http1::{frame, frame_with, Frame, Reader, Refusal, Request, MAX_BODY, MAX_HEAD};
use libfuzzer_sys::fuzz_target;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, ReadBuf};

fuzz_target!(|data: &[u8]| {
    let Some((&reads, sent)) = data.split_first() else {
        return;
    };
    let whole = frame_stream(sent);
    let pieces = read_in_pieces(sent, reads);
    // Both end with their first outcome that is not a request, so the requests before it line up.
    assert_eq!(pieces.len(), whole.len(), "{pieces:?} vs {whole:?}");
    let (last, framed) = pieces.split_last().expect("the reader ends with a step");
    assert_eq!(framed, &whole[..framed.len()], "framing depends on how bytes arrive");
    match (last, &whole[framed.len()]) {
        // With the whole stream read, the reader sees exactly what framing the stream saw.
        (Step::Partial, Step::Partial) => {}
        (Step::Refused(a), Step::Refused(b)) if a == b => {}
        // An unfinished head over MAX_HEAD is refused before the byte that would have made it bad.
        (Step::Refused(Refusal::HeadersTooLarge), Step::Refused(_)) => {}
        (a, b) => panic!("the reader ended with {a:?}, the whole stream with {b:?}"),
    }
});

/// One framing outcome, with the request's text as offsets so outcomes from different buffers
/// compare.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Request {
        len: usize,
        head_len: usize,
        keep_alive: bool,
        head: bool,
        version: u8,
        method: (usize, usize),
        path: (usize, usize),
    },
    Partial,
    Refused(Refusal),
}

/// Frames `buf` with both entry points, checks what must hold of any outcome, and describes it.
fn checked_frame(buf: &[u8]) -> Step {
    let framed = frame(buf);
    let mut seen = None;
    let with = frame_with(buf, |r, headers| {
        for h in headers {
            within(buf, h.name.as_bytes());
            within(buf, h.value);
        }
        seen = Some(*r);
    });
    assert_eq!(framed, with.map(|(r, ())| r), "frame and frame_with disagree");
    match framed {
        Frame::Request(r) => {
            assert_eq!(seen, Some(r), "frame_with handed over another request");
            assert!(0 < r.head_len && r.head_len <= r.len && r.len <= buf.len(), "{r:?}");
            assert!(r.head_len <= MAX_HEAD && r.len - r.head_len <= MAX_BODY, "{r:?}");
            assert!(matches!((r.method, r.head), ("GET", false) | ("HEAD", true)), "{r:?}");
            assert!(r.version <= 1, "{r:?}");
            let head = &buf[..r.head_len];
            // A request frames the same from exactly its own bytes.
            assert_eq!(frame(&buf[..r.len]), Frame::Request(r));
            step(head, &r)
        }
        Frame::Partial => {
            assert!(seen.is_none());
            // The reader's buffer holds MAX_HEAD + MAX_BODY and more: it never fills up waiting.
            assert!(buf.len() < MAX_HEAD + MAX_BODY, "{} bytes still partial", buf.len());
            Step::Partial
        }
        Frame::Refused(x) => {
            assert!(seen.is_none());
            Step::Refused(x)
        }
    }
}

fn step(head: &[u8], r: &Request<'_>) -> Step {
    Step::Request {
        len: r.len,
        head_len: r.head_len,
        keep_alive: r.keep_alive,
        head: r.head,
        version: r.version,
        method: within(head, r.method.as_bytes()),
        path: within(head, r.path.as_bytes()),
    }
}

/// Where `part` sits in `buf`; it must be a slice of it.
fn within(buf: &[u8], part: &[u8]) -> (usize, usize) {
    let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    assert!(
        start <= buf.len() && part.len() <= buf.len() - start,
        "a slice outside the buffer"
    );
    (start, part.len())
}

/// Frames `sent` request after request, as if it had all arrived at once, up to the first
/// outcome that is not a request.
fn frame_stream(sent: &[u8]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut at = 0;
    loop {
        let step = checked_frame(&sent[at..]);
        match step {
            Step::Request { len, .. } => at += len,
            _ => {
                steps.push(step);
                return steps;
            }
        }
        steps.push(step);
    }
}

/// Frames `sent` the way the worker does: through a `Reader` filled by reads of a few bytes each.
fn read_in_pieces(sent: &[u8], reads: u8) -> Vec<Step> {
    let mut source = Pieces {
        left: sent,
        // A drip of 1-16 bytes, then 64 B-4 KiB: every read re-frames the buffer, so 20 kB inputs
        // in 1-byte reads would take libFuzzer a hundred times as long.
        sizes: [usize::from(reads % 16) + 1, usize::from(reads / 16) * 256 + 64],
        turn: 0,
    };
    let mut reader = Reader::default();
    let mut steps = Vec::new();
    let mut consumed = 0;
    RUNTIME.with(|rt| loop {
        match reader.next() {
            Frame::Request(r) => {
                let len = r.len;
                steps.push(step(reader.request_bytes(r.head_len), &r));
                assert_eq!(reader.request_bytes(len), &sent[consumed..consumed + len]);
                consumed += len;
                reader.consume(len);
            }
            Frame::Partial => {
                let got = rt
                    .block_on(reader.fill(&mut source, Duration::from_secs(3600)))
                    .expect("reads from memory do not fail");
                if got == 0 {
                    assert!(source.left.is_empty(), "the reader stopped with bytes unread");
                    steps.push(Step::Partial);
                    return steps;
                }
            }
            Frame::Refused(x) => {
                steps.push(Step::Refused(x));
                return steps;
            }
        }
    })
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
}

/// A peer whose bytes arrive in reads of alternating sizes.
struct Pieces<'a> {
    left: &'a [u8],
    sizes: [usize; 2],
    turn: usize,
}

impl AsyncRead for Pieces<'_> {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let n = self.sizes[self.turn % 2].min(self.left.len()).min(out.remaining());
        self.turn += 1;
        out.put_slice(&self.left[..n]);
        self.left = &self.left[n..];
        Poll::Ready(Ok(()))
    }
}
