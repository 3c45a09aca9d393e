//! A worker process's event loop: one single-threaded runtime, fed either by a listening socket
//! or by connections handed over a descriptor channel.

use crate::conn::{self, Worker};
use crate::drain::Drain;
use crate::work::Rng;
use anyhow::{Context, Result};
use http1::Responses;
use lbproc::fdpass::recv_fd;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::net::{TcpListener, TcpStream};

/// Binds a non-blocking listener; `reuseport` lets several processes bind the same port.
pub fn bind(addr: SocketAddr, reuseport: bool) -> Result<std::net::TcpListener> {
    bind_with(addr, reuseport, |_| Ok(()))
}

/// Like [`bind`], with `configure` setting options of the socket before it binds and listens
/// (a listener joins its port's SO_REUSEPORT group at `listen()`, already configured).
pub fn bind_with(
    addr: SocketAddr,
    reuseport: bool,
    configure: impl FnOnce(&Socket) -> std::io::Result<()>,
) -> Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuseport {
        socket.set_reuse_port(true)?;
    }
    configure(&socket).context("configuring the listening socket")?;
    socket.set_nonblocking(true)?;
    socket
        .bind(&addr.into())
        .with_context(|| format!("cannot bind {addr}: is the port already in use?"))?;
    socket.listen(4096)?;
    Ok(socket.into())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// What worker `id`'s connections share lives as long as the process, so they borrow it for 'static.
fn worker(id: usize) -> &'static Worker {
    Box::leak(Box::new(Worker {
        responses: Responses::new(&id.to_string()),
        rng: Rng::seeded(id),
        drain: Drain::default(),
    }))
}

/// SIGTERM, as a stream: registered before the worker announces itself, so a master that stops
/// or replaces it after that always gets a graceful exit.
fn terminate() -> Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("handling SIGTERM")
}

/// Where a worker's connections come from: a listening socket of its own or shared, or another
/// way of accepting on one (io_uring's accept, say).
pub trait Accept {
    /// The next accepted connection.
    fn next_stream(&mut self) -> impl std::future::Future<Output = std::io::Result<TcpStream>>;
    /// Stops accepting (at SIGTERM). Returns the connections already accepted but not yet
    /// handed over: they are served (and told to close) like the open ones.
    fn stop(self) -> Vec<TcpStream>;
}

impl Accept for &TcpListener {
    async fn next_stream(&mut self) -> std::io::Result<TcpStream> {
        self.accept().await.map(|(stream, _)| stream)
    }

    fn stop(self) -> Vec<TcpStream> {
        Vec::new()
    }
}

/// The most connections a stopping worker takes from its listener's queue (the kernel's default
/// `somaxconn`).
const QUEUED_MAX: usize = 4096;

/// Closing the listener is stopping. A socket of its own (SO_REUSEPORT) that closes resets the
/// connections still in its queue, so first everything queued is taken (served, and told to
/// close): only one completing in the instant between the last accept and the close is lost
/// (and not even that one with `tcp_migrate_req`).
impl Accept for TcpListener {
    async fn next_stream(&mut self) -> std::io::Result<TcpStream> {
        self.accept().await.map(|(stream, _)| stream)
    }

    fn stop(self) -> Vec<TcpStream> {
        let mut queued = Vec::new();
        let Ok(listener) = self.into_std() else {
            return queued;
        };
        // Non-blocking (tokio's): accept returns WouldBlock once the queue is empty. At most a
        // queue's worth: on a socket other workers share, connections keep arriving.
        while let Some(Ok((stream, _))) = (queued.len() < QUEUED_MAX).then(|| listener.accept()) {
            if let Ok(stream) = stream.set_nonblocking(true).and_then(|()| TcpStream::from_std(stream)) {
                queued.push(stream);
            }
        }
        queued
    }
}

/// Accepts until the listener fails for good, pausing briefly on a transient error (out of
/// descriptors, a connection aborted before accept) instead of spinning; `who` names the
/// accepting process in its error messages. A listener that no longer listens (EINVAL: its
/// master shut it down, taking it out of its port's SO_REUSEPORT group) ends the loop.
pub async fn accept_loop(listener: &TcpListener, who: &str, serve: impl FnMut(TcpStream)) {
    accept_all(&mut { listener }, who, serve).await
}

/// [`accept_loop`] for any source of connections.
pub async fn accept_all(source: &mut impl Accept, who: &str, mut serve: impl FnMut(TcpStream)) {
    loop {
        match source.next_stream().await {
            Ok(stream) => serve(stream),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return,
            Err(e) => {
                eprintln!("{who}: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Accepts on `listener` and serves every connection as worker `id`, until SIGTERM (or until the
/// listener is shut down): then it takes what is still queued, closes the listener and drains.
/// When the strategy runs another worker program (see [`crate::exec`]), this process becomes it.
pub fn serve_listener(listener: std::net::TcpListener, id: usize, timeouts: http1::Timeouts) -> Result<()> {
    if let Some(command) = crate::exec::program() {
        return crate::exec::exec(&command, listener, id);
    }
    serve_accepting(listener, id, timeouts, false, None)
}

/// Like [`serve_listener`], keeping the number of connections this worker has open in `open`
/// (+1 as each is accepted, -1 as it closes): a word of memory shared with whoever balances,
/// written with atomics, so counting costs no system call.
pub fn serve_listener_counted(
    listener: std::net::TcpListener,
    id: usize,
    timeouts: http1::Timeouts,
    open: &'static AtomicU64,
) -> Result<()> {
    serve_accepting(listener, id, timeouts, false, Some(open))
}

/// Like [`serve_listener`], for a listener the workers share, with it in the runtime's epoll
/// instance as EPOLLEXCLUSIVE: the kernel wakes one idle worker per connection instead of all.
pub fn serve_listener_exclusive(listener: std::net::TcpListener, id: usize, timeouts: http1::Timeouts) -> Result<()> {
    serve_accepting(listener, id, timeouts, true, None)
}

/// One connection counted in a shared word until dropped (see [`serve_listener_counted`]).
struct Counted(&'static AtomicU64);

impl Counted {
    fn open(count: &'static AtomicU64) -> Counted {
        count.fetch_add(1, Ordering::Relaxed);
        Counted(count)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn serve_accepting(
    listener: std::net::TcpListener,
    id: usize,
    timeouts: http1::Timeouts,
    exclusive: bool,
    count: Option<&'static AtomicU64>,
) -> Result<()> {
    serve_accepted(id, timeouts, count, move || {
        let listener = TcpListener::from_std(listener)?;
        if exclusive {
            crate::exclusive::make_exclusive(listener.as_raw_fd())?;
        }
        Ok(listener)
    })
}

/// Serves every connection `source` accepts as worker `id`, until SIGTERM; then stops it and
/// drains. `source` is made on the worker's runtime (so it may register descriptors with it),
/// and the worker announces itself only once it is made. With `count`, the connections open
/// are counted in that shared word (see [`serve_listener_counted`]).
pub fn serve_accepted<A: Accept>(
    id: usize,
    timeouts: http1::Timeouts,
    count: Option<&'static AtomicU64>,
    source: impl FnOnce() -> Result<A>,
) -> Result<()> {
    let worker = worker(id);
    runtime()?.block_on(async move {
        let mut source = source()?;
        let mut term = terminate()?;
        lbproc::announce_worker(id)?;
        let who = format!("worker {id}");
        let serve = |stream| {
            // Open from its accept, not from when its task first runs: a drain that begins in
            // between (SIGTERM, with what `stop` hands back) still waits for it. Counted too
            // where a balancer reads the worker's open connections.
            let open = (worker.drain.open(), count.map(Counted::open));
            tokio::spawn(async move {
                let _open = open;
                conn::serve(stream, worker, timeouts).await
            });
        };
        tokio::select! {
            () = accept_all(&mut source, &who, serve) => {}
            _ = term.recv() => {}
        }
        source.stop().into_iter().for_each(serve);
        worker.drain.finish().await;
        Ok(())
    })
}

/// Connections handed over a descriptor channel by a master that accepts (see `lbproc::fdpass`).
struct Channel(AsyncFd<OwnedFd>);

/// A descriptor received from the master, as a connection of this runtime.
fn stream_of(fd: OwnedFd) -> std::io::Result<TcpStream> {
    let stream = std::net::TcpStream::from(fd);
    stream.set_nonblocking(true)?;
    TcpStream::from_std(stream)
}

impl Accept for Channel {
    async fn next_stream(&mut self) -> std::io::Result<TcpStream> {
        loop {
            let mut ready = self.0.readable().await?;
            match ready.try_io(recv_fd) {
                Ok(Ok(Some(fd))) => return stream_of(fd),
                // The master closed its end (it replaced this worker): as a listener shut down.
                Ok(Ok(None)) => return Err(std::io::Error::from_raw_os_error(libc::EINVAL)),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Every connection the master sent that is still in the channel: closing it with them
    /// queued would drop connections whose clients have already sent a request (under load the
    /// master hands them over faster than a retiring worker reads them).
    fn stop(self) -> Vec<TcpStream> {
        let mut queued = Vec::new();
        // At most a queue's worth, as from a listener: a master still handing over cannot keep
        // this worker from stopping.
        while let Some(Ok(Some(fd))) = (queued.len() < QUEUED_MAX).then(|| recv_fd(self.0.get_ref())) {
            queued.extend(stream_of(fd).ok());
        }
        queued
    }
}

/// Serves connections whose descriptors arrive on `chan` (non-blocking), until the master closes
/// it or SIGTERM; then serves what is still queued in it, and drains.
pub fn serve_channel(chan: OwnedFd, id: usize, timeouts: http1::Timeouts) -> Result<()> {
    serve_accepted(id, timeouts, None, move || {
        // SAFETY: an OwnedFd stays open and keeps its number for as long as the AsyncFd owns it.
        let chan = unsafe { AsyncFd::register(chan) }.map_err(std::io::Error::from);
        Ok(Channel(chan.context("watching the channel from the master")?))
    })
}
