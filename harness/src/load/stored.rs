//! Latency histograms as results.json stores them: HdrHistogram V2 with DEFLATE, base64 — the
//! format HdrHistogram's own tools read — so repeats and load hosts merge exactly, and every
//! percentile can be recomputed later. Percentiles are never averaged.

use super::stats::histogram;
use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A histogram that serializes as a base64 V2+DEFLATE string.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored(pub Histogram<u64>);

impl Default for Stored {
    fn default() -> Self {
        Stored(histogram())
    }
}

impl Serialize for Stored {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        v2::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Stored {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        v2::deserialize(d).map(Stored)
    }
}

/// serde `with` for a bare histogram, in the same base64 V2+DEFLATE form (load hosts send their
/// threads' histograms this way).
pub mod v2 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(h: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(h, &mut bytes)
            .map_err(|e| serde::ser::Error::custom(format!("encoding a histogram: {e:?}")))?;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("a histogram is not base64: {e}")))?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| serde::de::Error::custom(format!("not an HdrHistogram V2 histogram: {e:?}")))
    }

    /// The same for an optional histogram.
    pub mod option {
        use super::*;

        struct Borrowed<'a>(&'a Histogram<u64>);

        impl Serialize for Borrowed<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                super::serialize(self.0, s)
            }
        }

        pub fn serialize<S: serde::Serializer>(h: &Option<Histogram<u64>>, s: S) -> Result<S::Ok, S::Error> {
            h.as_ref().map(Borrowed).serialize(s)
        }

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Histogram<u64>>, D::Error> {
            Ok(Option::<Stored>::deserialize(d)?.map(|s| s.0))
        }
    }
}

/// Every histogram of one load run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histograms {
    /// From each request's intended send time (open loop) or its send (closed loop).
    pub latency: Stored,
    /// Open loop: from the actual send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncorrected: Option<Stored>,
    /// Open loop: how late each request left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag: Option<Stored>,
}

impl Histograms {
    /// Adds `other`'s counts to these (same bounds everywhere, so exactly).
    pub fn add(&mut self, other: &Histograms) {
        self.latency.0.add(&other.latency.0).expect("histograms share bounds");
        for (mine, theirs) in [
            (&mut self.uncorrected, &other.uncorrected),
            (&mut self.send_lag, &other.send_lag),
        ] {
            match (mine.as_mut(), theirs) {
                (Some(m), Some(t)) => m.0.add(&t.0).expect("histograms share bounds"),
                (None, Some(t)) => *mine = Some(t.clone()),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_histogram_round_trips_exactly_and_stays_small() {
        let mut h = histogram();
        for v in [1u64, 17, 250, 250, 1_000, 99_999, 5_000_000] {
            h.record(v).unwrap();
        }
        let json = serde_json::to_string(&Stored(h.clone())).unwrap();
        assert!(json.len() < 400, "compressed: {json}");
        let back: Stored = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0, h);
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(back.0.value_at_quantile(q), h.value_at_quantile(q));
        }
        assert!(serde_json::from_str::<Stored>("\"not base64!\"").is_err());
    }

    #[test]
    fn merged_histograms_hold_every_count() {
        let mut a = Histograms::default();
        a.latency.0.record(100).unwrap();
        let mut b = Histograms {
            uncorrected: Some(Stored::default()),
            ..Histograms::default()
        };
        b.latency.0.record(300).unwrap();
        a.add(&b);
        assert_eq!(a.latency.0.len(), 2);
        assert!(a.uncorrected.is_some());
    }
}
