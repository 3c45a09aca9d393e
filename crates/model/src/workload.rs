//! Workloads: named entries of the profile — how connections are used (keep-alive or one per
//! request, pipelining depth, how many) and what service time each request asks the worker for.
//! `keepalive` and `close` are built in; `[workloads.<name>]` tables define more.
//!
//! Service time travels in the request's query string, `?cpu=<dist>&block=<dist>` (the workers'
//! convention, README "Service time"). This is the instrument's own reading of that syntax: a
//! malformed spec is a config error before any cell runs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A workload's name, as the profile and the results call it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Workload(pub String);

impl Workload {
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Workload {
    fn from(s: &str) -> Workload {
        Workload(s.to_string())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    /// Persistent connections, many requests each.
    #[default]
    Keepalive,
    /// A new connection per request (with `Connection: close`).
    Close,
}

/// What a workload asks of the load generator and of the workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadSpec {
    pub connection: Connection,
    /// Requests sent back to back on a connection before the responses are read (keep-alive,
    /// closed loop); TechEmpower's plaintext test uses 16.
    pub pipeline: usize,
    /// Concurrent connections; none: `load.connections`.
    pub connections: Option<usize>,
    /// CPU work per request, e.g. "exp:200us".
    pub cpu: Option<String>,
    /// Blocking (non-CPU) work per request, e.g. "bimodal:0.01:20ms".
    pub block: Option<String>,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            connection: Connection::Keepalive,
            pipeline: 1,
            connections: None,
            cpu: None,
            block: None,
        }
    }
}

/// The built-in workloads: plain Hello World, keep-alive or a connection per request.
pub fn builtin(name: &str) -> Option<WorkloadSpec> {
    let connection = match name {
        "keepalive" => Connection::Keepalive,
        "close" => Connection::Close,
        _ => return None,
    };
    Some(WorkloadSpec {
        connection,
        ..WorkloadSpec::default()
    })
}

/// The spec of `name`: defined in the profile, or built in.
pub fn resolve(name: &str, defined: &BTreeMap<String, WorkloadSpec>) -> Option<WorkloadSpec> {
    defined.get(name).cloned().or_else(|| builtin(name))
}

impl WorkloadSpec {
    pub fn keepalive(&self) -> bool {
        self.connection == Connection::Keepalive
    }

    /// The request path: `/`, with the service time as its query.
    pub fn path(&self) -> String {
        let parts: Vec<String> = [("cpu", &self.cpu), ("block", &self.block)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect();
        if parts.is_empty() {
            "/".into()
        } else {
            format!("/?{}", parts.join("&"))
        }
    }

    /// Why this spec cannot run, if it cannot.
    pub fn check(&self, name: &str) -> Result<(), String> {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name {
            return Err(format!(
                "workload name {name:?}: use letters, digits, '-' and '_' (it names files)"
            ));
        }
        if self.pipeline == 0 {
            return Err(format!("workloads.{name}.pipeline must be at least 1"));
        }
        if self.pipeline > 1 && self.connection == Connection::Close {
            return Err(format!(
                "workloads.{name}: pipelining needs keep-alive connections (connection = \"keepalive\")"
            ));
        }
        if self.connections == Some(0) {
            return Err(format!("workloads.{name}.connections must be at least 1"));
        }
        for (key, value) in [("cpu", &self.cpu), ("block", &self.block)] {
            if let Some(v) = value {
                dist(v).map_err(|why| format!("workloads.{name}.{key} = {v:?}: {why}"))?;
            }
        }
        Ok(())
    }
}

/// The longest service time a request may ask for (the workers refuse more).
const MAX: Duration = Duration::from_secs(10);

const SYNTAX: &str = "expected <duration>, fixed:<duration>, exp:<mean>, or bimodal:<p>:<slow>[:<fast>], \
with durations like 200us, 1.5ms, 2s (ns, us, ms, s; at most 10s)";

fn duration(s: &str) -> Result<Duration, String> {
    let unit_at = s
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("{s:?} has no unit; {SYNTAX}"))?;
    let (n, unit) = s.split_at(unit_at);
    let n: f64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a number with a unit; {SYNTAX}"))?;
    let scale = match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => return Err(format!("unknown unit {unit:?}; {SYNTAX}")),
    };
    let d = Duration::try_from_secs_f64(n * scale).map_err(|_| format!("{s:?} is not a duration; {SYNTAX}"))?;
    if d > MAX {
        return Err(format!("{s} is longer than the 10s a worker will do"));
    }
    Ok(d)
}

/// Checks a distribution; returns its mean, for reporting.
pub fn dist(s: &str) -> Result<Duration, String> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        ["fixed", d] | ["exp", d] | [d] if !d.is_empty() => duration(d),
        ["bimodal", p, slow, rest @ ..] if rest.len() <= 1 => {
            let p: f64 = p.parse().map_err(|_| format!("{p:?} is not a probability; {SYNTAX}"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("probability {p} is not between 0 and 1"));
            }
            let (slow, fast) = (
                duration(slow)?,
                rest.first().map_or(Ok(Duration::ZERO), |f| duration(f))?,
            );
            Ok(slow.mul_f64(p) + fast.mul_f64(1.0 - p))
        }
        _ => Err(format!("{s:?}: {SYNTAX}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_and_their_means() {
        assert_eq!(dist("200us"), Ok(Duration::from_micros(200)));
        assert_eq!(dist("exp:1.5ms"), Ok(Duration::from_micros(1500)));
        assert_eq!(dist("bimodal:0.1:20ms"), Ok(Duration::from_millis(2)));
        assert_eq!(dist("bimodal:0.5:2ms:1ms"), Ok(Duration::from_micros(1500)));
        for bad in [
            "",
            "10",
            "fast",
            "exp:",
            "bimodal:2:1ms",
            "fixed:1ms:2ms",
            "11s",
            "1 ms",
            "-1ms",
        ] {
            assert!(dist(bad).is_err(), "{bad} should be refused");
        }
        assert!(dist("10").unwrap_err().contains("no unit"));
    }

    #[test]
    fn the_path_carries_the_service_time() {
        let mut w = builtin("keepalive").unwrap();
        assert_eq!(w.path(), "/");
        w.cpu = Some("exp:200us".into());
        w.block = Some("bimodal:0.01:20ms".into());
        assert_eq!(w.path(), "/?cpu=exp:200us&block=bimodal:0.01:20ms");
    }

    #[test]
    fn specs_are_checked() {
        let close = builtin("close").unwrap();
        assert!(close.check("close").is_ok());
        let piped = WorkloadSpec {
            pipeline: 16,
            ..close.clone()
        };
        assert!(piped.check("p").unwrap_err().contains("keep-alive"));
        let bad = WorkloadSpec {
            cpu: Some("lots".into()),
            ..WorkloadSpec::default()
        };
        let err = bad.check("slow").unwrap_err();
        assert!(
            err.contains("workloads.slow.cpu") && err.contains("exp:<mean>"),
            "{err}"
        );
        assert!(WorkloadSpec::default().check("bad name").is_err());
    }
}
