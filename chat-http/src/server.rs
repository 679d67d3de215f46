//! Running the server: accept under the connection caps, on TLS ports run the handshake,
//! serve each connection with HTTP/1 timeouts, and shut down within a deadline. Besides the
//! main port there may be a plain-HTTP port that redirects to HTTPS and a port of its own for
//! `/metrics`; all share the caps and the shutdown.
//!
//! Each connection has its own task (its TLS handshake included, bounded by the header
//! timeout), so the accept loop backing off (out of file descriptors)
//! never stalls a connection already served. A connection whose bytes stop moving for longer
//! than a request may take plus the write timeout (a client that stopped reading its
//! response) is cut. At shutdown the loop stops accepting, idle
//! connections close, requests in flight finish, sockets close with 1001; whatever is still
//! open when `shutdown_timeout` passes is dropped, then the store is flushed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::admission::{Activity, Admission, Admitted, Refusal};
use crate::metrics::Metrics;
use crate::router::router;
use crate::scheme::Transport;
use crate::state::AppState;
use crate::tls::Tls;

/// Headers hyper accepts before answering 431 by itself; the router's own, lower limit
/// ([`crate::limits::MAX_HEADERS`]) answers first, with a JSON body.
const HYPER_MAX_HEADERS: usize = 256;

/// Longest pause of the accept loop after an accept error such as EMFILE.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Time the engine always gets to drain its relay queue and flush the store, even when the
/// connections used up the shutdown deadline.
const MIN_ENGINE_SHUTDOWN: Duration = Duration::from_secs(1);

/// What a refused connection is told, if its socket takes it without blocking.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
content-length: 58\r\nconnection: close\r\n\r\n\
{\"detail\":\"too many connections; try again\",\"code\":\"busy\"}";

/// Where the server listens, and how.
#[derive(Debug)]
pub struct Endpoints {
    /// The main port: the API, sockets and web client (and `/metrics` unless it has a port
    /// of its own).
    pub main: TcpListener,
    /// Serve the main port over TLS (HTTPS and WSS) with this certificate.
    pub tls: Option<Tls>,
    /// A plain-HTTP port that answers every request with a redirect to the main port's
    /// HTTPS address (only with `tls`).
    pub redirect: Option<TcpListener>,
    /// Serve `GET /metrics` from this recorder.
    pub metrics: Option<Metrics>,
    /// Serve `/metrics` on this port (plain HTTP) instead of the main one.
    pub metrics_listener: Option<TcpListener>,
}

impl Endpoints {
    /// Plain HTTP on `main`, nothing else.
    pub fn plain(main: TcpListener) -> Self {
        Endpoints {
            main,
            tls: None,
            redirect: None,
            metrics: None,
            metrics_listener: None,
        }
    }
}

/// Serves `state` on `listener` (plain HTTP, no metrics); see [`serve_endpoints`].
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    serve_endpoints(Endpoints::plain(listener), state).await
}

/// Serves `state` on `endpoints` until `state.shutdown` is cancelled; then stops accepting,
/// lets requests in flight and socket close handshakes finish within the shutdown deadline,
/// drops what is left, and shuts the engine down (relay drained, store flushed) in the time
/// that is left. Every port shares the connection caps.
pub async fn serve_endpoints(endpoints: Endpoints, state: AppState) -> std::io::Result<()> {
    let config = state.config.clone();
    let admission = Admission::new(config.max_connections, config.max_connections_per_ip);
    let connections = TaskTracker::new();
    let shared = Arc::new(Shared {
        http: http_builder(config.header_timeout),
        admission: admission.clone(),
        stall_timeout: config.request_timeout + config.write_timeout,
        handshake_timeout: config.header_timeout,
        connections: connections.clone(),
        shutdown: state.shutdown.clone(),
        abort: state.abort.clone(),
    });
    let mut app = router(state.clone());
    let mut metrics_port = None;
    if let Some(metrics) = endpoints.metrics {
        connections.spawn(metrics.clone().upkeep(state.shutdown.clone()));
        let routes = crate::metrics::routes(metrics, state.clone(), admission.clone());
        match endpoints.metrics_listener {
            Some(listener) => metrics_port = Some((Server::new(&shared, routes, None), listener)),
            None => app = app.merge(routes),
        }
    }
    let https_port = endpoints.main.local_addr()?.port();
    let redirect_port = endpoints
        .redirect
        .filter(|_| endpoints.tls.is_some())
        .map(|listener| {
            let app = crate::redirect::router(https_port);
            (Server::new(&shared, app, None), listener)
        });
    let main = Server::new(&shared, app, endpoints.tls);
    tokio::join!(
        main.accept_until_shutdown(&endpoints.main),
        accept_if_any(redirect_port.as_ref()),
        accept_if_any(metrics_port.as_ref()),
    );
    let started = tokio::time::Instant::now();
    drop((endpoints.main, redirect_port, metrics_port));
    connections.close();
    state.sockets.close();
    let drained = async {
        connections.wait().await;
        state.sockets.wait().await;
    };
    if tokio::time::timeout(config.shutdown_timeout, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            sockets = state.sockets.len(),
            "shutdown deadline passed; dropping what is still open"
        );
        state.abort.cancel();
        let dropped = async {
            connections.wait().await;
            state.sockets.wait().await;
        };
        let _bounded = tokio::time::timeout(Duration::from_secs(1), dropped).await;
    }
    let left = config.shutdown_timeout.saturating_sub(started.elapsed());
    if let Err(err) = state.engine.shutdown(left.max(MIN_ENGINE_SHUTDOWN)).await {
        tracing::error!(error = %err, "flushing the store at shutdown failed");
    }
    Ok(())
}

async fn accept_if_any(port: Option<&(Server, TcpListener)>) {
    if let Some((server, listener)) = port {
        server.accept_until_shutdown(listener).await;
    }
}

fn http_builder(header_timeout: Duration) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .max_headers(HYPER_MAX_HEADERS);
    builder
}

/// What every port's connections share: the HTTP settings, the caps and the shutdown.
struct Shared {
    http: http1::Builder,
    admission: Arc<Admission>,
    /// A connection whose bytes stop moving for this long is cut: longer than a handler may
    /// take, so only a peer that stopped reading or sending mid-request trips it.
    stall_timeout: Duration,
    /// Longest a TLS handshake may take (the header timeout: both are what a client owes
    /// before the server does any work for it).
    handshake_timeout: Duration,
    connections: TaskTracker,
    shutdown: CancellationToken,
    abort: CancellationToken,
}

/// One listening port: its routes, and its TLS if any.
struct Server {
    app: Router,
    tls: Option<Tls>,
    shared: Arc<Shared>,
}

impl Server {
    fn new(shared: &Arc<Shared>, app: Router, tls: Option<Tls>) -> Self {
        Server {
            app,
            tls,
            shared: shared.clone(),
        }
    }

    async fn accept_until_shutdown(&self, listener: &TcpListener) {
        let mut backoff = Duration::ZERO;
        loop {
            let accepted = tokio::select! {
                _ = self.shared.shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    backoff = Duration::ZERO;
                    self.take(stream, peer);
                }
                Err(err) if is_per_connection(&err) => {}
                Err(err) => {
                    backoff = (backoff * 2).clamp(Duration::from_millis(5), MAX_ACCEPT_BACKOFF);
                    tracing::warn!(error = %err, pause = ?backoff, "accept failed; backing off");
                    tokio::select! {
                        _ = self.shared.shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                }
            }
        }
    }

    /// Serves one accepted connection on its own task (after its TLS handshake, on a TLS
    /// port), or refuses it.
    fn take(&self, stream: TcpStream, peer: SocketAddr) {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%peer, %error, "cannot turn off Nagle's algorithm");
        }
        let (permit, slot) = match self.shared.admission.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                tracing::debug!(%peer, ?refusal, "connection refused");
                if refusal == Refusal::Full && self.tls.is_none() {
                    let _best_effort = stream.try_write(REFUSED);
                }
                return;
            }
        };
        let activity = Activity::new();
        let stream = Admitted::new(stream, permit, activity.clone());
        let shared = self.shared.clone();
        let app = self.app.clone();
        let acceptor = self.tls.as_ref().map(Tls::acceptor);
        self.shared.connections.spawn(async move {
            let _slot = slot;
            let Some(acceptor) = acceptor else {
                return shared.serve_http(stream, app, peer, activity, false).await;
            };
            let handshake = tokio::time::timeout(shared.handshake_timeout, acceptor.accept(stream));
            let stream = tokio::select! {
                done = handshake => match done {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(err)) => {
                        tracing::debug!(%peer, error = %err, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                },
                _ = shared.shutdown.cancelled() => return,
            };
            shared.serve_http(stream, app, peer, activity, true).await;
        });
    }
}

impl Shared {
    /// Speaks HTTP/1 (and WebSocket after an upgrade) on `io` until the client leaves, the
    /// connection stalls, or shutdown ends it.
    async fn serve_http<I>(
        &self,
        io: I,
        app: Router,
        peer: SocketAddr,
        activity: Arc<Activity>,
        tls: bool,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // Handlers see the client's address as `ConnectInfo` (login and register limits count
        // by it) and whether the connection is TLS (cookies, origin checks).
        let app = app.map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(Transport { tls });
            request
        });
        let service = TowerToHyperService::new(app);
        let connection = self
            .http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let stall = self.stall_timeout;
        let mut connection = std::pin::pin!(connection);
        let mut draining = false;
        let served = loop {
            tokio::select! {
                served = connection.as_mut() => break served,
                _ = self.shutdown.cancelled(), if !draining => {
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
                _ = self.abort.cancelled() => break Ok(()),
                _ = tokio::time::sleep_until(activity.last() + stall) => {
                    if activity.last() + stall <= tokio::time::Instant::now() {
                        tracing::debug!(%peer, "connection stalled; closing it");
                        break Ok(());
                    }
                }
            }
        };
        if let Err(err) = served {
            tracing::debug!(%peer, error = %err, "connection ended with an error");
        }
    }
}

/// Errors that concern one connection that was already gone, not the listener.
fn is_per_connection(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}
