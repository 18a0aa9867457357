//! The connection loop: hyper's HTTP/1 server under explicit bounds — a cap on connections
//! served at once (the rest get a 503 problem and are closed), a header read timeout, and an idle
//! timeout on every connection — with graceful shutdown that lets requests in flight finish.
//! Also the global budget of request-body bytes in flight: every request with a body reserves
//! what it may send before its body is read, and is answered 503 when the budget is spent, so
//! clients stalling bodies cannot pin more memory than `max_body_bytes_in_flight` together.

use crate::problem::{Kind, Problem};
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Refusals answered at once beyond the cap; past these, extra connections are just closed.
const REFUSALS_AT_ONCE: usize = 64;

/// The most a connection buffers of what its client sent before the service reads it.
const READ_BUFFER_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub header_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub(crate) fn of(config: &crate::config::Config) -> Self {
        Self {
            header_read: Duration::from_secs(config.header_read_timeout_secs),
            idle: Duration::from_secs(config.idle_timeout_secs),
            max_connections: config.max_connections,
        }
    }
}

/// Serves `router` on `listener`, over TLS when `tls` is given: the handshake, like the request
/// head, must finish within the header read timeout, and TLS connections count against the
/// same cap and idle timeout as plain ones.
pub(crate) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors or a connection reset before accept: neither is
                // fatal, and retrying at once would spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Ok(permit) = permits.clone().try_acquire_owned() {
            tokio::spawn(connection(
                stream,
                router.clone(),
                limits,
                tls.clone(),
                closing_rx.clone(),
                permit,
            ));
        } else if let Ok(permit) = refusals.clone().try_acquire_owned() {
            tokio::spawn(refuse(stream, limits, tls.clone(), permit));
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(closing_rx);
    // Every connection holds a receiver; they are all gone once the last one has finished.
    closing_tx.closed().await;
}

async fn connection(
    stream: TcpStream,
    router: axum::Router,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    closing: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let watched = Watched {
        inner: stream,
        activity: activity.clone(),
    };
    match tls {
        None => serve_http(TokioIo::new(watched), router, limits, closing, activity).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(limits.header_read, acceptor.accept(watched));
            if let Ok(Ok(stream)) = handshake.await {
                serve_http(TokioIo::new(stream), router, limits, closing, activity).await;
            }
        }
    }
}

async fn serve_http<I>(
    io: I,
    router: axum::Router,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
    activity: Arc<Activity>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        // hyper's default read buffer is ~400 KiB: at the connection cap, heads alone could
        // hold ~400 MiB. 64 KiB is ample for any head this API takes (431 past it).
        .max_buf_size(READ_BUFFER_BYTES)
        .keep_alive(true);
    let mut conn = pin!(builder.serve_connection(io, TowerToHyperService::new(router)));
    let mut idle = pin!(activity.idle_for(limits.idle));
    tokio::select! {
        _ = conn.as_mut() => return,
        () = idle.as_mut() => return,
        _ = closing.wait_for(|closing| *closing) => conn.as_mut().graceful_shutdown(),
    }
    // Shutting down: the request in flight may finish, but an idle client cannot hold us.
    tokio::select! {
        _ = conn.as_mut() => {}
        () = idle.as_mut() => {}
    }
}

/// Over the connection cap: a 503 problem, then close (over TLS after a bounded handshake).
async fn refuse(
    stream: TcpStream,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    _permit: OwnedSemaphorePermit,
) {
    let deadline = limits.header_read + Duration::from_secs(1);
    let _ = tokio::time::timeout(deadline, async move {
        match tls {
            None => refuse_http(TokioIo::new(stream), limits).await,
            Some(acceptor) => {
                if let Ok(stream) = acceptor.accept(stream).await {
                    refuse_http(TokioIo::new(stream), limits).await;
                }
            }
        }
    })
    .await;
}

async fn refuse_http<I>(io: I, limits: Limits)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(|_request| async {
        let mut response = Problem::new(
            Kind::Overloaded,
            "the service is at its connection limit; retry shortly",
        )
        .into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from_static("1"),
        );
        Ok::<_, std::convert::Infallible>(response)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(false);
    let _ = builder.serve_connection(io, service).await;
}

/// When a connection last moved a byte, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A socket that records its activity.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
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

/// The request-body bytes all requests may hold at once (`max_body_bytes_in_flight`).
pub(crate) struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: u32,
    refused: AtomicU64,
}

impl BodyBudget {
    pub(crate) fn new(total: usize) -> Self {
        // `validate` keeps it within u32 (what a semaphore reservation counts).
        let total = u32::try_from(total).unwrap_or(u32::MAX);
        Self {
            bytes: Arc::new(Semaphore::new(total as usize)),
            total,
            refused: AtomicU64::new(0),
        }
    }

    /// Bytes reserved by requests now.
    pub(crate) fn reserved(&self) -> u64 {
        u64::from(self.total).saturating_sub(self.bytes.available_permits() as u64)
    }

    pub(crate) fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(out, "# HELP scute_request_body_bytes_reserved Request-body bytes reserved by requests being read now.\n# TYPE scute_request_body_bytes_reserved gauge\nscute_request_body_bytes_reserved {}", self.reserved());
        let _ = writeln!(out, "# HELP scute_request_body_budget_bytes The budget of request-body bytes in flight (max_body_bytes_in_flight).\n# TYPE scute_request_body_budget_bytes gauge\nscute_request_body_budget_bytes {}", self.total);
        let _ = writeln!(out, "# HELP scute_request_body_budget_refused_total Requests answered 503 because the body budget was spent.\n# TYPE scute_request_body_budget_refused_total counter\nscute_request_body_budget_refused_total {}", self.refused.load(Ordering::Relaxed));
    }
}

/// Set on a request whose body ran out of budget while it was read: its reader answers 503.
#[derive(Clone, Default)]
pub(crate) struct BudgetSpent(Arc<std::sync::atomic::AtomicBool>);

impl BudgetSpent {
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A request body that takes each chunk it yields out of the global budget as the chunk
/// arrives, and gives all of it back when the body is dropped (read whole, or abandoned). What
/// counts is what a client has sent, not what its head announces: an idle connection that
/// announced a body holds nothing, and pinning the budget takes sending it.
struct Budgeted {
    inner: axum::body::Body,
    budget: Arc<Semaphore>,
    held: Option<tokio::sync::OwnedSemaphorePermit>,
    spent: BudgetSpent,
}

impl http_body::Body for Budgeted {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        let len = frame.data_ref().map_or(0, |d| d.len());
        if len > 0 {
            let taken = u32::try_from(len)
                .ok()
                .and_then(|n| this.budget.clone().try_acquire_many_owned(n).ok());
            match taken {
                Some(permit) => match &mut this.held {
                    Some(held) => held.merge(permit),
                    None => this.held = Some(permit),
                },
                None => {
                    this.spent.0.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(axum::Error::new(
                        "the request-body budget is spent",
                    ))));
                }
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware on every router: the request's body draws on the global budget of body bytes
/// in flight as it arrives (`Budgeted`); when the budget is spent, the body's reader answers
/// 503 at once, with `Retry-After` and the connection closed (the rest is not read).
pub(crate) async fn reserve_body(
    axum::extract::State(state): axum::extract::State<Arc<crate::http::state::AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let spent = BudgetSpent::default();
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(spent.clone());
    let body = axum::body::Body::new(Budgeted {
        inner: body,
        budget: state.body_budget.bytes.clone(),
        held: None,
        spent: spent.clone(),
    });
    let mut response = next
        .run(axum::extract::Request::from_parts(parts, body))
        .await;
    if spent.is_set() {
        state.body_budget.refused.fetch_add(1, Ordering::Relaxed);
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from_static("1"),
        );
        // The body was not read to its end: the connection closes after the answer.
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
    }
    response
}
