use clap::Parser;
use lbbench::cli::{Cli, Cmd};
use lbbench::{cell, commands};
use std::process::ExitCode;

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Cmd::Run(args) => commands::run(args),
        Cmd::List(args) => commands::list(args),
        Cmd::Load(args) => commands::load(args),
        Cmd::Plot(args) => commands::plot(args),
        Cmd::Packages(args) => commands::packages(args),
        Cmd::New(args) => commands::new(args),
        Cmd::Cell => cell::main(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The message and its causes, never a backtrace: errors here are for users.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
