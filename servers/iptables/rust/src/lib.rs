//! NAT in front of workers on their own ports, in the cell's private network namespace: rules in
//! the OUTPUT path (the one locally generated connections take) and in PREROUTING (connections
//! arriving over a link, as from a client in a namespace of its own) DNAT each new connection to
//! the public port on to one worker. Only the first packet of a connection meets the nat hooks,
//! so whole connections are balanced. Two ways to write the rules, one strategy life:
//! `iptables` (the statistic match) and `nft` (numgen, its successor).

pub mod iptables;
pub mod nft;

use anyhow::{bail, Context, Result};
use hello::backends::Backends;
use hello::StrategyArgs;
use lbproc::supervise::supervise;

/// A set of NAT rules.
pub trait Nat {
    /// Adds every rule, or fails.
    fn install(&self) -> Result<()>;
    /// Removes what `install` added, passing over what is not there.
    fn remove(&self);
}

/// The strategy: refuses a namespace lbbench did not vouch for, binds the workers' ports,
/// installs the rules `nat` makes for them, and supervises the workers until told to stop; the
/// rules are removed however that ends. `program` names the binary in the refusal's advice.
pub fn serve<N: Nat>(program: &str, c: &StrategyArgs, nat: impl FnOnce(&[u16]) -> Result<N>) -> Result<()> {
    refuse_host_namespace(program)?;
    let mut backends = Backends::bind(c.host, c.port, c.workers, c.timeouts())?;
    let rules = nat(backends.ports())?;
    let outcome = rules
        .install()
        .and_then(|()| supervise(&mut backends, c.workers, c.policy()));
    // The namespace takes the rules with it anyway; removing them keeps a reused namespace clean.
    rules.remove();
    outcome
}

/// NAT rules belong in a private network namespace only. lbbench vouches for the namespaces it
/// creates by passing their id in `LBBENCH_NETNS`; anywhere else we refuse.
fn refuse_host_namespace(program: &str) -> Result<()> {
    let ours = std::fs::read_link("/proc/self/ns/net").context("reading our network namespace")?;
    let vouched = std::env::var_os("LBBENCH_NETNS");
    if vouched.as_deref() != Some(ours.as_os_str()) {
        bail!(
            "refusing to add NAT rules to a network namespace lbbench did not create ({}); run it through \
             `lbbench run` or `lbbench serve <strategy> -- <command>` as root, or by hand in a private \
             one: unshare --net sh -c 'ip link set lo up; \
             LBBENCH_NETNS=$(readlink /proc/self/ns/net) {program} ...'",
            ours.display()
        );
    }
    Ok(())
}

/// Runs `program` with `args` (and `stdin`, if any); fails with what it printed.
fn run(program: &str, args: &[String], stdin: Option<&str>, installed: &str) -> Result<()> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {program}: is it installed (Debian package {installed})?"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .with_context(|| format!("writing to {program}"))?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
