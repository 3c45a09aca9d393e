//! The rules as iptables writes them: one DNAT rule per worker and chain, each taking its share
//! with `-m statistic` (`nth`: exact round-robin; `random`: equal probabilities).

use anyhow::Result;
use clap::ValueEnum;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Mode {
    Nth,
    Random,
}

/// Marks our rules, so they can be told apart and removed.
const TAG: &str = "lbbench";

/// Every rule, OUTPUT's then PREROUTING's.
pub struct Rules(Vec<Vec<String>>);

impl Rules {
    pub fn new(mode: Mode, host: &str, public: u16, ports: &[u16]) -> Rules {
        Rules(
            ["OUTPUT", "PREROUTING"]
                .into_iter()
                .flat_map(|chain| rules(mode, chain, host, public, ports))
                .collect(),
        )
    }
}

impl super::Nat for Rules {
    fn install(&self) -> Result<()> {
        self.0.iter().try_for_each(|r| iptables("-A", r))
    }

    fn remove(&self) {
        for r in &self.0 {
            let _ = iptables("-D", r);
        }
    }
}

/// The rules of `chain`, in order: rule i takes 1/(N-i) of the connections that reach it, the last
/// takes the rest.
fn rules(mode: Mode, chain: &str, host: &str, public: u16, ports: &[u16]) -> Vec<Vec<String>> {
    let n = ports.len();
    ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let mut r: Vec<String> = [
                "-t",
                "nat",
                chain,
                "-p",
                "tcp",
                "-d",
                host,
                "--dport",
                &public.to_string(),
            ]
            .map(String::from)
            .to_vec();
            let left = n - i;
            if left > 1 {
                r.extend(["-m", "statistic", "--mode"].map(String::from));
                match mode {
                    Mode::Nth => r.extend([
                        "nth".into(),
                        "--every".into(),
                        left.to_string(),
                        "--packet".into(),
                        "0".into(),
                    ]),
                    Mode::Random => r.extend([
                        "random".into(),
                        "--probability".into(),
                        format!("{:.10}", 1.0 / left as f64),
                    ]),
                }
            }
            r.extend(["-m", "comment", "--comment", TAG, "-j", "DNAT", "--to-destination"].map(String::from));
            r.push(format!("{host}:{port}"));
            r
        })
        .collect()
}

/// `iptables -w <action> ...rule`; the rule's first two words are the table, then the chain.
fn iptables(action: &str, rule: &[String]) -> Result<()> {
    let mut args = vec!["-w".to_string()];
    args.extend_from_slice(&rule[..2]);
    args.push(action.into());
    args.extend_from_slice(&rule[2..]);
    super::run("iptables", &args, None, "iptables")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_rules_take_one_in_every_remaining() {
        let r = rules(Mode::Nth, "OUTPUT", "127.0.0.1", 8080, &[8081, 8082, 8083]);
        let text: Vec<String> = r.iter().map(|r| r.join(" ")).collect();
        assert!(text[0].contains("--mode nth --every 3 --packet 0") && text[0].ends_with("127.0.0.1:8081"));
        assert!(text[1].contains("--every 2") && text[1].ends_with(":8082"));
        assert!(
            !text[2].contains("statistic") && text[2].ends_with(":8083"),
            "the last rule takes the rest"
        );
        assert!(text
            .iter()
            .all(|t| t.starts_with("-t nat OUTPUT -p tcp -d 127.0.0.1 --dport 8080")));
    }

    #[test]
    fn random_rules_have_equal_overall_shares() {
        let r = rules(Mode::Random, "PREROUTING", "127.0.0.1", 8080, &[1, 2, 3, 4]);
        let p: Vec<String> = r
            .iter()
            .filter_map(|r| r.iter().position(|w| w == "--probability").map(|i| r[i + 1].clone()))
            .collect();
        assert_eq!(p, ["0.2500000000", "0.3333333333", "0.5000000000"]);
    }
}
