//! Variances that borrow strength from each other (Smyth 2004, the "moderated t" of limma): a
//! run has dozens of comparisons with a handful of rounds each, so each one's own variance is a
//! poor estimate (two or three degrees of freedom: Student's t then has tails so heavy that no
//! family-wise level can be reached). The variances of all of them together say what a variance
//! usually is here (a scaled inverse χ² prior, fitted by moments to the logs of the variances);
//! each comparison's variance is then shrunk towards it by as much as they agree, and gains the
//! prior's degrees of freedom. Where the variances disagree a lot, the prior's weight is small
//! and each keeps its own.

use statrs::function::gamma::digamma;

/// What the variances of a family say a variance is: `s2` with `df` degrees of freedom
/// (0: nothing learned; infinite: every variance agrees with `s2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// The typical variance.
    pub s2: f64,
    /// Its weight, in degrees of freedom.
    pub df: f64,
}

impl Prior {
    /// No prior: every comparison keeps its own variance.
    pub const NONE: Prior = Prior { s2: 0.0, df: 0.0 };

    /// A variance `s2` on `df` degrees of freedom, shrunk: (the variance, its degrees of freedom).
    pub fn shrink(&self, s2: f64, df: f64) -> (f64, f64) {
        if self.df.is_infinite() {
            return (self.s2, f64::INFINITY);
        }
        if self.df <= 0.0 {
            return (s2, df);
        }
        ((self.df * self.s2 + df * s2) / (self.df + df), self.df + df)
    }
}

/// The prior of variances `(s2, df)` (each with at least one degree of freedom). Needs three
/// positive variances; with fewer, or none positive, nothing is learned.
pub fn prior(variances: &[(f64, f64)]) -> Prior {
    let usable: Vec<(f64, f64)> = variances
        .iter()
        .copied()
        .filter(|(s2, df)| *s2 > 0.0 && s2.is_finite() && *df >= 1.0)
        .collect();
    let g = usable.len();
    if g < 3 {
        return Prior::NONE;
    }
    // ln s² is, for each, a known function of the prior plus a term of known mean and variance.
    let e: Vec<f64> = usable
        .iter()
        .map(|(s2, d)| s2.ln() - digamma(d / 2.0) + (d / 2.0).ln())
        .collect();
    let mean = e.iter().sum::<f64>() / g as f64;
    let spread = e.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (g - 1) as f64
        - usable.iter().map(|(_, d)| trigamma(d / 2.0)).sum::<f64>() / g as f64;
    if spread <= 0.0 {
        return Prior {
            s2: mean.exp(),
            df: f64::INFINITY,
        };
    }
    let df = 2.0 * inverse_trigamma(spread);
    Prior {
        s2: (mean + digamma(df / 2.0) - (df / 2.0).ln()).exp(),
        df,
    }
}

/// The trigamma function ψ'(x), x > 0: the recurrence up to 10, then the asymptotic series.
pub fn trigamma(mut x: f64) -> f64 {
    let mut sum = 0.0;
    while x < 10.0 {
        sum += 1.0 / (x * x);
        x += 1.0;
    }
    let (x2, inv) = (x * x, 1.0 / x);
    let series = inv
        + 1.0 / (2.0 * x2)
        + inv / x2 * (1.0 / 6.0 - 1.0 / (30.0 * x2) + 1.0 / (42.0 * x2 * x2) - 1.0 / (30.0 * x2 * x2 * x2));
    sum + series
}

/// The x > 0 with ψ'(x) = y (ψ' falls from ∞ to 0): bisection on the logarithm.
pub fn inverse_trigamma(y: f64) -> f64 {
    let (mut lo, mut hi) = (1e-8f64.ln(), 1e8f64.ln());
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if trigamma(mid.exp()) > y {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    ((lo + hi) / 2.0).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigamma_matches_known_values_and_inverts() {
        // ψ'(1) = π²/6, ψ'(1/2) = π²/2.
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-10);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-10);
        for x in [0.01, 0.7, 3.0, 40.0, 5000.0] {
            assert!((inverse_trigamma(trigamma(x)) / x - 1.0).abs() < 1e-6, "{x}");
        }
    }

    /// Uniforms in (0, 1), the same every run (xorshift).
    fn uniforms(seed: u64) -> impl FnMut() -> f64 {
        let mut x = seed | 1;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
    }

    #[test]
    fn agreeing_variances_pool_and_scattered_ones_keep_their_own() {
        // Sample variances on 2 df of a true variance of 1 (an exponential each): the prior
        // finds about 1, with much weight.
        let mut u = uniforms(17);
        let agree: Vec<(f64, f64)> = (0..300).map(|_| (-u().ln(), 2.0)).collect();
        let p = prior(&agree);
        assert!((p.s2 - 1.0).abs() < 0.2 && p.df > 8.0, "{p:?}");
        let (s2, df) = p.shrink(4.0, 2.0);
        assert!(s2 < 1.6 && s2 > p.s2 && df > 10.0, "{s2} {df}");
        // True variances themselves a hundredfold apart: little is pooled.
        let scattered: Vec<(f64, f64)> = (0..300)
            .map(|_| (-u().ln() * (10.0 * (u() - 0.5)).exp(), 2.0))
            .collect();
        assert!(prior(&scattered).df < 3.0, "{:?}", prior(&scattered));
        assert_eq!(prior(&[(1.0, 2.0), (2.0, 2.0)]), Prior::NONE, "two say nothing");
        assert_eq!(Prior::NONE.shrink(3.0, 2.0), (3.0, 2.0));
    }
}
