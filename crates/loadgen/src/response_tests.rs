use super::*;

fn whole(raw: &[u8]) -> Response {
    parse(raw, false, false).unwrap().expect("a whole response")
}

#[test]
fn content_length_bodies_end_where_they_say() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Worker: 7\r\n\r\nHello World";
    for cut in 0..raw.len() {
        assert_eq!(parse(&raw[..cut], false, false), Ok(None), "cut at {cut}");
    }
    let r = whole(raw);
    assert_eq!((r.status, r.len, r.close), (200, raw.len(), false));
    assert_eq!(&raw[r.worker.unwrap()], b"7");
    let two = [&raw[..], &raw[..]].concat();
    assert_eq!(whole(&two).len, raw.len(), "pipelined: only the first");
}

#[test]
fn chunked_bodies_with_extensions_and_trailers() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nHello\r\n6\r\n World\r\n0\r\nX-Trailer: t\r\n\r\n";
    for cut in 0..raw.len() {
        assert_eq!(parse(&raw[..cut], false, false), Ok(None), "cut at {cut}");
    }
    assert_eq!(whole(raw).len, raw.len());
    let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHelloXX";
    assert_eq!(parse(bad, false, false), Err(Malformed::Chunk));
    let gzip_only = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz";
    assert_eq!(
        parse(gzip_only, false, false),
        Ok(None),
        "not chunked last: until close"
    );
}

#[test]
fn close_delimited_bodies_end_at_eof() {
    let raw = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nHello World";
    assert_eq!(parse(raw, false, false), Ok(None));
    let r = parse(raw, false, true).unwrap().unwrap();
    assert_eq!((r.len, r.close), (raw.len(), true));
}

#[test]
fn interim_responses_are_skipped() {
    let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Worker: 3\r\n\r\nok";
    let r = whole(raw);
    assert_eq!((r.status, r.len), (200, raw.len()));
    assert_eq!(&raw[r.worker.unwrap()], b"3");
    assert_eq!(
        parse(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", false, false),
        Err(Malformed::Upgrade)
    );
}

#[test]
fn bodiless_responses() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
    assert_eq!(parse(head, true, false).unwrap().unwrap().len, head.len());
    for status in ["204 No Content", "304 Not Modified"] {
        let raw = format!("HTTP/1.1 {status}\r\n\r\n");
        assert_eq!(whole(raw.as_bytes()).len, raw.len());
    }
}

#[test]
fn connection_tokens_and_versions_decide_close() {
    let close = |h: &str| whole(format!("{h}\r\nContent-Length: 0\r\n\r\n").as_bytes()).close;
    assert!(!close("HTTP/1.1 200 OK"));
    assert!(close("HTTP/1.1 200 OK\r\nConnection: keep-alive, close"));
    assert!(close("HTTP/1.1 200 OK\r\nConnection: Upgrade,  Close "));
    assert!(close("HTTP/1.0 200 OK"));
    assert!(!close("HTTP/1.0 200 OK\r\nConnection: Keep-Alive"));
}

#[test]
fn many_headers_and_bad_lengths() {
    let mut raw = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..100 {
        raw += &format!("X-H{i}: v\r\n");
    }
    raw += "X-Worker: 9\r\nContent-Length: 0\r\n\r\n";
    let r = whole(raw.as_bytes());
    assert_eq!(&raw.as_bytes()[r.worker.unwrap()], b"9");
    let twice = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
    assert_eq!(parse(twice, false, false), Err(Malformed::Length));
    let same = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab";
    assert_eq!(whole(same).len, same.len());
    assert_eq!(parse(b"garbage\r\n\r\n", false, false), Err(Malformed::Head));
}

proptest::proptest! {
    /// Never panics; a whole response never claims more bytes than the buffer holds.
    #[test]
    fn any_bytes_are_safe(buf in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
                          head in proptest::prelude::any::<bool>(), eof in proptest::prelude::any::<bool>()) {
        if let Ok(Some(r)) = parse(&buf, head, eof) {
            proptest::prop_assert!(r.len <= buf.len());
            if let Some(w) = r.worker {
                proptest::prop_assert!(w.end <= buf.len());
            }
        }
    }

    /// A chunked body split into any chunk sizes frames to the same length.
    #[test]
    fn chunk_boundaries_do_not_matter(body in "[a-z]{0,64}", sizes in proptest::collection::vec(1usize..9, 1..16)) {
        let mut raw = String::from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        let mut rest = body.as_str();
        for s in sizes.iter().cycle() {
            if rest.is_empty() { break; }
            let (a, b) = rest.split_at((*s).min(rest.len()));
            raw += &format!("{:x}\r\n{a}\r\n", a.len());
            rest = b;
        }
        raw += "0\r\n\r\n";
        proptest::prop_assert_eq!(parse(raw.as_bytes(), false, false).unwrap().map(|r| r.len), Some(raw.len()));
    }
}
