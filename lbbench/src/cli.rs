//! Command-line options.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "lbbench",
    version = harness::VERSION,
    about = "Which way of spreading connections across worker processes gives the most \
throughput and the best tail latency at N cores, and at what CPU cost?"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Sweep strategies × core counts × workloads; write results/ (index.html, JSON, CSV, markdown, SVG).
    Run(RunArgs),
    /// List discovered strategies and whether each can run here.
    List(ServersArgs),
    /// Drive HTTP load against any server and print throughput and latency (like wrk); Ctrl-C ends
    /// the window early and prints what was measured (exit status 130).
    Load(LoadArgs),
    /// Re-render the SVG plots (and index.html, CSV, markdown) from a results.json.
    Plot(PlotArgs),
    /// Compare two results files cell by cell: better, worse or within noise (terminal, markdown, HTML).
    Compare(CompareArgs),
    /// Print the Debian packages that would make unavailable strategies available.
    Packages(ServersArgs),
    /// Start one strategy in the foreground (or run a command against it) to point any HTTP tool at it.
    Serve(ServeArgs),
    /// Start a new strategy as a copy of an existing one (directory, manifest and Cargo package renamed).
    New(NewArgs),
    /// Check the hosts a profile's [hosts] section names, as `run` does before a sweep, without load.
    Hosts(HostsArgs),
    /// Internal: run one cell (spec, then windows, on stdin; one result a window on stdout).
    #[command(hide = true)]
    Cell,
    /// Internal, on a load host: run its share of a load run for `lbbench run` (JSON lines on stdin/stdout).
    #[command(hide = true)]
    Agent,
    /// Internal, on the server host: run one cell's strategy for `lbbench run` (JSON lines on stdin/stdout).
    #[command(hide = true)]
    HostServer,
}

#[derive(Args, Debug)]
pub struct HostsArgs {
    #[command(subcommand)]
    pub action: HostsAction,
}

#[derive(Subcommand, Debug)]
pub enum HostsAction {
    /// Connect to every host over ssh and check it runs this lbbench (same version and commit).
    Check {
        /// Benchmark profile with a [hosts] section.
        #[arg(long, short, default_value = "configs/default.toml")]
        config: PathBuf,
        #[command(flatten)]
        servers: ServersArgs,
    },
}

#[derive(Args, Debug)]
pub struct ServersArgs {
    /// Directory holding one sub-directory per strategy, each with a strategy.toml.
    #[arg(long, default_value = "servers")]
    pub servers: PathBuf,
    /// Directory of the built strategy binaries ({bin} in manifests) [default: <repo>/target/release].
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// Another directory of workers (one sub-directory each, with a worker.toml), besides
    /// <repo>/workers; may be repeated.
    #[arg(long = "worker-dir")]
    pub worker_dirs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Benchmark profile.
    #[arg(long, short, default_value = "configs/default.toml")]
    pub config: PathBuf,
    /// Only these strategies (comma-separated); overrides the profile's sweep.strategies.
    #[arg(long, value_delimiter = ',')]
    pub strategies: Vec<String>,
    /// Output directory; overrides the profile's output.dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the manifests' build commands (the binaries in --bin are already built).
    #[arg(long)]
    pub no_build: bool,
    /// Hold idle CPUs out of deep idle states while measuring (root): a 0 µs /dev/cpu_dma_latency
    /// request, so idle CPUs poll instead of halting, the server's too; recorded in the results.
    /// Off by default: on the development VM it made typical wake-ups 3× sooner but not the
    /// slowest ones (see the README's open-loop paragraph). Refused, saying why, where the
    /// kernel has no idle driver to obey it.
    #[arg(long)]
    pub keep_cpus_awake: bool,
    #[command(flatten)]
    pub servers: ServersArgs,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// URL to load, e.g. http://127.0.0.1:8080/
    pub url: String,
    /// Concurrent connections.
    #[arg(short = 'c', long, default_value_t = 64)]
    pub connections: usize,
    /// Measured duration, e.g. 5s, 500ms, 1m (at most a week).
    #[arg(short = 'd', long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Unmeasured load before the window.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// A new connection per request (sends Connection: close).
    #[arg(long)]
    pub close: bool,
    /// Requests each connection sends back to back before reading the answers (keep-alive,
    /// closed loop).
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Client threads, each its own single-threaded runtime [default: one per allowed CPU].
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// Pin client threads to these CPUs, e.g. "1" or "2-3".
    #[arg(long)]
    pub cpus: Option<String>,
    /// Give up on a request after this long (counted as a timeout error).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Open loop: send this many requests per second in total, each connection on a fixed schedule;
    /// latency is measured from when each request was due (corrected for coordinated omission).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Print one JSON object instead of the text report (with figures per interval: see --interval).
    #[arg(long)]
    pub json: bool,
    /// Length of the intervals of the timeline in --json (2xx, errors, p50, p99 per interval); at
    /// least 10ms, and longer when the window would hold more than 600.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Hold idle CPUs out of deep idle states while measuring (root): a 0 µs /dev/cpu_dma_latency
    /// request, so idle CPUs poll instead of halting, the server's too; recorded in the results.
    /// Off by default: on the development VM it made typical wake-ups 3× sooner but not the
    /// slowest ones (see the README's open-loop paragraph). Refused, saying why, where the
    /// kernel has no idle driver to obey it.
    #[arg(long)]
    pub keep_cpus_awake: bool,
    /// Open loop (--rate): run the pacing threads at real-time priority (SCHED_FIFO 1; root), so
    /// that other work on the client's CPUs cannot delay their wake-ups; refused, saying why,
    /// where the kernel does not allow it. `lbbench run` does this by default
    /// (load.client_realtime).
    #[arg(long)]
    pub realtime: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  lbbench serve reuseport --port 8080                    # until Ctrl-C; point any client at it
  lbbench serve proxy-l7 --port 8080 -- ab -k -n 2000 -c 4 http://127.0.0.1:8080/
  lbbench serve iptables-nth -- sh -c 'curl -s $LBBENCH_URL'   # root: runs in a private namespace")]
pub struct ServeArgs {
    /// The strategy to start (a name `lbbench list` shows).
    pub strategy: String,
    /// The worker program behind it (a worker under workers/, e.g. "node"): the same as naming
    /// the pair, `<strategy>+<worker>`.
    #[arg(long)]
    pub worker: Option<String>,
    /// Worker processes [default: one per CPU in --cpus].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Port to serve on; fronted strategies put their workers on the next --workers ports.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Pin every process of the strategy to these CPUs, e.g. "0" or "0-1" [default: all allowed].
    #[arg(long)]
    pub cpus: Option<String>,
    /// Time between SIGTERM and SIGKILL when stopping the strategy.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub stop_grace: Duration,
    #[command(flatten)]
    pub servers: ServersArgs,
    /// Internal: this process already runs in a private network namespace.
    #[arg(long, hide = true)]
    pub in_netns: bool,
    /// A program to run once the strategy is ready (its URL is in $LBBENCH_URL). The strategy stops
    /// when it exits, and lbbench exits with its status. Strategies that need root run only this
    /// way: both run in a private network namespace.
    #[arg(last = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct NewArgs {
    /// Name of the new strategy (lowercase letters, digits and '-'); also its directory under servers/.
    pub name: String,
    /// The strategy (or its directory name) to copy, e.g. reuseport.
    #[arg(long)]
    pub from: String,
    #[command(flatten)]
    pub servers: ServersArgs,
}

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// A results.json written by `lbbench run`.
    #[arg(default_value = "results/results.json")]
    pub results: PathBuf,
    /// Where to write the plots [default: the directory of the results file].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Every (strategy, cores, workload) in both files: NEW's req/s, p99 and server CPU per \
request against BASE's, called better or worse only when every run of one beat every run of the other \
(at least two runs each, as in the verdict); otherwise within noise. Cells in one file only are listed. \
Files of another results schema are refused; differing machines, kernels or program versions are warned about."
)]
pub struct CompareArgs {
    /// The results.json to compare against.
    pub base: PathBuf,
    /// The results.json of the run to judge.
    pub new: PathBuf,
    /// Print a markdown table instead of the terminal table.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
    /// Print every comparison as JSON instead (the shape of results.json's `comparisons`: `a` is
    /// NEW, `b` is BASE).
    #[arg(long)]
    pub json: bool,
    /// Also write an HTML page with the table and both runs' figures side by side.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}
