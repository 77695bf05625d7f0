//! The accept loop: HTTP/1.1 connections with a time limit for receiving a request's
//! headers, an idle keep-alive limit, a cap on open connections, a listen backlog that
//! absorbs bursts, and a graceful shutdown that stops accepting, lets in-flight requests
//! finish and closes whatever is left when the drain deadline passes (a stalled client
//! cannot hold the process). Each request carries how long it waited to be read
//! ([`QueueWait`]), for admission control.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::admission::QueueWait;

/// Connection limits and timeouts.
#[derive(Clone, Debug)]
pub struct Limits {
    /// A request's headers must arrive within this time, counted from when the server
    /// waits for them. Defaults to 10 s.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this long.
    /// Defaults to 60 s.
    pub idle_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog. Defaults to 10,000
    /// (less when the open-file limit is lower).
    pub max_connections: usize,
    /// The listen backlog. Defaults to 4096.
    pub backlog: u32,
    /// On shutdown, how long in-flight requests may finish before every connection is
    /// closed. Defaults to 10 s.
    pub drain_timeout: Duration,
    /// Serve HTTPS with this certificate (the TLS handshake must finish within
    /// `header_read_timeout`); plain HTTP when `None`.
    pub tls: Option<crate::tls::Tls>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            backlog: 4096,
            drain_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}

/// Binds `addr` with the configured backlog (`SO_REUSEADDR` on, so a restart does not
/// wait for TIME_WAIT).
pub fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Raises the soft open-file limit to the hard one (as Go does at start), and returns
/// how many connections fit under it with room for key fetches, logs and the listener.
pub fn connection_budget(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
        let room = limit.saturating_sub(128).max(16);
        wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
    }
    #[cfg(not(unix))]
    {
        wanted
    }
}

/// What one connection shares with its watchdog, its service and the runtime's waker.
struct Activity {
    /// Milliseconds since `epoch` of the last byte read or written.
    last: AtomicU64,
    /// Requests in flight on the connection.
    in_flight: AtomicUsize,
    epoch: Instant,
    /// The connection task's waker for reads: the socket wakes [`Activity`], which
    /// notes the time and wakes the task.
    reader: AtomicWaker,
    /// Nanoseconds since `epoch`, plus one, of the first read wake not yet followed by
    /// a read that returned bytes; 0 when there is none.
    woken_at: AtomicU64,
    /// The longest wait in nanoseconds between a read wake and the read, since the
    /// last request was handed to the service.
    waited: AtomicU64,
}

impl Wake for Activity {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let now = self.epoch.elapsed().as_nanos() as u64 + 1;
        let _ = self
            .woken_at
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        self.reader.wake();
    }
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            epoch: Instant::now(),
            reader: AtomicWaker::new(),
            woken_at: AtomicU64::new(0),
            waited: AtomicU64::new(0),
        })
    }

    /// Bytes were read: the time since the socket's wake is time spent queued.
    fn read_some(&self) {
        self.touch();
        let woken = self.woken_at.swap(0, Ordering::Relaxed);
        if woken != 0 {
            let now = self.epoch.elapsed().as_nanos() as u64 + 1;
            self.waited
                .fetch_max(now.saturating_sub(woken), Ordering::Relaxed);
        }
    }

    /// The wait of the request being handed to the service.
    fn take_wait(&self) -> QueueWait {
        QueueWait(Duration::from_nanos(self.waited.swap(0, Ordering::Relaxed)))
    }

    fn touch(&self) {
        self.last
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = self.last.load(Ordering::Relaxed);
        Duration::from_millis((self.epoch.elapsed().as_millis() as u64).saturating_sub(last))
    }
}

/// A TCP stream that records when bytes last moved and how long readable bytes waited.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
    /// `activity` as a waker, made once.
    waker: Waker,
}

impl Watched {
    fn new(inner: TcpStream, activity: Arc<Activity>) -> Watched {
        let waker = Waker::from(activity.clone());
        Watched {
            inner,
            activity,
            waker,
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        // the socket wakes `activity`, which notes when and wakes the task
        this.activity.reader.register(cx.waker());
        let mut ours = Context::from_waker(&this.waker);
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(&mut ours, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read_some();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Counts a request in flight on its connection for as long as it lives.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning
                    tracing::warn!(error = %e, "accept failed");
                    metrics::counter!("jwtshield_http_accept_errors_total").increment(1);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        while tasks.try_join_next().is_some() {}
        metrics::gauge!("jwtshield_http_open_connections").increment(1.0);
        let conn = connection(
            stream,
            peer,
            app.clone(),
            http.clone(),
            limits.clone(),
            stop_rx.clone(),
        );
        tasks.spawn(async move {
            conn.await;
            drop(permit);
            metrics::gauge!("jwtshield_http_open_connections").decrement(1.0);
        });
    }
    drop(listener);
    // drain: every connection finishes its request in flight and closes; a stalled
    // one is closed at the deadline
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.drain_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = tasks.len(),
            drain_ms = limits.drain_timeout.as_millis() as u64,
            "drain deadline passed; closing the connections still open"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

/// One connection: served until the client closes, it stays idle past `idle_timeout`,
/// or shutdown asks it to finish. With TLS, the handshake comes first, within the
/// header-read timeout; a client speaking plain HTTP to it is closed.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    http: hyper::server::conn::http1::Builder,
    limits: Limits,
    stop: watch::Receiver<bool>,
) {
    let activity = Activity::new();
    let watched = Watched::new(stream, activity.clone());
    match &limits.tls {
        None => {
            let io = TokioIo::new(watched);
            serve_io(io, peer, app, http, activity, limits.idle_timeout, stop).await;
        }
        Some(tls) => {
            let handshake = tls.acceptor().accept(watched);
            match tokio::time::timeout(limits.header_read_timeout, handshake).await {
                Ok(Ok(secured)) => {
                    let io = TokioIo::new(secured);
                    serve_io(io, peer, app, http, activity, limits.idle_timeout, stop).await;
                }
                Ok(Err(e)) => {
                    metrics::counter!("jwtshield_tls_handshake_failures_total").increment(1);
                    tracing::debug!(error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    metrics::counter!("jwtshield_tls_handshake_failures_total").increment(1);
                }
            }
        }
    }
}

/// Serves HTTP/1.1 on one (plain or TLS) stream.
async fn serve_io<I>(
    io: TokioIo<I>,
    peer: SocketAddr,
    app: Router,
    http: hyper::server::conn::http1::Builder,
    activity: Arc<Activity>,
    idle_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let counted = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        counted.in_flight.fetch_add(1, Ordering::Relaxed);
        let guard = InFlight(counted.clone());
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(counted.take_wait());
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await;
            drop(guard);
            res
        }
    });
    let conn = http.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut draining = false;
    loop {
        // wake when the connection would have been idle for the whole timeout
        let wait = idle_timeout
            .saturating_sub(activity.idle_for())
            .max(Duration::from_millis(10));
        let idle_check = tokio::time::sleep(wait);
        tokio::select! {
            _ = conn.as_mut() => return,
            changed = stop.changed(), if !draining => {
                if changed.is_err() || *stop.borrow() {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = idle_check => {
                let idle = activity.in_flight.load(Ordering::Relaxed) == 0
                    && activity.idle_for() >= idle_timeout;
                if idle && !draining {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
