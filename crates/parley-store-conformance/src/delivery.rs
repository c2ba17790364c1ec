//! The delivery ledger and email jobs: stored with the message, claimed once, settled once.

use crate::fixtures::*;
use parley_domain::delivery::{Digest, EmailState, SuppressReason};
use parley_domain::*;
use parley_store::*;

fn email_for(digest: &Digest, at: i64) -> NewOutgoingEmail {
    NewOutgoingEmail {
        created_at: at,
        conversation_id: Some(digest.conversation_id),
        party: Some(digest.party),
        to_address: "someone@acme.test".into(),
        to_name: "Someone".into(),
        subject: "New message".into(),
        body_text: "text".into(),
        body_html: "<p>html</p>".into(),
        message_id_header: format!("<m{}.{}@acme.test>", digest.messages[0], digest.party.raw_id()),
        in_reply_to: None,
        references: None,
        reply_to: None,
        secret: None,
    }
}

fn digest_of(due: &[parley_domain::delivery::DueEmail]) -> Digest {
    let (_, digests) = parley_domain::delivery::plan_digests(due);
    assert_eq!(digests.len(), 1, "{due:?}");
    digests.into_iter().next().unwrap()
}

/// R14: posting stores the planned email of each recipient in the same write: a pending one due
/// one delay later, or, for recipients whose preferences say no, suppressed at once.
pub async fn r14_email_job_is_stored_with_the_message<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let mut m = new_message(&c, Author::User(w.admin.id), &[Party::Customer(w.customer.id)], T0);
    m.audience.recipients.push(parley_domain::audience::Recipient {
        party: Party::User(w.member.id),
        reasons: vec![parley_domain::audience::Reason::ItemFollower],
        notify: false,
    });
    let m = store.insert_message(m.planned(c.header.visibility, DELAY)).await.unwrap();
    let timeline = store.delivery_timeline(m.id).await.unwrap();
    let customer = timeline.iter().find(|r| r.party == Party::Customer(w.customer.id)).unwrap();
    assert_eq!(customer.email_state, EmailState::Pending);
    assert_eq!(customer.email_due_at, Some(T0 + DELAY));
    let member = timeline.iter().find(|r| r.party == Party::User(w.member.id)).unwrap();
    assert_eq!((member.email_state, member.email_reason), (EmailState::Suppressed, Some(SuppressReason::Preference)));
    // Nothing is due before the delay has passed.
    assert!(store.claim_due_emails(T0 + DELAY - 1, T0 + 2 * DELAY, 10).await.unwrap().is_empty());
}

/// R14: a due email is claimed by one worker only; once the lease runs out (the worker died),
/// another takes it over.
pub async fn r14_due_email_is_claimed_once_until_its_lease_runs_out<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let to = [Party::Customer(w.customer.id)];
    store.insert_message(new_message(&c, Author::User(w.admin.id), &to, T0)).await.unwrap();
    let due = T0 + DELAY;
    let first = store.claim_due_emails(due, due + 1_000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(store.claim_due_emails(due + 999, due + 5_000, 10).await.unwrap().is_empty(), "still leased");
    let again = store.claim_due_emails(due + 1_000, due + 5_000, 10).await.unwrap();
    assert_eq!(again, first, "taken over after the lease");
}

/// R14, R34: a claim takes a recipient's due jobs of one conversation whole, however small its
/// limit (which counts digests): one digest holds them all, and no other claim (another round,
/// another node) gets part of them to send as a second digest.
pub async fn r14_r34_a_claim_takes_a_digest_whole<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let other = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    let mut ids = Vec::new();
    for (n, conversation) in [&c, &c, &other, &c].into_iter().enumerate() {
        let m = new_message(conversation, Author::User(w.admin.id), &[customer], T0 + n as i64);
        ids.push(store.insert_message(m).await.unwrap().id);
    }
    let now = T0 + 10 * DELAY;
    // The other conversation's job is the soonest due: the first conversation's wait for their
    // last (R34).
    let first = store.claim_due_emails(now, now + DELAY, 1).await.unwrap();
    assert_eq!(digest_of(&first).messages, vec![ids[2]], "the other conversation's");
    let second = store.claim_due_emails(now, now + DELAY, 1).await.unwrap();
    assert_eq!(digest_of(&second).messages, vec![ids[0], ids[1], ids[3]], "then the first one's, all of them");
    assert!(store.claim_due_emails(now, now + DELAY, 10).await.unwrap().is_empty());
}

/// R14 at most once: a digest is queued only while its jobs are pending and unseen, and only once.
pub async fn r14_digest_is_queued_once_and_not_after_seen<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    let m1 = store.insert_message(new_message(&c, Author::User(w.admin.id), &[customer], T0)).await.unwrap();
    let m2 = store.insert_message(new_message(&c, Author::User(w.admin.id), &[customer], T0 + 1)).await.unwrap();
    let due = store.claim_due_emails(T0 + DELAY + 1, T0 + 2 * DELAY, 10).await.unwrap();
    let digest = digest_of(&due);
    assert_eq!(digest.messages, vec![m1.id, m2.id], "R34: one digest, in order");

    // Seen between the claim and the queueing: nothing is queued and the jobs are released.
    store.mark_seen(customer, &[m2.id], T0 + DELAY + 2).await.unwrap();
    assert_eq!(store.queue_digest(&digest, email_for(&digest, T0 + DELAY + 3)).await.unwrap(), None);
    assert!(store.claim_outgoing(T0 + 3 * DELAY, T0 + 4 * DELAY, 10).await.unwrap().is_empty());
    let timeline = store.delivery_timeline(m2.id).await.unwrap();
    assert_eq!(
        (timeline[0].email_state, timeline[0].email_reason),
        (EmailState::Suppressed, Some(SuppressReason::Seen))
    );

    let due = store.claim_due_emails(T0 + DELAY + 4, T0 + 2 * DELAY, 10).await.unwrap();
    let digest = digest_of(&due);
    assert_eq!(digest.messages, vec![m1.id]);
    let id = store.queue_digest(&digest, email_for(&digest, T0 + DELAY + 5)).await.unwrap().unwrap();
    assert_eq!(store.queue_digest(&digest, email_for(&digest, T0 + DELAY + 6)).await.unwrap(), None, "only once");
    assert!(store.claim_due_emails(T0 + 10 * DELAY, T0 + 11 * DELAY, 10).await.unwrap().is_empty());

    let outgoing = store.claim_outgoing(T0 + DELAY + 7, T0 + 2 * DELAY, 10).await.unwrap();
    assert_eq!(outgoing.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);
    store.outgoing_sent(&[id], T0 + DELAY + 8).await.unwrap();
    let record = &store.delivery_timeline(m1.id).await.unwrap()[0];
    assert_eq!(
        (record.email_state, record.email_at, record.email_id),
        (EmailState::Sent, Some(T0 + DELAY + 8), Some(id))
    );
    assert!(store.claim_outgoing(T0 + 10 * DELAY, T0 + 11 * DELAY, 10).await.unwrap().is_empty(), "sent once");
}

/// R14, R34 in a batch: digests queued together stand alone — one whose job was seen meanwhile is
/// refused and released while the others are queued, and every email's jobs are sent together.
pub async fn r14_digests_queued_together_stand_alone<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let (customer, member) = (Party::Customer(w.customer.id), Party::User(w.member.id));
    let m = store.insert_message(new_message(&c, Author::User(w.admin.id), &[customer, member], T0)).await.unwrap();
    let due = store.claim_due_emails(T0 + DELAY, T0 + 2 * DELAY, 10).await.unwrap();
    let digests: Vec<Digest> = [customer, member]
        .iter()
        .map(|p| digest_of(&due.iter().filter(|d| d.party == *p).cloned().collect::<Vec<_>>()))
        .collect();
    store.mark_seen(member, &[m.id], T0 + DELAY + 1).await.unwrap();
    let batch = digests.iter().map(|d| (d.clone(), email_for(d, T0 + DELAY + 2))).collect();
    let queued = store.queue_digests(batch).await.unwrap();
    assert!(queued[0].is_some() && queued[1].is_none(), "{queued:?}");
    let outgoing = store.claim_outgoing(T0 + DELAY + 3, T0 + 2 * DELAY, 10).await.unwrap();
    assert_eq!(outgoing.len(), 1);
    assert_eq!(outgoing[0].email.to_address, email_for(&digests[0], 0).to_address);
    store.outgoing_sent(&[outgoing[0].id], T0 + DELAY + 5).await.unwrap();
    let timeline = store.delivery_timeline(m.id).await.unwrap();
    let state_of = |p: Party| timeline.iter().find(|r| r.party == p).map(|r| (r.email_state, r.email_reason));
    assert_eq!(state_of(customer), Some((EmailState::Sent, None)));
    assert_eq!(state_of(member), Some((EmailState::Suppressed, Some(SuppressReason::Seen))));
}

/// R14 across a crash during sending: a try is recorded with its claim, before it begins; an email whose try
/// never ended comes back, after the lease, marked in doubt; one whose try ended does not.
pub async fn r14_an_email_whose_try_was_cut_off_comes_back_in_doubt<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    store.insert_message(new_message(&c, Author::User(w.admin.id), &[customer], T0)).await.unwrap();
    let due = store.claim_due_emails(T0 + DELAY, T0 + 2 * DELAY, 10).await.unwrap();
    let digest = digest_of(&due);
    let id = store.queue_digest(&digest, email_for(&digest, T0 + DELAY)).await.unwrap().unwrap();
    let lease = T0 + DELAY + 1_000;
    let first = store.claim_outgoing(T0 + DELAY, lease, 10).await.unwrap();
    assert_eq!((first.len(), first[0].in_doubt), (1, false));
    // The sender dies while trying. After the lease the email is claimed again, in doubt.
    assert!(store.claim_outgoing(lease - 1, lease + 1_000, 10).await.unwrap().is_empty(), "still leased");
    let again = store.claim_outgoing(lease, lease + 1_000, 10).await.unwrap();
    assert_eq!((again.len(), again[0].in_doubt), (1, true));
    assert_eq!(again[0].email.message_id_header, first[0].email.message_id_header, "the same Message-ID");
    store.outgoing_failed(id, "421 try later", Some(lease + 2_000), lease + 2).await.unwrap();
    let retried = store.claim_outgoing(lease + 2_000, lease + 3_000, 10).await.unwrap();
    assert_eq!((retried.len(), retried[0].in_doubt), (1, false), "a failed try ended: not in doubt");
    store.outgoing_sent(&[id], lease + 2_002).await.unwrap();
    assert!(store.claim_outgoing(lease + 10_000, lease + 11_000, 10).await.unwrap().is_empty(), "sent once");
}

/// Failed sends are retried at the given time, and given up when told so.
pub async fn outgoing_email_retries_then_fails<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    let m = store.insert_message(new_message(&c, Author::User(w.admin.id), &[customer], T0)).await.unwrap();
    let due = store.claim_due_emails(T0 + DELAY, T0 + 2 * DELAY, 10).await.unwrap();
    let digest = digest_of(&due);
    let id = store.queue_digest(&digest, email_for(&digest, T0 + DELAY)).await.unwrap().unwrap();
    let t = T0 + DELAY;
    assert_eq!(store.claim_outgoing(t, t + 100, 10).await.unwrap().len(), 1);
    store.outgoing_failed(id, "451 try later", Some(t + 5_000), t + 1).await.unwrap();
    assert!(store.claim_outgoing(t + 4_999, t + 9_000, 10).await.unwrap().is_empty(), "waits for the retry time");
    let retry = store.claim_outgoing(t + 5_000, t + 9_000, 10).await.unwrap();
    assert_eq!((retry[0].attempts, retry[0].last_error.as_deref()), (1, Some("451 try later")));
    store.outgoing_failed(id, "550 no such user", None, t + 5_001).await.unwrap();
    let email = store.outgoing_email(id).await.unwrap();
    assert_eq!((email.status.as_str(), email.attempts), ("failed", 2));
    let record = &store.delivery_timeline(m.id).await.unwrap()[0];
    assert_eq!((record.email_state, record.email_error.as_deref()), (EmailState::Failed, Some("550 no such user")));
}

/// R13: seen is recorded once, only for one's own deliveries; reading a conversation up to a
/// message sees everything before it.
pub async fn r13_seen_only_for_own_deliveries_and_by_reading<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    let member = Party::User(w.member.id);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            store
                .insert_message(new_message(&c, Author::User(w.admin.id), &[customer, member], T0 + i))
                .await
                .unwrap()
                .id,
        );
    }
    let stranger = Party::User(w.admin.id);
    assert!(store.mark_seen(stranger, &ids, T0 + 10).await.unwrap().is_empty(), "not addressed to them");
    let seen = store.mark_seen(customer, &[ids[0]], T0 + 10).await.unwrap();
    assert_eq!(seen.iter().map(|s| (s.message_id, s.seen_at)).collect::<Vec<_>>(), vec![(ids[0], T0 + 10)]);
    assert!(store.mark_seen(customer, &[ids[0]], T0 + 20).await.unwrap().is_empty(), "idempotent");

    store.mark_read(c.header.id, member, 2, T0 + 30).await.unwrap();
    let seen_by_member: Vec<Option<i64>> = {
        let mut v = Vec::new();
        for id in &ids {
            let t = store.delivery_timeline(*id).await.unwrap();
            v.push(t.iter().find(|r| r.party == member).unwrap().seen_at);
        }
        v
    };
    assert_eq!(seen_by_member, vec![Some(T0 + 30), Some(T0 + 30), None]);
    let pushed: Vec<_> = ids.iter().map(|id| (*id, customer)).collect();
    store.mark_pushed(&pushed, T0 + 40).await.unwrap();
    let first = store.delivery_timeline(ids[0]).await.unwrap();
    let record = first.iter().find(|r| r.party == customer).unwrap();
    assert_eq!((record.pushed_at, record.seen_at), (Some(T0 + 40), Some(T0 + 10)));
}

/// R13 with R7 and R33: a customer cannot mark seen a message they may not read — one still held
/// by the send guard or made internal — and nobody can mark one taken back. Such ids are ignored
/// and leave no trace in the timeline.
pub async fn r13_seen_ignores_messages_the_person_may_not_read<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    let member = Party::User(w.member.id);
    let held = |at: i64| held_message(&c, Author::User(w.admin.id), &[customer, member], at);
    let still_held = store.insert_message(held(T0)).await.unwrap();
    let internal = store.insert_message(held(T0 + 1)).await.unwrap();
    store.retract_message(internal.id, Retraction::MakeInternal, T0 + 2).await.unwrap();
    let undone = store.insert_message(held(T0 + 3)).await.unwrap();
    store.retract_message(undone.id, Retraction::Undo, T0 + 4).await.unwrap();
    let ids = [still_held.id, internal.id, undone.id];
    assert!(store.mark_seen(customer, &ids, T0 + 5).await.unwrap().is_empty());
    let seen: Vec<MessageId> =
        store.mark_seen(member, &ids, T0 + 5).await.unwrap().iter().map(|s| s.message_id).collect();
    assert_eq!(seen, vec![still_held.id, internal.id], "staff see held and internal ones, not undone ones");
    for id in ids {
        let record = store.delivery_timeline(id).await.unwrap().into_iter().find(|r| r.party == customer);
        assert_eq!(record.and_then(|r| r.seen_at), None, "{id:?}");
    }
    // Once released, the customer may see it.
    let at = T0 + 10_000;
    let seen = store.mark_seen(customer, &[still_held.id], at).await.unwrap();
    assert_eq!(seen.len(), 1);
}

/// R32: the log lists emails and suppressions; pruning forgets old emails but keeps the ledger.
pub async fn r32_outgoing_log_lists_and_prunes<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    let m = store.insert_message(new_message(&c, Author::User(w.admin.id), &[customer], T0)).await.unwrap();
    let due = store.claim_due_emails(T0 + DELAY, T0 + 2 * DELAY, 10).await.unwrap();
    let digest = digest_of(&due);
    let id = store.queue_digest(&digest, email_for(&digest, T0 + DELAY)).await.unwrap().unwrap();
    store.outgoing_sent(&[id], T0 + DELAY + 1).await.unwrap();
    let mut other = new_message(&c, Author::User(w.admin.id), &[], T0 + 2);
    other.audience.recipients.push(parley_domain::audience::Recipient {
        party: Party::User(w.member.id),
        reasons: vec![parley_domain::audience::Reason::ItemFollower],
        notify: false,
    });
    let quiet = store.insert_message(other.planned(c.header.visibility, DELAY)).await.unwrap();

    let log = store.outgoing_log(T0, 10).await.unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[0].status.as_str(), log[0].email_id), ("sent", Some(id)));
    assert_eq!((log[1].status.as_str(), log[1].reason.as_deref()), ("suppressed", Some("preference")));
    assert_eq!(log[1].message_id, Some(quiet.id));

    assert_eq!(store.prune_outgoing(T0 + DELAY + 1).await.unwrap(), 1);
    assert!(matches!(store.outgoing_email(id).await, Err(StoreError::NotFound)));
    let record = &store.delivery_timeline(m.id).await.unwrap()[0];
    assert_eq!((record.email_state, record.email_id), (EmailState::Sent, None), "the ledger keeps the outcome");
}

pub async fn secrets_and_templates_are_kept<S: Store>(store: &S) {
    assert_eq!(store.secret("key", "first").await.unwrap(), "first");
    assert_eq!(store.secret("key", "second").await.unwrap(), "first", "created once");
    let t = Template {
        name: "new_message".into(),
        subject: "s".into(),
        body_text: "t".into(),
        body_html: "h".into(),
        updated_at: 1,
    };
    store.put_template(&t, true).await.unwrap();
    let edited = Template { subject: "edited".into(), updated_at: 2, ..t.clone() };
    assert_eq!(store.put_template(&edited, true).await.unwrap(), t, "defaults never overwrite");
    assert_eq!(store.put_template(&edited, false).await.unwrap(), edited);
    assert_eq!(store.template("new_message").await.unwrap(), Some(edited));
    assert_eq!(store.template("missing").await.unwrap(), None);
}

/// R34: a job falling due close to the email its recipient's earlier messages wait for joins it;
/// they all fall due with the last, never before their own delay, and a pause longer than the
/// window starts an email of its own.
pub async fn r34_a_burst_falls_due_together_with_its_last_message<S: Store>(store: &S) {
    use parley_domain::delivery::BURST_GAP_MS;
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let (customer, member) = (Party::Customer(w.customer.id), Party::User(w.member.id));
    let mut burst = Vec::new();
    for n in 0..5 {
        let m = new_message(&c, Author::User(w.admin.id), &[customer], T0 + 2_000 * n);
        burst.push(store.insert_message(m).await.unwrap().id);
    }
    // Someone else's jobs in the same conversation are theirs alone.
    let mine = store.insert_message(new_message(&c, Author::User(w.admin.id), &[member], T0)).await.unwrap();
    let first_due = T0 + DELAY;
    let last_due = T0 + 8_000 + DELAY;
    let early = store.claim_due_emails(first_due, first_due + 10 * DELAY, 10).await.unwrap();
    assert_eq!(digest_of(&early).messages, vec![mine.id], "only the member's: the burst waits for its last");
    assert!(store.claim_due_emails(last_due - 1, last_due, 10).await.unwrap().is_empty());
    let due = store.claim_due_emails(last_due, last_due + DELAY, 10).await.unwrap();
    assert_eq!(digest_of(&due).messages, burst, "one email, in order");

    // After a longer pause, a new email.
    let later = T0 + 8_000 + BURST_GAP_MS + 1;
    let alone = store.insert_message(new_message(&c, Author::User(w.admin.id), &[customer], later)).await.unwrap();
    let due = store.claim_due_emails(later + DELAY, later + 2 * DELAY, 10).await.unwrap();
    assert_eq!(digest_of(&due).messages, vec![alone.id]);

    // A flood of 25 a few ms apart: a first email of 20 when the 20th falls due, the rest with
    // the last.
    use parley_domain::delivery::BURST_MAX_MESSAGES;
    let start = later + 10 * BURST_GAP_MS;
    let mut flood = Vec::new();
    for n in 0..25 {
        let m = new_message(&c, Author::User(w.admin.id), &[customer], start + 10 * n);
        flood.push(store.insert_message(m).await.unwrap().id);
    }
    let twentieth = start + 10 * (BURST_MAX_MESSAGES - 1) + DELAY;
    // (The earlier claims were never settled: their leases ran out, and they come again.)
    let of_flood = |due: &[parley_domain::delivery::DueEmail]| -> Vec<MessageId> {
        digest_of(due).messages.into_iter().filter(|m| flood.contains(m)).collect()
    };
    let first = store.claim_due_emails(twentieth, twentieth + DELAY, 100).await.unwrap();
    assert_eq!(of_flood(&first), flood[..20].to_vec(), "twenty in the first email");
    let last = start + 10 * 24 + DELAY;
    let second = store.claim_due_emails(last, last + DELAY, 100).await.unwrap();
    assert_eq!(of_flood(&second), flood[20..].to_vec(), "the rest with the last");
}
