//! One connection: read, answer every complete request in order (pipelining), repeat.

use crate::drain::Drain;
use crate::work::{Rng, Work};
use http1::{Frame, Persistence, Reader, Refusal, Responses, Timeouts};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What every connection of one worker process shares.
pub struct Worker {
    pub responses: Responses,
    /// Draws the service times requests ask for.
    pub rng: Rng,
    /// Set once the worker is on its way out.
    pub drain: Drain,
}

/// Serves `stream` until the peer closes, asks to close, misbehaves, or outstays a timeout; once
/// the worker drains, the last request buffered is answered with `Connection: close`.
pub async fn serve(mut stream: TcpStream, worker: &Worker, t: Timeouts) {
    let _open = worker.drain.open();
    let responses = &worker.responses;
    let _ = stream.set_nodelay(true);
    let mut reader = Reader::default();
    let mut out: Vec<u8> = Vec::with_capacity(512);
    loop {
        let mut close = false;
        loop {
            match reader.next() {
                Frame::Request(r) => {
                    let (len, persistence, head) = (r.len, r.persistence(), r.head);
                    // A path without a query asks for no work: the common case parses nothing.
                    if r.path.contains('?') {
                        match Work::parse(r.path) {
                            Ok(work) => work.run(&worker.rng),
                            Err(_) => {
                                out.extend_from_slice(&responses.refusal(Refusal::BadRequest));
                                close = true;
                                break;
                            }
                        }
                    }
                    reader.consume(len);
                    // Draining: the client hears of the close with its last buffered request's answer.
                    let last = worker.drain.draining() && !matches!(reader.next(), Frame::Request(_));
                    let persistence = if last { Persistence::Close } else { persistence };
                    out.extend_from_slice(responses.ok(persistence, head));
                    if persistence == Persistence::Close {
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
        if !out.is_empty() {
            if http1::write_all(&mut stream, &out, t.idle).await.is_err() {
                return;
            }
            out.clear();
        }
        if close {
            let _ = stream.shutdown().await;
            return;
        }
        match reader.fill(&mut stream, t).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
