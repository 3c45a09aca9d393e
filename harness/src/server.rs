//! A running strategy: spawned pinned to its CPUs, probed until ready, stopped without leftovers.

use crate::manifest::Launch;
use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
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
        let mut set = nix::sched::CpuSet::new();
        for &c in cpus {
            set.set(c)?;
        }
        // SAFETY: between fork and exec we only make system calls.
        unsafe {
            cmd.pre_exec(move || {
                nix::sched::sched_setaffinity(Pid::from_raw(0), &set)?;
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {:?}", launch.argv[0]))?;
        Ok(Server { child, log })
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

    /// Polls `url` until it answers 200 `Hello World` with an `X-Worker` header.
    pub fn wait_ready(&mut self, url: &str, timeout: Duration) -> Result<()> {
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_millis(500))
            .build()?;
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the strategy exited during startup ({status}); its output:\n{}",
                    self.output_tail()
                );
            }
            match probe(&client, url) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "the strategy was not ready within {timeout:?} ({url}: {last}); its output:\n{}",
            self.output_tail()
        )
    }

    /// SIGTERM, SIGKILL after `grace`, then SIGKILL to whatever is left of its process group.
    pub fn stop(mut self, grace: Duration) -> Result<()> {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while self.child.try_wait()?.is_none() {
            if Instant::now() >= deadline {
                let _ = kill(pid, Signal::SIGKILL);
                self.child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // Children that outlived their master (in a PID namespace the kernel already killed them).
        let _ = kill(Pid::from_raw(-pid.as_raw()), Signal::SIGKILL);
        Ok(())
    }
}

fn probe(client: &reqwest::blocking::Client, url: &str) -> Result<(), String> {
    let resp = client.get(url).send().map_err(|e| e.to_string())?;
    let status = resp.status();
    let has_worker = resp.headers().contains_key("x-worker");
    let body = resp.text().map_err(|e| e.to_string())?;
    if status != 200 || body != "Hello World" || !has_worker {
        return Err(format!(
            "answered {status} {body:?} (X-Worker present: {has_worker}); want 200 \"Hello World\" with X-Worker"
        ));
    }
    Ok(())
}
