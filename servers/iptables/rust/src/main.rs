//! iptables NAT: N workers each on their own port; `iptables -t nat` rules in the OUTPUT chain (the
//! chain locally generated connections traverse) and in PREROUTING (connections arriving over a
//! link, as from a client in a namespace of its own) DNAT each new connection to the public port on to
//! one worker, chosen by `-m statistic` (`nth`: exact round-robin; `random`: equal probabilities).
//! Only the first packet of a connection meets the nat table, so whole connections are balanced.

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use hello::backends::Backends;
use hello::StrategyArgs;
use lbproc::supervise::supervise;
use std::process::Command;

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: StrategyArgs,
    /// How the statistic match picks a worker.
    #[arg(long, value_enum, default_value_t = Mode::Nth)]
    mode: Mode,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    Nth,
    Random,
}

/// Marks our rules, so they can be told apart and removed.
const TAG: &str = "lbbench";

fn main() -> std::process::ExitCode {
    hello::main(|a: &Args| &a.common, run)
}

fn run(args: Args) -> Result<()> {
    let c = &args.common;
    refuse_host_namespace()?;
    let mut backends = Backends::bind(c.host, c.port, c.workers, c.timeouts())?;
    let rules: Vec<Vec<String>> = ["OUTPUT", "PREROUTING"]
        .into_iter()
        .flat_map(|chain| rules(args.mode, chain, &c.host.to_string(), c.port, backends.ports()))
        .collect();
    let installed = rules.iter().try_for_each(|r| iptables("-A", r));
    let outcome = installed.and_then(|()| supervise(&mut backends, c.workers, c.policy()));
    // The namespace takes the rules with it anyway; removing them keeps a reused namespace clean.
    for r in &rules {
        let _ = iptables("-D", r);
    }
    outcome
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
    let mut cmd = Command::new("iptables");
    cmd.arg("-w").args(&rule[..2]).arg(action).args(&rule[2..]);
    let out = cmd
        .output()
        .context("running iptables: is it installed (Debian package iptables)?")?;
    if !out.status.success() {
        bail!(
            "iptables {action} {} failed: {}",
            rule.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// NAT rules belong in a private network namespace only. lbbench vouches for the namespaces it
/// creates by passing their id in `LBBENCH_NETNS`; anywhere else we refuse.
fn refuse_host_namespace() -> Result<()> {
    let ours = std::fs::read_link("/proc/self/ns/net").context("reading our network namespace")?;
    let vouched = std::env::var_os("LBBENCH_NETNS");
    if vouched.as_deref() != Some(ours.as_os_str()) {
        bail!(
            "refusing to add NAT rules to a network namespace lbbench did not create ({}); run it through \
             `lbbench run` or `lbbench serve <strategy> -- <command>` as root, or by hand in a private \
             one: unshare --net sh -c 'ip link set lo up; \
             LBBENCH_NETNS=$(readlink /proc/self/ns/net) iptables-lb ...'",
            ours.display()
        );
    }
    Ok(())
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
