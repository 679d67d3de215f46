//! `chat bench`: an honest load generator over real WebSockets.
//!
//! A run prepares a population of users paired in direct rooms ([`population`], [`tokens`]),
//! optionally starts a server ([`spawn`]), opens the sockets ([`connect`], one task each in
//! [`socket`], grouped in a [`fleet`]), then either sends on an open-loop schedule
//! ([`load`], searched upward by [`find_max`]) or holds the sockets idle ([`idle`]). Every
//! event goes through the [`collector`] into the step's [`accounting`] ledger (lost,
//! duplicated, out of order) and [`latency`] histograms; [`report`] and [`plot`] present
//! the results. [`procstat`] reads the server's memory and CPU from /proc, [`fds`] raises
//! the open-files limit, [`frames`] is the protocol as the bench speaks it.

mod accounting;
mod args;
mod collector;
mod connect;
mod fds;
mod find_max;
mod fleet;
mod frames;
mod idle;
mod latency;
mod load;
mod plot;
mod population;
mod procstat;
mod report;
mod socket;
mod spawn;
mod tokens;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

pub use args::BenchArgs;

use accounting::MAX_ROOM_SOCKETS;
use collector::Collector;
use connect::{Login, Target};
use fleet::Fleet;
use report::{ConnectPhase, Report};

/// Pause after the connect phase before reading the server's memory, so the work sockets
/// trigger (presence announcements) has settled.
const SETTLE: Duration = Duration::from_millis(500);

/// Runs `chat bench`.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let sockets = args.socket_count();
    anyhow::ensure!(
        args.users >= 2,
        "--users must be at least 2 (one direct room)"
    );
    anyhow::ensure!(sockets >= 1, "--sockets must be at least 1");
    let per_user = sockets.div_ceil(args.users);
    anyhow::ensure!(
        2 * per_user <= MAX_ROOM_SOCKETS,
        "at most {} sockets per user",
        MAX_ROOM_SOCKETS / 2
    );
    let bench_fds = fds::raise(sockets);

    let temp = match (args.spawn, &args.data_dir) {
        (true, None) => Some(tempfile::Builder::new().prefix("chat-bench-").tempdir()?),
        _ => None,
    };
    let data_dir: Option<PathBuf> = args
        .data_dir
        .clone()
        .or_else(|| temp.as_ref().map(|dir| dir.path().to_owned()));
    let secret = args.jwt_secret.as_deref();

    eprintln!(
        "preparing {} users in {} direct rooms",
        args.users,
        args.users / 2
    );
    let (population, tokens, setup) = match &data_dir {
        Some(dir) => {
            let store = population::store_args(dir, secret)?;
            let (population, setup) =
                population::prepare_in_store(&store, &args.domain, args.users).await?;
            let tokens = tokens::mint(dir, secret, &population.users)?;
            (population, tokens, setup)
        }
        None => {
            let url = args
                .url
                .as_deref()
                .context("give --url, --spawn or --data-dir")?;
            population::prepare_via_api(url, &args.domain, args.users).await?
        }
    };

    let spawned = match (&data_dir, args.spawn) {
        (Some(dir), true) => Some(
            spawn::start(spawn::Options {
                data_dir: dir,
                jwt_secret: secret,
                sockets_per_user: per_user,
                cpus: args.server_cpus.as_deref(),
            })
            .await?,
        ),
        _ => None,
    };
    let url = match (&spawned, &args.url) {
        (Some(server), _) => server.url.clone(),
        (None, Some(url)) => url.clone(),
        (None, None) => anyhow::bail!("give --url or --spawn"),
    };
    let server_pid = spawned
        .as_ref()
        .map(|server| server.pid)
        .or(args.server_pid);
    let fd_limits = fds::FdLimits {
        bench: bench_fds,
        server: server_pid.and_then(|pid| fds::check_server(pid, sockets)),
    };

    let target = Target::resolve(&url, &args.source_addrs, sockets).await?;
    let collector = Arc::new(Collector::new(rand::random(), args.drop_every));
    let logins: Vec<Login> = (0..sockets)
        .map(|socket| {
            let user = socket % args.users;
            Login {
                user_id: population.users[user].to_string(),
                token: tokens[user].clone(),
            }
        })
        .collect();
    let server_before = server_pid.and_then(|pid| procstat::sample(Some(pid)));
    let bench_before = procstat::sample(None);
    eprintln!("opening {sockets} sockets to {url}");
    let (handles, connected) = connect::open_all(
        &target,
        &logins,
        args.connect_rate,
        args.connect_concurrency,
        &collector,
    )
    .await;
    tokio::time::sleep(SETTLE).await;
    let server_after = server_pid.and_then(|pid| procstat::sample(Some(pid)));
    let fleet = Fleet::new(&population, handles);
    let connect = ConnectPhase {
        server_rss_before: server_before.map(|sample| sample.rss_bytes),
        server_rss_after: server_after.map(|sample| sample.rss_bytes),
        server_bytes_per_socket: match (server_before, server_after) {
            (Some(before), Some(after)) if connected.opened > 0 => {
                Some((after.rss_bytes as f64 - before.rss_bytes as f64) / connected.opened as f64)
            }
            _ => None,
        },
        report: connected,
    };

    let plan = load::Plan {
        rate: args.rate,
        duration: args.duration,
        warmup: args.warmup.min(args.duration),
        drain: args.drain,
        message_bytes: args.message_bytes,
    };
    let (steps, find_max, idle) = if let Some(hold) = args.idle {
        eprintln!("holding {} sockets idle for {hold:?}", fleet.open());
        let idle = idle::hold(&fleet, hold, server_pid, server_before, bench_before).await;
        (Vec::new(), None, Some(idle))
    } else if args.find_max {
        let search = find_max::Search {
            first: plan,
            factor: args.step_factor.max(1.01),
            max_steps: args.max_steps.max(1),
            max_p99_ms: args.max_p99_ms,
        };
        let (steps, outcome) =
            find_max::run(search, &fleet, &collector, server_pid, args.json).await?;
        (steps, Some(outcome), None)
    } else {
        eprintln!("sending {} messages/s for {:?}", args.rate, args.duration);
        let step = load::run(0, plan, &fleet, &collector, server_pid).await?;
        (vec![step], None, None)
    };
    fleet.close().await;
    if let Some(server) = spawned {
        server.stop().await?;
    }

    let report = Report {
        url,
        spawned: args.spawn,
        users: population.users.len(),
        rooms: population.rooms.len(),
        setup,
        fd_limits,
        connect,
        steps,
        find_max,
        idle,
    };
    if let Some(path) = &args.plot {
        plot::write(path, &report.steps)
            .with_context(|| format!("cannot write the plot {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    drop(temp);
    Ok(())
}
