//! The statistics behind every call lbbench makes: which of two strategies is ahead in a metric,
//! by how much, and how sure that is. Self-contained (no other crate of lbbench): plain numbers
//! in, intervals and calls out.
//!
//! A comparison is a ratio, `a` over `b` in the metric's better direction (above 1: `a` is
//! better), estimated on logarithms so that 2× and ½× are equally far from 1:
//!
//! - **paired** ([`paired`]): `a` and `b` measured in the same round, so the round's noise — the
//!   machine's drift over minutes — cancels in each round's ratio; the interval is Student's t
//!   over the rounds' log ratios;
//! - **unpaired** ([`unpaired`]): two runs' series (`lbbench compare`), Welch's t on the logs.
//!
//! A run makes dozens of comparisons, so each interval is taken at the family's level
//! ([`family_confidence`], Bonferroni): at 95 % over the family, the chance that any call of a run
//! is wrong is at most 5 %. A call ([`call`]) says `a` or `b` is ahead when the whole interval is
//! on one side of 1, `equivalent` when it lies within the margin, and `undecided` otherwise.
#![warn(missing_docs)]

use statrs::distribution::{ContinuousCDF, StudentsT};

/// A ratio and its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The estimate: the geometric mean of the ratios (paired), or of each side (unpaired).
    pub ratio: f64,
    /// The interval's ends.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
    /// Observations behind it: rounds (paired), or the smaller side (unpaired).
    pub n: usize,
    /// The standard deviation of the log ratios (paired) or the pooled one (unpaired): what the
    /// number of rounds a call needs is estimated from.
    pub sd: f64,
}

/// What a comparison says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `a` is better: the whole interval is above 1.
    A,
    /// `b` is better: the whole interval is below 1.
    B,
    /// Within the margin either way: the whole interval lies in `[1/(1+m), 1+m]`.
    Equivalent,
    /// The interval is too wide for any of those.
    Undecided,
}

/// The confidence each comparison is taken at so that the family of `family` comparisons holds
/// `confidence` together (Bonferroni).
pub fn family_confidence(confidence: f64, family: usize) -> f64 {
    1.0 - (1.0 - confidence) / family.max(1) as f64
}

/// The ratio `a[i] / b[i]` over rounds `i`, with its interval at `confidence`. None with fewer
/// than two rounds, or a value that is not positive (a ratio of them means nothing).
pub fn paired(a: &[f64], b: &[f64], confidence: f64) -> Option<Interval> {
    let logs: Vec<f64> = a.iter().zip(b).map(|(x, y)| (x / y).ln()).collect();
    if a.len() != b.len() || !all_positive(a) || !all_positive(b) {
        return None;
    }
    let (mean, sd) = mean_sd(&logs)?;
    let n = logs.len();
    let half = quantile(confidence, (n - 1) as f64)? * sd / (n as f64).sqrt();
    Some(Interval {
        ratio: mean.exp(),
        low: (mean - half).exp(),
        high: (mean + half).exp(),
        n,
        sd,
    })
}

/// The ratio of `a`'s geometric mean to `b`'s, two independent series, with Welch's interval at
/// `confidence`. None when a side has fewer than two values or a value that is not positive.
pub fn unpaired(a: &[f64], b: &[f64], confidence: f64) -> Option<Interval> {
    if !all_positive(a) || !all_positive(b) {
        return None;
    }
    let la: Vec<f64> = a.iter().map(|x| x.ln()).collect();
    let lb: Vec<f64> = b.iter().map(|x| x.ln()).collect();
    let ((ma, sa), (mb, sb)) = (mean_sd(&la)?, mean_sd(&lb)?);
    let (na, nb) = (la.len() as f64, lb.len() as f64);
    let (va, vb) = (sa * sa / na, sb * sb / nb);
    let se = (va + vb).sqrt();
    // Welch–Satterthwaite; two series without spread at all give no interval width to speak of.
    let df = if va + vb > 0.0 {
        (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0))
    } else {
        na + nb - 2.0
    };
    let half = quantile(confidence, df)? * se;
    let d = ma - mb;
    Some(Interval {
        ratio: d.exp(),
        low: (d - half).exp(),
        high: (d + half).exp(),
        n: la.len().min(lb.len()),
        sd: ((sa * sa + sb * sb) / 2.0).sqrt(),
    })
}

/// The call an interval makes with an equivalence margin of `margin` (0.03: within 3 %).
pub fn call(iv: &Interval, margin: f64) -> Call {
    if iv.low > 1.0 {
        Call::A
    } else if iv.high < 1.0 {
        Call::B
    } else if iv.low >= 1.0 / (1.0 + margin) && iv.high <= 1.0 + margin {
        Call::Equivalent
    } else {
        Call::Undecided
    }
}

/// About how many paired rounds an undecided comparison needs, at the spread it shows, for its
/// interval to clear 1 (if its estimate holds) or to fit in the margin (if it is near 1); None
/// when no number of rounds up to `most` would do.
pub fn rounds_needed(iv: &Interval, margin: f64, confidence: f64, most: usize) -> Option<usize> {
    let d = iv.ratio.ln().abs();
    let room = d.max(margin.ln_1p() - d);
    (iv.n.max(2)..=most)
        .find(|&n| quantile(confidence, (n - 1) as f64).is_some_and(|t| t * iv.sd / (n as f64).sqrt() < room))
}

/// Student's t at two-sided `confidence` with `df` degrees of freedom.
fn quantile(confidence: f64, df: f64) -> Option<f64> {
    if df.is_nan() || df <= 0.0 || !(0.0..1.0).contains(&confidence) {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(t.inverse_cdf(0.5 + confidence / 2.0))
}

fn all_positive(v: &[f64]) -> bool {
    v.iter().all(|x| *x > 0.0 && x.is_finite())
}

/// Mean and sample standard deviation; None for fewer than two values.
fn mean_sd(v: &[f64]) -> Option<(f64, f64)> {
    if v.len() < 2 {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, var.sqrt()))
}

#[cfg(test)]
mod tests;
