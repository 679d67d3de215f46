//! Running the server: accept until shutdown, then close sockets with 1001 and flush.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::router::router;
use crate::state::AppState;

/// Serves `state` on `listener` until `state.shutdown` is cancelled; then stops accepting,
/// lets every socket send its close frame, and flushes the store.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = router(state.clone());
    let shutdown = state.shutdown.clone();
    // The client's address (`ConnectInfo`) is what login and register limits count by.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await?;
    state.sockets.close();
    state.sockets.wait().await;
    if let Err(err) = state.engine.shutdown().await {
        tracing::error!(error = %err, "flushing the store at shutdown failed");
    }
    Ok(())
}
