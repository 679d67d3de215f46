//! The presence, limits and bus conformance suites against Redis
//! (`CHAT_TEST_REDIS_URL`; each check skips loudly when it is unset, or fails under
//! `CHAT_TEST_REQUIRE_SERVICES=1`).

mod support;

mod presence {
    chat_core::presence_conformance!(super::support::presence_pair());
}

mod limits {
    chat_core::limits_conformance!(super::support::limiter_pair);
}

mod bus {
    chat_core::bus_conformance!(super::support::bus_pair());
}
