//! `[network]`: how the client reaches the server on one machine.
//!
//! The addresses are in 198.18.0.0/15, the range set aside for benchmarking network devices
//! (RFC 2544), and exist only inside the cell's namespaces.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// The server's end of the link, where strategies listen in the veth topology.
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The client's end.
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// `[network]` in a profile.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// How the client reaches the server on one machine.
    pub topology: Link,
    /// veth only: round-trip time added by `tc netem`, half in each direction, e.g. "200us".
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub rtt: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Link {
    /// Client and server share the loopback interface of the cell's namespace.
    #[default]
    Loopback,
    /// The client in a namespace of its own, joined to the server's by a veth pair.
    Veth,
}

impl NetworkConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.rtt.is_some() && self.topology != Link::Veth {
            return Err("network.rtt delays the veth link: set network.topology = \"veth\" too".into());
        }
        Ok(())
    }

    /// Where strategies listen and the client connects.
    pub fn server_addr(&self) -> IpAddr {
        match self.topology {
            Link::Loopback => Ipv4Addr::LOCALHOST.into(),
            Link::Veth => SERVER_ADDR.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_needs_the_veth_topology() {
        let loopback = NetworkConfig {
            rtt: Some(Duration::from_micros(200)),
            ..NetworkConfig::default()
        };
        assert!(loopback.check().unwrap_err().contains("topology = \"veth\""));
        let veth = NetworkConfig {
            topology: Link::Veth,
            ..loopback
        };
        assert!(veth.check().is_ok());
        assert_eq!(veth.server_addr(), IpAddr::from(SERVER_ADDR));
        assert_eq!(
            NetworkConfig::default().server_addr(),
            IpAddr::from(Ipv4Addr::LOCALHOST)
        );
    }
}
