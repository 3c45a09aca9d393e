//! The manifest's `reload` key: how a running strategy reloads without downtime.

use crate::template::render;
use std::collections::BTreeMap;
use std::path::Path;

/// How a running strategy reloads without downtime (the manifest's `reload` key).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reload {
    /// `signal:NAME`: this signal to the strategy's first process (e.g. `signal:HUP`).
    Signal(String),
    /// Any other value: this command, run with the strategy's environment (e.g. `pm2 reload`).
    Command(Vec<String>),
}

impl Reload {
    /// Parses the key's value, filling the placeholders of a command from `vars`.
    pub fn parse(text: &str, vars: &BTreeMap<String, String>) -> Result<Reload, String> {
        if let Some(name) = text.strip_prefix("signal:") {
            let name = name.trim().trim_start_matches("SIG");
            return match format!("SIG{name}").parse::<nix::sys::signal::Signal>() {
                Ok(_) => Ok(Reload::Signal(name.to_string())),
                Err(_) => Err(format!("{name:?} is not a signal name; write e.g. \"signal:HUP\"")),
            };
        }
        let words = shell_words::split(text).map_err(|e| e.to_string())?;
        if words.is_empty() {
            return Err("empty: write \"signal:NAME\" or a command".into());
        }
        let argv = words
            .iter()
            .map(|w| render(w, vars))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        Ok(Reload::Command(argv))
    }

    /// The signal, for `signal:NAME`.
    pub fn signal(&self) -> Option<nix::sys::signal::Signal> {
        match self {
            Reload::Signal(name) => format!("SIG{name}").parse().ok(),
            Reload::Command(_) => None,
        }
    }

    /// For people: "SIGHUP to its first process" or "`pm2 reload hello`".
    pub fn describe(&self) -> String {
        match self {
            Reload::Signal(name) => format!("SIG{name} to its first process"),
            Reload::Command(argv) => {
                let words: Vec<&str> = argv
                    .iter()
                    .map(|w| {
                        Path::new(w)
                            .file_name()
                            .and_then(|n| n.to_str())
                            .filter(|_| w.contains('/'))
                            .unwrap_or(w)
                    })
                    .collect();
                format!("`{}`", words.join(" "))
            }
        }
    }
}
