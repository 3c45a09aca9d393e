//! Strategy manifests: `servers/<dir>/strategy.toml`, discovered by glob (`file`), validated and
//! rendered into what a cell starts (`strategy`).

mod file;
mod reload;
mod strategy;

pub use crate::requires::{which, Requires};
pub use file::{discover, parse, ManifestError, MANIFEST};
pub use reload::Reload;
pub use strategy::{check_name, KeyError, Launch, Layout, Slot, Strategy, PLACEHOLDERS};

#[cfg(test)]
mod tests;
