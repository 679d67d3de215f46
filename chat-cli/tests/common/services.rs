//! Private FerretDB and Redis instances for fault tests: started on a chosen port, killed and
//! started again on the same port and data.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A database or cache server process this test owns.
pub struct Service {
    program: PathBuf,
    args: Vec<String>,
    pub port: u16,
    child: Option<Child>,
}

impl Service {
    /// FerretDB on SQLite in `dir`, on `port`.
    pub fn ferretdb(bin: &str, dir: &Path, port: u16) -> Service {
        let data = dir.join("ferretdb-data");
        std::fs::create_dir_all(&data).unwrap();
        let args = vec![
            "--handler=sqlite".into(),
            format!("--sqlite-url=file:{}/", data.display()),
            format!("--listen-addr=127.0.0.1:{port}"),
            format!("--state-dir={}", dir.join("ferretdb-state").display()),
            "--debug-addr=-".into(),
            "--telemetry=disable".into(),
            "--log-level=error".into(),
        ];
        Service::started(bin, args, port)
    }

    /// An in-memory Redis on `port`.
    pub fn redis(bin: &str, port: u16) -> Service {
        let args = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        Service::started(bin, args, port)
    }

    fn started(bin: &str, args: Vec<String>, port: u16) -> Service {
        let mut service = Service {
            program: bin.into(),
            args,
            port,
            child: None,
        };
        service.start();
        service
    }

    /// Starts the process and waits until its port accepts connections.
    pub fn start(&mut self) {
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start service");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} never listened",
                self.program.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}
