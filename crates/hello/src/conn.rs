//! One connection: read, answer every complete request in order (pipelining), repeat.

use http1::{Frame, Reader, Responses, Timeouts};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Serves `stream` until the peer closes, asks to close, misbehaves, or outstays a timeout.
pub async fn serve(mut stream: TcpStream, responses: &Responses, t: Timeouts) {
    let _ = stream.set_nodelay(true);
    let mut reader = Reader::default();
    let mut out: Vec<u8> = Vec::with_capacity(512);
    loop {
        let mut close = false;
        loop {
            match reader.next() {
                Frame::Request(r) => {
                    let (len, keep_alive) = (r.len, r.keep_alive);
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
