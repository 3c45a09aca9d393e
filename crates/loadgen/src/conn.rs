//! The one connection loop: closed or open loop, keep-alive or a new connection per request.
//!
//! Closed loop sends the next request as soon as the previous response is in. Open loop gives each
//! connection a schedule of intended send times; a request that leaves late (because the previous
//! one was slow) is timed from when it *should* have left, so a stalled server cannot hide its
//! stall by slowing the client down (coordinated omission). The uncorrected time and the lag are
//! kept beside it.

use crate::pacer::{Clock, Schedule};
use crate::response::Response;
use crate::socket::{Conn, IoFailure};
use crate::stats::ThreadStats;
use model::load::ErrorKind;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What every connection of a run shares, read-only.
#[derive(Clone)]
pub struct Shared {
    pub addr: SocketAddr,
    /// Built once; every send is these bytes: `pipeline` requests back to back.
    pub request: Vec<u8>,
    /// Requests per send (closed loop, keep-alive); 1 otherwise.
    pub pipeline: usize,
    /// The timeline's interval.
    pub every: Duration,
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
    /// Open loop: the pacing threads ask for real-time priority.
    pub realtime: bool,
}

/// One send's timing (of one request, or of a pipelined batch).
struct Attempt {
    /// Where its latency counts from: when it should have left (open loop) — or when it did
    /// leave, if that was earlier (a send may share a wake-up with one due a moment later, and
    /// then its latency is its own, never shortened) — or when it left (closed loop).
    intended: Instant,
    /// When it was due (open loop); when it left (closed loop).
    due: Instant,
    /// When its connection was free to send it (the previous answer in).
    free_at: Instant,
    /// Open loop: when the pacing timer woke the thread for it, if it had to wait for its time.
    woken: Option<Instant>,
    sent_at: Instant,
    measured: bool,
    deadline: Instant,
}

/// What the connection does after a send.
#[derive(PartialEq, Eq)]
enum Next {
    /// Send again on the same connection.
    Keep,
    /// Open a new connection for the next send.
    Reconnect,
    /// The connect itself failed: pause briefly, then reconnect.
    Backoff,
}

/// A request's wait ran into its deadline.
#[derive(Debug, Clone, Copy)]
struct TimedOut;

type Outcome = Result<Result<Response, ErrorKind>, TimedOut>;

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
        let free_at = Instant::now();
        let mut woken = None;
        let intended = match (plan.interval, schedule) {
            (Some(every), Some((schedule, id))) => {
                let this = due;
                if this >= plan.end {
                    // At low rates the next send may be due long after the window: don't wait for it.
                    return Ok(());
                }
                due += every;
                schedule.until(id, this).await?;
                woken = schedule.woken(id);
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
            intended: intended.min(sent_at),
            due: intended,
            free_at,
            woken,
            sent_at,
            measured: intended >= plan.measure_from,
            deadline: (sent_at + plan.timeout).min(plan.end),
        };
        let next = exchange(plan, &mut conn, stats, &a).await?;
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

/// Fails the run on an error no retry can cure; otherwise turns a failure into an error kind.
fn curable<T>(r: Result<T, IoFailure>) -> std::io::Result<Result<T, ErrorKind>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(IoFailure::Error(kind)) => Ok(Err(kind)),
        Err(IoFailure::Fatal(f)) => Err(std::io::Error::other(f.to_string())),
    }
}

/// One send (`plan.pipeline` requests) and its responses, each booked as it comes in.
async fn exchange(plan: &Shared, conn: &mut Conn, stats: &RefCell<ThreadStats>, a: &Attempt) -> std::io::Result<Next> {
    let deadline = tokio::time::Instant::from_std(a.deadline);
    if a.measured {
        let mut st = stats.borrow_mut();
        st.sent += plan.pipeline as u64;
        st.lag(
            micros(a.sent_at.saturating_duration_since(a.due)),
            micros(a.sent_at.saturating_duration_since(a.due.max(a.free_at))),
            a.woken
                .map_or(0, |w| micros(w.saturating_duration_since(a.due.max(a.free_at)))),
        );
    }
    let sent = match tokio::time::timeout_at(deadline, conn.send_request(plan.addr, &plan.request)).await {
        Ok(r) => curable(r)?,
        Err(_) => {
            let next = record(plan, &mut stats.borrow_mut(), &Err(TimedOut), &[], a);
            book_rest(plan, stats, a, plan.pipeline - 1, &Err(TimedOut));
            return Ok(next);
        }
    };
    if let Err(kind) = sent {
        for _ in 0..plan.pipeline {
            record(plan, &mut stats.borrow_mut(), &Ok(Err(kind)), &[], a);
        }
        return Ok(if kind == ErrorKind::Connect {
            Next::Backoff
        } else {
            Next::Reconnect
        });
    }
    for answered in 0..plan.pipeline {
        let outcome: Outcome = match tokio::time::timeout_at(deadline, conn.receive()).await {
            Ok(r) => Ok(curable(r)?),
            Err(_) => Err(TimedOut),
        };
        let next = record(plan, &mut stats.borrow_mut(), &outcome, &conn.buf, a);
        if let Ok(Ok(r)) = &outcome {
            conn.consume(r.len);
        }
        let rest = plan.pipeline - answered - 1;
        if next != Next::Keep || rest == 0 {
            // The connection ends here: requests of the batch still unanswered never will be.
            let cut_short: Outcome = match outcome {
                Err(TimedOut) => Err(TimedOut),
                _ => Ok(Err(ErrorKind::Reset)),
            };
            book_rest(plan, stats, a, rest, &cut_short);
            return Ok(next);
        }
    }
    Ok(Next::Keep)
}

/// Books the `n` requests of a batch left unanswered when its connection ended.
fn book_rest(plan: &Shared, stats: &RefCell<ThreadStats>, a: &Attempt, n: usize, outcome: &Outcome) {
    for _ in 0..n {
        record(plan, &mut stats.borrow_mut(), outcome, &[], a);
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

/// Books one request's outcome into `st` (only if it was due in the measured window).
fn record(plan: &Shared, st: &mut ThreadStats, outcome: &Outcome, buf: &[u8], a: &Attempt) -> Next {
    let now = Instant::now();
    match outcome {
        Ok(Ok(r)) => {
            if a.measured {
                let worker = r.worker.clone().map(|w| &buf[w]);
                st.response(now, r.status, worker, micros(now - a.intended), micros(now - a.sent_at));
            }
            if r.close || !plan.keepalive {
                Next::Reconnect
            } else {
                Next::Keep
            }
        }
        Ok(Err(kind)) => {
            if a.measured {
                st.error(now, *kind);
            }
            if *kind == ErrorKind::Connect {
                Next::Backoff
            } else {
                Next::Reconnect
            }
        }
        Err(TimedOut) => {
            if a.measured {
                if a.deadline == plan.end && a.sent_at + plan.timeout > plan.end {
                    // Open loop: it has waited at least this long, and would carry the largest
                    // latencies; closed loop: every connection ends with one such, no news.
                    let waited = plan
                        .interval
                        .map(|_| micros(plan.end.saturating_duration_since(a.intended)));
                    st.unfinished(waited);
                } else {
                    // Recorded at its timeout, as wrk2 does: a dropped request must not improve p99.
                    st.timeout(now, micros(a.deadline - a.intended), micros(a.deadline - a.sent_at));
                }
            }
            Next::Reconnect
        }
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u64::MAX as u128) as u64
}
