//! Session tokens for the population, minted with the server's secret as `chat token` (and
//! Centrifugo's `gentoken`) do: no password check, so thousands take milliseconds.

use std::path::Path;
use std::time::Duration;

use chat_core::TokenKeys;
use chat_core::UserId;
use chat_core::auth::TokenSigner;

use crate::secret;

/// How long the bench's tokens live: longer than any run.
const LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// One token per user, signed with the secret of `data_dir` (or `jwt_secret`), under token
/// generation 0: the population is freshly imported, so nothing of it was ever revoked.
pub fn mint(
    data_dir: &Path,
    jwt_secret: Option<&str>,
    users: &[UserId],
) -> anyhow::Result<Vec<String>> {
    let secret = secret::load_or_create(jwt_secret, data_dir)?;
    let signer = TokenSigner::new(TokenKeys::from_secret(&secret), LIFETIME);
    users
        .iter()
        .map(|user| signer.issue(*user, 0).map_err(Into::into))
        .collect()
}
