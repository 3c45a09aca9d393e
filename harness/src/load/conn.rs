//! The one connection loop: closed or open loop, keep-alive or a new connection per request.
//!
//! Closed loop sends the next request as soon as the previous response is in. Open loop gives each
//! connection a schedule of intended send times; a request that leaves late (because the previous
//! one was slow) is timed from when it *should* have left, so a stalled server cannot hide its
//! stall by slowing the client down (coordinated omission). The uncorrected time and the lag are
//! kept beside it.

use super::pacer::{Clock, Schedule};
use super::response::Response;
use super::socket::{Conn, Failure};
use super::stats::{ErrorKind, ThreadStats};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What every connection of a run shares, read-only.
#[derive(Clone)]
pub struct Shared {
    pub addr: SocketAddr,
    /// Built once; every request is these bytes.
    pub request: Vec<u8>,
    pub keepalive: bool,
    /// Open loop: time between one connection's intended sends.
    pub interval: Option<Duration>,
    /// When the schedule (and the warm-up) begins.
    pub begin: Instant,
    /// Open loop: maps due times to the monotonic clock the pacers' timers run on.
    pub clock: Clock,
    pub measure_from: Instant,
    pub end: Instant,
    pub timeout: Duration,
}

/// One request's timing.
struct Attempt {
    /// When it should have left (open loop) or left (closed loop).
    intended: Instant,
    sent_at: Instant,
    measured: bool,
    deadline: Instant,
}

/// Sends requests until `plan.end`, recording those due in the window. Open loop: this is
/// connection `id` of its thread's `schedule`, its sends staggered by `offset` against the
/// others'. Stops early, with the reason, only on an error no retry can cure.
pub async fn run(
    plan: &Shared,
    stats: &RefCell<ThreadStats>,
    schedule: Option<(&Rc<Schedule>, usize)>,
    offset: Duration,
) -> std::io::Result<()> {
    let mut conn = Conn::default();
    let mut due = plan.begin + offset;
    loop {
        let intended = match (plan.interval, schedule) {
            (Some(every), Some((schedule, id))) => {
                let this = due;
                if this >= plan.end {
                    // At low rates the next send may be due long after the window: don't wait for it.
                    return Ok(());
                }
                due += every;
                schedule.until(id, this).await?;
                this
            }
            _ => Instant::now(),
        };
        let sent_at = Instant::now();
        if sent_at >= plan.end {
            if let Some(every) = plan.interval {
                book_unsent(plan, &mut stats.borrow_mut(), intended, every);
            }
            return Ok(());
        }
        let a = Attempt {
            intended,
            sent_at,
            measured: intended >= plan.measure_from,
            deadline: (sent_at + plan.timeout).min(plan.end),
        };
        let outcome = tokio::time::timeout_at(a.deadline.into(), conn.exchange(plan.addr, &plan.request)).await;
        let outcome = match outcome {
            Ok(Err(Failure::Fatal(f))) => return Err(std::io::Error::other(f.to_string())),
            Ok(Err(Failure::Error(kind))) => Ok(Err(kind)),
            Ok(Ok(r)) => Ok(Ok(r)),
            Err(elapsed) => Err(elapsed),
        };
        let next = record(plan, &mut stats.borrow_mut(), &outcome, &conn.buf, &a);
        if let Ok(Ok(r)) = &outcome {
            conn.consume(r.len);
        }
        match next {
            Next::Reconnect => conn.reset(),
            Next::Backoff => {
                conn.reset();
                // A refused connect returns at once; don't spin on a server that is gone.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Next::Keep => {}
        }
    }
}

/// Open loop, at the window's end: every request of this connection due from `first` on was
/// never sent. Each is counted, and recorded at the least latency it would have had.
fn book_unsent(plan: &Shared, st: &mut ThreadStats, first: Instant, every: Duration) {
    let mut due = first;
    while due < plan.end {
        if due >= plan.measure_from {
            st.not_sent(micros(plan.end - due));
        }
        due += every;
    }
}

/// What the connection does after an exchange.
enum Next {
    /// Send the next request on the same connection.
    Keep,
    /// Open a new connection for the next request.
    Reconnect,
    /// The connect itself failed: pause briefly, then reconnect.
    Backoff,
}

/// Books one exchange into `st` (only if it was due in the measured window).
fn record(
    plan: &Shared,
    st: &mut ThreadStats,
    outcome: &Result<Result<Response, ErrorKind>, tokio::time::error::Elapsed>,
    buf: &[u8],
    a: &Attempt,
) -> Next {
    if a.measured {
        st.sent += 1;
        st.lag(micros(a.sent_at - a.intended));
    }
    match outcome {
        Ok(Ok(r)) => {
            if a.measured {
                let worker = r.worker.clone().map(|w| &buf[w]);
                st.response(
                    r.status,
                    worker,
                    micros(a.intended.elapsed()),
                    micros(a.sent_at.elapsed()),
                );
            }
            if r.close || !plan.keepalive {
                Next::Reconnect
            } else {
                Next::Keep
            }
        }
        Ok(Err(kind)) => {
            if a.measured {
                st.error(*kind);
            }
            if *kind == ErrorKind::Connect {
                Next::Backoff
            } else {
                Next::Reconnect
            }
        }
        Err(_elapsed) => {
            if a.measured {
                if a.deadline == plan.end && a.sent_at + plan.timeout > plan.end {
                    // Open loop: it has waited at least this long, and would carry the largest
                    // latencies; closed loop: every connection ends with one such, no news.
                    let waited = plan.interval.map(|_| micros(plan.end - a.intended));
                    st.unfinished(waited);
                } else {
                    // Recorded at its timeout, as wrk2 does: a dropped request must not improve p99.
                    st.timeout(micros(a.deadline - a.intended), micros(a.deadline - a.sent_at));
                }
            }
            Next::Reconnect
        }
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u64::MAX as u128) as u64
}
