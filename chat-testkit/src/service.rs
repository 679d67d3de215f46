//! Private Redis and FerretDB servers for fault tests: each on a free port with its data in a
//! directory of its own, to be killed, frozen and started again on the same port and data
//! without disturbing the servers the other tests share.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::env::{self, FERRETDB_BIN, REDIS_SERVER_BIN};
use crate::process::Process;

/// How long a server may take to listen, on a loaded CI machine.
const START_LIMIT: Duration = Duration::from_secs(30);

/// A database or cache server this test owns; killed when dropped.
pub struct Service {
    // Dropped first: the process is killed before its directory goes.
    process: Process,
    scheme: &'static str,
    port: u16,
    _dir: TempDir,
}

impl Service {
    /// An empty in-memory Redis from [`REDIS_SERVER_BIN`], started and listening; `None`
    /// (skip) when the variable is unset, see [`env::service`].
    pub fn redis() -> Option<Service> {
        let bin = env::service(REDIS_SERVER_BIN)?;
        Some(Service::started("redis", &bin, |dir, port| {
            let dir = dir.display().to_string();
            [
                "--bind",
                "127.0.0.1",
                "--port",
                &port,
                "--dir",
                &dir,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ]
            .map(String::from)
            .to_vec()
        }))
    }

    /// A FerretDB on SQLite from [`FERRETDB_BIN`], started and listening; `None` (skip) when
    /// the variable is unset, see [`env::service`]. Its data survives a restart.
    pub fn ferretdb() -> Option<Service> {
        let bin = env::service(FERRETDB_BIN)?;
        Some(Service::started("mongodb", &bin, |dir, port| {
            let (data, state) = (dir.join("data"), dir.join("state"));
            for made in [&data, &state] {
                std::fs::create_dir_all(made).expect("service directory");
            }
            vec![
                "--handler=sqlite".into(),
                format!("--sqlite-url=file:{}/", data.display()),
                format!("--listen-addr=127.0.0.1:{port}"),
                format!("--state-dir={}", state.display()),
                "--debug-addr=-".into(),
                "--telemetry=disable".into(),
                "--log-level=warn".into(),
            ]
        }))
    }

    fn started(
        scheme: &'static str,
        bin: &str,
        args: impl FnOnce(&std::path::Path, String) -> Vec<String>,
    ) -> Service {
        let dir = tempfile::tempdir().expect("service directory");
        let port = free_port();
        let args = args(dir.path(), port.to_string());
        let mut service = Service {
            process: Process::new(bin, args, dir.path().join("service.log")),
            scheme,
            port,
            _dir: dir,
        };
        service.restart();
        service
    }

    /// `redis://127.0.0.1:PORT/` or `mongodb://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}/", self.scheme, self.port)
    }

    /// The port it listens on, the same after every restart.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts it (again, killing it first if it runs) and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.process.start();
        let deadline = Instant::now() + START_LIMIT;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            self.process.assert_running();
            assert!(
                Instant::now() < deadline,
                "{} did not listen within {START_LIMIT:?}:\n{}",
                self.url(),
                self.process.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, like a crash: connections drop at once.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// SIGSTOP, like a hung or partitioned server: connections stay open, nothing answers.
    pub fn freeze(&self) {
        self.process.freeze();
    }

    /// SIGCONT after [`Service::freeze`].
    pub fn thaw(&self) {
        self.process.thaw();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}
