//! `lbbench serve`: one strategy started the way a cell starts it (pinned, in a process group of
//! its own, stopped with SIGTERM then SIGKILL), for pointing any HTTP tool at it. With a command,
//! that command runs against it and the strategy stops when it exits.

use super::discover;
use crate::cli::ServeArgs;
use anyhow::{bail, Context, Result};
use harness::manifest::Slot;
use harness::server::Server;
use harness::{runner, sandbox};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

/// The URL of the strategy, in the command's environment.
pub const URL_ENV: &str = "LBBENCH_URL";
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the strategy (and the command) are checked for having exited.
const TICK_MS: u8 = 50;

/// Serves until SIGINT/SIGTERM, or runs the command; returns the exit status to leave with.
pub fn run(args: ServeArgs) -> Result<u8> {
    let (all, layout) = discover(&args.servers)?;
    let strategy = runner::prepare::select(all, std::slice::from_ref(&pair_name(&args)))?.remove(0);
    let name = &strategy.name;
    if let Some(why) = strategy.unavailable(sandbox::isolation().available()) {
        bail!("{name} cannot run here: {why}");
    }
    // Strategies that need root change the network (iptables): only ever in a private namespace.
    let isolate = strategy.requires.root;
    if isolate && args.command.is_empty() {
        bail!(
            "{name} runs only in a private network namespace, which nothing outside it can reach; \
             give the program to run against it there, e.g. `lbbench serve {name} -- curl -s http://127.0.0.1:{}/`",
            args.port
        );
    }
    if isolate && !args.in_netns {
        return in_private_namespace(&args);
    }
    let cpus = match &args.cpus {
        Some(list) => lbproc::parse_cpus(list)?,
        None => lbproc::cpus::allowed(),
    };
    let run_dir = harness::rundir::tempdir(name)?;
    let slot = Slot {
        workers: args.workers.unwrap_or(cpus.len()),
        port: args.port,
        cpus: lbproc::format_cpus(&cpus),
        host: "127.0.0.1".into(),
        run_dir: run_dir.clone(),
        stop_grace_ms: args.stop_grace.as_millis() as u64,
    };
    let mut launch = strategy.launch(&slot, &layout)?;
    if let Some(build) = strategy
        .build
        .as_deref()
        .filter(|_| !Path::new(&launch.argv[0]).exists())
    {
        bail!("{} is not built; build it first: {build}", launch.argv[0]);
    }
    sandbox::prepare(
        &mut launch,
        args.in_netns.then(|| lbproc::ports::block(slot.port, slot.workers)),
    )?;
    // The process the user knows relays signals to this one, which gets SIGTERM should that one
    // be killed with SIGKILL: the strategy is stopped either way.
    harness::guard::relay()?;
    // As in a cell: orphans of the strategy stay below us, and are stopped with it.
    harness::procs::become_subreaper()?;
    let signals = stop_signals()?;
    let mut server = Server::spawn(&launch, &layout.root, &cpus, run_dir.join("server.log"))?;
    let url = format!("http://127.0.0.1:{}/", args.port);
    let outcome = server
        .wait_ready(([127, 0, 0, 1], args.port).into(), READY_TIMEOUT, slot.workers)
        .and_then(|_readiness| {
            if args.command.is_empty() {
                eprintln!(
                    "serving {name} on {url} ({} workers, CPUs {}); Ctrl-C stops it",
                    slot.workers, slot.cpus
                );
                until_stopped(&mut server, &signals, None).map(|_| 0)
            } else {
                run_command(&args.command, &url, &mut server, &signals, args.stop_grace)
            }
        });
    server.stop(args.stop_grace);
    // What the strategy left outside its process group (a daemon it started) goes too.
    harness::guard::sweep();
    let _ = std::fs::remove_dir_all(&run_dir);
    outcome.with_context(|| format!("serving {name}"))
}

/// The strategy asked for: `--worker` names the pair (`nginx --worker node` is `nginx+node`);
/// the Rust worker is the plain name.
fn pair_name(args: &ServeArgs) -> String {
    match args.worker.as_deref() {
        None | Some(harness::manifest::IN_PROCESS) => args.strategy.clone(),
        Some(w) => format!("{}+{w}", args.strategy),
    }
}

/// Runs this same command again as the init of fresh network and PID namespaces.
fn in_private_namespace(args: &ServeArgs) -> Result<u8> {
    let exe = std::env::current_exe().context("locating the lbbench executable")?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "serve",
        &pair_name(args),
        "--port",
        &args.port.to_string(),
        "--in-netns",
    ])
    .arg("--stop-grace")
    .arg(format!("{}ms", args.stop_grace.as_millis()))
    .arg("--servers")
    .arg(&args.servers.servers);
    if let Some(bin) = &args.servers.bin {
        cmd.arg("--bin").arg(bin);
    }
    for dir in &args.servers.worker_dirs {
        cmd.arg("--worker-dir").arg(dir);
    }
    if let Some(w) = args.workers {
        cmd.args(["--workers", &w.to_string()]);
    }
    if let Some(c) = &args.cpus {
        cmd.args(["--cpus", c]);
    }
    cmd.arg("--").args(&args.command);
    sandbox::confine(&mut cmd, true);
    let status = cmd.status().context("starting lbbench in a private namespace")?;
    Ok(exit_code(status))
}

/// SIGINT and SIGTERM, blocked and readable from a descriptor; programs started later get an
/// unblocked mask again (std resets it on spawn).
fn stop_signals() -> Result<SignalFd> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGINT);
    mask.add(Signal::SIGTERM);
    mask.thread_block().context("blocking SIGINT and SIGTERM")?;
    Ok(SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC)?)
}

/// Waits until a stop signal (returns its number), the command exits (returns its status), or
/// the strategy exits (an error).
fn until_stopped(server: &mut Server, signals: &SignalFd, mut command: Option<&mut Child>) -> Result<Stopped> {
    loop {
        let mut fds = [PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(TICK_MS)) {
            Err(nix::errno::Errno::EINTR) | Ok(0) => {}
            r => {
                r.context("waiting for signals")?;
                if let Some(info) = signals.read_signal()? {
                    return Ok(Stopped::Signal(info.ssi_signo as u8));
                }
            }
        }
        if let Some(child) = command.as_deref_mut() {
            if let Some(status) = child.try_wait()? {
                return Ok(Stopped::Command(exit_code(status)));
            }
        }
        if !server.running() {
            bail!("the strategy exited; its output:\n{}", server.output_tail());
        }
    }
}

enum Stopped {
    Signal(u8),
    Command(u8),
}

/// Runs `command` (dying with us) once the strategy is ready; its exit status is ours.
fn run_command(command: &[String], url: &str, server: &mut Server, signals: &SignalFd, grace: Duration) -> Result<u8> {
    let mut child = lbproc::tie(Command::new(&command[0]).args(&command[1..]).env(URL_ENV, url))
        .spawn()
        .with_context(|| format!("cannot start {:?}", command[0]))?;
    let pid = Pid::from_raw(child.id() as i32);
    let stopped = until_stopped(server, signals, Some(&mut child));
    match stopped {
        Ok(Stopped::Command(code)) => Ok(code),
        Ok(Stopped::Signal(signo)) => {
            lbproc::stop(&[pid], grace, None);
            Ok(128 + signo)
        }
        Err(e) => {
            lbproc::stop(&[pid], grace, None);
            Err(e.context(format!("while {:?} ran", command[0])))
        }
    }
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => 128 + s as u8,
        (None, None) => 1,
    }
}
