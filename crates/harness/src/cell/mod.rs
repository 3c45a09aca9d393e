//! A cell: one strategy at one core count, run in a child process of lbbench (`lbbench cell`)
//! so that, as root, it lives in namespaces of its own and everything it started dies with it.
//! The cell starts the strategy once and measures windows of it as they are asked for (one JSON
//! line each way per window) until its stdin closes; then it stops the strategy.

mod child;
mod measure;
mod said;
mod spec;

pub use child::main;
pub use measure::{measure, measure_rate, Drive, Here, Lap, Measured, Measurement};
pub use said::result;
use said::Said;
pub use spec::{CellSpec, Window};

use crate::sandbox;
use anyhow::{anyhow, bail, Context, Result};
use model::cell::{CellResult, OpenLoopPoint};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Parent side: a running cell, its strategy serving, taking windows one at a time.
pub struct Cell {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    spec: CellSpec,
    /// Seconds from the start until every worker served (the first window's record).
    pub ready_s: f64,
}

impl Cell {
    /// Starts `spec`'s strategy in a confined child process of this executable and waits until
    /// it serves.
    pub fn start(spec: &CellSpec) -> Result<Cell> {
        // This very executable, even if a rebuild has replaced the file since the sweep began
        // (its path would then name the new binary, or nothing while the linker writes it).
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg("cell")
            .env(crate::guard::CELL_DIR_ENV, &spec.run_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        sandbox::confine(&mut cmd, spec.isolated);
        let mut child = cmd.spawn().context("starting the cell process")?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let (stdout, err) = (child.stdout.take().expect("piped stdout"), child.stderr.take());
        // Both pipes are read all the time, so neither can fill up and stall the cell.
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = err {
            let keep = stderr.clone();
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = err.read_to_string(&mut text);
                *keep.lock().expect("stderr buffer") = text;
            });
        }
        writeln!(stdin, "{}", serde_json::to_string(spec)?).context("sending the cell its spec")?;
        let mut cell = Cell {
            child,
            stdin: Some(stdin),
            lines,
            stderr,
            spec: spec.clone(),
            ready_s: 0.0,
        };
        match cell.next(spec.start_limit())? {
            Said::Ready { ready_s, .. } => cell.ready_s = ready_s,
            Said::Failed(e) => bail!("{e}"),
            other => bail!("the cell answered {other:?} before it was ready"),
        }
        Ok(cell)
    }

    /// Measures one window of the running strategy.
    pub fn measure(&mut self, window: &Window) -> Result<CellResult> {
        match self.ask(window)? {
            Said::Measured(r) => Ok(*r),
            other => bail!("the cell answered {other:?} to a window"),
        }
    }

    /// Measures one window at the common rate only (`window.closed` false).
    pub fn rate(&mut self, window: &Window) -> Result<OpenLoopPoint> {
        match self.ask(window)? {
            Said::Point(p) => Ok(*p),
            other => bail!("the cell answered {other:?} to a common-rate window"),
        }
    }

    fn ask(&mut self, window: &Window) -> Result<Said> {
        let stdin = self.stdin.as_mut().context("the cell was stopped")?;
        writeln!(stdin, "{}", serde_json::to_string(window)?)
            .map_err(|e| anyhow!("the cell is gone ({e}){}", self.stderr_tail()))?;
        match self.next(self.spec.window_limit(window))? {
            Said::Failed(e) => bail!("{e}"),
            said => Ok(said),
        }
    }

    /// Whether the cell process is still there (a window's failure may have ended it).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the strategy and waits for the cell (and its guard) to end.
    pub fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        // The end of its stdin is the cell's sign to stop the strategy and exit.
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + self.spec.stop_limit();
        while std::time::Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    /// SIGTERM to the guard (it stops everything below it), SIGKILL after a grace.
    fn kill(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        for _ in 0..250 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(40));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The cell's next line, within `limit`; a cell that says nothing in time is killed.
    fn next(&mut self, limit: Duration) -> Result<Said> {
        match self.lines.recv_timeout(limit) {
            Ok(line) => serde_json::from_str(&line)
                .with_context(|| format!("reading the cell's answer {line:?}{}", self.stderr_tail())),
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                bail!("the cell did not answer within {limit:?} and was killed")
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = self.child.wait();
                bail!("the cell ended without an answer{}", self.stderr_tail())
            }
        }
    }

    /// What the cell printed on stderr, once it has ended (as ": <text>"), for errors.
    fn stderr_tail(&self) -> String {
        // The reader thread fills the buffer when the pipe closes; give it a moment.
        for _ in 0..50 {
            let text = self.stderr.lock().expect("stderr buffer").trim().to_string();
            if !text.is_empty() {
                return format!(": {text}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        String::new()
    }
}

impl Drop for Cell {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.finish();
        }
    }
}
