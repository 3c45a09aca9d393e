//! Two network stacks on one machine (`[network] topology = "veth"`): the client in a network
//! namespace of its own, joined to the server's by a veth pair with an address at each end, so
//! its traffic crosses a (virtual) link instead of loopback, where the kernel charges network
//! work to whichever side sends. Optionally `tc netem` delays each direction by half of `rtt`.
//!
//! The addresses are in 198.18.0.0/15, the range set aside for benchmarking network devices
//! (RFC 2544), and exist only inside the cell's namespaces, which vanish with it.

use anyhow::{bail, Context, Result};
use model::network::{Link, NetworkConfig, CLIENT_ADDR, SERVER_ADDR};
use nix::sched::{setns, unshare, CloneFlags};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::Command;
use std::time::Duration;

const PREFIX: u8 = 30;
const SERVER_IF: &str = "lbs0";
const CLIENT_IF: &str = "lbc0";

/// Before any cell: the veth topology needs root (it lives in the cells' private namespaces),
/// and `rtt` needs netem in this kernel. Tried in a scratch namespace that vanishes at once.
pub fn preflight(network: &NetworkConfig, root: bool) -> Result<()> {
    if network.topology == Link::Loopback {
        return Ok(());
    }
    if !root {
        bail!(
            "network.topology = \"veth\" needs root: the client's namespace and the veth pair are made in \
             each cell's private network namespace; run as root or remove the [network] section"
        );
    }
    let rtt = network.rtt;
    Netns::new()?.run(|| -> Result<()> {
        let peer = Netns::new()?;
        link(&peer, rtt)
    })
}

/// A network namespace, alive while this descriptor (or a process inside it) is.
#[derive(Debug)]
pub struct Netns(OwnedFd);

impl Netns {
    /// A fresh namespace with loopback down and nothing else, made on a scratch thread so the
    /// caller stays where it is.
    pub fn new() -> Result<Netns> {
        std::thread::scope(|s| {
            s.spawn(|| -> Result<Netns> {
                unshare(CloneFlags::CLONE_NEWNET).context("creating a network namespace (needs root)")?;
                let fd =
                    std::fs::File::open("/proc/thread-self/ns/net").context("opening the new network namespace")?;
                Ok(Netns(fd.into()))
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the namespace thread panicked"))?
        })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }

    /// Runs `f` on a scratch thread inside this namespace: what it opens, and every process it
    /// starts, live there.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        std::thread::scope(|s| {
            s.spawn(|| {
                setns(self.fd(), CloneFlags::CLONE_NEWNET).context("entering a network namespace")?;
                f()
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the namespace thread panicked"))?
        })
    }

    /// A path naming this namespace for other programs (`ip link set ... netns PATH`).
    fn path(&self) -> String {
        format!("/proc/{}/fd/{}", crate::procs::proc_self_pid(), self.0.as_raw_fd())
    }
}

/// In the calling thread's namespace (the server's): a client namespace joined to it by a veth
/// pair, addressed and up, with room for connection-per-request load, netem on both ends when
/// `rtt` is set.
pub fn client(rtt: Option<Duration>) -> Result<Netns> {
    let peer = Netns::new()?;
    link(&peer, rtt)?;
    peer.run(|| {
        // Per-namespace sysctls, as the cell sets for its own.
        for (key, value) in [("ipv4/ip_local_port_range", "1024 65535"), ("ipv4/tcp_tw_reuse", "1")] {
            std::fs::write(format!("/proc/sys/net/{key}"), value).with_context(|| format!("setting net.{key}"))?;
        }
        Ok(())
    })?;
    Ok(peer)
}

/// The veth pair between here and `peer`, addresses, links up, and the delay.
fn link(peer: &Netns, rtt: Option<Duration>) -> Result<()> {
    let path = peer.path();
    ip(&[
        "link", "add", SERVER_IF, "type", "veth", "peer", "name", CLIENT_IF, "netns", &path,
    ])?;
    ip(&["addr", "add", &format!("{SERVER_ADDR}/{PREFIX}"), "dev", SERVER_IF])?;
    ip(&["link", "set", SERVER_IF, "up"])?;
    let half = rtt.map(|r| format!("{}us", (r / 2).as_micros().max(1)));
    if let Some(delay) = &half {
        netem(SERVER_IF, delay)?;
    }
    peer.run(|| {
        ip(&["link", "set", "lo", "up"])?;
        ip(&["addr", "add", &format!("{CLIENT_ADDR}/{PREFIX}"), "dev", CLIENT_IF])?;
        ip(&["link", "set", CLIENT_IF, "up"])?;
        match &half {
            Some(delay) => netem(CLIENT_IF, delay),
            None => Ok(()),
        }
    })
}

fn netem(dev: &str, delay: &str) -> Result<()> {
    let out = run("tc", &["qdisc", "add", "dev", dev, "root", "netem", "delay", delay])?;
    if out.is_empty() {
        return Ok(());
    }
    if out.contains("qdisc kind is unknown") || out.contains("No such file") {
        bail!(
            "network.rtt needs the kernel's netem queueing discipline (module sch_netem, kernel option \
             CONFIG_NET_SCH_NETEM), which this kernel does not have ({out}); remove network.rtt, or \
             run on a kernel with netem (`modprobe sch_netem`)"
        );
    }
    bail!("tc qdisc add dev {dev} root netem delay {delay} failed: {out}")
}

fn ip(args: &[&str]) -> Result<()> {
    let out = run("ip", args)?;
    if !out.is_empty() {
        bail!("ip {} failed: {out}", args.join(" "));
    }
    Ok(())
}

/// Runs a program; its error output when it fails, empty when it succeeds.
fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}: is it installed (Debian package iproute2)?"))?;
    Ok(if out.status.success() {
        String::new()
    } else {
        let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if text.is_empty() {
            format!("exit status {}", out.status)
        } else {
            text
        }
    })
}
