//! Authentication: password hashing on a bounded pool (the `accounts` feature), and signed
//! session tokens.

#[cfg(feature = "accounts")]
mod password;
#[cfg(feature = "accounts")]
mod pool;
mod token;

#[cfg(feature = "accounts")]
pub use password::{DUMMY_HASH, Hasher, hash_password, verify_password};
#[cfg(feature = "accounts")]
pub use pool::{PasswordPool, PoolLimits};
pub use token::{TokenClaims, TokenKeys, TokenSigner};
