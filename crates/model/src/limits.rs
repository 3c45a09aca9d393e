//! Bounds every run keeps, whatever a profile or a command line asks: they keep instants from
//! overflowing, a typo from running for years, and a run's memory from growing with its length.

use std::time::Duration;

/// The longest window, warm-up or timeout of a run, and of any duration in a profile: a week.
pub const MAX_RUN: Duration = Duration::from_secs(7 * 24 * 3600);

/// The shortest timeline interval.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// At most this many timeline intervals per run: a longer run gets longer intervals, so a
/// client thread never keeps more than this many interval histograms (about 20 kB each).
pub const MAX_INTERVALS: usize = 600;

/// The interval a run of `window` gets when `every` is asked for: `every`, or longer, so the
/// window holds at most [`MAX_INTERVALS`] of them (whole milliseconds).
pub fn interval_for(every: Duration, window: Duration) -> Duration {
    let least = window.as_millis().div_ceil(MAX_INTERVALS as u128);
    every.max(Duration::from_millis(least.min(u64::MAX as u128) as u64))
}
