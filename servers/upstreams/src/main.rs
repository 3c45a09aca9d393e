//! `upstreams`: starts N Hello World workers on the ports after `--port`, writes the front
//! program's config from a template, runs the front program, and stops everything together.
//!
//! Template placeholders: `@workers@`, `@port@`, `@host@`, `@config_dir@`; a line holding
//! `@upstream_port@` and/or `@upstream_id@` is repeated once per worker.

use anyhow::{Context, Result};
use clap::Parser;
use hello::{pool, process, worker, StrategyArgs};
use std::path::PathBuf;

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: StrategyArgs,
    /// Config template of the front program.
    #[arg(long)]
    template: PathBuf,
    /// Where to write the rendered config.
    #[arg(long)]
    config: PathBuf,
    /// The front program and its arguments.
    #[arg(last = true, required = true)]
    front: Vec<String>,
}

fn main() -> std::process::ExitCode {
    hello::main(run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let c = &args.common;
    c.apply()?;
    let ports = pool::ports(c.port, c.workers)?;
    let template = std::fs::read_to_string(&args.template)
        .with_context(|| format!("reading template {}", args.template.display()))?;
    let config_dir = args.config.parent().map(PathBuf::from).unwrap_or_default();
    let text = render(&template, c, &ports, &config_dir.display().to_string());
    std::fs::write(&args.config, text).with_context(|| format!("writing {}", args.config.display()))?;

    let mut pids = pool::fork_upstreams(c.host, &ports, c.idle())?;
    let mut front = std::process::Command::new(&args.front[0]);
    front.args(&args.front[1..]);
    pids.push(process::spawn_tied(&mut front)?);
    worker::block_on(process::supervise(&pids))?
}

fn render(template: &str, c: &StrategyArgs, ports: &[u16], config_dir: &str) -> String {
    let fill = |line: &str| {
        line.replace("@workers@", &c.workers.to_string())
            .replace("@port@", &c.port.to_string())
            .replace("@host@", &c.host.to_string())
            .replace("@config_dir@", config_dir)
    };
    let mut out = String::new();
    for line in template.lines() {
        if line.contains("@upstream_port@") || line.contains("@upstream_id@") {
            for (id, port) in ports.iter().enumerate() {
                let l = line
                    .replace("@upstream_port@", &port.to_string())
                    .replace("@upstream_id@", &id.to_string());
                out += &fill(&l);
                out.push('\n');
            }
        } else {
            out += &fill(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_lines_repeat_per_worker() {
        let c = StrategyArgs::parse_from(["x", "--workers", "2", "--port", "9000"]);
        let out = render(
            "n @workers@ at @host@:@port@\n  server w@upstream_id@ 127.0.0.1:@upstream_port@;\nend @config_dir@",
            &c,
            &[9001, 9002],
            "/run/x",
        );
        assert_eq!(
            out,
            "n 2 at 127.0.0.1:9000\n  server w0 127.0.0.1:9001;\n  server w1 127.0.0.1:9002;\nend /run/x\n"
        );
    }
}
