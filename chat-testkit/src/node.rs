//! A `chat serve` process on a port of its own, for end-to-end tests: started from the binary
//! cargo built for the test, killed with SIGKILL and started again on the same port and data.

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::process::Process;
use crate::service::free_port;

/// The token secret of every node, so that a token works on all nodes of one test.
pub const SECRET: &str = "end-to-end-test-secret";

/// How long a node may take to answer `/healthz`, migrations and a loaded machine included.
const START_LIMIT: Duration = Duration::from_secs(30);

/// One `chat serve` process. It derefs to the [`Client`] that talks to it, so a test calls
/// `node.register(..)` as it would on an in-process server; killed when dropped.
pub struct Node {
    client: Client,
    process: Process,
    /// Its SQLite file and token secret, unless flags say otherwise; also its log.
    pub data_dir: PathBuf,
}

impl Node {
    /// Starts `program` (the test's `env!("CARGO_BIN_EXE_chat")`) as
    /// `chat serve --bind 127.0.0.1:PORT --data-dir DATA_DIR --jwt-secret SECRET FLAGS...`
    /// and waits until it answers `/healthz`.
    pub async fn start(program: impl Into<PathBuf>, data_dir: &Path, flags: &[String]) -> Node {
        let mut with_secret = vec!["--jwt-secret".into(), SECRET.into()];
        with_secret.extend(flags.iter().cloned());
        Node::start_with_own_secret(program, data_dir, &with_secret).await
    }

    /// Like [`Node::start`] without `--jwt-secret`: the server generates its token secret and
    /// keeps it in the data dir, as it does in production when none is given.
    pub async fn start_with_own_secret(
        program: impl Into<PathBuf>,
        data_dir: &Path,
        flags: &[String],
    ) -> Node {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let mut args: Vec<String> = vec!["serve".into(), "--bind".into(), addr.to_string()];
        args.extend(["--data-dir".into(), data_dir.display().to_string()]);
        args.extend(flags.iter().cloned());
        std::fs::create_dir_all(data_dir).expect("node data directory");
        let log = data_dir.join(format!("node-{}.log", addr.port()));
        let mut node = Node {
            client: Client::new(addr),
            process: Process::new(program, args, log).env("RUST_LOG", "info"),
            data_dir: data_dir.to_path_buf(),
        };
        node.restart().await;
        node
    }

    /// Starts the node again (killing it first if it runs) on the same port, data and flags,
    /// and waits until it answers `/healthz`.
    pub async fn restart(&mut self) {
        self.process.start();
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Ok(response) = self.http.get(self.url("/healthz")).send().await
                && response.status().is_success()
            {
                return;
            }
            self.process.assert_running();
            assert!(
                Instant::now() < deadline,
                "chat serve did not become healthy within {START_LIMIT:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no flush, no goodbye.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// SIGTERM, then waits up to `wait` for a graceful exit: its exit status, or `None` (and a
    /// SIGKILL) if it did not exit in time.
    pub async fn terminate(&mut self, wait: Duration) -> Option<ExitStatus> {
        self.process.terminate();
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Some(status) = self.process.exit_status() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.process.kill();
        None
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// What the node logged so far.
    pub fn log_text(&self) -> String {
        self.process.log_text()
    }
}

impl Deref for Node {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}
