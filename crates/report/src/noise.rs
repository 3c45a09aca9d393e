//! What the machine did to a run, over every measured window: steal, other work, the windows it
//! spoiled and that were measured again.

use model::cpu::CpuReport;
use model::results::Results;

/// Over every window of a run (closed loop, open-loop steps, the common rate).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Windows with a noise record.
    pub windows: usize,
    /// Median and highest steal share of the server's CPUs.
    pub steal: (f64, f64),
    /// Median and highest share of other work on the cell's CPUs.
    pub interference: (f64, f64),
    /// Windows measured again before one was kept, and the windows that needed it.
    pub redone: usize,
    pub redone_windows: usize,
    /// Of the redone ones: how many for steal, how many for other work.
    pub for_steal: usize,
    pub for_other: usize,
}

/// Every window's CPU record of `r`.
fn windows(r: &Results) -> impl Iterator<Item = &CpuReport> {
    r.cells.iter().flat_map(|c| {
        let open = c.open_loop.iter().chain(&c.common_rate).filter_map(|p| p.cpu.as_ref());
        c.cpu.iter().chain(open)
    })
}

fn median_max(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => (0.0, 0.0),
        n => (v[(n - 1) / 2], v[n - 1]),
    }
}

/// The run's noise, window by window summed up.
pub fn summary(r: &Results) -> Summary {
    let noise: Vec<_> = windows(r).filter_map(|c| c.noise.as_ref()).collect();
    let reasons = noise.iter().flat_map(|n| &n.redone);
    Summary {
        windows: noise.len(),
        steal: median_max(noise.iter().map(|n| n.server_steal.max(n.client_steal)).collect()),
        interference: median_max(noise.iter().map(|n| n.interference).collect()),
        redone: noise.iter().map(|n| n.redone.len()).sum(),
        redone_windows: noise.iter().filter(|n| !n.redone.is_empty()).count(),
        for_steal: reasons.clone().filter(|w| w.starts_with("steal")).count(),
        for_other: reasons.filter(|w| !w.starts_with("steal")).count(),
    }
}

impl Summary {
    /// One sentence for people.
    pub fn sentence(&self, threshold: f64) -> String {
        if self.windows == 0 {
            return "no window recorded the machine's noise".into();
        }
        let pct = |v: f64| format!("{:.1} %", v * 100.0);
        format!(
            "over {} windows the hypervisor's steal took a median {} of the CPUs' time (at most {}), other \
             work {} (at most {}); {} windows passed {} and were measured again ({} times: {} for steal, {} \
             for other work)",
            self.windows,
            pct(self.steal.0),
            pct(self.steal.1),
            pct(self.interference.0),
            pct(self.interference.1),
            self.redone_windows,
            pct(threshold),
            self.redone,
            self.for_steal,
            self.for_other
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_window_counts_and_redone_ones_say_why() {
        let mut r = crate::fixture::results();
        let n = summary(&r);
        // 12 closed windows (the fixture's open-loop steps carry no CPU record).
        assert_eq!(n.windows, 12, "{n:?}");
        assert_eq!((n.steal.0, n.interference.0, n.redone), (0.012, 0.004, 0));
        let noise = r.cells[0].cpu.as_mut().unwrap().noise.as_mut().unwrap();
        noise.redone = vec![
            "steal 9.0 % of the CPUs' time (over 3.0 %)".into(),
            "other work 5 %".into(),
        ];
        let n = summary(&r);
        assert_eq!((n.redone, n.redone_windows, n.for_steal, n.for_other), (2, 1, 1, 1));
        assert!(n
            .sentence(0.03)
            .contains("1 windows passed 3.0 % and were measured again (2 times"));
    }
}
