//! Conformance suites that every backend runs in its own tests, so all of them keep the
//! same promises as the in-memory reference.
//!
//! A backend calls [`store_conformance!`](crate::store_conformance) with an async expression
//! that yields a fresh, empty store; each check becomes its own `#[tokio::test]`.

pub mod store;

/// Generates one test per store check. `$make` is an async block returning `Arc<dyn Store>`
/// (or `Option<_>`: `None` skips, for backends whose server is not configured).
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        $crate::store_conformance!(@tests $make;
            users_are_unique_by_email,
            concurrent_registrations_of_one_email_yield_one_user,
            users_are_found_by_id_email_and_search,
            search_treats_operators_as_text,
            bulk_user_creation_is_all_or_nothing,
            direct_rooms_are_one_per_pair,
            concurrent_direct_rooms_yield_one_room,
            rooms_are_listed_by_recent_activity,
            seq_is_gapless_per_room,
            concurrent_appends_get_distinct_gapless_seqs,
            resends_with_a_client_id_are_idempotent,
            messages_without_client_id_are_all_kept,
            pages_walk_history_without_gaps_or_repeats,
            messages_are_found_by_id,
            appending_to_an_unknown_room_is_not_found,
            text_and_timestamps_round_trip_exactly,
        );
    };
    (@tests $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store: Option<std::sync::Arc<dyn $crate::store::Store>> =
                    $crate::testing::store::into_option($make.await);
                match store {
                    Some(store) => $crate::testing::store::$check(store).await,
                    None => eprintln!("SKIPPED {}: backend not configured", stringify!($check)),
                }
            }
        )*
    };
}
