//! The wall clock, as results.json writes it.

/// Now, in RFC 3339 (UTC, to the second): when a sweep or a cell started.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
