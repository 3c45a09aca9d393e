//! A running strategy: spawned pinned to its CPUs in a process group of its own, probed until
//! ready, stopped without leftovers.

use crate::manifest::Launch;
use crate::procs;
use anyhow::{bail, Context, Result};
use loadgen::response;
use model::cell::Readiness;
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long after its first answer a strategy with no named worker is taken as ready.
const UNNAMED_GRACE: Duration = Duration::from_secs(1);

pub struct Server {
    pid: Pid,
    log: PathBuf,
}

impl Server {
    /// Spawns the strategy in its own process group, pinned to `cpus`, output to `log`.
    pub fn spawn(launch: &Launch, cwd: &Path, cpus: &[usize], log: PathBuf) -> Result<Server> {
        let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(&launch.argv[0]);
        cmd.args(&launch.argv[1..])
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0);
        let set = lbproc::cpus::cpu_set(cpus)?;
        // SAFETY: between fork and exec the closure makes one system call.
        unsafe {
            cmd.pre_exec(move || Ok(nix::sched::sched_setaffinity(Pid::from_raw(0), &set)?));
        }
        let child = lbproc::tie(&mut cmd)
            .spawn()
            .with_context(|| format!("cannot start {:?}", launch.argv[0]))?;
        Ok(Server {
            pid: Pid::from_raw(child.id() as i32),
            log,
        })
    }

    /// The last lines the strategy printed.
    pub fn output_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            "(it printed nothing)".into()
        } else {
            tail
        }
    }

    /// Waits until `addr` answers 200 `Hello World` with an `X-Worker` header and each of the
    /// `workers` workers has announced it is serving (by its name, `lbbench-w<k>`), so no load
    /// starts while only some of them can take it. A strategy whose workers never name
    /// themselves is taken as ready a moment after its first answer, and the result says so.
    pub fn wait_ready(&mut self, addr: SocketAddr, timeout: Duration, workers: usize) -> Result<Readiness> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut last = String::from("no answer yet");
        let mut answered: Option<Instant> = None;
        let mut named = BTreeSet::new();
        while Instant::now() < deadline {
            if let Some(how) = self.exited() {
                bail!("the strategy {how} during startup; its output:\n{}", self.output_tail());
            }
            named = procs::named_workers(&procs::of_cell());
            let all_named = (0..workers).all(|k| named.contains(&k));
            // The first request waits for every worker that names itself: a worker that binds its
            // own port behind a front (nginx, haproxy) is not listening before, and a front takes
            // a refused connection as a failed upstream for seconds.
            let may_probe = all_named || (named.is_empty() && started.elapsed() >= UNNAMED_GRACE);
            if answered.is_none() && may_probe {
                match probe(addr) {
                    Ok(_worker) => answered = Some(Instant::now()),
                    Err(e) => last = e.to_string(),
                }
            }
            if let Some(at) = answered {
                if all_named {
                    return Ok(Readiness::AllWorkers);
                }
                if named.is_empty() && at.elapsed() >= UNNAMED_GRACE {
                    return Ok(Readiness::FirstAnswer);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if answered.is_some() || !named.is_empty() {
            let missing: Vec<String> = (0..workers)
                .filter(|k| !named.contains(k))
                .map(|k| k.to_string())
                .collect();
            if !missing.is_empty() {
                bail!(
                    "within {timeout:?} workers {} never announced they were serving \
                     (a serving worker k is named lbbench-w<k>); its output:\n{}",
                    missing.join(", "),
                    self.output_tail()
                );
            }
        }
        bail!(
            "the strategy was not ready within {timeout:?} (http://{addr}/: {last}); its output:\n{}",
            self.output_tail()
        )
    }

    /// How its first process ended ("exited with status 1", "was killed by SIGSEGV"), if it has.
    fn exited(&self) -> Option<String> {
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => Some(format!("exited with status {code}")),
            Ok(WaitStatus::Signaled(_, signal, _)) => Some(format!("was killed by {signal}")),
            // Not our child (it cannot be): fall back to whether it still runs.
            Err(_) if !lbproc::alive(self.pid) => Some("exited".into()),
            _ => None,
        }
    }

    /// Its first process, as this process numbers it.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Whether its first process still runs.
    pub fn running(&mut self) -> bool {
        lbproc::alive(self.pid)
    }

    /// SIGTERM, SIGKILL after `grace`, then SIGKILL to whatever is left of its process group and
    /// to any other process still below the cell (one that left the group, say). In a PID
    /// namespace of the cell's own the kernel kills those as the cell exits; /proc's numbers are
    /// not ours to signal there.
    pub fn stop(self, grace: Duration) {
        lbproc::stop(&[self.pid], grace, Some(self.pid));
        if procs::proc_self_pid() == std::process::id() as i32 {
            for p in procs::of_cell() {
                let _ = nix::sys::signal::kill(Pid::from_raw(p.pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

/// Why a readiness probe got no Hello World answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Io(std::io::Error),
    #[error("it accepted the connection but sent no answer within {0:?}")]
    Silent(Duration),
    #[error("the connection closed before a whole response")]
    Closed,
    #[error("not an HTTP response: {0}")]
    NotHttp(response::Malformed),
    #[error("answered {status} {body:?} (X-Worker present: {worker}); want 200 \"Hello World\" with X-Worker")]
    Wrong { status: u16, body: String, worker: bool },
}

/// One `GET /` on a fresh connection; the `X-Worker` value when the answer is the Hello World one.
pub fn probe(addr: SocketAddr) -> Result<String, ProbeError> {
    let limit = Duration::from_millis(500);
    let mut s = TcpStream::connect_timeout(&addr, limit).map_err(ProbeError::Io)?;
    s.set_read_timeout(Some(limit)).map_err(ProbeError::Io)?;
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .map_err(ProbeError::Io)?;
    let mut buf = Vec::with_capacity(512);
    let r = loop {
        let mut chunk = [0u8; 1024];
        let n = s.read(&mut chunk).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ProbeError::Silent(limit),
            _ => ProbeError::Io(e),
        })?;
        buf.extend_from_slice(&chunk[..n]);
        match response::parse(&buf, false, n == 0) {
            Ok(Some(r)) => break r,
            Ok(None) if n == 0 => return Err(ProbeError::Closed),
            Ok(None) => continue,
            Err(e) => return Err(ProbeError::NotHttp(e)),
        }
    };
    let body = String::from_utf8_lossy(&buf[r.body.clone()]).into_owned();
    match r.worker.map(|w| String::from_utf8_lossy(&buf[w]).into_owned()) {
        Some(worker) if r.status == 200 && body == "Hello World" => Ok(worker),
        worker => Err(ProbeError::Wrong {
            status: r.status,
            body,
            worker: worker.is_some(),
        }),
    }
}
