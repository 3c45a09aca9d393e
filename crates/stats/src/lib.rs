//! The statistics behind every call lbbench makes: which of two strategies is ahead in a metric,
//! by how much, and how sure that is. Self-contained (no other crate of lbbench): plain numbers
//! in, intervals and calls out.
//!
//! A comparison is a ratio, `a` over `b` in the metric's better direction (above 1: `a` is
//! better), estimated on logarithms so that 2× and ½× are equally far from 1:
//!
//! - **paired** ([`Sample::paired`]): `a` and `b` measured in the same round, so the round's
//!   noise — the machine's drift over minutes — cancels in each round's ratio; the interval is
//!   Student's t over the rounds' log ratios;
//! - **unpaired** ([`Sample::unpaired`]): two runs' series (`lbbench compare`), t on the logs
//!   with the two sides' variance pooled.
//!
//! A run makes dozens of comparisons of a few rounds each. Their variances are moderated
//! together ([`moderate`]): each borrows degrees of freedom from the others, so that a handful of
//! rounds can reach the family's level. Each interval is taken at that level
//! ([`family_confidence`], Bonferroni): at 95 % over the family, the chance that any call of a run
//! is wrong is at most 5 %. A call ([`call`]) says `a` or `b` is ahead when the whole interval is
//! on one side of 1, `equivalent` when it lies within the margin, and `undecided` otherwise.
#![warn(missing_docs)]

mod moderate;

pub use moderate::{prior as moderate, Prior};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

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
    /// The standard deviation of the log ratios (paired) or the pooled one (unpaired), moderated:
    /// what the number of rounds a call needs is estimated from.
    pub sd: f64,
    /// The degrees of freedom the family's prior lent it (0: none; infinite: all its variance is
    /// the family's).
    pub prior_df: f64,
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

/// One comparison's data, on logarithms: the mean log ratio and its variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The mean of `ln(a/b)`.
    pub mean: f64,
    /// The variance behind it (of a round's log ratio, or of one run, pooled).
    pub s2: f64,
    /// Its degrees of freedom.
    pub df: f64,
    /// The mean's variance is `s2 × scale` (1/n paired; 1/na + 1/nb unpaired).
    pub scale: f64,
    /// Rounds (paired), or the smaller side (unpaired).
    pub n: usize,
}

impl Sample {
    /// The ratios `a[i] / b[i]` over rounds `i`. None with fewer than two rounds, or a value that
    /// is not positive (a ratio of them means nothing).
    pub fn paired(a: &[f64], b: &[f64]) -> Option<Sample> {
        if a.len() != b.len() || !all_positive(a) || !all_positive(b) {
            return None;
        }
        let logs: Vec<f64> = a.iter().zip(b).map(|(x, y)| (x / y).ln()).collect();
        let (mean, sd) = mean_sd(&logs)?;
        let n = logs.len();
        Some(Sample {
            mean,
            s2: sd * sd,
            df: (n - 1) as f64,
            scale: 1.0 / n as f64,
            n,
        })
    }

    /// `a`'s geometric mean over `b`'s, two independent series whose spread is pooled. None when
    /// a side has fewer than two values or a value that is not positive.
    pub fn unpaired(a: &[f64], b: &[f64]) -> Option<Sample> {
        if !all_positive(a) || !all_positive(b) {
            return None;
        }
        let la: Vec<f64> = a.iter().map(|x| x.ln()).collect();
        let lb: Vec<f64> = b.iter().map(|x| x.ln()).collect();
        let ((ma, sa), (mb, sb)) = (mean_sd(&la)?, mean_sd(&lb)?);
        let (na, nb) = (la.len() as f64, lb.len() as f64);
        let df = na + nb - 2.0;
        Some(Sample {
            mean: ma - mb,
            s2: ((na - 1.0) * sa * sa + (nb - 1.0) * sb * sb) / df,
            df,
            scale: 1.0 / na + 1.0 / nb,
            n: la.len().min(lb.len()),
        })
    }

    /// The ratio's interval at `confidence`, its variance moderated by `prior`.
    pub fn interval(&self, prior: &Prior, confidence: f64) -> Option<Interval> {
        let (s2, df) = prior.shrink(self.s2, self.df);
        let half = quantile(confidence, df)? * (s2 * self.scale).sqrt();
        Some(Interval {
            ratio: self.mean.exp(),
            low: (self.mean - half).exp(),
            high: (self.mean + half).exp(),
            n: self.n,
            sd: s2.sqrt(),
            prior_df: df - self.df,
        })
    }
}

/// The ratio `a[i] / b[i]` over rounds `i`, with its interval at `confidence`, on its own
/// variance (see [`Sample::paired`]).
pub fn paired(a: &[f64], b: &[f64], confidence: f64) -> Option<Interval> {
    Sample::paired(a, b)?.interval(&Prior::NONE, confidence)
}

/// The ratio of `a`'s geometric mean to `b`'s, with its interval at `confidence`, on their own
/// variance (see [`Sample::unpaired`]).
pub fn unpaired(a: &[f64], b: &[f64], confidence: f64) -> Option<Interval> {
    Sample::unpaired(a, b)?.interval(&Prior::NONE, confidence)
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
    (iv.n.max(2)..=most).find(|&n| {
        quantile(confidence, (n - 1) as f64 + iv.prior_df).is_some_and(|t| t * iv.sd / (n as f64).sqrt() < room)
    })
}

/// Student's t at two-sided `confidence` with `df` degrees of freedom (the normal beyond a
/// million).
fn quantile(confidence: f64, df: f64) -> Option<f64> {
    if df.is_nan() || df <= 0.0 || !(0.0..1.0).contains(&confidence) {
        return None;
    }
    let p = 0.5 + confidence / 2.0;
    if df > 1e6 {
        return Some(Normal::standard().inverse_cdf(p));
    }
    Some(StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(p))
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
