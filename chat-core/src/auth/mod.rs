//! Authentication: password hashing and signed session tokens.

mod password;
mod token;

pub use password::{hash_password, verify_password};
pub use token::{TokenKeys, TokenSigner};
