//! The host example as a program: `cargo run -p chat-examples`, then sign in with
//! `curl -c jar -d '{"username":"alice","password":"alice-pw"}' -H 'content-type: application/json' http://127.0.0.1:8080/login`
//! and call chat under `/chat` with that cookie.

use std::time::Duration;

use anyhow::Context;
use chat_examples::{announcer, host};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let address = std::env::var("HOST_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("binding {address}"))?;
    let app = host::Host::new(host::engine(), host::accounts(Duration::from_secs(3600))).await?;
    let stop = CancellationToken::new();
    let digests = announcer::spawn(
        app.engine().clone(),
        app.lobby(),
        Duration::from_secs(60),
        stop.clone(),
    );
    let running = host::serve(app, listener)?;
    tracing::info!(addr = %running.addr, "host example serving; chat at /chat");
    tokio::signal::ctrl_c().await?;
    stop.cancel();
    digests.await?;
    running.shutdown().await;
    Ok(())
}
