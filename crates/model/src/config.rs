//! The benchmark profile (`configs/*.toml`): what to sweep and how hard to push.

use crate::fault::FaultConfig;
use crate::hosts::HostsConfig;
use crate::limits::{MAX_RUN, MIN_INTERVAL};
use crate::network::NetworkConfig;
use crate::noise::NoiseConfig;
use crate::rounds::{Design, Repeats};
use crate::slo::SloConfig;
use crate::verdict::VerdictConfig;
use crate::workload::{self, Workload, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub sweep: SweepConfig,
    #[serde(default)]
    pub load: LoadConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub output: OutputConfig,
    /// Workloads beyond the built-in `keepalive` and `close`, by name.
    #[serde(default)]
    pub workloads: BTreeMap<String, WorkloadSpec>,
    /// Capacity under a latency objective (off unless `slo.p99` is set).
    #[serde(default)]
    pub slo: SloConfig,
    /// A fault injected into every cell's closed-loop run (none unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultConfig>,
    /// How the client reaches the server on one machine (loopback, or a veth link).
    #[serde(default)]
    pub network: NetworkConfig,
    /// Server and load on other machines, over ssh; none: everything here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<HostsConfig>,
    /// How sure a call must be, and how close is the same.
    #[serde(default, skip_serializing_if = "crate::is_default")]
    pub verdict: VerdictConfig,
    /// When a window is spoiled by the machine, and how often it is measured again.
    #[serde(default, skip_serializing_if = "crate::is_default")]
    pub noise: NoiseConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SweepConfig {
    /// Strategy names to run; empty means every discovered strategy. A strategy that fronts
    /// workers runs once per worker of `workers`; a pair (`nginx+node`) may also be named.
    pub strategies: Vec<String>,
    /// The workers to run behind every strategy that fronts workers (`workers/<name>`), and whose
    /// own strategies (Node's cluster is the "node" worker) run; empty means every one. Not
    /// given: [`DEFAULT_WORKERS`] when `strategies` is empty, else just the strategies named
    /// (so a profile written before workers were an axis keeps its meaning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<Vec<String>>,
    /// Server-side CPU budgets to measure.
    pub cores: Vec<usize>,
    pub workloads: Vec<Workload>,
    /// Worker processes per server core.
    pub workers_per_core: usize,
    /// Rounds of every strategy per (cores, workload): a number, or "auto" (see [`Repeats`]).
    pub repeats: Repeats,
    /// With "auto": the rounds every group gets first.
    pub min_repeats: usize,
    /// With "auto": the most rounds any group gets.
    pub max_repeats: usize,
    /// With "auto": no round is added once the sweep has run this long (none: no limit but
    /// `max_repeats`).
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub budget: Option<Duration>,
    /// Whether strategies stay started between their windows (see [`Design`]).
    pub design: Design,
    /// Which hardware threads of each server core the server gets.
    pub smt: Smt,
}

/// A server budget of N cores is N physical cores; this says which of their hardware threads it uses.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Smt {
    /// One thread per core, its SMT siblings left idle: each server CPU has a whole core.
    #[default]
    OneThread,
    /// Every hardware thread of each core.
    AllThreads,
}

crate::names::display_as_serde!(Smt);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoadConfig {
    /// Concurrent connections (closed loop: one request in flight each).
    pub connections: usize,
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Load before the measured window, not recorded.
    #[serde(with = "humantime_serde")]
    pub warmup: Duration,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Client threads; 0 means one per client CPU.
    pub client_threads: usize,
    /// Latency under load: after the closed-loop run, drive the same server in open loop at these
    /// fractions of its closed-loop maximum (first repeat only). Empty: off.
    pub open_loop: Vec<f64>,
    /// Measured window of each open-loop step.
    #[serde(with = "humantime_serde")]
    pub open_loop_duration: Duration,
    /// Load before each open-loop step's window (the server is already warm from the closed loop).
    #[serde(with = "humantime_serde")]
    pub open_loop_warmup: Duration,
    /// Length of the intervals of each run's timeline (figures per interval of the window).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// p99 at one offered load for all: in every round after the first, each strategy also gets
    /// an open-loop window at this fraction of the slowest strategy's closed-loop maximum in its
    /// (cores, workload), so their latencies compare at the same rate. 0: off.
    pub common_rate: f64,
    /// Open loop: the client's pacing threads run at real-time priority (SCHED_FIFO 1) where the
    /// kernel allows it (root), so that other work on the client's CPUs cannot delay their
    /// wake-ups. Closed loop always runs at normal priority. Written only when off, so results
    /// files from before it read and write back unchanged (`client_priority` in the results
    /// records what a run did).
    #[serde(default = "on", skip_serializing_if = "is_on")]
    pub client_realtime: bool,
}

fn on() -> bool {
    true
}

fn is_on(b: &bool) -> bool {
    *b
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    #[serde(with = "humantime_serde")]
    pub ready_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when stopping a strategy.
    #[serde(with = "humantime_serde")]
    pub stop_grace: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    pub dir: std::path::PathBuf,
}

impl LoadConfig {
    /// The client threads for `client_cpus` CPUs: `client_threads`, or one per CPU when 0.
    pub fn threads(&self, client_cpus: usize) -> usize {
        client_threads(self.client_threads, client_cpus)
    }
}

/// Client threads asked for (0: one per client CPU), on `cpus` CPUs: at least one.
pub fn client_threads(asked: usize, cpus: usize) -> usize {
    match asked {
        0 => cpus.max(1),
        n => n,
    }
}

/// The workers a sweep of every strategy runs when its profile names none: the Rust Hello World
/// worker and the plain Node one.
pub const DEFAULT_WORKERS: [&str; 2] = ["hello", "node"];

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            strategies: Vec::new(),
            workers: None,
            cores: vec![1, 2],
            workloads: vec!["keepalive".into(), "close".into()],
            workers_per_core: 1,
            repeats: Repeats::Auto,
            min_repeats: 3,
            max_repeats: 12,
            budget: None,
            design: Design::Alternate,
            smt: Smt::OneThread,
        }
    }
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            connections: 64,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            client_threads: 0,
            open_loop: Vec::new(),
            open_loop_duration: Duration::from_secs(3),
            open_loop_warmup: Duration::from_millis(300),
            interval: Duration::from_secs(1),
            common_rate: 0.5,
            client_realtime: true,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ready_timeout: Duration::from_secs(10),
            stop_grace: Duration::from_secs(2),
        }
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig { dir: "results".into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid config {path}:\n{message}")]
    Parse { path: String, message: String },
    #[error("invalid config {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    /// How this profile's rounds are taken: a `[fault]` changes the server it hits and load hosts
    /// drive one cell at a time, so with either every window gets a fresh start.
    pub fn design(&self) -> Design {
        if self.fault.is_some() || self.hosts.is_some() {
            Design::Restart
        } else {
            self.sweep.design
        }
    }

    /// What workload `name` asks for: defined in the profile, or built in.
    pub fn workload(&self, name: &Workload) -> Option<WorkloadSpec> {
        workload::resolve(name.name(), &self.workloads)
    }

    /// Parses and checks a profile; `path` only names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        // toml's message carries the line, the column, a caret under the culprit and the allowed keys.
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: with_suggestion(&e.to_string()),
        })?;
        config.check().map_err(|message| ConfigError::Invalid {
            path: path.into(),
            message,
        })?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        let s = &self.sweep;
        if s.cores.is_empty() || s.cores.contains(&0) {
            return Err("sweep.cores must list core counts of at least 1, e.g. cores = [1, 2]".into());
        }
        if s.workloads.is_empty() {
            return Err("sweep.workloads must not be empty: use \"keepalive\" and/or \"close\"".into());
        }
        for name in &s.workloads {
            if self.workload(name).is_none() {
                let mut known = vec!["keepalive".to_string(), "close".to_string()];
                known.extend(self.workloads.keys().cloned());
                return Err(format!(
                    "sweep.workloads: unknown workload {:?}; known: {} (define more as [workloads.<name>])",
                    name.name(),
                    known.join(", ")
                ));
            }
        }
        for (name, spec) in &self.workloads {
            spec.check(name)?;
        }
        self.slo.check()?;
        self.network.check()?;
        if let Some(hosts) = &self.hosts {
            hosts.check(self.load.connections)?;
            if self.network != NetworkConfig::default() {
                return Err("[network] models a link on one machine; with [hosts] the load crosses a real one: remove one of them".into());
            }
            if self.fault.is_some() {
                return Err(
                    "[fault] signals the strategy's workers from this machine, and with [hosts] they run on \
                            the server host: remove one of them (faults across hosts are not supported yet)"
                        .into(),
                );
            }
        }
        if s.repeats == Repeats::Fixed(0) || s.workers_per_core == 0 {
            return Err("sweep.repeats and sweep.workers_per_core must be at least 1".into());
        }
        if s.min_repeats < 2 || s.max_repeats < s.min_repeats {
            return Err(format!(
                "sweep.min_repeats = {} and max_repeats = {}: a paired comparison needs at least 2 rounds, \
                 and max_repeats must not be below min_repeats",
                s.min_repeats, s.max_repeats
            ));
        }
        if s.budget.is_some_and(|b| b.is_zero() || b > MAX_DURATION) {
            return Err("sweep.budget must be positive and at most a week, e.g. \"8m\"".into());
        }
        if !(0.0..=1.0).contains(&self.load.common_rate) {
            return Err(format!(
                "load.common_rate = {} must be a fraction in [0, 1] of the slowest strategy's maximum (0: off)",
                self.load.common_rate
            ));
        }
        self.verdict.check()?;
        self.noise.check()?;
        if self.load.connections == 0 {
            return Err("load.connections must be at least 1".into());
        }
        if self.load.open_loop.iter().any(|f| !(*f > 0.0 && *f <= 2.0)) {
            return Err("load.open_loop takes fractions of the closed-loop maximum in (0, 2], e.g. [0.5, 0.9]".into());
        }
        self.check_durations()?;
        if let Some(f) = &self.fault {
            let fewest = s.cores.iter().min().copied().unwrap_or(1) * s.workers_per_core;
            f.check(self.load.duration, self.load.interval, fewest)?;
        }
        Ok(())
    }
}

impl Config {
    /// Every duration of the profile within what a run can do: a window, a warm-up or a timeout
    /// of zero measures nothing, and one of years would overflow the clock or never end.
    fn check_durations(&self) -> Result<(), String> {
        let (l, s, o) = (&self.load, &self.server, &self.slo);
        // (key, value, whether zero is refused)
        let durations = [
            ("load.duration", l.duration, true),
            ("load.request_timeout", l.request_timeout, true),
            ("load.open_loop_duration", l.open_loop_duration, true),
            ("server.ready_timeout", s.ready_timeout, true),
            ("slo.step", o.step, true),
            ("load.warmup", l.warmup, false),
            ("load.open_loop_warmup", l.open_loop_warmup, false),
            ("load.interval", l.interval, false),
            ("server.stop_grace", s.stop_grace, false),
            ("slo.warmup", o.warmup, false),
        ];
        for (key, d, positive) in durations {
            if positive && d.is_zero() {
                return Err(format!("{key} must be positive, e.g. \"10s\""));
            }
            if d > MAX_DURATION {
                return Err(format!(
                    "{key} = {} is longer than lbbench allows ({}): give a shorter one",
                    humantime::format_duration(d),
                    humantime::format_duration(MAX_DURATION)
                ));
            }
        }
        if l.interval < MIN_INTERVAL {
            return Err(format!(
                "load.interval must be at least {MIN_INTERVAL:?} (the timeline's resolution)"
            ));
        }
        Ok(())
    }
}

/// The longest any duration of a profile may be (a window, a warm-up, a timeout).
pub const MAX_DURATION: Duration = MAX_RUN;

/// toml's message for an unknown key lists the allowed ones; this adds the nearest of them when
/// the unknown key looks like a typo of it.
pub fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.split("unknown field `").nth(1) else {
        return message.to_string();
    };
    let Some((unknown, allowed)) = rest.split_once('`') else {
        return message.to_string();
    };
    let nearest = allowed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|k| (edit_distance(unknown, k), k))
        .min();
    match nearest {
        Some((d, k)) if d <= 2.max(unknown.len() / 3) => format!("{}\ndid you mean `{k}`?", message.trim_end()),
        _ => message.to_string(),
    }
}

/// Levenshtein distance, for typo suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
