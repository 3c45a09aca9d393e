//! lbbench: which way of spreading connections across worker processes gives the most throughput
//! and the best tail latency at N cores, and at what CPU cost. The command line: parse, run the
//! subcommand, say what went wrong for people.

mod cli;
mod commands;

use clap::Parser;
use cli::{Cli, Cmd, HostsAction};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Strategies inherit it: a server with thousands of connections needs as many descriptors.
    loadgen::open_files_to_hard_limit();
    let done = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
    let outcome = match Cli::parse().command {
        Cmd::Run(args) => done(commands::run::run(args)),
        Cmd::List(args) => done(commands::list::list(args)),
        Cmd::Load(args) => done(commands::load::load(args)),
        Cmd::Plot(args) => done(commands::plot::plot(args)),
        Cmd::Compare(args) => done(commands::compare::compare(args)),
        Cmd::Packages(args) => done(commands::packages::packages(args)),
        Cmd::New(args) => done(commands::new::new(args)),
        // Exits with the status of the command it ran, if any.
        Cmd::Serve(args) => commands::serve::run(args).map(ExitCode::from),
        Cmd::Hosts(args) => match args.action {
            HostsAction::Check { config, servers } => done(commands::hosts::check(&config, &servers)),
        },
        Cmd::Cell => done(harness::cell::main()),
        Cmd::Agent => done(harness::remote::agent::main()),
        Cmd::HostServer => done(harness::remote::host_server::main()),
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
