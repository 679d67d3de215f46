//! `chat user list|show|disable|enable|delete`: accounts as operators see them, and the
//! actions that end a user's sessions through the engine's revocation path (so running
//! servers close the user's sockets: at once over `--redis-url`, else within 30 seconds).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chat_core::engine::validate;
use chat_core::model::Account;
use chat_core::store::Store;
use chat_core::{EngineConfig, UserId};

use crate::backends::{self, RedisArgs};
use crate::cli_ops::{NoticeArgs, UserDeleteArgs, UserDisableArgs, UserListArgs, UserPick};

/// Accounts read per store call while listing.
const PAGE: usize = 500;
/// How long a command waits for the engine to finish its work before it exits.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// The account an operator named by email or id.
pub async fn find(store: &Arc<dyn Store>, named: &str) -> anyhow::Result<Account> {
    let id = match named.parse::<UserId>() {
        Ok(id) => Some(id),
        Err(_) => {
            let email = validate::normalize_email(named)
                .with_context(|| format!("{named:?} is neither a user id nor an email"))?;
            store.credentials(&email).await?.map(|found| found.user.id)
        }
    };
    let account = match id {
        Some(id) => store.account(id).await?,
        None => None,
    };
    account.with_context(|| format!("no user {named}"))
}

/// `chat user list`.
pub async fn list(args: UserListArgs) -> anyhow::Result<()> {
    let store = chat_cli::open_store(&args.store).await?;
    let mut after = None;
    loop {
        let page = store.accounts(after, PAGE).await?;
        for account in &page {
            if args.json {
                println!("{}", serde_json::to_string(account)?);
            } else {
                let user = &account.user;
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    user.id,
                    account.status.as_str(),
                    user.email,
                    user.name,
                    user.created_at.to_rfc3339()
                );
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.user.id),
            _ => return Ok(()),
        }
    }
}

/// `chat user show`: the account and the ids of its rooms, as one JSON object.
pub async fn show(args: UserPick) -> anyhow::Result<()> {
    let store = chat_cli::open_store(&args.store).await?;
    let account = find(&store, &args.user).await?;
    let rooms: Vec<String> = store
        .rooms_of(account.user.id, usize::MAX)
        .await?
        .iter()
        .map(|room| room.id.to_string())
        .collect();
    let mut shown = serde_json::to_value(&account)?;
    shown["rooms"] = rooms.into();
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}

fn redis(notice: &NoticeArgs) -> Option<RedisArgs> {
    notice.redis_url.clone().map(|url| RedisArgs {
        url,
        prefix: notice.redis_prefix.clone(),
        presence_ttl: Duration::from_secs(45),
    })
}

/// `chat user disable`.
pub async fn disable(args: UserDisableArgs) -> anyhow::Result<()> {
    let store = chat_cli::open_store(&args.pick.store).await?;
    let account = find(&store, &args.pick.user).await?;
    let config = EngineConfig::default();
    let engine = backends::engine_on(store, &args.pick.store, config, redis(&args.notice)).await?;
    engine.disable_user(account.user.id).await?;
    engine.shutdown(SHUTDOWN_DEADLINE).await?;
    println!("disabled {} and ended every session", account.user.email);
    Ok(())
}

/// `chat user enable`.
pub async fn enable(args: UserPick) -> anyhow::Result<()> {
    let store = chat_cli::open_store(&args.store).await?;
    let account = find(&store, &args.user).await?;
    store.set_disabled(account.user.id, false).await?;
    store.flush().await?;
    println!("enabled {}", account.user.email);
    Ok(())
}

/// `chat user delete [--purge]`.
pub async fn delete(args: UserDeleteArgs) -> anyhow::Result<()> {
    let store = chat_cli::open_store(&args.pick.store).await?;
    let account = find(&store, &args.pick.user).await?;
    let config = EngineConfig::default();
    let engine = backends::engine_on(store, &args.pick.store, config, redis(&args.notice)).await?;
    engine.delete_user(account.user.id, args.purge).await?;
    engine.shutdown(SHUTDOWN_DEADLINE).await?;
    let kept = if args.purge {
        "their messages were emptied and their files deleted"
    } else {
        "their messages stay, as from \"deleted user\""
    };
    println!(
        "deleted {} ({}); {kept}",
        account.user.email, account.user.id
    );
    Ok(())
}
