use super::*;

/// Deterministic normal noise (xorshift and Box–Muller), so every run of the tests sees the same.
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// `n` values around `level` with a relative spread of `cv`.
    fn series(&mut self, n: usize, level: f64, cv: f64) -> Vec<f64> {
        (0..n).map(|_| level * (1.0 + cv * self.normal())).collect()
    }
}

const CONF: f64 = 0.95;

#[test]
fn a_ten_per_cent_shift_is_called_for_the_better_side() {
    let mut noise = Noise(7);
    let b = noise.series(5, 1000.0, 0.02);
    let a: Vec<f64> = b.iter().map(|x| x * 1.10 * (1.0 + 0.01 * noise.normal())).collect();
    let iv = paired(&a, &b, CONF).unwrap();
    assert!((iv.ratio - 1.10).abs() < 0.02, "{iv:?}");
    assert!(iv.low < 1.10 && iv.high > 1.10, "{iv:?}");
    assert_eq!(call(&iv, 0.03), Call::A, "{iv:?}");
    let back = paired(&b, &a, CONF).unwrap();
    assert_eq!(call(&back, 0.03), Call::B, "{back:?}");
}

#[test]
fn pure_noise_is_never_called_ahead_and_is_equivalent_once_tight() {
    let mut noise = Noise(11);
    for _ in 0..200 {
        let (a, b) = (noise.series(4, 500.0, 0.05), noise.series(4, 500.0, 0.05));
        let iv = paired(&a, &b, family_confidence(CONF, 200)).unwrap();
        assert!(!matches!(call(&iv, 0.03), Call::A | Call::B), "{iv:?}");
    }
    // Identical strategies measured precisely enough: within 3 % of each other.
    let b = noise.series(12, 500.0, 0.002);
    let a: Vec<f64> = b.iter().map(|x| x * (1.0 + 0.002 * noise.normal())).collect();
    assert_eq!(call(&paired(&a, &b, CONF).unwrap(), 0.03), Call::Equivalent);
}

#[test]
fn a_drift_that_pooled_runs_mistake_for_a_difference_cancels_in_paired_ratios() {
    // The machine slows by 4 % a round, and a and b are the same strategy.
    let mut noise = Noise(5);
    let speed: Vec<f64> = (0..6).map(|r| 1000.0 * (1.0 - 0.04 * r as f64)).collect();
    let a: Vec<f64> = speed.iter().map(|s| s * (1.0 + 0.002 * noise.normal())).collect();
    let b: Vec<f64> = speed.iter().map(|s| s * (1.0 + 0.002 * noise.normal())).collect();
    // Measured one after the other (a's three runs, then b's), the drift looks like a difference...
    let pooled = unpaired(&a[..3], &b[3..], CONF).unwrap();
    assert_eq!(
        call(&pooled, 0.03),
        Call::A,
        "runs apart in time mistake drift for a difference: {pooled:?}"
    );
    // ...paired within rounds, the drift cancels and they are the same.
    let iv = paired(&a, &b, CONF).unwrap();
    assert_eq!(call(&iv, 0.03), Call::Equivalent, "{iv:?}");
}

#[test]
fn forty_comparisons_of_identical_series_call_none() {
    let mut noise = Noise(3);
    let family = 40;
    let level = family_confidence(CONF, family);
    let mut called = 0;
    for seed in 0..50 {
        let mut n = Noise(100 + seed);
        for _ in 0..family {
            let round: Vec<f64> = n.series(5, 1.0, 0.05);
            let a: Vec<f64> = round
                .iter()
                .map(|r| 800.0 * r * (1.0 + 0.03 * noise.normal()))
                .collect();
            let b: Vec<f64> = round
                .iter()
                .map(|r| 800.0 * r * (1.0 + 0.03 * noise.normal()))
                .collect();
            if matches!(call(&paired(&a, &b, level).unwrap(), 0.03), Call::A | Call::B) {
                called += 1;
            }
        }
    }
    // 50 families of 40: at 95 % over each family, at most a few of the 50 may call anything.
    assert!(called <= 5, "{called} calls among 50 families of identical series");
}

#[test]
fn unpaired_runs_compare_their_geometric_means() {
    let iv = unpaired(&[100.0, 110.0, 90.0], &[50.0, 55.0, 45.0], CONF).unwrap();
    assert!((iv.ratio - 2.0).abs() < 1e-9 && iv.low < 2.0 && iv.high > 2.0, "{iv:?}");
    assert_eq!(call(&iv, 0.03), Call::A);
    assert!(unpaired(&[1.0], &[1.0, 2.0], CONF).is_none(), "one value has no spread");
    assert!(paired(&[1.0, 0.0], &[1.0, 1.0], CONF).is_none(), "a zero has no ratio");
}

#[test]
fn the_rounds_a_call_needs_follow_the_spread() {
    let mut noise = Noise(9);
    let b = noise.series(3, 100.0, 0.01);
    let a: Vec<f64> = b.iter().map(|x| x * 1.05 * (1.0 + 0.03 * noise.normal())).collect();
    let iv = paired(&a, &b, family_confidence(CONF, 40)).unwrap();
    assert_eq!(call(&iv, 0.03), Call::Undecided, "{iv:?}");
    let more = rounds_needed(&iv, 0.03, family_confidence(CONF, 40), 1000).unwrap();
    assert!(more > 3, "{more}");
    let steady = Interval { sd: 0.0, ..iv };
    assert_eq!(rounds_needed(&steady, 0.03, 0.95, 1000), Some(iv.n));
    let hopeless = Interval {
        ratio: 1.015,
        sd: 0.5,
        ..iv
    };
    assert_eq!(rounds_needed(&hopeless, 0.03, 0.999, 20), None);
}
