//! The Prometheus side of the metrics: the recorder that every crate's `metrics` calls land
//! in (installed once per process), `GET /metrics` in the Prometheus text format, and what
//! the edge records itself: HTTP requests by route template and status, socket closes by
//! reason, and the open sockets, connections and users read when scraped.
//!
//! Route labels are the router's templates (`/api/messages/{room_id}`), never the path a
//! client sent, so no id ever becomes a label.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

use crate::admission::Admission;
use crate::route_table::Route;
use crate::state::AppState;

/// HTTP requests answered, by `route` (the matched template, `other` for the rest),
/// `method` and `status`.
pub const HTTP_REQUESTS: &str = "chat_http_requests_total";
/// Seconds to answer an HTTP request, by `route`.
pub const HTTP_DURATION: &str = "chat_http_request_duration_seconds";
/// WebSockets open on this node.
pub const SOCKETS_OPEN: &str = "chat_sockets_open";
/// TCP connections open on this node, sockets included.
pub const CONNECTIONS_OPEN: &str = "chat_connections_open";
/// Sockets ended, by `reason` (`too slow`, `idle timeout`, `gone`, …).
pub const SOCKET_CLOSES: &str = "chat_socket_closes_total";

/// Buckets of every `_seconds` histogram: sub-millisecond to ten seconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of the group-commit size.
const SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// How often histograms are compacted when nobody scrapes, so samples never pile up.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process's Prometheus recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The process's recorder, installed at the first call; later calls (another server in
    /// the same process, as in tests) share it. If some other recorder was installed first,
    /// this one stays empty and says so in the log.
    pub fn install() -> Metrics {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE.get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full(chat_core::metrics::STORE_GROUP_COMMIT.into()),
                        SIZE_BUCKETS,
                    )
                })
                .expect("the bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
            }
            handle
        });
        Metrics {
            handle: handle.clone(),
        }
    }

    /// Compacts the histograms every few seconds until `shutdown`.
    pub(crate) async fn upkeep(self, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => self.handle.run_upkeep(),
            }
        }
    }
}

/// What `/metrics` reads besides the recorder: the gauges it sets when scraped.
#[derive(Clone)]
struct Scrape {
    metrics: Metrics,
    state: AppState,
    admission: Arc<Admission>,
}

/// `GET /metrics`, for the route table the API description is checked against: the bundled
/// server serves it on the main port, or on `--metrics-bind`'s.
pub fn scrape_route() -> Route {
    Route {
        method: Method::GET,
        path: "/metrics",
    }
}

/// The router of `GET /metrics`, on the main port or one of its own.
pub(crate) fn routes(metrics: Metrics, state: AppState, admission: Arc<Admission>) -> Router {
    Router::new()
        .route(scrape_route().path, get(scrape))
        .with_state(Scrape {
            metrics,
            state,
            admission,
        })
}

/// `GET /metrics`: every metric in the Prometheus text format.
async fn scrape(State(scrape): State<Scrape>) -> Response {
    let state = &scrape.state;
    gauge!(SOCKETS_OPEN).set(state.sockets.len() as f64);
    gauge!(CONNECTIONS_OPEN).set(scrape.admission.open(state.config.max_connections) as f64);
    chat_core::metrics::users_online(state.engine.hub().local_users().len());
    let body = scrape.metrics.handle.render();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Middleware: counts each request by route template, method and status, and times it.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    histogram!(HTTP_DURATION, "route" => route.clone()).record(started.elapsed().as_secs_f64());
    counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status).increment(1);
    response
}

/// A socket ended for `reason`.
pub(crate) fn socket_closed(reason: &'static str) {
    counter!(SOCKET_CLOSES, "reason" => reason).increment(1);
}

/// The method as a label from a fixed set, whatever a client sends.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
