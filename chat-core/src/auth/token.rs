//! Session tokens: JWTs signed with HS256 that name the user and expire.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::UserId;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
}

/// The server's signing secret, in the forms signing and checking need.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Keys from a shared secret; every node of one deployment must use the same one.
    pub fn from_secret(secret: &[u8]) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

/// Issues and checks tokens.
#[derive(Debug, Clone)]
pub struct TokenSigner {
    keys: TokenKeys,
    lifetime: Duration,
}

impl TokenSigner {
    /// A signer whose tokens are valid for `lifetime`.
    pub fn new(keys: TokenKeys, lifetime: Duration) -> Self {
        TokenSigner { keys, lifetime }
    }

    /// How long a new token stays valid; the HTTP edge gives cookies the same age.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A token naming `user`, valid from now for the configured lifetime.
    pub fn issue(&self, user: UserId) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            iat: now,
            exp: now + self.lifetime.as_secs() as i64,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.keys.encoding)
            .map_err(|err| Error::Invalid(format!("cannot sign token: {err}")))
    }

    /// The user a token names, if it is well formed, correctly signed and not expired.
    pub fn verify(&self, token: &str) -> Result<UserId> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        let data = decode::<Claims>(token, &self.keys.decoding, &validation).map_err(|err| {
            let reason = match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "token expired",
                _ => "invalid token",
            };
            Error::Unauthenticated(reason.into())
        })?;
        data.claims
            .sub
            .parse()
            .map_err(|_| Error::Unauthenticated("invalid token".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &[u8], lifetime: Duration) -> TokenSigner {
        TokenSigner::new(TokenKeys::from_secret(secret), lifetime)
    }

    #[test]
    fn a_token_names_its_user() {
        let signer = signer(b"secret", Duration::from_secs(60));
        let user = UserId::generate();
        assert_eq!(signer.verify(&signer.issue(user).unwrap()).unwrap(), user);
    }

    #[test]
    fn foreign_expired_and_garbage_tokens_are_refused() {
        let ours = signer(b"ours", Duration::from_secs(60));
        let theirs = signer(b"theirs", Duration::from_secs(60));
        let user = UserId::generate();
        let foreign = theirs.issue(user).unwrap();
        assert!(matches!(
            ours.verify(&foreign),
            Err(Error::Unauthenticated(_))
        ));
        assert!(matches!(
            ours.verify("garbage"),
            Err(Error::Unauthenticated(_))
        ));
        let expired = signer(b"ours", Duration::ZERO).issue(user).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        assert!(matches!(
            ours.verify(&expired),
            Err(Error::Unauthenticated(reason)) if reason == "token expired"
        ));
    }
}
