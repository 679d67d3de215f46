//! Limits of the server's own process, set before it serves.

use tokio::signal::unix::{SignalKind, signal};

/// Raises the soft limit on open files to the hard limit: every socket is a file, and the
/// common soft default (1,024) caps a server at about a thousand clients.
pub fn raise_fd_limit() {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE);
    match (before, rlimit::increase_nofile_limit(u64::MAX)) {
        (Ok((soft, _)), Ok(raised)) if raised > soft => {
            tracing::info!(from = soft, to = raised, "raised the open-files limit");
        }
        (Ok((soft, hard)), Ok(_)) => {
            tracing::info!(limit = soft, hard, "open-files limit");
        }
        (_, Err(error)) | (Err(error), _) => {
            tracing::warn!(%error, "cannot raise the open-files limit");
        }
    }
}

/// Makes a write past the process's file-size limit (`ulimit -f`, systemd's `LimitFSIZE`)
/// fail like a write to a full disk, which the store reports as unavailable, instead of
/// killing the server with SIGXFSZ. A handled signal stays handled for the life of the
/// process, so the stream can be dropped at once.
pub fn survive_file_size_limit() -> std::io::Result<()> {
    signal(SignalKind::from_raw(libc::SIGXFSZ)).map(drop)
}
