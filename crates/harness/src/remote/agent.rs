//! `lbbench agent`, on a load host: runs its share of a load run for the controller, on its own
//! clock. It reads a [`AgentJob`](super::wire::AgentJob), checks the server answers its TCP connect, says it is
//! ready, waits for the go, then runs the load generator and sends every client thread's
//! statistics unmerged. While running it says it is alive every tick. It exits at once when its
//! stdin closes (the controller or its ssh session is gone) and, whatever happens, at the job's
//! deadline: no load outlives the controller.

use super::wire::{receive, send, FromAgent, ToAgent};
use anyhow::{bail, Context, Result};
use loadgen as load;
use std::io::BufRead;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Exit statuses that tell why an agent ended early.
const STDIN_CLOSED: i32 = 3;
const DEADLINE: i32 = 4;

pub fn main() -> Result<()> {
    super::wire::main_reporting(run, |error| FromAgent::Failed { error })
}

fn run() -> Result<()> {
    let mut input = std::io::BufReader::new(std::io::stdin());
    let job = match receive(&mut input)? {
        Some(ToAgent::Job(job)) => job,
        Some(other) => bail!("expected a job first, got {other:?}"),
        None => return Ok(()),
    };
    let deadline = job.deadline;
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        eprintln!("lbbench agent: the deadline of {deadline:?} passed; exiting");
        std::process::exit(DEADLINE);
    });
    let mut opts = job.load.clone();
    let cpus = if opts.cpus.is_empty() {
        lbproc::cpus::allowed().len()
    } else {
        opts.cpus.len()
    };
    opts.threads = model::config::client_threads(opts.threads, cpus);
    TcpStream::connect_timeout(&opts.addr, Duration::from_secs(3))
        .with_context(|| format!("this load host cannot reach the server at {}", opts.addr))?;
    send(
        &mut std::io::stdout().lock(),
        &FromAgent::Ready {
            version: crate::VERSION.into(),
        },
    )?;
    match receive(&mut input)? {
        Some(ToAgent::Go) => {}
        Some(other) => bail!("expected the go, got {other:?}"),
        None => return Ok(()),
    }
    let go = Instant::now();
    send(&mut std::io::stdout().lock(), &FromAgent::Started)?;
    std::thread::spawn(move || exit_when_closed(input));
    let done = AtomicBool::new(false);
    let parts = std::thread::scope(|s| {
        s.spawn(|| tick(job.tick, go, &done));
        let parts = load::run_parts(&opts, None, || ());
        done.store(true, Ordering::SeqCst);
        parts
    })?;
    send(&mut std::io::stdout().lock(), &FromAgent::Done(Box::new(parts.0)))
}

/// Says the agent is alive every `every` until `done`.
fn tick(every: Duration, go: Instant, done: &AtomicBool) {
    let mut n = 0u64;
    while !done.load(Ordering::SeqCst) {
        n += 1;
        let at = go + every * n as u32;
        while Instant::now() < at && !done.load(Ordering::SeqCst) {
            std::thread::sleep((at - Instant::now()).min(Duration::from_millis(20)));
        }
        if done.load(Ordering::SeqCst) || send(&mut std::io::stdout().lock(), &FromAgent::Tick { n }).is_err() {
            return;
        }
    }
}

/// After the go nothing more is expected on stdin: its end means the controller is gone.
fn exit_when_closed(mut input: impl BufRead) {
    let mut line = String::new();
    while matches!(input.read_line(&mut line), Ok(n) if n > 0) {
        line.clear();
    }
    std::process::exit(STDIN_CLOSED);
}
