//! Beyond one machine: the strategy on a server host, the load from one or more load hosts, all
//! reached from the controller (`lbbench run`) with the system's `ssh` — the user's
//! `~/.ssh/config`, keys, jump hosts and known_hosts; no agent listening anywhere, no new port.
//!
//! Per cell the controller starts `lbbench host-server` on the server host (the strategy, its
//! readiness and its CPU accounting, without load) and, per load run, `lbbench agent` on each load
//! host (its share of the connections and of the rate). Both speak JSON lines over the ssh
//! session's stdin and stdout ([`ToAgent`]/[`FromAgent`], [`ToServer`]/[`FromServer`]); both end
//! when their stdin closes and at a hard deadline, so nothing keeps sending when the controller
//! dies. Each agent times its requests on its own monotonic clock, from the go it received;
//! the controller merges the agents' per-thread statistics exactly as one host merges its threads.

pub mod agent;
pub mod controller;
pub mod hosts;
pub mod process;
pub mod server;
pub mod ssh;

pub use controller::Fleet;
pub use hosts::{Host, HostsConfig};

use crate::cpu::Sample;
use crate::load::stored::Histograms;
use crate::load::summary::{number_keys, Percentiles};
use crate::load::{LoadOptions, LoadReport, Parts};
use crate::server::Readiness;
use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::time::Duration;

/// One load host's part of a run, as results.json keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostFigures {
    /// The host as `[hosts] load` names it.
    pub host: String,
    pub connections: usize,
    pub threads: usize,
    pub sent: u64,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    /// Its 2xx responses per second of its own window.
    pub rps: f64,
    /// Open loop: its share of the offered rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rps: Option<f64>,
    pub latency_us: Percentiles,
    /// Its client threads' mean share of time on a CPU, and each of its CPUs' busy share.
    pub client_cpu_busy: f64,
    #[serde(with = "number_keys")]
    pub client_cpus_busy: BTreeMap<usize, f64>,
    /// A client thread of this host never waited on the server: the host may have been the limit.
    pub client_saturated: bool,
    /// On the controller's clock, from the first go sent to this host's answer that it started:
    /// its window began at most this long after any other host's.
    pub start_bound_us: u64,
    pub histograms: Histograms,
}

impl HostFigures {
    pub fn of(host: &str, report: &LoadReport, start_bound: Duration) -> HostFigures {
        HostFigures {
            host: host.to_string(),
            connections: report.connections,
            threads: report.threads,
            sent: report.sent,
            requests: report.requests,
            ok: report.ok,
            errors: report.errors,
            rps: report.rps,
            target_rps: report.target_rps,
            latency_us: report.latency_us,
            client_cpu_busy: report.client_cpu_busy,
            client_cpus_busy: report.client_cpus_busy.clone(),
            client_saturated: report.client_saturated,
            start_bound_us: start_bound.as_micros() as u64,
            histograms: report.histograms.clone(),
        }
    }
}

/// For the terminal: the load hosts whose client was saturated, by name ("" when none).
pub fn saturated_hosts(cell: &crate::cell::CellResult) -> String {
    let names: Vec<&str> = cell
        .load_hosts
        .iter()
        .filter(|h| h.client_saturated)
        .map(|h| h.host.as_str())
        .collect();
    match names.as_slice() {
        [] => String::new(),
        names => format!(" (saturated load host: {})", names.join(", ")),
    }
}

/// Controller → agent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToAgent {
    /// What to run (this host's share); the agent answers `Ready` once the server answers it.
    Job(Box<Job>),
    /// Start now: the window opens `warmup` later on the agent's own clock.
    Go,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    /// `threads` 0: one per CPU of `cpus`, or of the host's CPUs when `cpus` is empty.
    pub load: LoadOptions,
    /// How often a running agent says it is alive.
    pub tick: Duration,
    /// The agent exits this long after it starts, whatever happens.
    pub deadline: Duration,
}

/// Agent → controller.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromAgent {
    Ready {
        version: String,
    },
    /// The go arrived; the agent's clock starts now.
    Started,
    /// Alive, `n` ticks after the go.
    Tick {
        n: u64,
    },
    /// Every client thread's statistics, unmerged.
    Done(Box<Parts>),
    Failed {
        error: String,
    },
}

/// Controller → server host.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToServer {
    /// Start the strategy; answered by `Ready` once every worker serves.
    Cell(server::ServerCell),
    /// A load run starts now: sample the strategy's CPU as its window opens and closes.
    Window { warmup: Duration, duration: Duration },
    /// Stop the strategy; answered by `Stopped`.
    Stop,
}

/// Server host → controller.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromServer {
    Ready {
        port: u16,
        readiness: Readiness,
        server_cpus: Vec<usize>,
    },
    Cpu {
        start: Box<Sample>,
        end: Box<Sample>,
    },
    Stopped {
        /// The strategy's last lines of output.
        output_tail: String,
    },
    Failed {
        error: String,
    },
}

/// The main of a remote lbbench process: an error goes to the controller as the message `failed`
/// makes of it, and the process exits with status 1.
pub fn main_reporting<M: Serialize>(run: impl FnOnce() -> Result<()>, failed: impl FnOnce(String) -> M) -> Result<()> {
    if let Err(e) = run() {
        let _ = send(&mut std::io::stdout().lock(), &failed(format!("{e:#}")));
        std::process::exit(1);
    }
    Ok(())
}

/// Writes one message as a JSON line and flushes it.
pub fn send<T: Serialize>(out: &mut impl Write, message: &T) -> Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    out.write_all(&line).context("writing to the ssh session")?;
    out.flush().context("writing to the ssh session")
}

/// Reads one JSON line; `None` at the end of the stream.
pub fn receive<T: DeserializeOwned>(input: &mut impl BufRead) -> Result<Option<T>> {
    let mut line = String::new();
    if input.read_line(&mut line).context("reading from the ssh session")? == 0 {
        return Ok(None);
    }
    let message = serde_json::from_str(line.trim_end()).with_context(|| {
        let shown: String = line.chars().take(200).collect();
        format!("not a message of this lbbench version: {shown:?}")
    })?;
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_each_and_read_back() {
        let mut buf = Vec::new();
        send(&mut buf, &FromAgent::Tick { n: 3 }).unwrap();
        send(&mut buf, &ToAgent::Go).unwrap();
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 2);
        let mut input = std::io::Cursor::new(buf);
        assert!(matches!(receive(&mut input).unwrap(), Some(FromAgent::Tick { n: 3 })));
        assert!(matches!(receive(&mut input).unwrap(), Some(ToAgent::Go)));
        assert!(receive::<ToAgent>(&mut input).unwrap().is_none());
        let mut junk = std::io::Cursor::new(b"hello\n".to_vec());
        let err = receive::<ToAgent>(&mut junk).unwrap_err().to_string();
        assert!(err.contains("not a message"), "{err}");
    }
}
