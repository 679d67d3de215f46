//! Input rules shared by every transport, so REST and sockets refuse the same things.

use crate::error::{Error, Result};
use crate::files::MAX_ATTACHMENTS;
use crate::id::FileId;

/// Longest accepted `client_id`; it is an idempotency key, not a payload.
const MAX_CLIENT_ID: usize = 128;
const MAX_NAME_CHARS: usize = 100;
const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_FILE_NAME_BYTES: usize = 255;

/// Trims and lowercases an email after checking its form, so lookups ignore case.
pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    if email.len() > 254 || !email_address::EmailAddress::is_valid(&email) {
        return Err(Error::Invalid("email is not a valid address".into()));
    }
    Ok(email)
}

/// A display name: 1 to 100 characters once trimmed, with at least one visible character and
/// no control characters or bidirectional overrides (which let a name impersonate another or
/// hide itself).
pub fn display_name(name: &str) -> Result<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Error::Invalid("name must be 1 to 100 characters".into()));
    }
    if name.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(Error::Invalid(
            "name must not contain control or text-direction characters".into(),
        ));
    }
    if !name.chars().any(is_visible) {
        return Err(Error::Invalid(
            "name must contain a visible character".into(),
        ));
    }
    Ok(name.to_owned())
}

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they
/// reorder the text that follows them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether a character leaves a mark: not whitespace and not one of the zero-width or
/// invisible formatting characters.
fn is_visible(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202F}'
                | '\u{205F}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// A new password: at least 8 characters, one of them not whitespace, and bounded so hashing
/// stays cheap to refuse.
pub fn password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Invalid(
            "password must be at least 8 characters".into(),
        ));
    }
    if password.chars().all(char::is_whitespace) {
        return Err(Error::Invalid(
            "password must contain a character other than spaces".into(),
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

/// The text of a message that carries attachments: it may be empty, but not longer than
/// `max_bytes`.
pub fn caption(text: &str, max_bytes: usize) -> Result<()> {
    if text.len() > max_bytes {
        return Err(Error::Invalid(format!(
            "message is longer than {max_bytes} bytes"
        )));
    }
    Ok(())
}

/// The files a message lists: at most [`MAX_ATTACHMENTS`], each once.
pub fn attachments(files: &[FileId]) -> Result<()> {
    if files.len() > MAX_ATTACHMENTS {
        return Err(Error::Invalid(format!(
            "a message carries at most {MAX_ATTACHMENTS} files"
        )));
    }
    if files
        .iter()
        .enumerate()
        .any(|(index, file)| files[..index].contains(file))
    {
        return Err(Error::Invalid("a file is listed twice".into()));
    }
    Ok(())
}

/// An uploaded file's name as stored and shown: its last path component, without control
/// or text-direction characters, trimmed, at most 255 bytes; `"file"` when nothing is left.
pub fn file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let mut name = cleaned.trim();
    while name.len() > MAX_FILE_NAME_BYTES {
        let mut end = MAX_FILE_NAME_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name = &name[..end];
    }
    if name.is_empty() || name == "." || name == ".." {
        "file".to_owned()
    } else {
        name.to_owned()
    }
}

/// A client's idempotency key: 1 to 128 bytes.
pub fn client_id(client_id: &str) -> Result<()> {
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
        return Err(Error::Invalid("client_id must be 1 to 128 bytes".into()));
    }
    Ok(())
}

/// The longest accepted reaction, in bytes: a family or flag sequence fits comfortably.
const MAX_EMOJI_BYTES: usize = 64;

/// A reaction: exactly one grapheme cluster (so "👍🏽" and "👨‍👩‍👧" are one, "👍👍" is two),
/// no whitespace or control characters, at most 64 bytes.
pub fn emoji(emoji: &str) -> Result<()> {
    use unicode_segmentation::UnicodeSegmentation;
    let mut graphemes = emoji.graphemes(true);
    let single = graphemes.next().is_some() && graphemes.next().is_none();
    if !single
        || emoji.len() > MAX_EMOJI_BYTES
        || emoji
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_bidi_control(c))
    {
        return Err(Error::Invalid(
            "a reaction is one emoji (one grapheme cluster)".into(),
        ));
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
    fn names_refuse_controls_bidi_and_invisible_text() {
        for bad in [
            "Ann\0",
            "\u{1b}[31mAnn",
            "Ann\u{7f}",
            "Ann\u{202E}nnA",
            "\u{2066}Ann",
            "\u{200B}\u{200C}\u{200D}",
            "\u{FEFF}",
            "\u{3164}",
            "a\nb",
        ] {
            assert!(display_name(bad).is_err(), "{bad:?}");
        }
        for good in ["Ann", "Zoë Ünal", "李小龍", "Ann 🙂", "O'Brien-Smith"] {
            assert_eq!(display_name(good).unwrap(), good);
        }
    }

    #[test]
    fn names_passwords_and_texts_have_bounds() {
        assert!(display_name("  ").is_err());
        assert!(display_name(&"x".repeat(101)).is_err());
        assert_eq!(display_name(" Ann ").unwrap(), "Ann");
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
        assert!(password("        ").is_err());
        assert!(password(" \t \u{3000}    ").is_err());
        assert!(password("  pass  ").is_ok());
        assert!(message_text(" \n", 10).is_err());
        assert!(message_text("hello", 4).is_err());
        assert!(message_text("héllo", 6).is_ok());
        assert!(client_id("").is_err());
        assert!(client_id(&"c".repeat(129)).is_err());
        assert!(caption("", 4).is_ok());
        assert!(caption("hello", 4).is_err());
    }

    #[test]
    fn file_names_lose_paths_and_controls() {
        assert_eq!(file_name("../../etc/passwd"), "passwd");
        assert_eq!(file_name("C:\\Users\\ann\\photo.png"), "photo.png");
        assert_eq!(file_name("a\u{202E}gnp.exe\n"), "agnp.exe");
        assert_eq!(file_name("  "), "file");
        assert_eq!(file_name(".."), "file");
        assert!(file_name(&"é".repeat(300)).len() <= 255);
    }

    #[test]
    fn attachment_lists_are_bounded_and_distinct() {
        let (a, b) = (FileId::generate(), FileId::generate());
        assert!(attachments(&[a, b]).is_ok());
        assert!(attachments(&[a, a]).is_err());
        assert!(attachments(&[a; MAX_ATTACHMENTS + 1]).is_err());
    }

    #[test]
    fn reactions_are_one_grapheme_cluster() {
        for good in ["👍", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "a"] {
            assert!(emoji(good).is_ok(), "{good:?}");
        }
        for bad in ["", "👍👍", "ab", " ", "\n", "\u{202E}", "👍 "] {
            assert!(emoji(bad).is_err(), "{bad:?}");
        }
    }
}
