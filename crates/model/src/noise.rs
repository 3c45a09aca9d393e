//! What the machine did to a measured window besides the load: the hypervisor's steal, other
//! work on the cell's CPUs, and how often the strategy was preempted. A window whose steal or
//! other work passed the profile's threshold was spoiled, and measured again.

use serde::{Deserialize, Serialize};

/// `[noise]`: when a window is spoiled by the machine, and how often it is measured again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    /// A window whose steal, or other work on the cell's CPUs, passes this share of their time
    /// is spoiled.
    pub threshold: f64,
    /// A spoiled window is measured again at most this many times (the least spoiled is kept).
    pub redo: usize,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig {
            threshold: 0.03,
            redo: 2,
        }
    }
}

impl NoiseConfig {
    /// Why the section cannot be used, if so.
    pub fn check(&self) -> Result<(), String> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(format!(
                "noise.threshold = {} must be a share in (0, 1], e.g. 0.03 for 3 %",
                self.threshold
            ));
        }
        if self.redo > 10 {
            return Err(format!("noise.redo = {} is more than 10: give at most 10", self.redo));
        }
        Ok(())
    }
}

/// The noise of one measured window, counted from before its warm-up began to its end (a cell
/// reads the other processes before its load starts, not on the client's CPU as it runs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    /// Share of the server's CPUs' time the hypervisor took for other guests (steal).
    pub server_steal: f64,
    /// The same for the client's CPUs.
    pub client_steal: f64,
    /// Share of the time of the CPUs the cell used (the server's and the client's) taken by
    /// other processes (kernel threads among them): neither the strategy, nor the client, nor
    /// the network's work for them.
    pub interference: f64,
    /// The same of the client's CPUs alone (their time, other processes' share of it): what
    /// delayed the client's wake-ups there. Absent (files written before it was counted, and
    /// windows with none, or with no client on this machine): 0.
    #[serde(default, skip_serializing_if = "crate::is_default")]
    pub client_interference: f64,
    /// The other processes that took most of it, with their share of those CPUs' time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub busiest: Vec<(String, f64)>,
    /// Times the strategy's processes were preempted over the window (involuntary switches).
    pub involuntary_switches: u64,
    /// The finest share of those CPUs' time the steal and other-work figures can tell apart (they
    /// come from 10 ms ticks, one at each edge of each CPU): no window is spoiled by less.
    #[serde(default)]
    pub resolution: f64,
    /// The other windows measured for this one (it was the least spoiled of them), each with
    /// why it was spoiled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redone: Vec<String>,
}

impl Noise {
    /// Why this window was spoiled, if its steal or its other work passed `threshold` (a share
    /// of the CPUs' time).
    pub fn spoiled(&self, threshold: f64) -> Option<String> {
        let steal = self.server_steal.max(self.client_steal);
        if steal - self.resolution > threshold {
            Some(format!(
                "steal {:.1} % of the CPUs' time (over {:.1} %)",
                steal * 100.0,
                threshold * 100.0
            ))
        } else if self.interference - self.resolution > threshold {
            let names: Vec<String> = self
                .busiest
                .iter()
                .map(|(n, s)| format!("{n} {:.1} %", s * 100.0))
                .collect();
            Some(format!(
                "other work {:.1} % of the CPUs' time (over {:.1} %){}",
                self.interference * 100.0,
                threshold * 100.0,
                if names.is_empty() {
                    String::new()
                } else {
                    format!(": {}", names.join(", "))
                }
            ))
        } else {
            None
        }
    }
}

/// Before a sweep: how much noise the machine makes while lbbench is idle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineCheck {
    /// Over how long (s).
    pub seconds: f64,
    /// Share of every CPU's time taken as steal.
    pub steal: f64,
    /// The same over the worst quarter of the probe (steal comes in bursts).
    pub steal_worst: f64,
    /// Share of every CPU's time (steal aside) busy with other work: lbbench runs nothing then.
    pub busy: f64,
    /// The busiest other programs over the probe, with their share of one CPU.
    pub busiest: Vec<(String, f64)>,
    /// What else decides how steady the CPUs are: frequency governor, idle driver, SMT.
    pub settings: std::collections::BTreeMap<String, String>,
    /// Too noisy to rank strategies within 5 % of each other from single windows.
    pub noisy: bool,
    /// What the check says, for people, and what would help.
    pub verdict: String,
}
