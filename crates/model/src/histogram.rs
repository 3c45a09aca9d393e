//! Latency histograms as results.json stores them: HdrHistogram V2 with DEFLATE, base64 — the
//! format HdrHistogram's own tools read — so repeats and load hosts merge exactly, and every
//! percentile can be recomputed later. Percentiles are never averaged.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latency bounds of every whole-run histogram: 1 µs .. 60 s, 3 significant figures.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST, 3).expect("static histogram bounds are valid")
}

/// Interval histograms: 1 µs .. 60 s at 2 significant figures (1 %), small enough to keep one
/// per interval per thread.
pub fn interval_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST, 2).expect("static histogram bounds are valid")
}

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
        super::decode(&bytes).map_err(serde::de::Error::custom)
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

/// Why a stored histogram was refused. A results file is shared between people, so its
/// histograms are untrusted input: nothing in one may make the reader allocate more than a
/// histogram of lbbench's own bounds takes.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not an HdrHistogram V2 histogram: {0}")]
    Format(&'static str),
    #[error("its DEFLATE stream declares {declared} bytes but {left} follow")]
    Truncated { declared: usize, left: usize },
    #[error("it inflates past {0} bytes, more than a histogram of lbbench's bounds can hold")]
    Bomb(usize),
    #[error(
        "its bounds ({low}..{high} at {digits} significant figures) are not lbbench's \
         (1..{HIGHEST} at 2 or 3): not written by lbbench"
    )]
    Bounds { low: u64, high: u64, digits: u32 },
    #[error("its payload declares {declared} bytes but {left} follow")]
    Payload { declared: usize, left: usize },
    #[error("its counts are malformed: {0}")]
    Counts(String),
}

/// The highest latency every histogram of lbbench holds, in µs (60 s).
pub const HIGHEST: u64 = 60_000_000;
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9314;
/// The V2 header after its cookie: payload length, normalizing offset, significant figures,
/// lowest and highest value, integer-to-double ratio.
const HEADER: usize = 4 + 4 + 4 + 8 + 8 + 8;

/// Decodes a V2 (optionally DEFLATE-compressed) histogram, refusing before any large allocation
/// what lbbench cannot have written: a declared length the bytes do not hold, a stream that
/// inflates past the largest histogram of lbbench's bounds, or other bounds.
pub fn decode(bytes: &[u8]) -> Result<Histogram<u64>, Refused> {
    use std::io::Read;
    let word = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map(|w| u32::from_be_bytes(w.try_into().expect("4 bytes")))
    };
    let inflated;
    let plain: &[u8] = match word(bytes, 0) {
        Some(V2_COOKIE) => bytes,
        Some(V2_DEFLATE_COOKIE) => {
            let declared = word(bytes, 4).ok_or(Refused::Format("no length after the cookie"))? as usize;
            let stream = &bytes[8..];
            if declared > stream.len() {
                return Err(Refused::Truncated {
                    declared,
                    left: stream.len(),
                });
            }
            // The largest encoding of lbbench's largest histogram: every count in 9 bytes.
            let cap = 4 + HEADER + 9 * histogram().distinct_values();
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(&stream[..declared])
                .take(cap as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| Refused::Format("its DEFLATE stream is corrupt"))?;
            if out.len() > cap {
                return Err(Refused::Bomb(cap));
            }
            inflated = out;
            &inflated
        }
        _ => return Err(Refused::Format("unknown cookie")),
    };
    if plain.len() < 4 + HEADER || word(plain, 0) != Some(V2_COOKIE) {
        return Err(Refused::Format("no V2 header"));
    }
    let long = |at: usize| u64::from_be_bytes(plain[at..at + 8].try_into().expect("8 bytes"));
    let declared = word(plain, 4).expect("checked length") as usize;
    let digits = word(plain, 12).expect("checked length");
    let (low, high) = (long(16), long(24));
    if low != 1 || high != HIGHEST || !(2..=3).contains(&digits) {
        return Err(Refused::Bounds { low, high, digits });
    }
    let left = plain.len() - 4 - HEADER;
    if declared != left {
        return Err(Refused::Payload { declared, left });
    }
    // Bounds and length checked: the deserializer allocates only what lbbench's bounds take.
    Deserializer::new()
        .deserialize(&mut &plain[..])
        .map_err(|e| Refused::Counts(format!("{e:?}")))
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

    /// V2 (optionally DEFLATE) bytes: an inner header with these fields, then `payload`.
    fn crafted(payload_len: u32, digits: u32, high: u64, payload: &[u8], deflate: bool) -> Vec<u8> {
        use std::io::Write;
        let mut inner = Vec::new();
        for w in [V2_COOKIE, payload_len, 0, digits] {
            inner.extend(w.to_be_bytes());
        }
        inner.extend(1u64.to_be_bytes());
        inner.extend(high.to_be_bytes());
        inner.extend(1f64.to_be_bytes());
        inner.extend(payload);
        if !deflate {
            return inner;
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&inner).unwrap();
        let stream = z.finish().unwrap();
        let mut out = V2_DEFLATE_COOKIE.to_be_bytes().to_vec();
        out.extend((stream.len() as u32).to_be_bytes());
        out.extend(stream);
        out
    }

    #[test]
    fn what_lbbench_cannot_have_written_is_refused_before_it_is_allocated() {
        // A payload length the bytes do not hold (the deserializer would allocate 4 GiB for it).
        let e = decode(&crafted(u32::MAX, 3, HIGHEST, &[], true)).unwrap_err();
        assert!(
            matches!(e, Refused::Payload { declared, left: 0 } if declared == u32::MAX as usize),
            "{e}"
        );
        // A stream that inflates past the largest histogram of lbbench's bounds.
        let zeros = vec![0u8; 4 << 20];
        let e = decode(&crafted(zeros.len() as u32, 3, HIGHEST, &zeros, true)).unwrap_err();
        assert!(matches!(e, Refused::Bomb(_)), "{e}");
        // Bounds of 2^62 at 5 figures: a counts array of hundreds of MB.
        let e = decode(&crafted(0, 5, 1 << 62, &[], true)).unwrap_err();
        assert!(matches!(e, Refused::Bounds { digits: 5, .. }), "{e}");
        // A DEFLATE length past the bytes that follow.
        let mut short = crafted(0, 3, HIGHEST, &[], true);
        short.truncate(short.len() - 2);
        assert!(matches!(decode(&short), Err(Refused::Truncated { .. })));
        assert!(matches!(decode(b"\x1c\x84"), Err(Refused::Format(_))));
        // What lbbench writes still reads, plain or compressed.
        let mut h = histogram();
        h.record(1234).unwrap();
        let mut bytes = Vec::new();
        V2DeflateSerializer::new().serialize(&h, &mut bytes).unwrap();
        assert_eq!(decode(&bytes).unwrap(), h);
        let mut plain = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&h, &mut plain)
            .unwrap();
        assert_eq!(decode(&plain).unwrap(), h);
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
