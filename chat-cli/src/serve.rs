//! `chat serve`: the server, with graceful shutdown on SIGINT and SIGTERM.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chat_cli::DataDirLock;
use chat_core::EngineConfig;
use chat_core::auth::PoolLimits;
use chat_core::engine::AttemptLimits;
use chat_core::limits::{AttemptQuota, Quota};
use chat_http::routes::server_api::ServerApiKey;
use chat_http::{AppState, Endpoints, HttpConfig, Metrics, Tls};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::backends;
use crate::cli::ServeArgs;
use crate::{listen_url, logging, process};

/// Runs the server until a signal asks it to stop.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    logging::init(args.log_format);
    let open_files = raise_open_files_limit();
    process::survive_file_size_limit().context("cannot handle SIGXFSZ")?;
    let redis = args.redis_url.clone().map(|url| backends::RedisArgs {
        url,
        prefix: args.redis_prefix.clone(),
        presence_ttl: Duration::from_secs(args.presence_ttl_seconds.max(3)),
    });
    // Held until the server stops: `chat restore` refuses to run under it.
    let _lock = match args.store.options.mongo_url {
        None => Some(DataDirLock::shared(&args.store.data_dir)?),
        Some(_) => None,
    };
    let tls = match (&args.edge.tls_cert, &args.edge.tls_key) {
        (Some(cert), Some(key)) => Some(Tls::load(cert, key).context("cannot load TLS")?),
        _ => None,
    };
    let metrics = Metrics::install();
    let engine = backends::engine(&args.store, engine_config(&args), redis).await?;
    let state = AppState::new(engine, http_config(&args, open_files));
    let endpoints = Endpoints {
        main: bind(args.bind).await?,
        tls: tls.clone(),
        redirect: match args.edge.redirect_http {
            Some(address) => Some(bind(address).await?),
            None => None,
        },
        metrics: Some(metrics),
        metrics_listener: match args.edge.metrics_bind {
            Some(address) => Some(bind(address).await?),
            None => None,
        },
    };
    let address = endpoints.main.local_addr()?;
    let url = listen_url::open_url(address, tls.is_some());
    tracing::info!(
        %address,
        tls = tls.is_some(),
        redirect_http = ?args.edge.redirect_http,
        metrics_bind = ?args.edge.metrics_bind,
        web = ?state.config.web_dir,
        max_connections = state.config.max_connections,
        "chat server listening: open {url}"
    );
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: closing sockets and flushing the store");
        shutdown.cancel();
    });
    if let Some(tls) = tls {
        tokio::spawn(reload_on_hangup(tls, state.shutdown.clone()));
    }
    chat_http::serve_endpoints(endpoints, state).await?;
    tracing::info!("stopped");
    Ok(())
}

fn engine_config(args: &ServeArgs) -> EngineConfig {
    EngineConfig {
        max_message_bytes: args.max_message_bytes,
        max_sockets_per_user: args.max_sockets_per_user,
        socket_queue: args.socket_queue,
        max_sends_in_flight: args.max_sends_in_flight,
        send_wait_target: Duration::from_millis(args.send_wait_target_ms),
        scheduling_delay_target: Duration::from_millis(args.scheduling_delay_target_ms),
        ready_queue_limit: args.ready_queue_limit,
        ready_queue_wait_target: Duration::from_millis(args.ready_queue_wait_target_ms),
        max_room_members: args.max_room_members.max(2),
        quota: Quota {
            per_second: args.rate_per_second,
            burst: args.rate_burst,
        },
        token_lifetime: Duration::from_secs(args.token_hours * 3600),
        password_pool: password_pool(args),
        attempts: AttemptLimits {
            login_per_address: AttemptQuota {
                per_minute: args.login_rate_per_minute,
                burst: args.login_rate_burst,
            },
            login_per_account: AttemptQuota {
                per_minute: args.account_login_rate_per_minute,
                burst: args.account_login_rate_burst,
            },
            register_per_address: AttemptQuota {
                per_minute: args.register_rate_per_minute,
                burst: args.register_rate_burst,
            },
            upload_per_user: AttemptQuota {
                per_minute: args.upload_rate_per_minute,
                burst: args.upload_rate_burst,
            },
        },
        max_file_bytes: args.max_file_bytes,
        unattached_file_ttl: Duration::from_secs(args.unattached_file_seconds.max(1)),
        file_sweep_interval: sweep_interval(args.unattached_file_seconds),
        ..EngineConfig::default()
    }
}

/// How often unattached files are looked for: a tenth of their lifetime, between a second
/// and ten minutes, so a file outlives its time by at most a tenth of it (or ten minutes).
fn sweep_interval(unattached_file_seconds: u64) -> Duration {
    Duration::from_secs((unattached_file_seconds / 10).clamp(1, 600))
}

fn password_pool(args: &ServeArgs) -> PoolLimits {
    let defaults = PoolLimits::default();
    let workers = args.password_workers.unwrap_or(defaults.workers).max(1);
    PoolLimits {
        workers,
        queue: args.password_queue.unwrap_or(16 * workers),
        ..defaults
    }
}

fn http_config(args: &ServeArgs, open_files: u64) -> HttpConfig {
    let limits = &args.connections;
    HttpConfig {
        allowed_origins: args.allowed_origins.clone(),
        web_dir: args.web_dir.clone().or_else(find_web_dir),
        secure_cookies: args.secure_cookies,
        trust_forwarded_proto: args.edge.trust_forwarded_proto,
        trusted_proxies: args.edge.trusted_proxies.clone(),
        max_frame_bytes: args.max_frame_bytes,
        ping_interval: Duration::from_secs(args.ping_seconds.max(1)),
        idle_timeout: Duration::from_secs(args.idle_seconds.max(1)),
        write_timeout: Duration::from_secs(limits.write_timeout_seconds.max(1)),
        header_timeout: Duration::from_secs(limits.header_timeout_seconds.max(1)),
        max_connections: limits.max_connections.unwrap_or_else(|| {
            usize::try_from(open_files.saturating_sub(OPEN_FILES_RESERVE).max(64))
                .unwrap_or(usize::MAX)
        }),
        max_connections_per_ip: limits.max_connections_per_ip.max(1),
        shutdown_timeout: Duration::from_secs(limits.shutdown_seconds),
        server_api_key: args.server_api_key.clone().and_then(ServerApiKey::new),
        ..HttpConfig::default()
    }
}

/// Descriptors kept free of connections: the store, logs, Redis and MongoDB clients.
const OPEN_FILES_RESERVE: u64 = 256;

/// Raises the open-files soft limit to the hard limit (every connection is one); returns
/// the limit in force.
fn raise_open_files_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!(error = %err, "cannot raise the open-files limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// The built web client, looked for where a checkout or an install puts it.
fn find_web_dir() -> Option<PathBuf> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let mut candidates = vec![PathBuf::from("web/dist")];
    if let Some(dir) = exe_dir {
        candidates.push(dir.join("../../web/dist"));
        candidates.push(dir.join("web"));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("index.html").is_file())
        .and_then(|dir| dir.canonicalize().ok())
}

async fn bind(address: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))
}

/// Re-reads the certificate and key on every SIGHUP until shutdown; a bad pair is logged and
/// the one in use stays.
async fn reload_on_hangup(tls: Tls, shutdown: tokio_util::sync::CancellationToken) {
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(stream) => stream,
        Err(err) => {
            tracing::warn!(error = %err, "cannot watch SIGHUP; certificates will not reload");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = hangups.recv() => match tls.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(err) => tracing::error!(error = %err, "TLS reload failed; keeping the certificate in use"),
            },
        }
    }
}

async fn wait_for_signal() {
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate => {},
    }
}
