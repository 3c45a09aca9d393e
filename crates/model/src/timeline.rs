//! A run's figures interval by interval, as results.json stores them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The whole run's timeline, column by column (compact in results.json).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineReport {
    pub interval_ms: u64,
    pub ok: Vec<u64>,
    pub non_2xx: Vec<u64>,
    pub errors: Vec<u64>,
    pub errors_connect: Vec<u64>,
    pub errors_reset: Vec<u64>,
    pub errors_timeout: Vec<u64>,
    pub errors_protocol: Vec<u64>,
    /// Of the responses completed in each interval (0 when none).
    pub p50_us: Vec<u64>,
    pub p99_us: Vec<u64>,
    /// The slowest response of each interval: a handful of requests held by a hung worker is
    /// below any percentile when the other workers answer thousands.
    #[serde(default)]
    pub max_us: Vec<u64>,
    /// Responses per worker per interval.
    pub per_worker: BTreeMap<String, Vec<u64>>,
}
