//! Behaviour every [`Store`] backend must have. Each check is a plain async function over a fresh,
//! empty store; a backend's test file runs them all with [`store_behaviour_tests!`], so SQLite and
//! any later backend are held to the same contract.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod attachments;
mod automations;
mod conversations;
mod delivery;
mod fixtures;
mod inbox;
mod mail_in;
mod people;
mod routing;
mod rows;
mod saved_replies;

pub use accounts::*;
pub use attachments::*;
pub use automations::*;
pub use conversations::*;
pub use delivery::*;
pub use fixtures::*;
pub use inbox::*;
pub use mail_in::*;
pub use people::*;
pub use routing::*;
pub use rows::*;
pub use saved_replies::*;

/// Expands to one `#[tokio::test]` per behaviour. `$fresh` is an async closure returning a fresh
/// store and a guard kept alive for the test's duration (a temporary directory, say).
#[macro_export]
macro_rules! store_behaviour_tests {
    ($fresh:expr) => {
        $crate::store_behaviour_tests!(@each $fresh;
            company_is_created_once,
            user_email_is_unique,
            api_token_use_is_recorded_at_most_once_a_minute,
            a_deactivated_user_has_no_session_token_or_mention,
            audience_profiles_batch_includes_broad_preferences_and_team_projects,
            r5_link_makes_participants_followers_and_customers_requesters,
            r5_linking_a_linked_conversation_conflicts,
            r6_locked_conversation_refuses_message_and_writes_nothing,
            r6_message_reopens_closed_conversation,
            r6_state_change_is_compare_and_set,
            r8_messages_are_numbered_and_keep_their_audience,
            r9_author_has_read_own_message,
            r10_r20_post_context_reads_what_a_post_needs_at_once,
            r6_r8_concurrent_posts_are_numbered_once_and_fail_alone,
            read_position_never_moves_back_nor_past_the_end,
            mentioned_users_start_following,
            r14_a_message_without_each_recipients_plan_writes_nothing,
            r14_email_job_is_stored_with_the_message,
            r14_due_email_is_claimed_once_until_its_lease_runs_out,
            r14_r34_a_claim_takes_a_digest_whole,
            r34_a_burst_falls_due_together_with_its_last_message,
            r14_digest_is_queued_once_and_not_after_seen,
            r14_digests_queued_together_stand_alone,
            outgoing_email_retries_then_fails,
            r14_an_email_whose_try_was_cut_off_comes_back_in_doubt,
            r13_seen_only_for_own_deliveries_and_by_reading,
            r13_seen_ignores_messages_the_person_may_not_read,
            r32_outgoing_log_lists_and_prunes,
            secrets_and_templates_are_kept,
            visitors_have_no_email_and_addresses_stay_unique,
            r33_held_message_reaches_customers_only_when_released,
            r33_retracting_within_the_guard,
            r7_customers_are_shown_numbers_without_gaps,
            r32_incoming_log_keeps_what_each_mail_did_and_prunes,
            inbound_tokens_are_found_by_hash_and_revoked,
            r18_an_item_may_be_opened_by_a_customer,
            r20_r27_inbox_equals_the_full_computation_after_random_writes,
            r26_each_write_announces_the_counts_it_changed,
            r26_r27_each_write_moves_a_conversation_between_views,
            r41_writing_takes_part_counts_as_mine_and_grants_no_access,
            r42_routing_goes_round_skips_the_unavailable_and_holds_the_cap_under_concurrency,
            r20_a_narrow_scope_finds_its_few_conversations_behind_many_newer_ones,
            r33_a_held_reply_counts_for_the_customer_once_released,
            r26_rows_carry_the_latest_readable_words_customers_and_assignees_and_pages_filter,
            r7_a_message_takes_only_its_authors_unsent_uploads_and_lists_them,
            r33_an_attachment_follows_its_message_held_made_internal_or_undone,
            unsent_uploads_are_pruned_and_only_unnamed_bytes_reported,
            saved_replies_are_listed_by_title_and_titles_are_unique_without_case,
            r38_a_password_link_works_once_and_ends_every_session_and_token,
            r31_system_emails_are_on_until_turned_off,
            r25_an_invitation_is_answered_once_and_one_is_pending_at_a_time,
            r29_automations_are_kept_with_one_core_rule_first,
            r29_customer_messages_waiting_for_a_user_are_found_and_claimed_once,
            r30_a_template_an_automation_sends_cannot_be_deleted,
            webhooks_are_kept_and_one_an_automation_calls_cannot_be_deleted,
            webhook_deliveries_are_claimed_once_retried_and_logged,
            r44_queued_deliveries_stop_when_what_they_were_for_changes,
        );
    };
    (@each $fresh:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (store, _guard) = ($fresh)().await;
                $crate::$name(&store).await;
            }
        )*
    };
}
