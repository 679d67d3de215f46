//! File-descriptor limits: every socket is one, on both sides.

use serde::Serialize;

/// Descriptors the bench needs besides its sockets.
const SPARE: u64 = 1024;

/// The open-files limits that matter for a run.
#[derive(Debug, Clone, Serialize)]
pub struct FdLimits {
    /// This process's soft limit after raising it.
    pub bench: u64,
    /// The server's soft limit, when its pid is known.
    pub server: Option<u64>,
}

/// Raises this process's open-files limit to fit `sockets` (as root, the hard limit too),
/// and warns on stderr when it or the server's stays too low. A spawned server inherits the
/// raised limit.
pub fn raise(sockets: usize) -> u64 {
    let want = sockets as u64 + SPARE;
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((0, 0));
    if soft >= want {
        return soft;
    }
    if hard < want && rlimit::setrlimit(rlimit::Resource::NOFILE, want, want).is_ok() {
        return want;
    }
    let raised = rlimit::increase_nofile_limit(want).unwrap_or(soft);
    if raised < want {
        eprintln!(
            "warning: open-files limit is {raised}, below the {want} that {sockets} sockets need; \
             raise it (ulimit -n, or run as root)"
        );
    }
    raised
}

/// The soft open-files limit of process `pid`, warning when it cannot hold `sockets`.
pub fn check_server(pid: u32, sockets: usize) -> Option<u64> {
    let limits = rlimit::ProcLimits::read_process(pid as i32).ok()?;
    let soft = limits.max_open_files?.soft_limit?;
    if soft < sockets as u64 + 64 {
        eprintln!(
            "warning: the server (pid {pid}) may open only {soft} files, fewer than {sockets} \
             sockets; raise its limit (e.g. prlimit --nofile=N --pid {pid})"
        );
    }
    Some(soft)
}
