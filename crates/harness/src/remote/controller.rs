//! The controller's side: a [`Fleet`] of ssh sessions opened (and version-checked) before the
//! sweep; per cell, `lbbench host-server` on the server host; per load run, `lbbench agent` on
//! every load host, started together, watched, and merged.
//!
//! Clocks: every host times its own requests on its own monotonic clock, from its own go, so
//! the coordinated-omission correction never compares clocks across hosts. All windows have the
//! same length; they start within the spread of the go's arrival, which the controller bounds
//! by the answer each agent sends as it starts (`start_bound_us`). Throughput is the sum of the
//! hosts' 2xx responses over that common length. Histograms are merged as the threads of one
//! host are (`loadgen::stats::merge`): counts added, percentiles read from the sum.

use super::hosts;
use super::process::Remote;
use super::ssh::Session;
use super::wire::{send, AgentJob, FromAgent, FromServer, ServerCell, ToAgent, ToServer};
use crate::cell::{self, CellSpec, Drive, Measured, Window};
use crate::cpu;
use crate::manifest::Layout;
use anyhow::{anyhow, bail, Context, Result};
use loadgen::{LoadOptions, Parts};
use model::cell::CellResult;
use model::config::Config;
use model::cpu::Bottleneck;
use model::hosts::{Host, HostsConfig};
use model::load_host::HostFigures;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// A host silent this long while running fails the cell.
const SILENCE: Duration = Duration::from_secs(3);

/// Every host of the sweep, connected.
pub struct Fleet {
    hosts: HostsConfig,
    server: Session,
    load: Vec<Session>,
    /// Where the strategies listen on the server host.
    address: IpAddr,
    /// The server host's strategies, repository and binaries.
    layout: (PathBuf, Layout),
    /// The ssh control sockets, held to be removed last, after the sessions.
    _dir: crate::rundir::RunDir,
}

impl Fleet {
    /// Opens a session to every host and checks each runs this lbbench (same version and
    /// commit), before any load. Returns a line per host.
    pub fn connect(hosts: &HostsConfig, servers: PathBuf, layout: &Layout) -> Result<(Fleet, Vec<String>)> {
        // Removed on any early return too: a failed connection leaves nothing in /tmp.
        let dir = crate::rundir::RunDir::new("ssh")?;
        let config = hosts.ssh_config.as_deref();
        let open = |k: usize, h: &Host| Session::open(&h.ssh, config, &dir.0, k);
        let server = open(0, &hosts.server)?;
        let load = hosts
            .load
            .iter()
            .enumerate()
            .map(|(k, h)| open(k + 1, h))
            .collect::<Result<Vec<_>>>()?;
        let mut all = vec![(&hosts.server, &server)];
        all.extend(hosts.load.iter().zip(&load));
        let mut lines = hosts::check_versions(&all)?;
        let address = match hosts.server.address {
            Some(a) => a,
            None => super::ssh::resolve(&hosts.server.ssh, config)?,
        };
        lines.push(format!(
            "strategies listen on {address} (the server host {})",
            hosts.server.ssh
        ));
        let root = hosts.server.repo.clone().unwrap_or_else(|| layout.root.clone());
        let remote_servers = match &hosts.server.repo {
            Some(r) => r.join("servers"),
            None => servers,
        };
        let bin = match &hosts.server.repo {
            Some(r) => r.join("target/release"),
            None => layout.bin.clone(),
        };
        let has = |dir: &std::path::Path| server.output(&["test".into(), "-d".into(), dir.display().to_string()]);
        if let Err(e) = has(&remote_servers).and_then(|_| has(&bin)) {
            bail!(
                "the server host {} has no {} or no {} ({e:#}): put the repository there at this commit and \
                 run `make deps`, or set hosts.server's repo",
                hosts.server.ssh,
                remote_servers.display(),
                bin.display()
            );
        }
        lines.push(format!(
            "{}: strategies from {}",
            hosts.server.ssh,
            remote_servers.display()
        ));
        let fleet = Fleet {
            hosts: hosts.clone(),
            server,
            load,
            address,
            layout: (remote_servers, Layout::new(root, bin)),
            _dir: dir,
        };
        Ok((fleet, lines))
    }

    /// Runs one window of a freshly started cell: the strategy on the server host, the load from
    /// the load hosts.
    pub fn run_cell(&self, spec: &CellSpec, window: &Window, config: &Config) -> Result<CellResult> {
        let started_at = crate::clock::now();
        let (servers, layout) = &self.layout;
        let request = ServerCell {
            strategy: spec.strategy.clone(),
            servers: servers.clone(),
            root: layout.root.clone(),
            bin: layout.bin.clone(),
            cores: spec.cores,
            workers: spec.workers,
            smt: config.sweep.smt,
            cpus: self.hosts.server.cpus.clone(),
            address: self.address,
            server: spec.server.clone(),
            deadline: spec.time_limit(window),
        };
        let lbbench = super::hosts::lbbench_path(&self.hosts.server)?.display().to_string();
        let mut server = Remote::start(&self.server, &[lbbench, "host-server".into()])
            .with_context(|| format!("server host {}", self.server.dest()))?;
        let outcome = (|| {
            send(&mut server.stdin, &ToServer::Cell(request))?;
            let wait = spec.server.ready_timeout + Duration::from_secs(30);
            let (port, readiness, server_cpus) = match server.next(wait)? {
                FromServer::Ready {
                    port,
                    readiness,
                    server_cpus,
                } => (port, readiness, server_cpus),
                FromServer::Failed { error } => bail!("{error}"),
                other => bail!("unexpected answer {other:?}"),
            };
            let spec = CellSpec {
                host: self.address,
                port,
                server_cpus,
                client_cpus: Vec::new(),
                isolated: false,
                ..spec.clone()
            };
            let mut drive = Driver {
                fleet: self,
                server: &mut server,
                server_cpus: spec.server_cpus.clone(),
            };
            let mut timings = model::cell::Timings::default();
            let mut lap = cell::Lap(std::time::Instant::now());
            let measured = cell::measure(&spec, window, true, &mut drive, None, &mut timings, &mut lap)?;
            let mut r = cell::result(&spec, window, readiness, started_at, measured, timings);
            r.warmup_s = spec.load.warmup.max(spec.startup_warmup).as_secs_f64();
            Ok(r)
        })();
        let tail = server.stop();
        outcome.map_err(|e| match tail.trim() {
            "" => e,
            tail => anyhow!("{e:#}\nthe strategy's last output on the server host:\n{tail}"),
        })
    }
}

/// Load runs of one cell.
struct Driver<'a> {
    fleet: &'a Fleet,
    server: &'a mut Remote<FromServer>,
    server_cpus: Vec<usize>,
}

impl Drive for Driver<'_> {
    /// Faults need the server's processes at hand, so `[fault]` with `[hosts]` is refused when the
    /// profile is read and `opened` is never needed here.
    fn run(&mut self, opts: &LoadOptions, _opened: &mut dyn FnMut()) -> Result<Measured> {
        let fleet = self.fleet;
        let shares = shares(opts, &fleet.hosts.load)?;
        let mut agents = Vec::with_capacity(shares.len());
        for (k, session) in fleet.load.iter().enumerate() {
            let host = &fleet.hosts.load[k];
            let argv = [super::hosts::lbbench_path(host)?.display().to_string(), "agent".into()];
            let mut agent =
                Remote::<FromAgent>::start(session, &argv).with_context(|| format!("load host {}", host.ssh))?;
            let job = AgentJob {
                load: shares[k].clone(),
                tick: opts.interval.min(Duration::from_secs(1)),
                deadline: opts.warmup + opts.duration + opts.timeout + Duration::from_secs(30),
            };
            send(&mut agent.stdin, &ToAgent::Job(Box::new(job))).with_context(|| format!("load host {}", host.ssh))?;
            agents.push(agent);
        }
        let outcome = self.watch(opts, &shares, &mut agents);
        for a in agents {
            a.kill();
        }
        outcome
    }

    fn output_tail(&self) -> String {
        "(it follows, once the server host has stopped it)".into()
    }
}

impl Driver<'_> {
    /// Readies every agent, starts them and the server's window together, and waits for every
    /// result; any host failing or falling silent fails the run, naming it.
    fn watch(
        &mut self,
        opts: &LoadOptions,
        shares: &[LoadOptions],
        agents: &mut [Remote<FromAgent>],
    ) -> Result<Measured> {
        let names: Vec<&str> = self.fleet.hosts.load.iter().map(|h| h.ssh.as_str()).collect();
        let blame = |k: usize, e: anyhow::Error| e.context(format!("load host {}", names[k]));
        for (k, agent) in agents.iter_mut().enumerate() {
            match agent.next(Duration::from_secs(30)).map_err(|e| blame(k, e))? {
                FromAgent::Ready { version } if version == crate::VERSION => {}
                FromAgent::Ready { version } => {
                    return Err(blame(
                        k,
                        anyhow!("runs lbbench {version}, this controller {}", crate::VERSION),
                    ))
                }
                FromAgent::Failed { error } => return Err(blame(k, anyhow!("{error}"))),
                other => return Err(blame(k, anyhow!("unexpected answer {other:?}"))),
            }
        }
        send(
            &mut self.server.stdin,
            &ToServer::Window {
                warmup: opts.warmup,
                duration: opts.duration,
            },
        )
        .context("server host")?;
        let first_go = Instant::now();
        for (k, agent) in agents.iter_mut().enumerate() {
            send(&mut agent.stdin, &ToAgent::Go).map_err(|e| blame(k, e))?;
        }
        let n = agents.len();
        let (mut heard, mut started) = (vec![Instant::now(); n], vec![None; n]);
        let mut parts: Vec<Option<Parts>> = (0..n).map(|_| None).collect();
        let mut cpu = None;
        let limit = Instant::now() + opts.warmup + opts.duration + opts.timeout + Duration::from_secs(20);
        while parts.iter().any(Option::is_none) || cpu.is_none() {
            if Instant::now() > limit {
                bail!("the run did not finish within its time limit");
            }
            for (k, agent) in agents.iter_mut().enumerate() {
                while let Ok((at, m)) = agent.messages.try_recv() {
                    heard[k] = at;
                    match m {
                        Some(FromAgent::Started) => started[k] = Some(at.saturating_duration_since(first_go)),
                        Some(FromAgent::Tick { .. }) | Some(FromAgent::Ready { .. }) => {}
                        Some(FromAgent::Done(p)) => parts[k] = Some(*p),
                        Some(FromAgent::Failed { error }) => return Err(blame(k, anyhow!("{error}"))),
                        None if parts[k].is_none() => return Err(blame(k, agent.ended())),
                        None => {}
                    }
                }
                if parts[k].is_none() && heard[k].elapsed() > SILENCE {
                    return Err(blame(k, anyhow!("no word from its agent for {SILENCE:?}")));
                }
            }
            match self.server.messages.recv_timeout(Duration::from_millis(20)) {
                Ok((_, Some(FromServer::Cpu { start, end }))) => cpu = Some((start, end)),
                Ok((_, Some(FromServer::Failed { error }))) => bail!("server host: {error}"),
                Ok((_, Some(other))) => bail!("server host: unexpected answer {other:?}"),
                Ok((_, None)) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.server.ended().context("server host"));
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        let (start, end) = cpu.expect("the loop ends with the server's samples");
        let mut hosts = Vec::with_capacity(n);
        let mut threads = Vec::new();
        for (k, p) in parts.into_iter().enumerate() {
            let p = p.expect("the loop ends with every host's results");
            threads.extend(p.threads.iter().cloned());
            let report = p.merge(&shares[k]);
            hosts.push(HostFigures::of(names[k], &report, started[k].unwrap_or_default()));
        }
        // Client CPUs are per host (CPU 1 of one host is not CPU 1 of another): see `hosts`.
        let all = Parts {
            threads,
            client_cpus_busy: Default::default(),
            interrupted_after_s: None,
        };
        let load = all.merge(opts);
        // The client's CPUs are the load hosts': their time is not this host's other work.
        let cpu = cpu::account(
            &start,
            &end,
            opts.duration.as_secs_f64(),
            load.ok,
            &self.server_cpus,
            None,
        );
        let bottleneck = Bottleneck::judge(false, load.client_saturated, cpu.server_cpus_util());
        Ok(Measured {
            load,
            cpu,
            bottleneck,
            hosts,
        })
    }
}

/// With `[hosts]`, what the server host can run is checked there, cell by cell; only strategies
/// that need a private network namespace (their NAT rules must not touch a host's tables) are
/// skipped now, since the server runs in its host's own namespace, which the load hosts reach.
pub fn available(
    all: Vec<crate::manifest::Strategy>,
) -> (Vec<crate::manifest::Strategy>, Vec<model::results::Skipped>) {
    let (mut ok, mut skipped) = (Vec::new(), Vec::new());
    for s in all {
        if s.requires.root {
            skipped.push(model::results::Skipped::new(
                s.name,
                "needs a private network namespace for its rules; with [hosts] the server runs in \
                         the server host's own namespace, which the load hosts can reach",
            ));
        } else {
            ok.push(s);
        }
    }
    (ok, skipped)
}

/// Each load host's share: connections as even as they divide, the rate in proportion, its
/// own CPUs; `threads` as `load.client_threads` says (0: each host one per CPU it uses).
fn shares(opts: &LoadOptions, hosts: &[Host]) -> Result<Vec<LoadOptions>> {
    let n = hosts.len();
    if opts.connections < n {
        bail!(
            "{} connections cannot be shared by {n} load hosts: use at least {n}",
            opts.connections
        );
    }
    hosts
        .iter()
        .enumerate()
        .map(|(k, h)| {
            let connections = opts.connections / n + usize::from(k < opts.connections % n);
            let cpus = match &h.cpus {
                Some(list) => lbproc::parse_cpus(list)?,
                None => Vec::new(),
            };
            Ok(LoadOptions {
                connections,
                cpus,
                rate: opts.rate.map(|r| r * connections as f64 / opts.connections as f64),
                ..opts.clone()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_and_rate_are_shared_in_proportion() {
        let opts = LoadOptions {
            addr: "127.0.0.1:1".parse().unwrap(),
            host: "h".into(),
            path: "/".into(),
            connections: 5,
            threads: 0,
            cpus: vec![1],
            duration: Duration::from_secs(1),
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(1),
            keepalive: true,
            pipeline: 1,
            rate: Some(1000.0),
            interval: Duration::from_secs(1),
            realtime: false,
        };
        let hosts = vec![
            Host {
                ssh: "a".into(),
                cpus: Some("2-3".into()),
                ..Host::default()
            },
            Host {
                ssh: "b".into(),
                ..Host::default()
            },
        ];
        let s = shares(&opts, &hosts).unwrap();
        assert_eq!((s[0].connections, s[1].connections), (3, 2));
        assert_eq!((s[0].rate, s[1].rate), (Some(600.0), Some(400.0)));
        assert_eq!((s[0].cpus.clone(), s[1].cpus.clone()), (vec![2, 3], vec![]));
        assert_eq!(s[0].threads, 0, "each host picks its own");
        let few = LoadOptions { connections: 1, ..opts };
        assert!(shares(&few, &hosts).unwrap_err().to_string().contains("at least 2"));
    }
}
