//! Raw HTTP exchanges, independent of both the worker's and the load generator's parsers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One request on a fresh connection that asks to close; returns the whole response text.
pub fn get_close(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// The `X-Worker` value of a response. Header names are case-insensitive, and haproxy sends
/// them in lowercase.
pub fn worker_of(response: &str) -> Option<String> {
    response.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("x-worker").then(|| value.trim().to_string())
    })
}
