//! A worker that is another program: when the harness runs a strategy with a worker of the
//! worker axis (a Node server, a user's app), it puts that worker's command in
//! `LBBENCH_WORKER_EXEC`, and the forked child that would have served as the Rust worker replaces
//! itself with that program instead, on the same listening socket (`{fd}`) or port (`{port}`).
//! The process keeps its pid, CPUs and parent-death signal, so the launcher supervises, replaces
//! and stops it as it does its own workers.

use anyhow::{bail, Context, Result};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;

/// The environment variable holding the worker's command (the harness's `EXEC_ENV`).
pub const ENV: &str = "LBBENCH_WORKER_EXEC";

/// The worker program's command, when the strategy runs one.
pub fn program() -> Option<String> {
    std::env::var(ENV).ok().filter(|c| !c.trim().is_empty())
}

/// The words of `command` for worker `id` serving `listener`: `{id}`, `{host}`, `{port}` and,
/// when it takes the socket itself, `{fd}` filled in.
pub fn argv(command: &str, listener: &TcpListener, id: usize) -> Result<Vec<String>> {
    let addr = listener.local_addr()?;
    let words = shell_words::split(command).with_context(|| format!("{ENV}: cannot split {command:?}"))?;
    if words.is_empty() {
        bail!("{ENV} is set but empty");
    }
    let fill = |w: &str| {
        w.replace("{id}", &id.to_string())
            .replace("{host}", &addr.ip().to_string())
            .replace("{port}", &addr.port().to_string())
            .replace("{fd}", &listener.as_raw_fd().to_string())
    };
    Ok(words.iter().map(|w| fill(w)).collect())
}

/// Replaces this process with the worker program (returns only on failure). A program given
/// `{fd}` inherits `listener` (so no connection finds the port closed); one given only `{port}`
/// binds the port itself, once this process has closed it. `WORKER_ID` is set to `id` either way.
pub fn exec(command: &str, listener: TcpListener, id: usize) -> Result<()> {
    let argv = argv(command, &listener, id)?;
    if command.contains("{fd}") {
        // Kept across exec: std opens every socket close-on-exec.
        nix::fcntl::fcntl(
            listener.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .context("keeping the listening socket open for the worker")?;
        std::mem::forget(listener);
    } else {
        drop(listener);
    }
    let err = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .env("WORKER_ID", id.to_string())
        .env_remove(ENV)
        .exec();
    Err(err).with_context(|| format!("starting worker {id}: {}", argv.join(" ")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_gets_this_workers_socket_and_port() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&l);
        let argv = super::argv("node 'w.js' --id {id} --fd {fd} --port {port} --host {host}", &l, 3).unwrap();
        assert_eq!(
            argv,
            [
                "node",
                "w.js",
                "--id",
                "3",
                "--fd",
                &fd.to_string(),
                "--port",
                &port.to_string(),
                "--host",
                "127.0.0.1"
            ]
        );
        assert!(super::argv("  ", &l, 0).is_err());
    }
}
