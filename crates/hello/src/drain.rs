//! A worker's graceful exit (SIGTERM, or its master closing its channel): it takes no new
//! connection, answers the next request of each open one with `Connection: close`, and exits once
//! the last has closed. A client that never sends again is left to the master, which kills the
//! worker after its grace period.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Notify;

#[derive(Default)]
pub struct Drain {
    draining: AtomicBool,
    open: AtomicUsize,
    closed: Notify,
}

/// One open connection; dropping it closes the count.
pub struct Open<'a>(&'a Drain);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.closed.notify_waiters();
        }
    }
}

impl Drain {
    /// Whether the worker is on its way out: every answer from now on closes its connection.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Counts a connection as open until the returned guard is dropped.
    pub fn open(&self) -> Open<'_> {
        self.open.fetch_add(1, Ordering::SeqCst);
        Open(self)
    }

    /// Starts draining and returns once no connection is open.
    pub async fn finish(&self) {
        self.draining.store(true, Ordering::SeqCst);
        loop {
            let closed = self.closed.notified();
            if self.open.load(Ordering::SeqCst) == 0 {
                return;
            }
            closed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn finishes_when_the_last_connection_closes() {
        let drain: &'static Drain = Box::leak(Box::default());
        let (a, b) = (drain.open(), drain.open());
        assert!(!drain.draining());
        let done = tokio::spawn(drain.finish());
        tokio::task::yield_now().await;
        assert!(drain.draining() && !done.is_finished());
        drop(a);
        tokio::task::yield_now().await;
        assert!(!done.is_finished(), "one connection is still open");
        drop(b);
        // Only a guard against a hang: the finish is woken by the close, not by time.
        tokio::time::timeout(std::time::Duration::from_secs(10), done)
            .await
            .expect("finished after the last close")
            .unwrap();
    }
}
