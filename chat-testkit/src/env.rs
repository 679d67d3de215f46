//! The services `scripts/test` starts, found through the `CHAT_TEST_*` variables it exports.
//!
//! A test asks here for each service it needs. When the variable is unset (a developer ran
//! `cargo test` alone) the test prints a `SKIPPED` line and returns early; when
//! [`REQUIRE_SERVICES`] is set, as `scripts/test` and so CI always do, it panics instead: a
//! run that skipped the MongoDB or Redis suites must never look green.

/// Set to `1` by `scripts/test`: a missing service fails the test instead of skipping it.
pub const REQUIRE_SERVICES: &str = "CHAT_TEST_REQUIRE_SERVICES";
/// `mongodb://127.0.0.1:PORT/`: the shared FerretDB; each test picks a database of its own.
pub const MONGO_URL: &str = "CHAT_TEST_MONGO_URL";
/// `redis://127.0.0.1:PORT/`: the shared Redis; each test picks a key prefix of its own.
pub const REDIS_URL: &str = "CHAT_TEST_REDIS_URL";
/// The `ferretdb` binary, for tests that run (and kill) a FerretDB of their own.
pub const FERRETDB_BIN: &str = "CHAT_TEST_FERRETDB_BIN";
/// The `redis-server` binary, for tests that run (and kill) a Redis of their own.
pub const REDIS_SERVER_BIN: &str = "CHAT_TEST_REDIS_SERVER_BIN";

/// The shared MongoDB-compatible server, or `None` after a `SKIPPED` line.
pub fn mongo_url() -> Option<String> {
    service(MONGO_URL)
}

/// The shared Redis, or `None` after a `SKIPPED` line.
pub fn redis_url() -> Option<String> {
    service(REDIS_URL)
}

/// `base` (a server URL as in [`MONGO_URL`]) with `database` in its path, the form
/// `chat serve --mongo-url` takes.
pub fn mongo_url_with_db(base: &str, database: &str) -> String {
    format!("{}/{database}", base.trim_end_matches('/'))
}

/// The value of the service variable `name`. Unset or empty: `None` after a `SKIPPED` line
/// naming the running test, or a panic when [`REQUIRE_SERVICES`] is set.
pub fn service(name: &str) -> Option<String> {
    let required = std::env::var(REQUIRE_SERVICES).is_ok_and(|value| is_set(&value));
    decide(name, std::env::var(name).ok(), required)
}

/// Whether a flag variable's value turns it on: anything but empty and `0`.
fn is_set(value: &str) -> bool {
    !value.is_empty() && value != "0"
}

fn decide(name: &str, value: Option<String>, required: bool) -> Option<String> {
    if let Some(value) = value.filter(|value| !value.is_empty()) {
        return Some(value);
    }
    // libtest names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    assert!(
        !required,
        "{test}: {name} is not set, and {REQUIRE_SERVICES} forbids skipping; \
         run the tests through scripts/test, which starts the services and sets it"
    );
    eprintln!("SKIPPED {test}: {name} is not set (scripts/test sets it)");
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_variable_is_used_whether_required_or_not() {
        for required in [false, true] {
            let value = decide(MONGO_URL, Some("mongodb://db/".into()), required);
            assert_eq!(value.as_deref(), Some("mongodb://db/"));
        }
    }

    #[test]
    fn a_missing_service_skips_when_not_required() {
        assert_eq!(decide(REDIS_URL, None, false), None);
        assert_eq!(decide(REDIS_URL, Some(String::new()), false), None);
    }

    #[test]
    #[should_panic(expected = "CHAT_TEST_REDIS_URL is not set, and CHAT_TEST_REQUIRE_SERVICES")]
    fn a_missing_service_fails_when_required() {
        decide(REDIS_URL, None, true);
    }

    #[test]
    #[should_panic(expected = "CHAT_TEST_MONGO_URL is not set")]
    fn an_empty_variable_counts_as_missing() {
        decide(MONGO_URL, Some(String::new()), true);
    }

    #[test]
    fn only_empty_and_zero_leave_the_requirement_off() {
        assert!(is_set("1") && is_set("yes"));
        assert!(!is_set("") && !is_set("0"));
    }

    #[test]
    fn the_database_goes_in_the_path() {
        assert_eq!(
            mongo_url_with_db("mongodb://127.0.0.1:27017/", "chat_x"),
            "mongodb://127.0.0.1:27017/chat_x"
        );
        assert_eq!(mongo_url_with_db("mongodb://h:1", "d"), "mongodb://h:1/d");
    }
}
