//! The names of the profile's and the results' enums as people read them are the names serde
//! gives them (their `rename_all`): written once, in the derive.

use serde::Serialize;
use std::fmt;

/// Writes `value`, a unit variant, as serde names it.
pub fn write<T: Serialize>(value: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => f.write_str(&name),
        _ => Err(fmt::Error),
    }
}

/// `Display` for enums whose variants serde names.
macro_rules! display_as_serde {
    ($($t:ty),*) => {
        $(impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                $crate::names::write(self, f)
            }
        })*
    };
}
pub(crate) use display_as_serde;
