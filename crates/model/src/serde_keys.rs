//! JSON object keys are strings; a map with number keys (statuses, CPUs) is written with them and
//! read back from them (serde cannot turn "503" back into a number key by itself inside a
//! flattened struct). Use as `#[serde(with = "model::serde_keys")]`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

pub fn serialize<K: Display, V: Serialize, S: Serializer>(m: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error> {
    m.iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect::<BTreeMap<String, &V>>()
        .serialize(s)
}

pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
where
    K: FromStr + Ord,
    V: Deserialize<'de>,
    D: Deserializer<'de>,
{
    BTreeMap::<String, V>::deserialize(d)?
        .into_iter()
        .map(|(k, v)| {
            k.parse()
                .map(|k| (k, v))
                .map_err(|_| serde::de::Error::custom(format!("{k:?} is not a number")))
        })
        .collect()
}
