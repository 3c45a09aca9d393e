//! One connection: read, answer every complete request in order (pipelining), repeat.

use crate::work::{Rng, Work};
use http1::{Frame, Reader, Refusal, Responses, Timeouts};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What every connection of one worker process shares.
pub struct Worker {
    pub responses: Responses,
    /// Draws the service times requests ask for.
    pub rng: Rng,
}

/// Serves `stream` until the peer closes, asks to close, misbehaves, or outstays a timeout.
pub async fn serve(mut stream: TcpStream, worker: &Worker, t: Timeouts) {
    let responses = &worker.responses;
    let _ = stream.set_nodelay(true);
    let mut reader = Reader::default();
    let mut out: Vec<u8> = Vec::with_capacity(512);
    loop {
        let mut close = false;
        loop {
            match reader.next() {
                Frame::Request(r) => {
                    let (len, keep_alive) = (r.len, r.keep_alive);
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
                    out.extend_from_slice(responses.ok(r.persistence(), r.head));
                    reader.consume(len);
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
