//! `--spawn`: a `chat serve` on a free loopback port, over the store the bench prepared, with
//! the limits a load test needs raised, optionally pinned to some CPUs; stopped when the bench
//! ends. The `chat` binary is `--server-bin` (`CHAT_BIN`), else the one beside this binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use chat_cli::StoreArgs;
use tokio::process::{Child, Command};

/// How long the server may take to answer `/healthz`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// High enough to never limit a load test.
const UNLIMITED_RATE: u32 = 1_000_000_000;

/// A server the bench started.
pub struct Spawned {
    child: Child,
    /// Its pid, to read /proc.
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its log file.
    pub log: PathBuf,
}

/// How to start the server.
pub struct Options<'a> {
    /// The `chat` binary (see [`server_binary`]).
    pub server_bin: &'a Path,
    /// Its data dir, secret and store; the secret and the MongoDB URL go through the
    /// environment, not the command line, so `ps` does not show them.
    pub store: &'a StoreArgs,
    /// Most sockets one user will open.
    pub sockets_per_user: usize,
    /// `taskset` CPU list to pin it to.
    pub cpus: Option<&'a str>,
}

/// Starts the server and waits until it answers.
pub async fn start(options: Options<'_>) -> anyhow::Result<Spawned> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let exe = options.server_bin;
    // taskset execs the server, so the child's pid is the server's.
    let mut command = match options.cpus {
        Some(cpus) => {
            let mut taskset = Command::new("taskset");
            taskset.arg("-c").arg(cpus).arg(exe);
            taskset
        }
        None => Command::new(exe),
    };
    let store = options.store;
    let log = store.data_dir.join("bench-server.log");
    let log_file =
        std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    command
        .arg("serve")
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&store.data_dir)
        .arg("--rate-per-second")
        .arg(UNLIMITED_RATE.to_string())
        .arg("--rate-burst")
        .arg(UNLIMITED_RATE.to_string())
        .arg("--max-sockets-per-user")
        .arg(options.sockets_per_user.max(1).to_string())
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .kill_on_drop(true);
    let environment = [
        ("CHAT_JWT_SECRET", &store.options.jwt_secret),
        ("CHAT_MONGO_URL", &store.options.mongo_url),
        ("CHAT_MONGO_DB", &store.options.mongo_db),
    ];
    for (name, value) in environment {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    let child = command.spawn().context("cannot start the server")?;
    let pid = child.id().context("the server exited at once")?;
    let mut spawned = Spawned {
        child,
        pid,
        url: format!("http://127.0.0.1:{port}"),
        log,
    };
    spawned.wait_ready().await?;
    Ok(spawned)
}

/// The `chat` binary to start: the flag's, else `chat` in this binary's folder; checked
/// before the bench spends time on its population.
pub fn server_binary(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match flag {
        Some(path) => path.to_owned(),
        None => std::env::current_exe()
            .context("cannot find this binary's folder")?
            .with_file_name("chat"),
    };
    anyhow::ensure!(
        path.is_file(),
        "no chat binary at {} to spawn: build it (cargo build -p chat-cli, with the same \
         --release as this one) or name it with --server-bin / CHAT_BIN",
        path.display()
    );
    Ok(path)
}

impl Spawned {
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "the server exited ({status}); see {}:\n{}",
                    self.log.display(),
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            let health = client.get(format!("{}/healthz", self.url)).send().await;
            if health.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < READY_TIMEOUT,
                "the server did not answer within {READY_TIMEOUT:?}; see {}",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asks the server to stop (SIGTERM, so it flushes its store), and kills it if it lingers.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let asked = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await
            .is_ok_and(|status| status.success());
        if asked
            && tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
                .await
                .is_ok()
        {
            return Ok(());
        }
        self.child.kill().await?;
        Ok(())
    }
}
