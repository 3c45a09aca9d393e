use super::*;
use crate::fixture;

fn find(cs: &[Comparison], cores: usize, metric: Metric) -> Vec<&Comparison> {
    cs.iter().filter(|c| c.cores == cores && c.metric == metric).collect()
}

#[test]
fn a_client_bound_group_is_ranked_by_cpu_per_request_and_says_why() {
    let r = fixture::results();
    let cs = comparisons(&r);
    // At 1 core beta saturated its client: throughput is not the strategies' there.
    assert!(find(&cs, 1, Metric::Throughput).is_empty(), "{cs:?}");
    let cpu = find(&cs, 1, Metric::CpuPerRequest);
    assert_eq!(cpu.len(), 1);
    let c = cpu[0];
    // alpha spends 20 µs a response, beta 40: alpha is twice as cheap, in every round.
    assert_eq!(
        (c.a.as_str(), c.b.as_str(), c.call, c.rounds),
        ("alpha", "beta", Call::A, 3)
    );
    assert!(
        (c.ratio - 2.0).abs() < 1e-6 && c.ci[0] <= c.ratio && c.ci[1] >= c.ratio,
        "{c:?}"
    );
    assert!(
        c.note.as_deref().unwrap().contains("ranked by server CPU per request"),
        "{c:?}"
    );
    let line = lines(&r);
    assert!(
        line.iter()
            .any(|l| l.starts_with("keepalive, 1 core, CPU per request: alpha leads; ahead of 1 (beta)")),
        "{line:?}"
    );
}

/// A group of `n` strategies, `rounds` rounds, each window `level × round speed × noise`.
fn group(n: usize, rounds: usize, level: impl Fn(usize) -> f64, cv: f64, seed: u64) -> Results {
    let (mut r, template) = fixture::emptied();
    let mut uniform = fixture::uniforms(seed);
    // Sum of 12 uniforms: near enough a normal for noise.
    let mut normal = move || (0..12).map(|_| uniform()).sum::<f64>() - 6.0;
    for round in 0..rounds {
        // The machine drifts: 2 % slower every round, for everyone.
        let speed = 1.0 - 0.02 * round as f64;
        for s in 0..n {
            let mut c = template.clone();
            c.strategy = format!("s{s:02}");
            c.repeat = round;
            c.bottleneck = Some(Bottleneck::Server);
            c.load.rps = 10_000.0 * level(s) * speed * (1.0 + cv * normal());
            r.cells.push(c);
        }
    }
    r
}

#[test]
fn forty_identical_strategies_call_nothing() {
    let mut called = 0;
    for seed in 0..20 {
        let r = group(41, 5, |_| 1.0, 0.04, 1000 + seed);
        let cs = comparisons(&r);
        assert_eq!(find(&cs, 1, Metric::Throughput).len(), 40);
        called += cs.iter().filter(|c| matches!(c.call, Call::A | Call::B)).count();
    }
    // 20 runs of 40 comparisons each at 95 % over the run: at most about one run calls anything.
    assert!(called <= 2, "{called} calls among identical strategies");
}

#[test]
fn a_ten_per_cent_cheaper_strategy_is_called_ahead_through_the_drift() {
    let r = group(2, 6, |s| if s == 0 { 1.10 } else { 1.0 }, 0.02, 7);
    let cs = comparisons(&r);
    let t = find(&cs, 1, Metric::Throughput);
    assert_eq!((t[0].a.as_str(), t[0].call), ("s00", Call::A), "{t:?}");
    assert!(t[0].ci[0] > 1.0 && t[0].ci[0] < 1.10 && t[0].ci[1] > 1.10, "{t:?}");
}

#[test]
fn an_undecided_comparison_says_about_how_many_rounds_would_decide_it() {
    let mut r = group(2, 3, |_| 1.0, 0.0, 11);
    // s00 against s01, round by round: +2 %, +8 %, -1 %.
    for c in r.cells.iter_mut().filter(|c| c.strategy == "s00") {
        c.load.rps *= [1.02, 1.08, 0.99][c.repeat];
    }
    let cs = comparisons(&r);
    let t = find(&cs, 1, Metric::Throughput)[0];
    assert_eq!(t.call, Call::Undecided, "{t:?}");
    assert!(t.rounds_needed.is_some_and(|n| n > 3), "{t:?}");
    assert!(how_sure(&r, &cs, &t.b, 1, &t.workload).starts_with("undecided"));
}
