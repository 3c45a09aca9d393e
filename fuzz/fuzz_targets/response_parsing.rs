//! Arbitrary bytes through the load generator's response parser (crates/loadgen/src/response.rs).
//! It may not panic or loop, a response it finds must lie inside the buffer, and a response found
//! in the first bytes must be the one found once more bytes (or the server's close) arrive.
//!
//! Input: bit 0 of the first byte says the request was a HEAD, the second byte picks where the
//! buffer is cut for the prefix check, the rest is what the server sent.
#![no_main]

use loadgen::response::{parse, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [flags, cut, buf @ ..] = data else {
        return;
    };
    let head_request = flags & 1 == 1;
    let open = parse(buf, head_request, false);
    let closed = parse(buf, head_request, true);
    for r in [&open, &closed].into_iter().flatten().flatten() {
        check(buf, r);
    }
    match &open {
        // The server's close only ever ends a close-delimited body.
        Ok(Some(r)) => {
            assert_eq!(closed, open, "eof changed a whole response");
            // A whole response parses the same from exactly its own bytes.
            assert_eq!(parse(&buf[..r.len], head_request, false), open);
        }
        Err(_) => assert_eq!(closed, open, "eof changed an error"),
        Ok(None) => {}
    }
    if let Ok(Some(r)) = &closed {
        if matches!(open, Ok(None)) {
            assert_eq!(r.len, buf.len(), "a body ended at eof ends at the last byte");
            assert!(r.close);
        }
    }
    // What a prefix yields stands once the rest arrives.
    let cut = usize::from(*cut) * buf.len() / 255;
    match parse(&buf[..cut], head_request, false) {
        Ok(None) => {}
        Ok(Some(r)) => {
            assert!(r.len <= cut);
            assert_eq!(open, Ok(Some(r)), "more bytes changed a whole response");
        }
        Err(e) => assert_eq!(open, Err(e), "more bytes changed an error"),
    }
});

fn check(buf: &[u8], r: &Response) {
    assert!(r.len <= buf.len(), "{r:?}");
    assert!(r.body.start <= r.body.end && r.body.end == r.len, "{r:?}");
    assert!(
        !(100..200).contains(&r.status),
        "an interim status as the response: {r:?}"
    );
    if let Some(w) = &r.worker {
        // The worker's name is in the final head, before the body.
        assert!(w.start <= w.end && w.end <= r.body.start, "{r:?}");
    }
}
