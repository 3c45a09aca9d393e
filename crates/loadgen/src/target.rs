//! What `lbbench load` is pointed at: an http:// URL, resolved once.

use anyhow::{Context, Result};
use std::net::{SocketAddr, ToSocketAddrs};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    /// The Host header: the URL's authority as written.
    pub host: String,
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("{url:?}: only http:// URLs are supported, e.g. http://127.0.0.1:8080/"))?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        anyhow::ensure!(
            !authority.is_empty(),
            "{url:?} names no host, e.g. http://127.0.0.1:8080/"
        );
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {authority:?}"))?
            .next()
            .with_context(|| format!("{authority:?} resolves to no address"))?;
        Ok(Target {
            addr,
            host: authority.to_string(),
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = Target::parse("http://127.0.0.1:8080/a?b=1").unwrap();
        assert_eq!(
            (t.addr.port(), t.host.as_str(), t.path.as_str()),
            (8080, "127.0.0.1:8080", "/a?b=1")
        );
        assert_eq!(Target::parse("http://127.0.0.1").unwrap().path, "/");
        assert_eq!(Target::parse("http://127.0.0.1").unwrap().addr.port(), 80);
        assert_eq!(Target::parse("http://127.0.0.1:9?x").unwrap().path, "/?x");
        assert!(Target::parse("https://x/")
            .unwrap_err()
            .to_string()
            .contains("only http://"));
        assert!(Target::parse("http:///").is_err());
    }
}
