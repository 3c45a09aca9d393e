//! A remote lbbench process (`agent`, `host-server`) started over ssh: its stdin, its messages on
//! a channel as they arrive, its error output kept for the reason it ended.

use super::ssh::Session;
use super::wire::{receive, send, FromServer, ToServer};
use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufReader, Read};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A remote lbbench process over ssh: its stdin, and its messages on a channel.
pub struct Remote<M> {
    child: Child,
    pub stdin: ChildStdin,
    /// Each message with the instant it arrived; `None` at the end of its output.
    pub messages: Receiver<(Instant, Option<M>)>,
    stderr: Arc<Mutex<String>>,
}

impl<M: serde::de::DeserializeOwned + Send + 'static> Remote<M> {
    /// Starts `argv` on `session`'s host.
    pub fn start(session: &Session, argv: &[String]) -> Result<Remote<M>> {
        let mut cmd: Command = session.command(argv);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting ssh")?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut input = BufReader::new(stdout);
            loop {
                match receive::<M>(&mut input) {
                    Ok(Some(m)) => {
                        if tx.send((Instant::now(), Some(m))).is_err() {
                            return;
                        }
                    }
                    _ => {
                        let _ = tx.send((Instant::now(), None));
                        return;
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                if s.len() < 16_384 {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        Ok(Remote {
            child,
            stdin,
            messages,
            stderr,
        })
    }

    /// The next message within `wait`; its end or silence is an error saying what ssh said.
    pub fn next(&mut self, wait: Duration) -> Result<M> {
        match self.messages.recv_timeout(wait) {
            Ok((_, Some(m))) => Ok(m),
            Ok((_, None)) | Err(RecvTimeoutError::Disconnected) => Err(self.ended()),
            Err(RecvTimeoutError::Timeout) => bail!("no answer within {wait:?}"),
        }
    }

    /// Why the process ended without its answer: its exit status and error output.
    pub fn ended(&mut self) -> anyhow::Error {
        let deadline = Instant::now() + Duration::from_secs(2);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s.to_string(),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => break "still running".into(),
            }
        };
        let err = self.stderr.lock().unwrap_or_else(|e| e.into_inner()).trim().to_string();
        let said = if err.is_empty() {
            String::new()
        } else {
            format!(": {err}")
        };
        anyhow!("the process ended without its results (ssh: {status}){said}")
    }

    /// Closes its stdin and ends the ssh session (the remote process sees its stdin end).
    pub fn kill(mut self) {
        drop(self.stdin);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Remote<FromServer> {
    /// Stops the strategy (and, failing an answer, the session); its last output.
    pub fn stop(mut self) -> String {
        let mut tail = String::new();
        if send(&mut self.stdin, &ToServer::Stop).is_ok() {
            let grace = Duration::from_secs(10);
            let until = Instant::now() + grace;
            while let Ok(m) = self.next(until.saturating_duration_since(Instant::now())) {
                if let FromServer::Stopped { output_tail } = m {
                    tail = output_tail;
                    break;
                }
            }
        }
        self.kill();
        tail
    }
}
