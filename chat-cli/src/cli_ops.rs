//! Flags of the operator commands that act on accounts, rooms and the database:
//! `chat user list|show|disable|enable|delete`, `chat room …`, `chat export`, `chat backup`
//! and `chat restore`.

use std::path::PathBuf;

use chat_cli::StoreArgs;
use clap::{Args, Subcommand};

/// The Redis the servers share, so they hear of ended sessions at once.
#[derive(Debug, Args)]
pub struct NoticeArgs {
    /// The Redis the servers share; without it they notice within 30 seconds.
    #[arg(long, env = "CHAT_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel.
    #[arg(long, env = "CHAT_REDIS_PREFIX", default_value = "chat:")]
    pub redis_prefix: String,
}

/// Flags of `chat user list`.
#[derive(Debug, Args)]
pub struct UserListArgs {
    /// Store and secret.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print one JSON object per line instead of columns.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `chat user show|enable`: one account.
#[derive(Debug, Args)]
pub struct UserPick {
    /// Store and secret.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The user's email or id.
    pub user: String,
}

/// Flags of `chat user disable`.
#[derive(Debug, Args)]
pub struct UserDisableArgs {
    /// The account.
    #[command(flatten)]
    pub pick: UserPick,
    /// Where the servers hear of it.
    #[command(flatten)]
    pub notice: NoticeArgs,
}

/// Flags of `chat user delete`.
#[derive(Debug, Args)]
pub struct UserDeleteArgs {
    /// The account.
    #[command(flatten)]
    pub pick: UserPick,
    /// Also empty the text and attachments of every chat message the user sent (the entries
    /// stay, blank, so rooms keep their gapless seqs) and delete every file the user
    /// uploaded; without it the messages stay, shown as from "deleted user".
    #[arg(long)]
    pub purge: bool,
    /// Where the servers hear of it.
    #[command(flatten)]
    pub notice: NoticeArgs,
}

/// Flags of `chat room`.
#[derive(Debug, Args)]
pub struct RoomArgs {
    /// What to do with rooms.
    #[command(subcommand)]
    pub action: RoomAction,
}

/// Room inspection.
#[derive(Debug, Subcommand)]
pub enum RoomAction {
    /// Every room, direct and group, by id: id, kind, members, last seq, name.
    List(RoomListArgs),
    /// One room as JSON, with its members (names and roles).
    Show(RoomPick),
}

/// Flags of `chat room list`.
#[derive(Debug, Args)]
pub struct RoomListArgs {
    /// Store and secret.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print one JSON object per line instead of columns.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `chat room show`.
#[derive(Debug, Args)]
pub struct RoomPick {
    /// Store and secret.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The room's id.
    pub room: String,
}

/// Flags of `chat export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Store and secret.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The room whose history to print, oldest first, one JSON message per line.
    #[arg(long)]
    pub room: String,
}

/// Flags of `chat backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Store and secret (the embedded store only).
    #[command(flatten)]
    pub store: StoreArgs,
    /// The file to write; replaced only once the new copy is complete.
    #[arg(long)]
    pub to: PathBuf,
}

/// Flags of `chat restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Store and secret (the embedded store only).
    #[command(flatten)]
    pub store: StoreArgs,
    /// A file written by `chat backup`.
    #[arg(long)]
    pub from: PathBuf,
}
