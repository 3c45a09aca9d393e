//! A load host's own figures of a run measured from several hosts.

use crate::histogram::Histograms;
use crate::load::{LoadReport, Percentiles};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    #[serde(with = "crate::serde_keys")]
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
