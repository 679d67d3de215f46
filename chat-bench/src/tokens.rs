//! Session tokens for the population, minted with the server's secret as `chat token` does (and
//! Centrifugo's `gentoken`): no password check, so thousands take milliseconds.

use std::time::Duration;

use chat_cli::{StoreArgs, secret};
use chat_core::TokenKeys;
use chat_core::UserId;
use chat_core::auth::TokenSigner;

/// How long the bench's tokens live: longer than any run.
const LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// One token per user, signed with the server's secret: `--jwt-secret`, else its data dir's,
/// under token generation 0: the population is freshly imported, so nothing of it was ever
/// revoked.
pub fn mint(store: &StoreArgs, users: &[UserId]) -> anyhow::Result<Vec<String>> {
    let secret = secret::load_or_create(store.options.jwt_secret.as_deref(), &store.data_dir)?;
    let signer = TokenSigner::new(TokenKeys::from_secret(&secret), LIFETIME);
    users
        .iter()
        .map(|user| signer.issue(*user, 0).map_err(Into::into))
        .collect()
}
