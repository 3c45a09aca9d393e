//! How a sweep spends its time: how many rounds of every strategy each (cores, workload) gets
//! ([`Repeats`]), and whether the strategies stay started between their windows ([`Design`]).

use serde::{Deserialize, Serialize};

/// How many rounds a sweep makes of each (cores, workload): a number, or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Repeats {
    /// `min_repeats` first, then more rounds only for the groups whose comparisons are still
    /// undecided, up to `max_repeats`, within the budget.
    #[default]
    Auto,
    /// Exactly this many.
    Fixed(usize),
}

impl Repeats {
    /// The rounds every group gets before any is added.
    pub fn first(self, min: usize) -> usize {
        match self {
            Repeats::Auto => min,
            Repeats::Fixed(n) => n,
        }
    }

    /// The most rounds a group can get.
    pub fn most(self, max: usize) -> usize {
        match self {
            Repeats::Auto => max,
            Repeats::Fixed(n) => n,
        }
    }
}

impl Serialize for Repeats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Repeats::Auto => s.serialize_str("auto"),
            Repeats::Fixed(n) => s.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for Repeats {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RepeatsVisitor)
    }
}

struct RepeatsVisitor;

impl serde::de::Visitor<'_> for RepeatsVisitor {
    type Value = Repeats;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a number of rounds, or \"auto\"")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Repeats, E> {
        usize::try_from(v)
            .map(Repeats::Fixed)
            .map_err(|_| E::custom("too many rounds"))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Repeats, E> {
        u64::try_from(v)
            .map_err(|_| E::custom("a number of rounds is not negative"))
            .and_then(|v| self.visit_u64(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Repeats, E> {
        match v {
            "auto" => Ok(Repeats::Auto),
            other => Err(E::custom(format!("{other:?}: give a number of rounds, or \"auto\""))),
        }
    }
}

/// How the windows of a round are taken.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Design {
    /// Every strategy of a core count is started once and kept running; the load moves from one
    /// to the next window by window, in a new order every round, so the two sides of a
    /// comparison are measured seconds apart and share the machine's drift.
    #[default]
    Alternate,
    /// Every window gets a freshly started strategy (what a `[fault]` or `[hosts]` profile
    /// always does: a fault leaves its server changed, and load hosts drive one cell at a time).
    Restart,
}

crate::names::display_as_serde!(Design);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        repeats: Repeats,
    }

    #[test]
    fn repeats_are_a_number_or_auto_and_say_so_otherwise() {
        let read = |t: &str| toml::from_str::<Holder>(t).map(|h| h.repeats);
        assert_eq!(read("repeats = 4").unwrap(), Repeats::Fixed(4));
        assert_eq!(read("repeats = \"auto\"").unwrap(), Repeats::Auto);
        let err = read("repeats = \"many\"").unwrap_err().to_string();
        assert!(err.contains("\"many\": give a number of rounds, or \"auto\""), "{err}");
        let err = read("repeats = -1").unwrap_err().to_string();
        assert!(err.contains("not negative"), "{err}");
        assert_eq!((Repeats::Auto.first(3), Repeats::Fixed(5).first(3)), (3, 5));
        assert_eq!((Repeats::Auto.most(12), Repeats::Fixed(5).most(12)), (12, 5));
    }
}
