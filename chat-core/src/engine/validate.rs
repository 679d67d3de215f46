//! Input rules shared by every transport, so REST and sockets refuse the same things.

use crate::error::{Error, Result};

/// Longest accepted `client_id`; it is an idempotency key, not a payload.
const MAX_CLIENT_ID: usize = 128;
const MAX_NAME_CHARS: usize = 100;
const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_BYTES: usize = 1024;

/// Trims and lowercases an email after checking its form, so lookups ignore case.
pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    if email.len() > 254 || !email_address::EmailAddress::is_valid(&email) {
        return Err(Error::Invalid("email is not a valid address".into()));
    }
    Ok(email)
}

/// A display name: 1 to 100 characters once trimmed.
pub fn display_name(name: &str) -> Result<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Error::Invalid("name must be 1 to 100 characters".into()));
    }
    Ok(name.to_owned())
}

/// A new password: at least 8 characters, and bounded so hashing stays cheap to refuse.
pub fn password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Invalid(
            "password must be at least 8 characters".into(),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::Invalid("password is too long".into()));
    }
    Ok(())
}

/// Message text: not blank, at most `max_bytes`.
pub fn message_text(text: &str, max_bytes: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::Invalid("message is empty".into()));
    }
    if text.len() > max_bytes {
        return Err(Error::Invalid(format!(
            "message is longer than {max_bytes} bytes"
        )));
    }
    Ok(())
}

/// A client's idempotency key: 1 to 128 bytes.
pub fn client_id(client_id: &str) -> Result<()> {
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
        return Err(Error::Invalid("client_id must be 1 to 128 bytes".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in ["", "ann", "ann@", "@example.com", "a b@example.com"] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_passwords_and_texts_have_bounds() {
        assert!(display_name("  ").is_err());
        assert!(display_name(&"x".repeat(101)).is_err());
        assert_eq!(display_name(" Ann ").unwrap(), "Ann");
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
        assert!(message_text(" \n", 10).is_err());
        assert!(message_text("hello", 4).is_err());
        assert!(message_text("héllo", 6).is_ok());
        assert!(client_id("").is_err());
        assert!(client_id(&"c".repeat(129)).is_err());
    }
}
