//! `lbbench list`: every strategy found (and every pair of a strategy with a worker it fronts),
//! whether it can run here, its worker, and what it does about faults.

use super::discover;
use crate::cli::ServersArgs;
use anyhow::Result;
use harness::sandbox;

pub fn list(args: ServersArgs) -> Result<()> {
    let (all, layout) = discover(&args)?;
    let isolation = sandbox::isolation();
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let kernel = harness::machine::detect().kernel;
    for s in &all {
        let status = match (
            s.unavailable(isolation.available()),
            s.missing_program(&layout),
            &s.build,
        ) {
            (Some(why), _, _) => format!("unavailable: {why}"),
            (None, None, _) => "available".to_string(),
            (None, Some(program), Some(build)) => {
                format!("available once built: {program} does not exist yet (`lbbench run` builds it: {build})")
            }
            (None, Some(program), None) => format!("unavailable: its start program {program} is not there"),
        };
        println!("{:<width$}  {}\n{:<width$}  {}", s.name, s.description, "", status);
        println!("{:<width$}  {}", "", harness::fault::recovery(s));
        let worker = match s.worker.takes {
            Some(takes) if s.worker_name == harness::manifest::IN_PROCESS => format!(
                "worker: {} (it fronts any worker on {}: the pairs {}+<worker>)",
                s.worker_name,
                match takes {
                    harness::manifest::Takes::Port => "a port of its own",
                    harness::manifest::Takes::Socket => "a socket it inherits",
                },
                s.name
            ),
            _ => format!("worker: {}", s.worker_name),
        };
        println!("{:<width$}  {worker}", "");
        if let Some(k) = &s.requires.kernel {
            println!("{:<width$}  needs Linux {k} or later (this kernel: {kernel})", "");
        }
        if let Some(why) = &s.concentrates {
            println!("{:<width$}  may give one worker every connection: {why}", "");
        }
        if let Some(w) = s.warmup {
            println!(
                "{:<width$}  warms up for at least {}",
                "",
                humantime::format_duration(w)
            );
        }
    }
    Ok(())
}
