//! The rules as nftables writes them: one DNAT rule per chain whose target is picked by
//! `numgen` (`inc`: one counter per rule, so exact round-robin across CPUs; `random`: equal
//! probabilities) from a map of the workers' addresses. One table of our own, added and
//! removed whole, in one transaction each.

use anyhow::{bail, Result};
use clap::ValueEnum;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Numgen {
    Inc,
    Random,
}

/// Our table (named after the public port, so it can be told apart and removed) and its text.
pub struct Table {
    name: String,
    text: String,
}

impl Table {
    pub fn new(numgen: Numgen, host: IpAddr, public: u16, ports: &[u16]) -> Result<Table> {
        let IpAddr::V4(host) = host else {
            bail!("the nft rules are IPv4 (table ip, as the iptables ones): --host {host} is not");
        };
        let name = format!("lbbench_{public}");
        let kind = match numgen {
            Numgen::Inc => "inc",
            Numgen::Random => "random",
        };
        let targets: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{i} : {host} . {p}"))
            .collect();
        let rule = format!(
            "ip daddr {host} tcp dport {public} dnat ip to numgen {kind} mod {} map {{ {} }}",
            ports.len(),
            targets.join(", ")
        );
        // Adding then deleting the table first replaces one a killed run left in a reused
        // namespace instead of adding to it. Priority -100 is dstnat: nft 1.0.6 accepts the
        // name on prerouting but refuses it on output.
        let chain = |hook: &str| {
            format!("  chain {hook} {{\n    type nat hook {hook} priority -100; policy accept;\n    {rule}\n  }}\n")
        };
        let text = format!(
            "table ip {name}\ndelete table ip {name}\ntable ip {name} {{\n{}{}}}\n",
            chain("output"),
            chain("prerouting")
        );
        Ok(Table { name, text })
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

impl super::Nat for Table {
    fn install(&self) -> Result<()> {
        super::run("nft", &["-f".into(), "-".into()], Some(&self.text), "nftables")
    }

    fn remove(&self) {
        let _ = super::run(
            "nft",
            &["delete".into(), "table".into(), "ip".into(), self.name.clone()],
            None,
            "nftables",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_per_hook_maps_every_worker() {
        let t = Table::new(Numgen::Inc, "127.0.0.1".parse().unwrap(), 8080, &[8081, 8082, 8083]).unwrap();
        let rule = "ip daddr 127.0.0.1 tcp dport 8080 dnat ip to numgen inc mod 3 \
                    map { 0 : 127.0.0.1 . 8081, 1 : 127.0.0.1 . 8082, 2 : 127.0.0.1 . 8083 }";
        assert_eq!(t.text().matches(rule).count(), 2, "{}", t.text());
        for hook in ["output", "prerouting"] {
            assert!(
                t.text().contains(&format!("type nat hook {hook} priority -100;")),
                "{}",
                t.text()
            );
        }
        assert!(t
            .text()
            .starts_with("table ip lbbench_8080\ndelete table ip lbbench_8080\n"));
        let random = Table::new(Numgen::Random, "10.1.2.3".parse().unwrap(), 80, &[81, 82]).unwrap();
        assert!(random
            .text()
            .contains("numgen random mod 2 map { 0 : 10.1.2.3 . 81, 1 : 10.1.2.3 . 82 }"));
        assert!(Table::new(Numgen::Inc, "::1".parse().unwrap(), 80, &[81]).is_err());
    }
}
