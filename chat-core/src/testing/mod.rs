//! Conformance suites that every backend runs in its own tests, so all of them keep the
//! same promises as the in-memory reference.
//!
//! A store backend calls [`store_conformance!`](crate::store_conformance) with an async
//! expression that yields a fresh, empty store; presence, rate-limit and bus backends call the
//! macros of [`presence`], [`limits`] and [`bus`] with a factory of two connected instances
//! (two "nodes"); the store suite includes the revocation checks of [`sessions`], the
//! operators' checks of [`admin`], the host-owned users of [`users`], the conversation checks of [`conversation`], the message
//! search checks of [`search`] and the file records of [`files`]; blob stores call
//! [`blob_conformance!`](crate::blob_conformance). Each check becomes its own
//! `#[tokio::test]`; a factory that yields `None` skips loudly. [`fixtures`]
//! builds the users and messages those tests need.

pub mod admin;
pub mod blobs;
pub mod bus;
pub mod conversation;
pub mod files;
pub mod fixtures;
pub mod group_races;
pub mod groups;
pub mod limits;
pub mod presence;
pub mod search;
pub mod sessions;
pub mod store;
pub mod users;

/// Generates one test per store check. `$make` is an async block returning `Arc<dyn Store>`
/// (or `Option<_>`: `None` skips, for backends whose server is not configured).
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        $crate::store_conformance!(@tests store $make;
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
            resends_are_recognized_behind_newer_messages,
            messages_without_client_id_are_all_kept,
            pages_walk_history_without_gaps_or_repeats,
            messages_are_found_by_id,
            appending_to_an_unknown_room_is_not_found,
            text_and_timestamps_round_trip_exactly,
            write_probes_succeed_and_store_nothing_visible,
        );
        $crate::store_conformance!(@tests users $make;
            external_users_are_created_once_and_renamed,
            external_ids_map_to_distinct_users,
            concurrent_upserts_of_one_external_id_yield_one_user,
        );
        $crate::store_conformance!(@tests sessions $make;
            new_users_have_nothing_revoked,
            revoked_sessions_are_kept_until_they_expire,
            generations_advance_with_or_without_a_new_password,
            concurrent_advances_all_revoke,
        );
        $crate::store_conformance!(@tests groups $make;
            groups_start_with_their_creator_as_owner,
            group_creation_respects_the_member_limit,
            adding_members_skips_members_and_records_each_addition,
            full_groups_refuse_new_members,
            removed_members_lose_the_group,
            the_last_owner_leaving_hands_ownership_on,
            the_last_member_leaving_leaves_an_empty_group,
            roles_change_with_an_entry,
            renames_are_recorded_and_name_the_group,
            members_page_by_user_id,
            group_changes_need_a_group,
        );
        $crate::store_conformance!(@tests conversation $make;
            read_positions_only_move_forward,
            concurrent_read_marks_keep_the_highest,
            sending_moves_the_senders_read_position,
            unread_counters_hold_under_concurrent_sends,
            pages_after_a_seq_walk_forward,
            edits_keep_the_seq_and_mark_the_message,
            deletions_leave_tombstones,
            reactions_count_each_user_once,
            concurrent_reactions_count_once,
            changes_are_paged_by_time,
            edits_racing_deletions_never_restore_text,
        );
        $crate::store_conformance!(@tests files $make;
            file_records_round_trip,
            attached_files_are_marked_and_listed_by_the_message,
            only_own_unattached_files_of_the_room_attach,
            concurrent_attaches_of_one_file_have_one_winner,
            detached_files_can_be_attached_again,
            only_old_unattached_files_are_collected,
            attach_and_collect_never_both_win,
            a_messages_files_are_deleted_with_it,
            purging_an_uploader_deletes_its_files_and_empties_its_attachments,
        );
        $crate::store_conformance!(@tests admin $make;
            accounts_page_by_id_with_their_status,
            accounts_are_disabled_and_enabled,
            erasing_keeps_messages_as_from_a_deleted_user,
            erasing_frees_the_external_id_for_a_new_account,
            purging_blanks_messages_and_keeps_the_seq_line,
            all_rooms_page_by_id,
        );
        $crate::store_conformance!(@tests search $make;
            search_needs_every_word_in_any_case,
            search_reads_only_the_rooms_given,
            search_pages_by_the_last_hit,
            membership_entries_never_match,
            room_ids_follow_memberships,
            purged_messages_stop_matching,
            edited_messages_match_their_new_text_and_deleted_ones_never,
        );
        $crate::store_conformance!(@tests group_races $make;
            concurrent_adds_of_one_user_yield_one_membership,
            concurrent_adds_never_overfill_a_group,
            concurrent_renames_are_all_recorded_and_the_last_wins,
            changes_and_messages_share_one_gapless_seq_line,
        );
    };
    (@tests $module:ident $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store: Option<std::sync::Arc<dyn $crate::store::Store>> =
                    $crate::testing::store::into_option($make.await);
                match store {
                    Some(store) => $crate::testing::$module::$check(store).await,
                    None => eprintln!("SKIPPED {}: backend not configured", stringify!($check)),
                }
            }
        )*
    };
}

/// Generates one test per blob-store check. `$make` is an async block returning
/// `Arc<dyn BlobStore>` (or `Option<_>`: `None` skips).
#[macro_export]
macro_rules! blob_conformance {
    ($make:expr) => {
        $crate::blob_conformance!(@tests $make;
            blobs_round_trip,
            missing_blobs_are_none_and_deletes_are_idempotent,
            ranges_yield_exactly_their_bytes,
            puts_replace_whole_blobs,
            broken_uploads_store_nothing,
            unsafe_keys_are_refused,
            concurrent_puts_leave_one_whole_blob,
        );
    };
    (@tests $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                match $crate::testing::blobs::into_option($make.await) {
                    Some(blobs) => $crate::testing::blobs::$check(blobs).await,
                    None => eprintln!("SKIPPED {}: backend not configured", stringify!($check)),
                }
            }
        )*
    };
}

/// Generates one test per presence check. `$make` is an async block returning a
/// [`PresencePair`](crate::testing::presence::PresencePair) of two handles on one shared
/// presence (or `Option<_>`: `None` skips).
#[macro_export]
macro_rules! presence_conformance {
    ($make:expr) => {
        $crate::presence_conformance!(@tests $make;
            counts_add_up_across_nodes,
            devices_of_one_user_are_one_presence,
            connect_and_disconnect_are_idempotent,
            online_answers_in_order,
            users_are_independent,
            heartbeats_keep_sockets_and_nothing_live_expires,
        );
    };
    (@tests $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                match $crate::testing::presence::into_option($make.await) {
                    Some(pair) => $crate::testing::presence::$check(pair).await,
                    None => eprintln!("SKIPPED {}: backend not configured", stringify!($check)),
                }
            }
        )*
    };
}

/// Generates one test per rate-limit check. `$make` is a closure taking the
/// [`Quota`](crate::limits::Quota) to enforce and returning a future of a
/// [`LimiterPair`](crate::testing::limits::LimiterPair) sharing one set of buckets (or
/// `Option<_>`: `None` skips).
#[macro_export]
macro_rules! limits_conformance {
    ($make:expr) => {
        $crate::limits_conformance!(@tests $make;
            burst_then_refill,
            users_are_independent,
            buckets_are_shared_across_instances,
            concurrent_sends_never_exceed_the_burst,
            attempts_allow_the_burst_then_tell_the_wait,
            attempt_buckets_are_shared_across_instances,
        );
    };
    (@tests $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let pair = ($make)($crate::testing::limits::QUOTA).await;
                match $crate::testing::limits::into_option(pair) {
                    Some(pair) => $crate::testing::limits::$check(pair).await,
                    None => eprintln!("SKIPPED {}: backend not configured", stringify!($check)),
                }
            }
        )*
    };
}

/// Generates one test per bus check. `$make` is an async block returning a
/// [`BusPair`](crate::testing::bus::BusPair) of two nodes on one bus (or `Option<_>`: `None`
/// skips).
#[macro_export]
macro_rules! bus_conformance {
    ($make:expr) => {
        $crate::bus_conformance!(@tests $make;
            nodes_are_distinct_and_connected,
            inbound_is_taken_once,
            events_reach_only_watchers,
            each_watched_recipient_gets_the_event,
            publications_never_return_to_their_origin,
            one_publishers_events_keep_their_order,
            unwatch_stops_delivery,
            order_holds_across_topics,
            stray_unwatch_and_empty_publish_are_harmless,
        );
    };
    (@tests $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                match $crate::testing::bus::into_option($make.await) {
                    Some(pair) => $crate::testing::bus::$check(pair).await,
                    None => eprintln!("SKIPPED {}: backend not configured", stringify!($check)),
                }
            }
        )*
    };
}
