//! One run: population, optional server, sockets, then load steps or an idle hold, and the
//! report.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chat_cli::StoreArgs;

use crate::args::BenchArgs;
use crate::collector::Collector;
use crate::connect::{self, Login, Target};
use crate::fleet::{Fleet, RoomPlan};
use crate::frames::Protocol;
use crate::population::Setup;
use crate::report::{ConnectPhase, Report};
use crate::{
    centrifugo, fds, find_max, idle, load, plot, population, procstat, soak, spawn, tokens,
};

/// Pause after the connect phase before reading the server's memory, so the work sockets
/// trigger (presence announcements) has settled.
const SETTLE: Duration = Duration::from_millis(500);
/// Pause between the steps of `--rates`, so one step's stragglers do not load the next.
const PAUSE: Duration = Duration::from_secs(2);

/// Runs the bench the flags describe and prints its report.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let sockets = args.socket_count();
    let users = args.user_count();
    let room_size = args.room_size as usize;
    anyhow::ensure!(
        users >= room_size,
        "--users must be at least --room-size ({room_size}), for one room"
    );
    anyhow::ensure!(sockets >= 1, "--sockets must be at least 1");
    let per_user = sockets.div_ceil(users);
    let bench_fds = fds::raise(sockets);
    let server_bin = args
        .spawn
        .then(|| spawn::server_binary(args.server_bin.as_deref()))
        .transpose()?;

    let temp = match (args.spawn, &args.data_dir) {
        (true, None) => Some(tempfile::Builder::new().prefix("chat-bench-").tempdir()?),
        _ => None,
    };
    let store: Option<StoreArgs> = args
        .data_dir
        .clone()
        .or_else(|| temp.as_ref().map(|dir| dir.path().to_owned()))
        .map(|dir| args.store(dir));

    eprintln!(
        "preparing {} users in {} rooms of {room_size}",
        users,
        users / room_size
    );
    let (rooms, user_paths, setup) = match args.target {
        Protocol::Centrifugo => {
            anyhow::ensure!(
                !args.spawn,
                "--spawn starts chat, not Centrifugo: give --url"
            );
            (
                centrifugo::rooms(users, room_size),
                Vec::new(),
                Setup::default(),
            )
        }
        Protocol::Chat => {
            let (population, tokens, setup) = match &store {
                Some(store) => {
                    let (population, setup) =
                        population::prepare_in_store(store, &args.domain, users, room_size).await?;
                    let tokens = tokens::mint(store, &population.users)?;
                    (population, tokens, setup)
                }
                None => {
                    let url = args
                        .url
                        .as_deref()
                        .context("give --url, --spawn or --data-dir")?;
                    population::prepare_via_api(url, &args.domain, users, room_size).await?
                }
            };
            let rooms = population
                .rooms_of(room_size)
                .iter()
                .map(|room| RoomPlan {
                    name: room.id.to_string(),
                    members: room.members.clone(),
                })
                .collect();
            let paths = population
                .users
                .iter()
                .zip(&tokens)
                .map(|(user, token)| format!("/ws/{user}?token={token}"))
                .collect();
            (rooms, paths, setup)
        }
    };

    let spawned = match (&store, &server_bin) {
        (Some(store), Some(server_bin)) => Some(
            spawn::start(spawn::Options {
                server_bin,
                store,
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
    let logins = match args.target {
        Protocol::Chat => (0..sockets)
            .map(|socket| Login {
                path: user_paths[socket % users].clone(),
                subscribe: None,
            })
            .collect::<Vec<_>>(),
        Protocol::Centrifugo => {
            let secret = args
                .hmac_secret
                .as_deref()
                .context("--target centrifugo needs --hmac-secret")?;
            let mut channels = vec![Vec::new(); users];
            for room in &rooms {
                for member in &room.members {
                    channels[*member].push(room.name.clone());
                }
            }
            let tokens = (0..users)
                .map(|user| centrifugo::token(secret, &centrifugo::user_name(user)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            (0..sockets)
                .map(|socket| Login {
                    path: target.path.clone(),
                    subscribe: Some((
                        tokens[socket % users].clone(),
                        channels[socket % users].clone(),
                    )),
                })
                .collect()
        }
    };
    let server_before = server_pid.and_then(|pid| procstat::sample(Some(pid)));
    let bench_before = procstat::sample(None);
    eprintln!("opening {sockets} sockets to {url}");
    let (handles, connected) = connect::open_all(
        &target,
        args.target,
        &logins,
        args.connect_rate,
        args.connect_concurrency,
        &collector,
    )
    .await;
    tokio::time::sleep(SETTLE).await;
    let server_after = server_pid.and_then(|pid| procstat::sample(Some(pid)));
    let mut fleet = Fleet::new(args.target, users, &rooms, handles);
    if args.target == Protocol::Chat {
        fleet.metrics_url = Some(format!("{}/metrics", url.trim_end_matches('/')));
    }
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
    let mut soaked = None;
    let (steps, find_max, idle) = if let Some(hold) = args.idle {
        eprintln!("holding {} sockets idle for {hold:?}", fleet.open());
        let idle = idle::hold(&fleet, hold, server_pid, server_before, bench_before).await;
        (Vec::new(), None, Some(idle))
    } else if let Some(length) = args.soak {
        eprintln!(
            "soaking {} sockets with {} messages/s for {length:?}",
            fleet.open(),
            args.rate
        );
        let (steps, report) = soak::run(
            length,
            args.soak_interval,
            plan,
            &fleet,
            &collector,
            server_pid,
        )
        .await?;
        soaked = Some(report);
        (steps, None, None)
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
    } else if !args.rates.is_empty() {
        let mut steps = Vec::new();
        for (number, &rate) in args.rates.iter().enumerate() {
            if number > 0 {
                tokio::time::sleep(PAUSE).await;
            }
            eprintln!(
                "step {number}: sending {rate} messages/s for {:?}",
                args.duration
            );
            let plan = load::Plan { rate, ..plan };
            steps.push(load::run(number as u32, plan, &fleet, &collector, server_pid).await?);
        }
        (steps, None, None)
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
        users,
        rooms: rooms.len(),
        room_size,
        setup,
        fd_limits,
        connect,
        steps,
        find_max,
        idle,
        soak: soaked,
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
