//! nftables NAT: N workers each on their own port, and an `nft` table spreading new connections
//! to the public port over them with `numgen` (see the library).

use clap::Parser;
use hello::StrategyArgs;
use iptables_lb::nft::{Numgen, Table};

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: StrategyArgs,
    /// How numgen picks a worker: `inc`, round-robin; `random`, equal probabilities.
    #[arg(long, value_enum, default_value_t = Numgen::Inc)]
    mode: Numgen,
}

fn main() -> std::process::ExitCode {
    hello::main(
        |a: &Args| &a.common,
        |args| {
            let c = &args.common;
            iptables_lb::serve("nft-lb", c, |ports| Table::new(args.mode, c.host, c.port, ports))
        },
    )
}
