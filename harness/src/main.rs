use clap::Parser;
use lbbench::cli::{Cli, Cmd};
use lbbench::{cell, commands, remote, serve};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Strategies inherit it: a server with thousands of connections needs as many descriptors.
    lbbench::load::open_files_to_hard_limit();
    let done = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
    let outcome = match Cli::parse().command {
        Cmd::Run(args) => done(commands::run(args)),
        Cmd::List(args) => done(commands::list(args)),
        Cmd::Load(args) => done(commands::load(args)),
        Cmd::Plot(args) => done(commands::plot(args)),
        Cmd::Compare(args) => done(commands::compare(args)),
        Cmd::Packages(args) => done(commands::packages(args)),
        Cmd::New(args) => done(commands::new(args)),
        // Exits with the status of the command it ran, if any.
        Cmd::Serve(args) => serve::run(args).map(ExitCode::from),
        Cmd::Hosts(args) => done(commands::hosts(args)),
        Cmd::Cell => done(cell::main()),
        Cmd::Agent => done(remote::agent::main()),
        Cmd::HostServer => done(remote::server::main()),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            // The message and its causes, never a backtrace: errors here are for users.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
