//! The connect phase: opens the sockets at a steady rate from one or more source addresses
//! (for Centrifugo, connecting and subscribing each), with a progress bar, and reports the
//! connect rate and failures.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::centrifugo;
use crate::collector::Collector;
use crate::frames::Protocol;
use crate::socket::{self, SocketHandle};

/// Sockets per source address when the bench picks loopback sources itself. Binding port 0
/// searches the address's ephemeral range (28,232 ports by default) for a free port, which
/// slows down as the range fills: 18,900 sockets from one address connected at 400/s,
/// from four at 3,000/s.
const SOCKETS_PER_SOURCE: usize = 5_000;
/// Longest one connect and handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where sockets go and where they come from.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port` as the URL names it, for the socket URLs.
    pub authority: String,
    /// The path of a `ws://` URL (Centrifugo's endpoint), empty for `http://`.
    pub path: String,
    /// The resolved server address.
    pub address: SocketAddr,
    /// Local addresses to bind, in turn; empty lets the kernel choose.
    pub sources: Vec<IpAddr>,
}

impl Target {
    /// Resolves an `http://host:port` URL (chat) or a `ws://host:port/path` one
    /// (Centrifugo); loopback targets get enough 127.0.0.x sources for `sockets` unless
    /// `sources` names some.
    pub async fn resolve(url: &str, sources: &[IpAddr], sockets: usize) -> anyhow::Result<Self> {
        let (authority, path) = if let Some(rest) = url.strip_prefix("ws://") {
            let split = rest.find('/').unwrap_or(rest.len());
            (rest[..split].to_owned(), rest[split..].to_owned())
        } else {
            let authority = url
                .trim_end_matches('/')
                .strip_prefix("http://")
                .context("the server URL must start with http:// or ws:// (no TLS)")?
                .to_owned();
            anyhow::ensure!(
                !authority.contains('/'),
                "the server URL must be http://host:port"
            );
            (authority, String::new())
        };
        let address = tokio::net::lookup_host(&authority)
            .await
            .with_context(|| format!("cannot resolve {authority}"))?
            .next()
            .with_context(|| format!("{authority} has no address"))?;
        let sources = if !sources.is_empty() {
            sources.to_vec()
        } else if address.ip().is_loopback() && address.is_ipv4() {
            let count = sockets.div_ceil(SOCKETS_PER_SOURCE).clamp(1, 250);
            (1..=count as u8)
                .map(|last| IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Target {
            authority,
            path,
            address,
            sources,
        })
    }
}

/// What the connect phase achieved.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectReport {
    /// Sockets asked for.
    pub attempted: usize,
    /// Sockets open at the end of the phase.
    pub opened: usize,
    /// Failures by reason.
    pub failures: BTreeMap<String, u64>,
    /// Length of the phase.
    pub seconds: f64,
    /// Sockets opened per second.
    pub per_second: f64,
    /// Source addresses used.
    pub sources: Vec<IpAddr>,
}

/// One socket to open.
pub struct Login {
    /// The socket's path and query, e.g. `/ws/{user_id}?token=…`.
    pub path: String,
    /// Centrifugo: the connect token and the channels to subscribe to once open.
    pub subscribe: Option<(String, Vec<String>)>,
}

/// Opens one socket per login, `rate` per second with at most `concurrency` handshakes at
/// once. Returns the handles (`None` where opening failed) in login order.
pub async fn open_all(
    target: &Target,
    protocol: Protocol,
    logins: &[Login],
    rate: u32,
    concurrency: usize,
    collector: &Arc<Collector>,
) -> (Vec<Option<SocketHandle>>, ConnectReport) {
    let progress = ProgressBar::new(logins.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "connecting {bar:40} {pos}/{len} sockets, {per_sec}, eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(logins.len());
    for (number, login) in logins.iter().enumerate() {
        tokio::time::sleep_until((started + interval * number as u32).into()).await;
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let url = format!("ws://{}{}", target.authority, login.path);
        let subscribe = login.subscribe.clone();
        let source =
            (!target.sources.is_empty()).then(|| target.sources[number % target.sources.len()]);
        let address = target.address;
        let collector = collector.clone();
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            let opening = async {
                let mut stream = open(address, source, url).await?;
                if let Some((token, channels)) = &subscribe {
                    centrifugo::handshake(&mut stream, token, channels).await?;
                }
                Ok::<_, String>(stream)
            };
            let opened = tokio::time::timeout(CONNECT_TIMEOUT, opening).await;
            drop(permit);
            progress.inc(1);
            match opened {
                Ok(Ok(stream)) => Ok(socket::spawn(stream, number as u32, protocol, collector)),
                Ok(Err(reason)) => Err(reason),
                Err(_) => Err("timed out".to_owned()),
            }
        }));
    }
    let mut handles = Vec::with_capacity(tasks.len());
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        match task.await {
            Ok(Ok(handle)) => handles.push(Some(handle)),
            Ok(Err(reason)) => {
                *failures.entry(reason).or_default() += 1;
                handles.push(None);
            }
            Err(err) => {
                *failures.entry(err.to_string()).or_default() += 1;
                handles.push(None);
            }
        }
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let opened = handles.iter().flatten().count();
    let report = ConnectReport {
        attempted: logins.len(),
        opened,
        failures,
        seconds,
        per_second: opened as f64 / seconds.max(1e-9),
        sources: target.sources.clone(),
    };
    (handles, report)
}

type Socket = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn open(address: SocketAddr, source: Option<IpAddr>, url: String) -> Result<Socket, String> {
    let stream = match source {
        Some(source) => {
            let socket = if source.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            }
            .map_err(|err| format!("socket: {err}"))?;
            socket
                .bind(SocketAddr::new(source, 0))
                .map_err(|err| format!("bind {source}: {err}"))?;
            socket.connect(address).await
        }
        None => TcpStream::connect(address).await,
    }
    .map_err(|err| format!("connect: {err}"))?;
    stream
        .set_nodelay(true)
        .map_err(|err| format!("nodelay: {err}"))?;
    // Small buffers: tungstenite's 128 KiB default read buffer would cost the generator more
    // memory per socket than the server spends.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024);
    tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map(|(socket, _)| socket)
        .map_err(|err| match err {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                format!("refused: HTTP {}", response.status())
            }
            other => format!("handshake: {other}"),
        })
}
