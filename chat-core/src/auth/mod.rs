//! Authentication: password hashing on a bounded pool, and signed session tokens.

mod password;
mod pool;
mod token;

pub use password::{DUMMY_HASH, Hasher, hash_password, verify_password};
pub use pool::{PasswordPool, PoolLimits};
pub use token::{TokenClaims, TokenKeys, TokenSigner};
