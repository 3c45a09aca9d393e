//! iptables NAT: N workers each on their own port, and `iptables -t nat` rules spreading new
//! connections to the public port over them with `-m statistic` (see the library).

use clap::Parser;
use hello::StrategyArgs;
use iptables_lb::iptables::{Mode, Rules};

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: StrategyArgs,
    /// How the statistic match picks a worker.
    #[arg(long, value_enum, default_value_t = Mode::Nth)]
    mode: Mode,
}

fn main() -> std::process::ExitCode {
    hello::main(
        |a: &Args| &a.common,
        |args| {
            let c = &args.common;
            let host = c.host.to_string();
            iptables_lb::serve("iptables-lb", c, |ports| {
                Ok(Rules::new(args.mode, &host, c.port, ports))
            })
        },
    )
}
