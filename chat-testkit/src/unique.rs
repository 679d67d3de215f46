//! Ids and names that no other test, run or process uses, so tests sharing one server never
//! see each other's data.

/// A fresh 24-hex-digit id, shaped like the engine's ids: unique in emails and names, and a
/// well-formed id that nothing has (a room or user that is not there).
pub fn rand_tag() -> String {
    format!("{:024x}", rand::random::<u128>() >> 32)
}

/// `prefix` and a [`rand_tag`]: a database name or key prefix of the test's own.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", rand_tag())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_24_hex_digits_and_differ() {
        let (one, two) = (rand_tag(), rand_tag());
        assert_eq!(one.len(), 24);
        assert!(one.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(one, two);
        assert!(unique_name("chat_test").starts_with("chat_test_"));
    }
}
