//! What the controller and the hosts say to one another: JSON lines over the ssh session's stdin
//! and stdout, one message a line.

use crate::cpu::Sample;
use anyhow::{Context, Result};
use loadgen::{LoadOptions, Parts};
use model::cell::Readiness;
use model::config::{ServerConfig, Smt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Controller → agent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToAgent {
    /// What to run (this host's share); the agent answers `Ready` once the server answers it.
    Job(Box<AgentJob>),
    /// Start now: the window opens `warmup` later on the agent's own clock.
    Go,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AgentJob {
    /// `threads` 0: one per CPU of `cpus`, or of the host's CPUs when `cpus` is empty.
    pub load: LoadOptions,
    /// How often a running agent says it is alive.
    pub tick: Duration,
    /// The agent exits this long after it starts, whatever happens.
    pub deadline: Duration,
}

/// Agent → controller.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromAgent {
    Ready {
        version: String,
    },
    /// The go arrived; the agent's clock starts now.
    Started,
    /// Alive, `n` ticks after the go.
    Tick {
        n: u64,
    },
    /// Every client thread's statistics, unmerged.
    Done(Box<Parts>),
    Failed {
        error: String,
    },
}

/// What the controller asks the server host to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerCell {
    pub strategy: String,
    /// The strategies' directory, the repository and the built binaries on this host.
    pub servers: PathBuf,
    pub root: PathBuf,
    pub bin: PathBuf,
    pub cores: usize,
    pub workers: usize,
    pub smt: Smt,
    /// The CPUs this host's cores are taken from; None: all lbbench may use.
    pub cpus: Option<String>,
    /// Where the strategy listens: an address of this host the load hosts reach.
    pub address: IpAddr,
    pub server: ServerConfig,
    /// The process stops the strategy and exits this long after it starts, whatever happens.
    pub deadline: Duration,
}

/// Controller → server host.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToServer {
    /// Start the strategy; answered by `Ready` once every worker serves.
    Cell(ServerCell),
    /// A load run starts now: sample the strategy's CPU as its window opens and closes.
    Window { warmup: Duration, duration: Duration },
    /// Stop the strategy; answered by `Stopped`.
    Stop,
}

/// Server host → controller.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromServer {
    Ready {
        port: u16,
        readiness: Readiness,
        server_cpus: Vec<usize>,
    },
    Cpu {
        start: Box<Sample>,
        end: Box<Sample>,
    },
    Stopped {
        /// The strategy's last lines of output.
        output_tail: String,
    },
    Failed {
        error: String,
    },
}

/// The main of a remote lbbench process: an error goes to the controller as the message `failed`
/// makes of it, and the process exits with status 1.
pub fn main_reporting<M: Serialize>(run: impl FnOnce() -> Result<()>, failed: impl FnOnce(String) -> M) -> Result<()> {
    if let Err(e) = run() {
        let _ = send(&mut std::io::stdout().lock(), &failed(format!("{e:#}")));
        std::process::exit(1);
    }
    Ok(())
}

/// Writes one message as a JSON line and flushes it.
pub fn send<T: Serialize>(out: &mut impl Write, message: &T) -> Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    out.write_all(&line).context("writing to the ssh session")?;
    out.flush().context("writing to the ssh session")
}

/// Reads one JSON line; `None` at the end of the stream.
pub fn receive<T: DeserializeOwned>(input: &mut impl BufRead) -> Result<Option<T>> {
    let mut line = String::new();
    if input.read_line(&mut line).context("reading from the ssh session")? == 0 {
        return Ok(None);
    }
    let message = serde_json::from_str(line.trim_end()).with_context(|| {
        let shown: String = line.chars().take(200).collect();
        format!("not a message of this lbbench version: {shown:?}")
    })?;
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_each_and_read_back() {
        let mut buf = Vec::new();
        send(&mut buf, &FromAgent::Tick { n: 3 }).unwrap();
        send(&mut buf, &ToAgent::Go).unwrap();
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 2);
        let mut input = std::io::Cursor::new(buf);
        assert!(matches!(receive(&mut input).unwrap(), Some(FromAgent::Tick { n: 3 })));
        assert!(matches!(receive(&mut input).unwrap(), Some(ToAgent::Go)));
        assert!(receive::<ToAgent>(&mut input).unwrap().is_none());
        let mut junk = std::io::Cursor::new(b"hello\n".to_vec());
        let err = receive::<ToAgent>(&mut junk).unwrap_err().to_string();
        assert!(err.contains("not a message"), "{err}");
    }
}
