use clap::Parser;
use lbbench::cli::{Cli, Cmd};
use lbbench::{cell, commands};

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Run(args) => commands::run(args),
        Cmd::List(args) => commands::list(args),
        Cmd::Load(args) => commands::load(args),
        Cmd::Plot(args) => commands::plot(args),
        Cmd::Packages(args) => commands::packages(args),
        Cmd::Cell => cell::main(),
    }
}
