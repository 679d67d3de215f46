//! Running the server: accept under the connection caps, serve each connection with HTTP/1
//! timeouts, and shut down within a deadline.
//!
//! Each connection has its own task, so the accept loop backing off (out of file descriptors)
//! never stalls a connection already served. A connection whose bytes stop moving for longer
//! than a request may take plus the write timeout (a client that stopped reading its
//! response) is cut. At shutdown the loop stops accepting, idle
//! connections close, requests in flight finish, sockets close with 1001; whatever is still
//! open when `shutdown_timeout` passes is dropped, then the store is flushed.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::admission::{Activity, Admission, Admitted, Refusal};
use crate::router::router;
use crate::state::AppState;

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

/// Serves `state` on `listener` until `state.shutdown` is cancelled; then stops accepting,
/// lets requests in flight and socket close handshakes finish within the shutdown deadline,
/// drops what is left, and shuts the engine down (relay drained, store flushed) in the time
/// that is left.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let config = state.config.clone();
    let admission = Admission::new(config.max_connections, config.max_connections_per_ip);
    let connections = TaskTracker::new();
    let server = Server {
        app: router(state.clone()),
        http: http_builder(config.header_timeout),
        admission,
        stall_timeout: config.request_timeout + config.write_timeout,
        connections: connections.clone(),
        shutdown: state.shutdown.clone(),
        abort: state.abort.clone(),
    };
    server.accept_until_shutdown(&listener).await;
    let started = tokio::time::Instant::now();
    drop(listener);
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

fn http_builder(header_timeout: Duration) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .max_headers(HYPER_MAX_HEADERS);
    builder
}

struct Server {
    app: Router,
    http: http1::Builder,
    admission: std::sync::Arc<Admission>,
    /// A connection whose bytes stop moving for this long is cut: longer than a handler may
    /// take, so only a peer that stopped reading or sending mid-request trips it.
    stall_timeout: Duration,
    connections: TaskTracker,
    shutdown: CancellationToken,
    abort: CancellationToken,
}

impl Server {
    async fn accept_until_shutdown(&self, listener: &TcpListener) {
        let mut backoff = Duration::ZERO;
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
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
                        _ = self.shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                }
            }
        }
    }

    /// Serves one accepted connection on its own task, or refuses it.
    fn take(&self, stream: TcpStream, peer: SocketAddr) {
        let (permit, slot) = match self.admission.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                tracing::debug!(%peer, ?refusal, "connection refused");
                if refusal == Refusal::Full {
                    let _best_effort = stream.try_write(REFUSED);
                }
                return;
            }
        };
        let activity = Activity::new();
        let io = TokioIo::new(Admitted::new(stream, permit, activity.clone()));
        // Handlers see the client's address as `ConnectInfo` (login and register limits count
        // by it).
        let app = self.app.clone().map_request(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let service = TowerToHyperService::new(app);
        let connection = self.http.serve_connection(io, service).with_upgrades();
        let shutdown = self.shutdown.clone();
        let abort = self.abort.clone();
        let stall = self.stall_timeout;
        self.connections.spawn(async move {
            let _slot = slot;
            let mut connection = std::pin::pin!(connection);
            let mut draining = false;
            let served = loop {
                tokio::select! {
                    served = connection.as_mut() => break served,
                    _ = shutdown.cancelled(), if !draining => {
                        draining = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ = abort.cancelled() => break Ok(()),
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
        });
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
