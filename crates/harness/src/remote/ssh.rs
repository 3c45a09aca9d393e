//! The system's OpenSSH client, one control master per host: the user's configuration, keys,
//! jump hosts and known_hosts apply, and each command after the first reuses the master's
//! connection instead of a new handshake. Every ssh process is tied to this process, so when
//! the controller dies its sessions close, and the remote programs see their stdin end.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a host may take to accept the master connection.
const CONNECT: Duration = Duration::from_secs(15);

pub struct Session {
    dest: String,
    config: Option<PathBuf>,
    socket: PathBuf,
    master: Child,
    log: PathBuf,
}

impl Session {
    /// Opens the control master to `dest` (its socket and log in `dir`), waiting until it is up.
    pub fn open(dest: &str, config: Option<&Path>, dir: &Path, index: usize) -> Result<Session> {
        let socket = dir.join(format!("{index}.sock"));
        let log = dir.join(format!("{index}.log"));
        let err = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = base(config, &socket);
        cmd.args(["-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-N"])
            .arg(dest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err);
        let master = lbproc::tie(&mut cmd)
            .spawn()
            .context("running ssh: is the OpenSSH client installed (Debian package openssh-client)?")?;
        let mut session = Session {
            dest: dest.to_string(),
            config: config.map(Path::to_path_buf),
            socket,
            master,
            log,
        };
        let deadline = Instant::now() + CONNECT;
        loop {
            if let Some(status) = session.master.try_wait()? {
                bail!(
                    "ssh to {dest} failed ({status}): {}; check that `ssh{} {dest} true` works without a password prompt",
                    session.log_text(),
                    session.config_arg()
                );
            }
            let check = session
                .base()
                .args(["-O", "check"])
                .arg(dest)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if check.success() {
                return Ok(session);
            }
            if Instant::now() > deadline {
                bail!(
                    "ssh to {dest} did not connect within {CONNECT:?}: {}",
                    session.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn dest(&self) -> &str {
        &self.dest
    }

    fn base(&self) -> Command {
        base(self.config.as_deref(), &self.socket)
    }

    /// A command running `argv` on the host over the master (no terminal), dying with this
    /// process. The remote shell sees the words quoted.
    pub fn command(&self, argv: &[String]) -> Command {
        let mut cmd = self.base();
        cmd.args(["-o", "ControlMaster=no", "-T"])
            .arg(&self.dest)
            .arg("--")
            .arg(shell_words::join(argv));
        lbproc::tie(&mut cmd);
        cmd
    }

    /// Runs `argv` there and returns what it printed; its error output when it fails.
    pub fn output(&self, argv: &[String]) -> Result<String> {
        let out = self.command(argv).stdin(Stdio::null()).output()?;
        if !out.status.success() {
            bail!("{} ({})", String::from_utf8_lossy(&out.stderr).trim(), out.status);
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let text = text.trim();
        if text.is_empty() {
            "ssh printed nothing".into()
        } else {
            text.to_string()
        }
    }

    fn config_arg(&self) -> String {
        self.config
            .as_ref()
            .map(|c| format!(" -F {}", c.display()))
            .unwrap_or_default()
    }
}

/// `ssh` with the configuration file and a host's control socket; never a password prompt.
fn base(config: Option<&Path>, socket: &Path) -> Command {
    let mut cmd = Command::new("ssh");
    if let Some(c) = config {
        cmd.arg("-F").arg(c);
    }
    cmd.args(["-o", "BatchMode=yes", "-o"])
        .arg(format!("ControlPath={}", socket.display()));
    cmd
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self
            .base()
            .args(["-O", "exit"])
            .arg(&self.dest)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.master.kill();
        let _ = self.master.wait();
    }
}

/// Resolves the address `ssh` would connect to for `dest` (`ssh -G`: the configuration's
/// HostName), as an IP address.
pub fn resolve(dest: &str, config: Option<&Path>) -> Result<std::net::IpAddr> {
    let mut cmd = Command::new("ssh");
    if let Some(c) = config {
        cmd.arg("-F").arg(c);
    }
    let out = cmd.arg("-G").arg(dest).output().context("running ssh -G")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let name = text
        .lines()
        .find_map(|l| l.strip_prefix("hostname "))
        .with_context(|| format!("`ssh -G {dest}` names no host"))?
        .trim()
        .to_string();
    use std::net::ToSocketAddrs;
    (name.as_str(), 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .map(|a| a.ip())
        .with_context(|| {
            format!("cannot resolve {name} (the server host {dest}): set hosts.server's address = \"<IP the load hosts reach>\"")
        })
}
