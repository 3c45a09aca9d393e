//! `front`: starts N Hello World workers on the ports after `--port`, writes the front program's
//! config from a template, runs the front program, and stops everything together.
//!
//! Template placeholders: `@workers@`, `@port@`, `@host@`, `@config_dir@`, and `@KEY@` for each
//! `--set KEY=VALUE`; a line holding `@upstream_port@` and/or `@upstream_id@` is repeated once
//! per worker. A placeholder left without a value is an error.

use anyhow::{bail, Context, Result};
use clap::Parser;
use hello::backends::Backends;
use hello::StrategyArgs;
use lbproc::supervise::{supervise, Master};
use nix::sys::signal::Signal;
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
    /// Fills `@KEY@` in the template with VALUE (may be empty); repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    sets: Vec<(String, String)>,
    /// The signal that reloads the front program (e.g. HUP for nginx, USR2 for haproxy in
    /// master-worker mode): on SIGHUP front sends it that. Without it, SIGHUP replaces the
    /// workers in turn, as the other Rust masters do.
    #[arg(long, value_parser = parse_signal)]
    reload_signal: Option<Signal>,
    /// The front program and its arguments.
    #[arg(last = true, required = true)]
    front: Vec<String>,
}

fn parse_signal(name: &str) -> Result<Signal, String> {
    let full = if name.starts_with("SIG") {
        name.to_string()
    } else {
        format!("SIG{name}")
    };
    full.parse()
        .map_err(|_| format!("{name:?} is not a signal name, e.g. HUP or USR2"))
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
    let text = render(
        &template,
        c,
        backends.ports(),
        &config_dir.display().to_string(),
        &args.sets,
    )
    .with_context(|| format!("rendering template {}", args.template.display()))?;
    std::fs::write(&args.config, text).with_context(|| format!("writing {}", args.config.display()))?;
    let n = backends.len();
    let mut master = Fronted {
        backends,
        front: args.front.clone(),
        front_pid: None,
        reload_signal: args.reload_signal,
    };
    supervise(&mut master, n + 1, c.policy())
}

/// Processes 0..N are the workers, process N the front program.
struct Fronted {
    backends: Backends,
    front: Vec<String>,
    front_pid: Option<Pid>,
    reload_signal: Option<Signal>,
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
        let pid = Pid::from_raw(child.id() as i32);
        self.front_pid = Some(pid);
        Ok(pid)
    }

    fn reload(&mut self) -> Result<bool> {
        let (Some(signal), Some(pid)) = (self.reload_signal, self.front_pid) else {
            return Ok(false);
        };
        eprintln!("reloading {}: {signal}", self.front[0]);
        nix::sys::signal::kill(pid, signal).with_context(|| format!("sending {signal} to {}", self.front[0]))?;
        Ok(true)
    }

    fn respawnable(&self, i: usize) -> bool {
        // The front program's own master replaces its workers; if it dies itself, the strategy is down.
        i < self.backends.len()
    }
}

/// Placeholders `front` fills itself; `--set` may not name them.
const BUILT_IN: [&str; 6] = ["workers", "port", "host", "config_dir", "upstream_port", "upstream_id"];

fn parse_set(arg: &str) -> Result<(String, String), String> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| format!("{arg:?}: write KEY=VALUE, e.g. --set balance=least_conn;"))?;
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!("{key:?}: a key is lowercase letters, digits and '_'"));
    }
    if BUILT_IN.contains(&key) {
        return Err(format!("@{key}@ is filled by front itself; --set may not change it"));
    }
    Ok((key.to_string(), value.to_string()))
}

fn render(
    template: &str,
    c: &StrategyArgs,
    ports: &[u16],
    config_dir: &str,
    sets: &[(String, String)],
) -> Result<String> {
    let fill = |line: &str| {
        let mut l = line
            .replace("@workers@", &c.workers.to_string())
            .replace("@port@", &c.port.to_string())
            .replace("@host@", &c.host.to_string())
            .replace("@config_dir@", config_dir);
        for (key, value) in sets {
            l = l.replace(&format!("@{key}@"), value);
        }
        l
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
    if let Some(key) = unfilled(&out) {
        bail!("the template's @{key}@ has no value: give it one with --set {key}=VALUE");
    }
    Ok(out)
}

/// The first `@key@` left in `text` (a key as `--set` takes it).
fn unfilled(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(i) = rest.find('@') {
        rest = &rest[i + 1..];
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if len > 0 && rest[len..].starts_with('@') {
            return Some(&rest[..len]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> StrategyArgs {
        StrategyArgs::parse_from(["x", "--workers", "2", "--port", "9000"])
    }

    #[test]
    fn upstream_lines_repeat_per_worker() {
        let out = render(
            "n @workers@ at @host@:@port@\n  server w@upstream_id@ 127.0.0.1:@upstream_port@;\nend @config_dir@",
            &args(),
            &[9001, 9002],
            "/run/x",
            &[],
        )
        .unwrap();
        assert_eq!(
            out,
            "n 2 at 127.0.0.1:9000\n  server w0 127.0.0.1:9001;\n  server w1 127.0.0.1:9002;\nend /run/x\n"
        );
    }

    #[test]
    fn set_values_fill_their_placeholders_and_none_may_be_left() {
        let sets = [parse_set("balance=least_conn;").unwrap(), parse_set("extra=").unwrap()];
        let out = render("a @balance@ b@extra@ c", &args(), &[], "/d", &sets).unwrap();
        assert_eq!(out, "a least_conn; b c\n");
        let err = render("a @balance@\n", &args(), &[], "/d", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("@balance@") && err.contains("--set balance="), "{err}");
        // An '@' that is no placeholder stays as it is.
        assert_eq!(
            render("location @fallback { }\n", &args(), &[], "/d", &[]).unwrap(),
            "location @fallback { }\n"
        );
        assert!(parse_set("balance").unwrap_err().contains("KEY=VALUE"));
        assert!(parse_set("Bad=1").is_err());
        assert!(parse_set("port=1").unwrap_err().contains("front itself"));
    }

    /// The `key` param of variant `name` in servers/`dir`/strategy.toml.
    fn param(dir: &str, name: &str, key: &str) -> String {
        let manifest_path = format!("{}/../../servers/{dir}/strategy.toml", env!("CARGO_MANIFEST_DIR"));
        let manifest = std::fs::read_to_string(&manifest_path).unwrap();
        let variant = manifest
            .split("[[variants]]")
            .skip(1)
            .find(|v| v.contains(&format!("name = \"{name}\"")))
            .unwrap_or_else(|| panic!("no variant {name} in {manifest_path}"));
        let quoted = format!(" {key} = \"");
        let after = &variant[variant
            .find(&quoted)
            .unwrap_or_else(|| panic!("{name}: no {key} param"))
            + quoted.len()..];
        after[..after.find('"').unwrap()].to_string()
    }

    /// servers/`dir`'s template rendered for variant `name`, its `keys` params filled in.
    fn render_variant(dir: &str, file: &str, name: &str, keys: &[&str]) -> (String, String) {
        let template_path = format!("{}/../../servers/{dir}/{file}", env!("CARGO_MANIFEST_DIR"));
        let template = std::fs::read_to_string(template_path).unwrap();
        let sets: Vec<(String, String)> = keys.iter().map(|k| (k.to_string(), param(dir, name, k))).collect();
        let config = render(&template, &args(), &[9001, 9002], "/run/x", &sets).unwrap();
        (template, config)
    }

    /// `text`'s lines, trimmed, without the empty ones and comments.
    fn directives(text: &str) -> Vec<&str> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    }

    /// The nginx strategies render one template: least_conn only in nginx-least-conn's upstream
    /// block, before `keepalive` (nginx wants a balancing method first), reuseport only on
    /// nginx-reuseport's listen, and plain nginx's config is the template with its `@balance@`
    /// line and its `@listen@` left empty.
    #[test]
    fn the_nginx_variants_differ_in_their_upstream_and_listen_only() {
        const KEYS: [&str; 2] = ["balance", "listen"];
        let upstream = |config: &str| {
            let start = config.find("upstream workers {").expect("an upstream block");
            let end = start + config[start..].find('}').unwrap();
            config[start..end].to_string()
        };
        let (template, least) = render_variant("nginx", "nginx.conf.tmpl", "nginx-least-conn", &KEYS);
        assert_eq!(
            directives(&upstream(&least)),
            [
                "upstream workers {",
                "least_conn;",
                "server 127.0.0.1:9001;",
                "server 127.0.0.1:9002;",
                "keepalive 512;"
            ],
            "{least}"
        );
        let (_, plain) = render_variant("nginx", "nginx.conf.tmpl", "nginx", &KEYS);
        assert!(
            directives(&plain)
                .iter()
                .all(|l| !l.contains("least_conn") && !l.contains("reuseport")),
            "{plain}"
        );
        let without: String = template
            .lines()
            .filter(|l| l.trim() != "@balance@")
            .map(|l| format!("{}\n", l.replace("@listen@", "")))
            .collect();
        let expected = render(&without, &args(), &[9001, 9002], "/run/x", &[]).unwrap();
        assert_eq!(directives(&plain), directives(&expected));
        let (_, reuseport) = render_variant("nginx", "nginx.conf.tmpl", "nginx-reuseport", &KEYS);
        assert_eq!(directives(&upstream(&reuseport)), directives(&upstream(&plain)));
        assert!(
            reuseport.contains("listen 127.0.0.1:9000 backlog=4096 reuseport;"),
            "{reuseport}"
        );
    }

    /// Plain haproxy's config is the template with `@tune@` and `@bind@` empty; haproxy-shards
    /// shards its public bind by thread and turns the multi-queue accept off.
    #[test]
    fn haproxy_shards_shards_its_bind_and_only_that() {
        const KEYS: [&str; 2] = ["bind", "tune"];
        let (template, plain) = render_variant("haproxy", "haproxy.cfg.tmpl", "haproxy", &KEYS);
        let without: String = template
            .lines()
            .filter(|l| l.trim() != "@tune@")
            .map(|l| format!("{}\n", l.replace("@bind@", "")))
            .collect();
        let expected = render(&without, &args(), &[9001, 9002], "/run/x", &[]).unwrap();
        assert_eq!(directives(&plain), directives(&expected));
        let (_, shards) = render_variant("haproxy", "haproxy.cfg.tmpl", "haproxy-shards", &KEYS);
        let differ: Vec<&str> = directives(&shards)
            .into_iter()
            .filter(|l| !directives(&plain).contains(l))
            .collect();
        assert_eq!(
            differ,
            ["tune.listener.multi-queue off", "bind 127.0.0.1:9000 shards by-thread"],
            "{shards}"
        );
    }
}
