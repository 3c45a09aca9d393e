//! Service time asked for by the client, in the request's query string, and done by the worker:
//! `/?cpu=exp:200us` (a busy loop: computation) and/or `/?block=bimodal:0.01:20ms` (the event
//! loop blocked without using CPU: synchronous I/O, a GC pause, a lock). A distribution is
//! `<duration>` or `fixed:<duration>`, `exp:<mean>`, or `bimodal:<p>:<slow>[:<fast>]` (a fraction p
//! of requests take `slow`, the rest `fast`, default 0). Durations: a number with `ns`, `us`, `ms`
//! or `s`, at most 10 s. Other query parameters are ignored; a malformed `cpu` or `block` gets 400.
//! Each worker draws from its own generator, seeded by its index, so runs repeat.
//!
//! `HELLO_CPU_SCALE` in a worker's environment (a manifest's `env`) multiplies every CPU part it
//! draws: two otherwise identical strategies whose costs differ by a known share, to check that
//! the verdict tells them apart (scripts/verdict-checks).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest service time a request may ask for.
const MAX: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    Fixed(Duration),
    Exp(Duration),
    Bimodal { p: f64, slow: Duration, fast: Duration },
}

/// The work one request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Work {
    pub cpu: Option<Dist>,
    pub block: Option<Dist>,
}

fn duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok().filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let scale = match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(n * scale)).filter(|d| *d <= MAX)
}

fn dist(s: &str) -> Option<Dist> {
    let mut parts = s.split(':');
    let first = parts.next()?;
    let d = match first {
        "fixed" => Dist::Fixed(duration(parts.next()?)?),
        "exp" => Dist::Exp(duration(parts.next()?)?),
        "bimodal" => {
            let p: f64 = parts.next()?.parse().ok().filter(|p| (0.0..=1.0).contains(p))?;
            let slow = duration(parts.next()?)?;
            let fast = parts.next().map_or(Some(Duration::ZERO), duration)?;
            Dist::Bimodal { p, slow, fast }
        }
        _ => Dist::Fixed(duration(first)?),
    };
    parts.next().is_none().then_some(d)
}

/// A `cpu` or `block` parameter that is not a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadSpec;

impl Work {
    /// The work in `path`'s query; `Err` when `cpu` or `block` is malformed.
    pub fn parse(path: &str) -> Result<Work, BadSpec> {
        let mut work = Work::default();
        let Some((_, query)) = path.split_once('?') else {
            return Ok(work);
        };
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "cpu" => work.cpu = Some(dist(value).ok_or(BadSpec)?),
                "block" => work.block = Some(dist(value).ok_or(BadSpec)?),
                _ => {}
            }
        }
        Ok(work)
    }

    pub fn is_none(&self) -> bool {
        self.cpu.is_none() && self.block.is_none()
    }

    /// Draws this request's durations and does the work: spins for the CPU part (on this thread's
    /// CPU clock, so it costs exactly that much CPU even when preempted), then sleeps for the
    /// blocking part (the whole event loop waits, as it would on a synchronous call).
    pub fn run(&self, rng: &Rng) {
        if let Some(d) = self.cpu {
            spin(rng.draw(d).mul_f64(cpu_scale()));
        }
        if let Some(d) = self.block {
            std::thread::sleep(rng.draw(d));
        }
    }
}

/// `HELLO_CPU_SCALE`, read once: a positive factor, 1 when unset (or not a positive number).
fn cpu_scale() -> f64 {
    static SCALE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *SCALE.get_or_init(|| {
        std::env::var("HELLO_CPU_SCALE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 100.0)
            .unwrap_or(1.0)
    })
}

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Computes until `d` of this thread's CPU time is spent. Between short runs of arithmetic it
/// reads the wall clock (cheap, no system call), and the thread's CPU clock (a system call) only
/// once the wall clock says `d` has passed — again only if the thread was preempted meanwhile —
/// so the time goes to user space, as real computation's would, and overshoots by little.
fn spin(d: Duration) {
    let (cpu0, wall0) = (thread_cpu(), std::time::Instant::now());
    let mut x = 1u64;
    loop {
        for _ in 0..64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        if wall0.elapsed() >= d && thread_cpu() - cpu0 >= d {
            return;
        }
    }
}

/// A worker's own random numbers (xorshift64*): seeded by its index, so a run repeats. Atomic
/// only so connection tasks may share it; a worker has one thread, so Relaxed is exact.
pub struct Rng(AtomicU64);

impl Rng {
    pub fn seeded(worker: usize) -> Rng {
        Rng(AtomicU64::new(
            0x9E37_79B9_7F4A_7C15 ^ (worker as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
        ))
    }

    /// Uniform in (0, 1].
    fn unit(&self) -> f64 {
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.store(x, Ordering::Relaxed);
        ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    pub fn draw(&self, d: Dist) -> Duration {
        match d {
            Dist::Fixed(t) => t,
            Dist::Exp(mean) => mean.mul_f64(-self.unit().ln()).min(MAX),
            Dist::Bimodal { p, slow, fast } => {
                if self.unit() <= p {
                    slow
                } else {
                    fast
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_refuse() {
        let us = Duration::from_micros;
        assert_eq!(Work::parse("/").unwrap(), Work::default());
        assert_eq!(
            Work::parse("/?x=1").unwrap(),
            Work::default(),
            "other parameters are ignored"
        );
        let w = Work::parse("/?cpu=exp:200us&block=bimodal:0.01:20ms").unwrap();
        assert_eq!(w.cpu, Some(Dist::Exp(us(200))));
        assert_eq!(
            w.block,
            Some(Dist::Bimodal {
                p: 0.01,
                slow: Duration::from_millis(20),
                fast: Duration::ZERO
            })
        );
        assert_eq!(Work::parse("/?cpu=1.5ms").unwrap().cpu, Some(Dist::Fixed(us(1500))));
        assert_eq!(
            Work::parse("/?cpu=fixed:500us").unwrap().cpu,
            Some(Dist::Fixed(us(500)))
        );
        for bad in [
            "/?cpu=",
            "/?cpu=fast",
            "/?cpu=10",
            "/?cpu=10 ms",
            "/?cpu=exp:",
            "/?cpu=bimodal:2:1ms",
            "/?block=11s",
            "/?cpu=fixed:1ms:2ms",
            "/?cpu=-1ms",
        ] {
            assert!(Work::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn draws_follow_their_distribution() {
        let rng = Rng::seeded(0);
        let n = 20_000;
        let mean = Duration::from_micros(200);
        let total: Duration = (0..n).map(|_| rng.draw(Dist::Exp(mean))).sum();
        let measured = total.as_secs_f64() / n as f64;
        assert!(
            (measured / mean.as_secs_f64() - 1.0).abs() < 0.05,
            "exp mean {measured}"
        );
        let slow = (0..n)
            .filter(|_| {
                rng.draw(Dist::Bimodal {
                    p: 0.1,
                    slow: Duration::from_millis(1),
                    fast: Duration::ZERO,
                }) > Duration::ZERO
            })
            .count();
        assert!((slow as f64 / n as f64 - 0.1).abs() < 0.01, "bimodal share {slow}");
        assert_eq!(Rng::seeded(3).unit(), Rng::seeded(3).unit(), "seeded");
    }

    #[test]
    fn cpu_work_costs_that_much_cpu() {
        let start = thread_cpu();
        Work::parse("/?cpu=20ms").unwrap().run(&Rng::seeded(0));
        let used = thread_cpu() - start;
        // At least what was asked: the spin counts this thread's CPU clock. The overshoot is a
        // few loop rounds, and a preemption does not add to it (the clock stops meanwhile), so
        // 2x is generous on a busy machine and still catches a spin that does double the work.
        assert!(
            used >= Duration::from_millis(20) && used < Duration::from_millis(40),
            "{used:?}"
        );
    }
}
