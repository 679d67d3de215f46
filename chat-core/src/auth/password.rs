//! Password hashing with argon2id, the current OWASP recommendation.
//!
//! A hash takes tens of milliseconds and 19 MiB of memory. A [`Hasher`] keeps that memory
//! between hashes, so a worker that checks thousands of passwords allocates it once; callers
//! run it on a blocking thread (the engine's [`PasswordPool`](super::PasswordPool) does).

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::{Error, Result};

/// The largest memory cost a stored hash may ask for (64 MiB): a hash written by another tool
/// with a huge cost must not let one login allocate without bound.
const MAX_MEMORY_BLOCKS: usize = 64 * 1024;

/// A hash of a random password with the default parameters: verifying a login for an unknown
/// email against it costs the same work as a wrong password, so timing does not tell which
/// emails exist.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$ZRCEcEOlw7RyyvkzW1yMYiXaz7mX97vlHfVmVs+RhPk";

/// One worker's argon2 memory, reused across hashes.
#[derive(Default)]
pub struct Hasher {
    blocks: Vec<Block>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("blocks", &self.blocks.len())
            .finish()
    }
}

impl Hasher {
    /// A hasher that allocates its memory on first use.
    pub fn new() -> Self {
        Hasher::default()
    }

    fn memory(&mut self, params: &Params) -> &mut [Block] {
        let count = params.block_count();
        if self.blocks.len() < count {
            self.blocks.resize(count, Block::default());
        }
        &mut self.blocks[..count]
    }

    /// Hashes a password into a self-describing PHC string (algorithm, parameters, salt, hash).
    pub fn hash(&mut self, password: &str) -> Result<String> {
        let invalid = |err: argon2::password_hash::Error| {
            Error::Invalid(format!("cannot hash password: {err}"))
        };
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(invalid)?;
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(invalid)?;
        let params = Params::default();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                &mut out,
                self.memory(&params),
            )
            .map_err(|err| Error::Invalid(format!("cannot hash password: {err}")))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&params).try_into().map_err(invalid)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(invalid)?),
        };
        Ok(hash.to_string())
    }

    /// Checks a password against a stored PHC string in constant time; a malformed hash, or
    /// one asking for more than 64 MiB, never verifies.
    pub fn verify(&mut self, password: &str, phc: &str) -> bool {
        self.try_verify(password, phc).unwrap_or(false)
    }

    fn try_verify(&mut self, password: &str, phc: &str) -> Option<bool> {
        let parsed = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = Version::try_from(parsed.version.unwrap_or(0x13)).ok()?;
        let params = Params::try_from(&parsed).ok()?;
        if params.block_count() > MAX_MEMORY_BLOCKS {
            return None;
        }
        let expected = parsed.hash?;
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let mut out = vec![0u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params.clone());
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut out,
                self.memory(&params),
            )
            .ok()?;
        // `Output`'s equality is constant-time.
        Some(Output::new(&out).ok()? == expected)
    }
}

/// Hashes a password with fresh memory; for tools that hash once.
pub fn hash_password(password: &str) -> Result<String> {
    Hasher::new().hash(password)
}

/// Checks a password with fresh memory; for tools that check once.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Hasher::new().verify(password, phc)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher;

    use super::*;

    #[test]
    fn verifies_the_right_password_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsf", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn a_kept_hasher_reads_hashes_of_the_reference_implementation() {
        let mut hasher = Hasher::new();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let reference = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(hasher.verify("battery staple", &reference));
        assert!(!hasher.verify("battery stapler", &reference));
        let ours = hasher.hash("battery staple").unwrap();
        assert!(
            argon2::PasswordVerifier::verify_password(
                &Argon2::default(),
                b"battery staple",
                &PasswordHash::new(&ours).unwrap()
            )
            .is_ok()
        );
    }

    #[test]
    fn the_dummy_hash_is_a_default_cost_hash() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        let (params, default) = (Params::try_from(&parsed).unwrap(), Params::default());
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost())
        );
        assert_eq!(parsed.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
        assert!(!verify_password("", DUMMY_HASH));
    }

    #[test]
    fn salts_every_hash() {
        assert_ne!(
            hash_password("same").unwrap(),
            hash_password("same").unwrap()
        );
    }
}
