//! `front`: starts N Hello World workers on the ports after `--port`, writes the front program's
//! config from a template, runs the front program, and stops everything together.
//!
//! Template placeholders: `@workers@`, `@port@`, `@host@`, `@config_dir@`; a line holding
//! `@upstream_port@` and/or `@upstream_id@` is repeated once per worker.

use anyhow::{Context, Result};
use clap::Parser;
use hello::backends::Backends;
use hello::StrategyArgs;
use lbproc::supervise::{supervise, Master};
use nix::unistd::Pid;
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
    hello::main(|a: &Args| &a.common, run)
}

fn run(args: Args) -> Result<()> {
    let c = &args.common;
    let backends = Backends::bind(c.host, c.port, c.workers, c.timeouts())?;
    let template = std::fs::read_to_string(&args.template)
        .with_context(|| format!("reading template {}", args.template.display()))?;
    let config_dir = args.config.parent().map(PathBuf::from).unwrap_or_default();
    let text = render(&template, c, backends.ports(), &config_dir.display().to_string());
    std::fs::write(&args.config, text).with_context(|| format!("writing {}", args.config.display()))?;
    let n = backends.len();
    let mut master = Fronted {
        backends,
        front: args.front.clone(),
    };
    supervise(&mut master, n + 1, c.policy())
}

/// Processes 0..N are the workers, process N the front program.
struct Fronted {
    backends: Backends,
    front: Vec<String>,
}

impl Master for Fronted {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        if i < self.backends.len() {
            return self.backends.spawn(i);
        }
        let mut cmd = std::process::Command::new(&self.front[0]);
        cmd.args(&self.front[1..]);
        let child = lbproc::tie(&mut cmd)
            .spawn()
            .with_context(|| format!("cannot start {:?}: is it installed?", self.front[0]))?;
        Ok(Pid::from_raw(child.id() as i32))
    }

    fn respawnable(&self, i: usize) -> bool {
        // The front program's own master replaces its workers; if it dies itself, the strategy is down.
        i < self.backends.len()
    }
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
