//! How the server's process reacts to its own resource limits.

use tokio::signal::unix::{SignalKind, signal};

/// Makes a write past the process's file-size limit (`ulimit -f`, systemd's `LimitFSIZE`)
/// fail like a write to a full disk, which the store reports as unavailable and readiness
/// as failing, instead of killing the server with SIGXFSZ. A handled signal stays handled
/// for the life of the process, so the stream can be dropped at once.
pub fn survive_file_size_limit() -> std::io::Result<()> {
    signal(SignalKind::from_raw(libc::SIGXFSZ)).map(drop)
}
