//! Session tokens: JWTs signed with HS256 that name the user and expire, and carry what lets
//! them be revoked early: the session they belong to and the user's token generation when
//! they were issued.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::{SessionId, UserId};
use crate::model::Timestamp;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    /// Absent in tokens issued before revocation existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(default)]
    generation: u64,
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    /// The user it names.
    pub user: UserId,
    /// Its session; `None` for tokens issued before sessions existed, which only a new
    /// generation revokes.
    pub session: Option<SessionId>,
    /// The user's token generation when it was issued.
    pub generation: u64,
    /// When it expires by itself.
    pub expires_at: Timestamp,
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

    /// A token for a new session of `user` under token generation `generation`, valid from
    /// now for the configured lifetime.
    pub fn issue(&self, user: UserId, generation: u64) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            iat: now,
            exp: now + self.lifetime.as_secs() as i64,
            sid: Some(SessionId::generate().to_string()),
            generation,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.keys.encoding)
            .map_err(|err| Error::Invalid(format!("cannot sign token: {err}")))
    }

    /// What a token says, if it is well formed, correctly signed and not expired (revocation
    /// is the engine's to check).
    pub fn verify(&self, token: &str) -> Result<TokenClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        let data = decode::<Claims>(token, &self.keys.decoding, &validation).map_err(|err| {
            let reason = match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "token expired",
                _ => "invalid token",
            };
            Error::Unauthenticated(reason.into())
        })?;
        let invalid = || Error::Unauthenticated("invalid token".into());
        let claims = data.claims;
        let session = match claims.sid {
            Some(sid) => Some(sid.parse().map_err(|_| invalid())?),
            None => None,
        };
        Ok(TokenClaims {
            user: claims.sub.parse().map_err(|_| invalid())?,
            session,
            generation: claims.generation,
            expires_at: Timestamp::from_timestamp(claims.exp, 0).ok_or_else(invalid)?,
        })
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
        let first = signer.verify(&signer.issue(user, 3).unwrap()).unwrap();
        assert_eq!(first.user, user);
        assert_eq!(first.generation, 3);
        let second = signer.verify(&signer.issue(user, 3).unwrap()).unwrap();
        assert!(first.session.is_some());
        assert_ne!(first.session, second.session);
    }

    #[test]
    fn tokens_from_before_sessions_still_verify() {
        let signer = signer(b"secret", Duration::from_secs(60));
        let user = UserId::generate();
        let now = chrono::Utc::now().timestamp();
        #[derive(Serialize)]
        struct Legacy {
            sub: String,
            iat: i64,
            exp: i64,
        }
        let legacy = Legacy {
            sub: user.to_string(),
            iat: now,
            exp: now + 60,
        };
        let token = encode(
            &Header::new(Algorithm::HS256),
            &legacy,
            &signer.keys.encoding,
        )
        .unwrap();
        let claims = signer.verify(&token).unwrap();
        assert_eq!(
            (claims.user, claims.session, claims.generation),
            (user, None, 0)
        );
    }

    #[test]
    fn foreign_expired_and_garbage_tokens_are_refused() {
        let ours = signer(b"ours", Duration::from_secs(60));
        let theirs = signer(b"theirs", Duration::from_secs(60));
        let user = UserId::generate();
        let foreign = theirs.issue(user, 0).unwrap();
        assert!(matches!(
            ours.verify(&foreign),
            Err(Error::Unauthenticated(_))
        ));
        assert!(matches!(
            ours.verify("garbage"),
            Err(Error::Unauthenticated(_))
        ));
        let expired = signer(b"ours", Duration::ZERO).issue(user, 0).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        assert!(matches!(
            ours.verify(&expired),
            Err(Error::Unauthenticated(reason)) if reason == "token expired"
        ));
    }
}
