//! The delivery ledger, the email jobs and the outgoing mail queue, secrets and templates.
//!
//! Email work is claimed with a lease (`claimed_until`): a worker that dies leaves its claims to
//! run out, and another worker (or the same one after a restart) takes them over. Each change of
//! state is a compare-and-set on the state the worker saw, so two workers never both settle the
//! same job.

use crate::error::StoreResult;
use crate::records::*;
use async_trait::async_trait;
use parley_domain::delivery::{Digest, DueEmail, SuppressReason};
use parley_domain::*;

#[async_trait]
pub trait DeliveryStore {
    /// R13: records that `party` has seen these messages (only those addressed to them; repeating
    /// is harmless). A pending email for them is suppressed as seen. Returns the newly seen ones.
    async fn mark_seen(&self, party: Party, messages: &[MessageId], now: i64) -> StoreResult<Vec<SeenReceipt>>;
    /// R12: records that each message was pushed to its person over a live connection.
    async fn mark_pushed(&self, pushed: &[(MessageId, Party)], now: i64) -> StoreResult<()>;
    /// How much email work waits, and since when the oldest of each kind is due.
    async fn email_queues(&self) -> StoreResult<EmailQueues>;
    /// R35: one message's per-recipient record.
    async fn delivery_timeline(&self, message: MessageId) -> StoreResult<Vec<DeliveryRecord>>;

    /// Claims pending emails due by `now` (unclaimed, or whose lease ran out) until
    /// `lease_until`: the due jobs of up to `limit` digests, a digest being a person's due jobs
    /// of one conversation, taken whole (R34), never part of one.
    async fn claim_due_emails(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DueEmail>>;
    /// R34: what composing these digests reads — their messages, conversations and items,
    /// recipients and the messages' authors — in one call.
    async fn digest_reads(&self, digests: &[Digest]) -> StoreResult<DigestReads>;
    /// Settles claimed pending emails as suppressed, with why.
    async fn suppress_emails(&self, jobs: &[(MessageId, Party, SuppressReason)], now: i64) -> StoreResult<()>;
    /// Queues one digest as an outgoing email and marks its jobs queued, in one transaction — only
    /// if every job is still pending and unseen; otherwise writes nothing, releases the claims and answers
    /// `None`, so the next round plans them again.
    async fn queue_digest(&self, digest: &Digest, email: NewOutgoingEmail) -> StoreResult<Option<OutgoingEmailId>> {
        let queued = self.queue_digests(vec![(digest.clone(), email)]).await?;
        Ok(queued.into_iter().next().flatten())
    }
    /// [`DeliveryStore::queue_digest`] for many digests in one transaction; each is queued or
    /// refused on its own, and the answers are in the same order.
    async fn queue_digests(&self, batch: Vec<(Digest, NewOutgoingEmail)>) -> StoreResult<Vec<Option<OutgoingEmailId>>>;

    /// Queues an email that is not about messages (a login link, say).
    async fn queue_email(&self, email: NewOutgoingEmail) -> StoreResult<OutgoingEmailId>;

    /// A restart takes back at once the claims its node left when it stopped without settling
    /// them (emails to plan, emails to send, webhook deliveries), instead of waiting for their
    /// leases: the caller knows no live node holds any (an embedded store's process holds the
    /// data directory's lock). An email whose try was cut off stays in doubt. Answers how many.
    /// On a store several nodes share, claims name no owner yet: it takes back nothing, and a
    /// dead node's claims wait for their leases.
    async fn take_back_claims(&self) -> StoreResult<u64>;

    /// Claims up to `limit` queued outgoing emails whose next attempt is due, to try them now. The
    /// try is recorded with the claim, so a crash during it leaves the email in doubt: claimed
    /// again after the lease, it says `in_doubt` (as it did not before, unless an earlier try was
    /// cut off too).
    async fn claim_outgoing(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<OutgoingEmail>>;
    /// The emails went out: they and their jobs are sent, in one transaction.
    async fn outgoing_sent(&self, ids: &[OutgoingEmailId], now: i64) -> StoreResult<()>;
    /// A try failed: retry at `retry_at`, or, with `None`, give up (it and its jobs are failed).
    async fn outgoing_failed(
        &self,
        id: OutgoingEmailId,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> StoreResult<()>;
    async fn outgoing_email(&self, id: OutgoingEmailId) -> StoreResult<OutgoingEmail>;
    /// R32: emails created and emails suppressed since `since`, newest first.
    async fn outgoing_log(&self, since: i64, limit: i64) -> StoreResult<Vec<OutgoingLogEntry>>;
    /// R32: forgets outgoing emails created before `before`. Returns how many.
    async fn prune_outgoing(&self, before: i64) -> StoreResult<u64>;

    /// The secret called `name`, storing `fresh` as it if there is none yet.
    async fn secret(&self, name: &str, fresh: &str) -> StoreResult<String>;
    async fn template(&self, name: &str) -> StoreResult<Option<Template>>;
    /// Stores a template; with `only_if_absent`, keeps an existing one (for installing defaults).
    async fn put_template(&self, template: &Template, only_if_absent: bool) -> StoreResult<Template>;
}
