//! Rounds. At each core count every strategy is started once (the `alternate` design) and the
//! load moves from one to the next, window by window, in a new order every round, so the two
//! sides of a comparison run seconds apart and share the machine's drift; with `restart` (and
//! always with a `[fault]` or load hosts) every window gets a fresh start instead. After the
//! first rounds, `repeats = "auto"` adds rounds only for the strategies whose comparisons are
//! still undecided, while the budget lasts.

use super::setup::{cell_spec, progress, say, Setup};
use crate::cell::{Cell, CellSpec, Window};
use crate::manifest::Strategy;
use anyhow::{Context, Result};
use indicatif::ProgressBar;
use model::cell::CellResult;
use model::results::{Failure, Results};
use model::rounds::{Design, Repeats};
use model::verdict::Call;
use model::workload::Workload;
use report::table;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The sweep in progress.
struct Run<'a> {
    plan: &'a Setup<'a>,
    results: Results,
    files: Vec<PathBuf>,
    bar: ProgressBar,
}

/// One strategy at the current core count: its spec and, with `alternate`, its running cell.
struct Slot<'a> {
    strategy: &'a Strategy,
    spec: Option<CellSpec>,
    cell: Option<Cell>,
}

pub fn run(plan: &Setup, strategies: &[Strategy], results: Results) -> Result<(Results, Vec<PathBuf>)> {
    let sweep = &plan.config.sweep;
    let first = sweep.repeats.first(sweep.min_repeats);
    let planned = first * strategies.len() * sweep.cores.len() * sweep.workloads.len();
    let mut run = Run {
        plan,
        results,
        files: Vec::new(),
        bar: progress(planned as u64),
    };
    let started = Instant::now();
    for (i, &cores) in sweep.cores.iter().enumerate() {
        // What is left of the budget, shared evenly by the core counts still to come.
        let budget = sweep
            .budget
            .map(|b| b.saturating_sub(started.elapsed()) / (sweep.cores.len() - i) as u32);
        run.cores(cores, strategies, budget)?;
    }
    run.results.finished = true;
    run.save(true);
    run.bar.finish_and_clear();
    Ok((run.results, run.files))
}

impl Run<'_> {
    fn cores(&mut self, cores: usize, strategies: &[Strategy], budget: Option<Duration>) -> Result<()> {
        let (config, isolated) = (self.plan.config, self.results.isolated);
        let design = config.design();
        let started = Instant::now();
        let mut slots: Vec<Slot> = Vec::new();
        for strategy in strategies {
            self.bar
                .set_message(format!("starting {} at {cores} cores", strategy.name));
            let spec = cell_spec(self.plan, strategy, cores, isolated);
            let (spec, cell) = match (spec, design) {
                (Ok(spec), Design::Alternate) => match Cell::start(&spec) {
                    Ok(cell) => (Some(spec), Some(cell)),
                    Err(e) => {
                        self.failed(&strategy.name, cores, None, 0, &e);
                        (None, None)
                    }
                },
                (Ok(spec), Design::Restart) => {
                    // Each window renders its own; this one only says the strategy can be set up.
                    let _ = std::fs::remove_dir_all(&spec.run_dir);
                    (Some(spec), None)
                }
                (Err(e), _) => {
                    self.failed(&strategy.name, cores, None, 0, &e);
                    (None, None)
                }
            };
            slots.push(Slot { strategy, spec, cell });
        }
        let sweep = &config.sweep;
        let (first, most) = (
            sweep.repeats.first(sweep.min_repeats),
            sweep.repeats.most(sweep.max_repeats),
        );
        let mut windows = (0usize, Duration::ZERO);
        for round in 0..most {
            let todo: Vec<(Workload, Vec<usize>)> = sweep
                .workloads
                .iter()
                .map(|w| {
                    let live = (0..slots.len()).filter(|&i| slots[i].spec.is_some());
                    let wanted: Vec<usize> = if round < first {
                        live.collect()
                    } else {
                        let open = self.undecided(cores, w);
                        live.filter(|&i| open.contains(&slots[i].strategy.name)).collect()
                    };
                    (w.clone(), wanted)
                })
                .collect();
            let count: usize = todo.iter().map(|(_, s)| s.len()).sum();
            if count == 0 || sweep.repeats != Repeats::Auto && round >= first {
                break;
            }
            if round >= first {
                // A round that would not end within the budget is not begun.
                let per = windows.1.checked_div(windows.0.max(1) as u32).unwrap_or_default();
                if budget.is_some_and(|b| started.elapsed() + per * count as u32 > b) {
                    say(
                        &self.bar,
                        format!("{cores} cores: the budget is spent; {count} windows would still decide something"),
                    );
                    break;
                }
                self.bar.inc_length(count as u64);
            }
            for (k, (workload, mut order)) in todo.into_iter().enumerate() {
                shuffle(&mut order, seed(round, cores, k));
                for &i in &order {
                    let t = Instant::now();
                    self.window(&mut slots[i], &workload, round);
                    windows = (windows.0 + 1, windows.1 + t.elapsed());
                }
                // With the strategies kept running, the common rate is a pass of its own, once
                // the round's closed loops have all run (the first round's set the rate).
                if let (Design::Alternate, Some(rate)) = (design, self.common_rate(cores, &workload)) {
                    shuffle(&mut order, seed(round, cores, k) ^ 0x5bd1_e995);
                    for &i in &order {
                        let t = Instant::now();
                        self.rate_window(&mut slots[i], &workload, round, rate);
                        windows.1 += t.elapsed();
                    }
                }
                self.save(true);
            }
        }
        for slot in slots {
            if let Some(cell) = slot.cell {
                cell.stop();
            }
            if let Some(spec) = slot.spec {
                let _ = std::fs::remove_dir_all(&spec.run_dir);
            }
        }
        Ok(())
    }

    /// Writes results.json (after every window), or every output (`all`: after every pass).
    fn save(&mut self, all: bool) {
        let formats: &[&dyn report::Exporter] = if all { &report::FORMATS } else { &report::FORMATS[..1] };
        match report::write(&self.results, self.plan.out_dir, formats) {
            Ok(files) if all => self.files = files,
            Ok(_) => {}
            Err(e) => say(&self.bar, format!("writing the results: {e:#}")),
        }
    }

    /// Strategies of (cores, workload) in a comparison not decided yet.
    fn undecided(&self, cores: usize, workload: &Workload) -> Vec<String> {
        let mut names: Vec<String> = self
            .results
            .comparisons
            .iter()
            .filter(|c| c.cores == cores && &c.workload == workload && c.call == Call::Undecided)
            .flat_map(|c| [c.a.clone(), c.b.clone()])
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// One window of `slot` at this round; the results written after it.
    fn window(&mut self, slot: &mut Slot, workload: &Workload, round: usize) {
        let Some(spec) = slot.spec.clone() else { return };
        let config = self.plan.config;
        let label = format!(
            "{} cores={} {} round {}",
            spec.strategy,
            spec.cores,
            workload.name(),
            round + 1
        );
        self.bar.set_message(label.clone());
        // Started for each window, a strategy gets its common-rate window in the same start, from
        // the second round (the first sets the rate).
        let common_rate = match config.design() {
            Design::Restart if round > 0 => self.common_rate(spec.cores, workload),
            _ => None,
        };
        let window = Window {
            workload: workload.clone(),
            workload_spec: config
                .workload(workload)
                .expect("the profile's workloads were checked when it was read"),
            repeat: round,
            common_rate,
            closed: true,
        };
        let measured = match (&mut slot.cell, self.plan.remote) {
            (Some(cell), _) => cell.measure(&window),
            // A fresh start renders the strategy's files into a run directory of its own.
            (None, remote) => {
                cell_spec(self.plan, slot.strategy, spec.cores, self.results.isolated).and_then(|fresh| {
                    let r = match remote {
                        Some(fleet) => fleet.run_cell(&fresh, &window, config),
                        None => restart(&fresh, &window),
                    };
                    let _ = std::fs::remove_dir_all(&fresh.run_dir);
                    r
                })
            }
        };
        match measured {
            Ok(mut cell) => {
                if let Some(p) = self.plan.placement {
                    cell.placement = p.cell(spec.cores);
                }
                let hosts = crate::remote::saturated_hosts(&cell);
                say(&self.bar, format!("{label}: {}{hosts}", table::cell_line(&cell)));
                self.results.cells.push(cell);
                self.results.comparisons = report::verdict::comparisons(&self.results);
            }
            Err(e) => {
                self.failed(&spec.strategy, spec.cores, Some(workload), round, &e);
                // A cell whose strategy died is not asked again at this core count.
                if slot.cell.as_mut().is_some_and(|c| !c.alive()) {
                    slot.cell = None;
                    slot.spec = None;
                }
            }
        }
        self.save(false);
        self.bar.inc(1);
    }

    /// The common-rate window of `slot` at this round, kept with the round's closed-loop window.
    fn rate_window(&mut self, slot: &mut Slot, workload: &Workload, round: usize, rate: f64) {
        let (Some(spec), Some(cell)) = (slot.spec.as_ref(), slot.cell.as_mut()) else {
            return;
        };
        let Some(at) = self.results.cells.iter().position(|c| {
            c.strategy == spec.strategy && c.cores == spec.cores && &c.workload == workload && c.repeat == round
        }) else {
            return;
        };
        self.bar.set_message(format!(
            "{} cores={} {} round {}: {rate:.0} req/s for all",
            spec.strategy,
            spec.cores,
            workload.name(),
            round + 1
        ));
        let window = Window {
            workload: workload.clone(),
            workload_spec: self
                .plan
                .config
                .workload(workload)
                .expect("checked when the profile was read"),
            repeat: round,
            common_rate: Some(rate),
            closed: false,
        };
        match cell.rate(&window) {
            Ok(mut point) => {
                let closed = &mut self.results.cells[at];
                point.fraction = rate / closed.load.rps.max(1e-9);
                closed.common_rate = Some(point);
                self.results.comparisons = report::verdict::comparisons(&self.results);
                self.save(false);
            }
            Err(e) => {
                let (name, cores) = (spec.strategy.clone(), spec.cores);
                self.failed(
                    &name,
                    cores,
                    Some(workload),
                    round,
                    &e.context("the common-rate window"),
                );
            }
        }
    }

    /// The open-loop rate every strategy of (cores, workload) gets: the profile's fraction of the
    /// slowest first-round maximum among them (None before the first round, or when off).
    fn common_rate(&self, cores: usize, workload: &Workload) -> Option<f64> {
        let fraction = self.plan.config.load.common_rate;
        if fraction <= 0.0 {
            return None;
        }
        self.results
            .cells
            .iter()
            .filter(|c| c.cores == cores && &c.workload == workload && c.repeat == 0 && c.load.rps > 0.0)
            .map(|c| c.load.rps)
            .min_by(f64::total_cmp)
            .map(|slowest| slowest * fraction)
    }

    /// Records a failure: of one window, or (no workload) of starting the strategy at all.
    fn failed(&mut self, strategy: &str, cores: usize, workload: Option<&Workload>, repeat: usize, e: &anyhow::Error) {
        let workloads = match workload {
            Some(w) => vec![w.clone()],
            None => self.plan.config.sweep.workloads.clone(),
        };
        say(&self.bar, format!("{strategy} cores={cores}: FAILED: {e:#}"));
        for workload in workloads {
            self.results.failures.push(Failure {
                strategy: strategy.to_string(),
                cores,
                workload,
                repeat,
                error: format!("{e:#}"),
            });
        }
    }
}

/// A window with a strategy started for it alone, stopped after.
fn restart(spec: &CellSpec, window: &Window) -> Result<CellResult> {
    let mut cell = Cell::start(spec).context("starting the strategy")?;
    let r = cell.measure(window);
    cell.stop();
    r
}

/// A seed of its own for each (round, cores, workload), the same on every run.
fn seed(round: usize, cores: usize, workload: usize) -> u64 {
    (round as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((cores as u64) << 32) ^ workload as u64
}

/// Fisher–Yates with xorshift: a new order every round, so no strategy always runs first or
/// last, yet a rerun of the profile runs the same orders.
fn shuffle(items: &mut [usize], seed: u64) {
    let mut x = seed | 1;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_strategy_runs_first_and_last_in_some_round() {
        let (mut first, mut last) = (vec![0; 6], vec![0; 6]);
        for round in 0..30 {
            let mut order: Vec<usize> = (0..6).collect();
            shuffle(&mut order, seed(round, 1, 0));
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..6).collect::<Vec<_>>(), "a permutation");
            first[order[0]] += 1;
            last[order[5]] += 1;
        }
        assert!(
            first.iter().all(|&n| n > 0) && last.iter().all(|&n| n > 0),
            "{first:?} {last:?}"
        );
    }
}
