//! A worker's ring stopping while a connection arrives: the connection is served by it or by
//! the ring waiting behind it, never left queued. The race is made often: a client thread
//! connects at a spread of moments around the cancel, again and again (without the stopping
//! ring's sweep, about 1 in 20 of these connections was stranded on Linux 6.18).

use hello::worker::Accept;
use io_uring::{opcode, types, IoUring};
use io_uring_accept::ring::{accept_entry, Mode, RingAccept};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TRIES: u64 = 1000;

/// Over how many microseconds the client's connect is spread, the stopping ring's cancel in
/// their middle.
const SPREAD_US: u64 = 60;

/// Tag of the waiting ring's accept and of its cancel.
const ACCEPT: u64 = 1;
const CANCEL: u64 = 2;

pub fn a_stopping_ring_strands_no_connection(mode: Mode) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _in_runtime = rt.enter();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = Client::start(listener.local_addr().unwrap());
    // The other workers: a request that waits behind the stopping ring's.
    let mut behind = IoUring::new(8).unwrap();
    let (mut by_stopping, mut by_behind) = (0, 0);
    for i in 1..=TRIES {
        let stopping = RingAccept::new(listener.try_clone().unwrap(), mode).unwrap();
        submit(&mut behind, &accept_entry(listener.as_raw_fd(), Mode::Oneshot));
        client.connect(i);
        spin(Duration::from_micros(SPREAD_US / 2));
        let taken = stopping.stop();
        client.wait(i);
        by_stopping += taken.len();
        // The stopping ring's cancel has completed: a connection it did not take is the other
        // ring's to accept, at once. Two seconds is only a bound.
        let got = if taken.is_empty() {
            let bound = types::Timespec::new().sec(2);
            let _ = behind
                .submitter()
                .submit_with_args(1, &types::SubmitArgs::new().timespec(&bound));
            behind
                .completion()
                .find(|c| c.user_data() == ACCEPT)
                .map(|c| c.result())
        } else {
            None
        };
        match got {
            Some(fd) if fd >= 0 => {
                by_behind += 1;
                // SAFETY: the accepted descriptor is ours alone.
                unsafe { libc::close(fd) };
            }
            Some(e) => panic!(
                "the waiting ring's accept failed: {}",
                std::io::Error::from_raw_os_error(-e)
            ),
            None => {
                submit(&mut behind, &opcode::AsyncCancel::new(ACCEPT).build().user_data(CANCEL));
                behind.submit_and_wait(2).unwrap();
                behind.completion().for_each(drop);
            }
        }
        let served = by_stopping + by_behind;
        assert_eq!(
            served as u64, i,
            "connection {i} was left queued, no request woken for it ({mode:?}; the stopping ring took {by_stopping}, the waiting one {by_behind})"
        );
    }
    eprintln!("{mode:?}: {TRIES} connections timed around a stopping ring's cancel: it took {by_stopping}, the ring behind it {by_behind}");
}

fn submit(ring: &mut IoUring, entry: &io_uring::squeue::Entry) {
    // SAFETY: neither request points at memory of ours.
    unsafe { ring.submission().push(entry) }.unwrap();
    ring.submit().unwrap();
}

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// A thread that connects once per try, spinning rather than sleeping between them so that
/// its connect lands within microseconds of when it is asked for.
struct Client {
    ask: Arc<AtomicU64>,
    done: Arc<AtomicU64>,
}

/// Asks the client thread to stop.
const STOP: u64 = u64::MAX;

impl Client {
    fn start(to: SocketAddr) -> Client {
        let (ask, done) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (a, d) = (ask.clone(), done.clone());
        std::thread::spawn(move || {
            let mut open = Vec::new();
            let started = Instant::now();
            // Bounded by itself too, should the test thread panic.
            while started.elapsed() < Duration::from_secs(120) {
                let i = a.load(Ordering::Acquire);
                if i == STOP {
                    return;
                }
                if i == d.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                    continue;
                }
                spin(Duration::from_micros(i % SPREAD_US));
                open.push(TcpStream::connect(to).unwrap());
                // Closed in batches, off the moments that matter.
                if open.len() > 64 {
                    open.clear();
                }
                d.store(i, Ordering::Release);
            }
        });
        Client { ask, done }
    }

    fn connect(&self, i: u64) {
        self.ask.store(i, Ordering::Release);
    }

    fn wait(&self, i: u64) {
        let asked = Instant::now();
        while self.done.load(Ordering::Acquire) != i {
            assert!(
                asked.elapsed() < Duration::from_secs(10),
                "the client did not connect in 10 s (try {i})"
            );
            std::hint::spin_loop();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.ask.store(STOP, Ordering::Release);
    }
}
