//! A child process that a test owns: its output goes to a log file (shown when it fails to
//! start), it can be killed, frozen and started again with the same arguments, and it is
//! killed when the test ends, by a panic too.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};

/// One program with its arguments, running or not.
pub struct Process {
    program: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Process {
    /// A process of `program` with `args`, not started yet; its stdout and stderr will be
    /// appended to `log`.
    pub fn new(program: impl Into<PathBuf>, args: Vec<String>, log: PathBuf) -> Process {
        Process {
            program: program.into(),
            args,
            envs: Vec::new(),
            log,
            child: None,
        }
    }

    /// Sets an environment variable for every start.
    pub fn env(mut self, key: &str, value: &str) -> Process {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Starts the program, first killing the running one if any.
    pub fn start(&mut self) {
        self.kill();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|error| panic!("cannot open {}: {error}", self.log.display()));
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.envs.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.name()));
        self.child = Some(child);
    }

    /// Panics with the log if the process has exited: for start-up loops, so that a program
    /// that fails at once is reported at once rather than at a timeout.
    pub fn assert_running(&mut self) {
        let exited = match self.child.as_mut() {
            Some(child) => child.try_wait().expect("wait for child"),
            None => panic!("{} is not started", self.name()),
        };
        if let Some(status) = exited {
            panic!("{} exited with {status}:\n{}", self.name(), self.log_text());
        }
    }

    /// SIGKILL, like a crash or an OOM kill, and waits until it is gone. Nothing if not
    /// running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // It may have exited by itself already; either way it is reaped below.
            let _already_gone = child.kill();
            let _status = child.wait();
        }
    }

    /// SIGTERM: asks the process to shut down gracefully; see [`Process::exit_status`].
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    /// How the process ended, once it has: `None` while it runs (or was never started).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().expect("wait for child")?;
        self.child = None;
        Some(status)
    }

    /// The running process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the process is running").id()
    }

    /// SIGSTOP: the process keeps its connections but answers nothing, like a hung or
    /// partitioned server.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: a frozen process goes on.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the process is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {} failed", self.name());
    }

    /// Everything the process wrote so far, over all its starts.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn name(&self) -> String {
        self.program.display().to_string()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_logged_and_a_dead_process_is_reported_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let script = "echo started; echo \"$GREETING\" >&2; exit 3";
        let mut process = Process::new(
            "sh",
            vec!["-c".into(), script.into()],
            dir.path().join("log"),
        )
        .env("GREETING", "hello");
        process.start();
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            loop {
                process.assert_running();
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }));
        let message = *report.unwrap_err().downcast::<String>().unwrap();
        assert!(message.contains("exited with exit status: 3"), "{message}");
        assert!(message.ends_with("started\nhello\n"), "{message}");
    }

    /// Waits until the log reads `expected`.
    fn await_log(process: &Process, expected: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while process.log_text() != expected {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}",
                process.log_text()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn kill_stops_a_running_process_and_start_runs_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut process = Process::new(
            "sh",
            vec!["-c".into(), "echo up; exec sleep 60".into()],
            dir.path().join("log"),
        );
        process.start();
        await_log(&process, "up\n");
        process.freeze();
        process.thaw();
        process.assert_running();
        process.kill();
        assert!(process.child.is_none(), "killed and reaped");
        process.start();
        await_log(&process, "up\nup\n");
        process.assert_running();
    }
}
