//! `[hosts]` in a profile: the server host and the load hosts, each a name `ssh` understands,
//! optionally with the CPUs to use and the path of its `lbbench`.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostsConfig {
    /// Runs the strategies.
    #[serde(with = "entries")]
    pub server: Host,
    /// Run the load generator (`lbbench agent`), sharing the connections and the rate.
    #[serde(with = "entries::list")]
    pub load: Vec<Host>,
    /// An ssh configuration file (`ssh -F`); default: ssh's own (`~/.ssh/config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_config: Option<PathBuf>,
}

/// A host: a string (what `ssh` is given) or a table with options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// A name from the ssh configuration, `host` or `user@host`.
    pub ssh: String,
    /// The CPUs to use there, e.g. "2-3": a load host's client threads, or those the server
    /// host's cores are taken from; default: every CPU lbbench may use there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    /// lbbench's path there; default: the controller's own path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lbbench: Option<PathBuf>,
    /// Server host only: the repository there (its `servers/` and built `target/release/`);
    /// default: the controller's repository path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<PathBuf>,
    /// Server host only: the address the load hosts connect to; default: the address `ssh -G`
    /// resolves for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
}

/// `"gen1"` or `{ ssh = "gen1", cpus = "2-3" }`.
impl<'de> Deserialize<'de> for HostEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = HostEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a host for ssh (\"user@host\") or a table { ssh = \"user@host\", cpus = \"0-3\", lbbench = \"/path\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HostEntry, E> {
                Ok(HostEntry(Host {
                    ssh: v.to_string(),
                    ..Host::default()
                }))
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, map: M) -> Result<HostEntry, M::Error> {
                Host::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(HostEntry)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A host as written in the profile (see [`Host`]).
pub struct HostEntry(pub Host);

pub mod entries {
    //! serde `with` for hosts written as strings or tables.
    use super::{Host, HostEntry};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(h: &Host, s: S) -> Result<S::Ok, S::Error> {
        h.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Host, D::Error> {
        HostEntry::deserialize(d).map(|e| e.0)
    }

    pub mod list {
        use super::*;

        pub fn serialize<S: Serializer>(h: &[Host], s: S) -> Result<S::Ok, S::Error> {
            h.serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Host>, D::Error> {
            Ok(Vec::<HostEntry>::deserialize(d)?.into_iter().map(|e| e.0).collect())
        }
    }
}

impl HostsConfig {
    /// Checks what can be checked without reaching any host.
    pub fn check(&self, connections: usize) -> Result<(), String> {
        if self.load.is_empty() {
            return Err("hosts.load must name at least one load host, e.g. load = [\"gen1\"]".into());
        }
        if connections < self.load.len() {
            return Err(format!(
                "load.connections ({connections}) must be at least the number of load hosts ({})",
                self.load.len()
            ));
        }
        for (role, h) in self.all() {
            if h.ssh.trim().is_empty() {
                return Err(format!(
                    "hosts: the {role} host needs a name for ssh, e.g. \"user@host\""
                ));
            }
            if let Some(cpus) = &h.cpus {
                lbproc::parse_cpus(cpus).map_err(|e| format!("hosts: {}: cpus = {cpus:?}: {e:#}", h.ssh))?;
            }
        }
        if let Some(h) = self.load.iter().find(|h| h.repo.is_some() || h.address.is_some()) {
            return Err(format!(
                "hosts.load: {}: repo and address are options of the server host only",
                h.ssh
            ));
        }
        Ok(())
    }

    /// Every host with its role, the server first.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &Host)> {
        std::iter::once(("server", &self.server)).chain(self.load.iter().map(|h| ("load", h)))
    }
}
