//! Operator tools: bulk user import, minting tokens and revoking sessions, straight against
//! the store.
//!
//! Password hashing is deliberately slow, so registering thousands of users through the
//! public route would take minutes; import hashes each distinct password once.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use chat_core::EngineConfig;
use chat_core::model::AccountStatus;

use crate::accounts;
use crate::backends::{self, RedisArgs};
use crate::cli::{ImportArgs, RevokeArgs, TokenArgs, UserAction, UserArgs};

/// Users written per store call.
const IMPORT_BATCH: usize = 1000;
/// How long an operator command waits for the engine to finish its work before it exits.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// `chat user …`.
pub async fn run(args: UserArgs) -> anyhow::Result<()> {
    match args.action {
        UserAction::Import(import) => import_users(import).await,
        UserAction::Revoke(revoke) => revoke_sessions(revoke).await,
        UserAction::List(list) => accounts::list(list).await,
        UserAction::Show(pick) => accounts::show(pick).await,
        UserAction::Disable(disable) => accounts::disable(disable).await,
        UserAction::Enable(pick) => accounts::enable(pick).await,
        UserAction::Delete(delete) => accounts::delete(delete).await,
    }
}

/// `chat user revoke --user EMAIL`: ends every session of the user, and tells the servers
/// over Redis when given.
async fn revoke_sessions(args: RevokeArgs) -> anyhow::Result<()> {
    let redis = args.redis_url.clone().map(|url| RedisArgs {
        url,
        prefix: args.redis_prefix.clone(),
        presence_ttl: std::time::Duration::from_secs(45),
    });
    let engine = backends::engine(&args.store, EngineConfig::default(), redis).await?;
    let user = engine.user_by_email(&args.user).await?;
    engine.revoke_sessions(user.id).await?;
    engine.shutdown(SHUTDOWN_DEADLINE).await?;
    println!("revoked every session of {}", user.email);
    Ok(())
}

async fn import_users(args: ImportArgs) -> anyhow::Result<()> {
    let engine = backends::engine(&args.store, EngineConfig::default(), None).await?;
    let rows: Vec<(String, String, String)> = match (&args.csv, args.count) {
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            parse_csv(&text)?
        }
        (None, Some(count)) => {
            let password = args
                .password
                .clone()
                .context("--count needs --password (or CHAT_IMPORT_PASSWORD)")?;
            (0..count)
                .map(|i| {
                    let email = format!("user{i}@{}", args.domain);
                    (email, format!("User {i}"), password.clone())
                })
                .collect()
        }
        _ => bail!("give either --csv FILE or --count N"),
    };
    let mut hashes: HashMap<String, String> = HashMap::new();
    let mut prepared = Vec::with_capacity(rows.len());
    for (email, name, password) in rows {
        chat_core::engine::validate::password(&password)?;
        let hash = match hashes.get(&password) {
            Some(hash) => hash.clone(),
            None => {
                let hash = engine.hash_password(password.clone()).await?;
                hashes.insert(password, hash.clone());
                hash
            }
        };
        prepared.push((email, name, hash));
    }
    let total = prepared.len();
    let mut imported = 0;
    while !prepared.is_empty() {
        let rest = prepared.split_off(prepared.len().min(IMPORT_BATCH));
        imported += engine.import_users(prepared).await?.len();
        prepared = rest;
    }
    engine.shutdown(SHUTDOWN_DEADLINE).await?;
    println!("imported {imported} of {total} users");
    Ok(())
}

fn parse_csv(text: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            let mut fields = line.splitn(3, ',').map(str::trim);
            match (fields.next(), fields.next(), fields.next()) {
                (Some(email), Some(name), Some(password)) if !password.is_empty() => {
                    Ok((email.to_owned(), name.to_owned(), password.to_owned()))
                }
                _ => bail!("line {}: expected email,name,password", number + 1),
            }
        })
        .collect()
}

/// `chat token --user EMAIL`: prints a token signed with the server's secret; refused for a
/// disabled or deleted account.
pub async fn token(args: TokenArgs) -> anyhow::Result<()> {
    let store = chat_cli::open_store(&args.store).await?;
    let account = accounts::find(&store, &args.user).await?;
    if account.status != AccountStatus::Active {
        bail!("{} is {}", args.user, account.status.as_str());
    }
    let engine = backends::engine_on(store, &args.store, EngineConfig::default(), None).await?;
    println!("{}", engine.issue_token(account.user.id).await?);
    engine.shutdown(SHUTDOWN_DEADLINE).await?;
    Ok(())
}
