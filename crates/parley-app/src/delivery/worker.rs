//! The email worker (R14, R15, R34): it claims pending emails that have fallen due, suppresses
//! those the rules now refuse (seen, preferences…), queues one digest per recipient and
//! conversation, and sends queued emails with retries. All of its work is claimed in the store
//! with a lease, so several nodes (or a restarted one) never do the same job twice, and a job a
//! crashed node held is taken over once its lease runs out.

use crate::{App, AppResult};
use futures_util::StreamExt;
use parley_domain::delivery::{plan_digests, retry_delay_ms, SuppressReason};
use parley_domain::{ConversationId, OutgoingEmailId, Party, UserId, Visibility};
use parley_store::OutgoingEmail;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Due jobs composed per round, at most. A round costs two writes whatever its size (claim,
/// queue), and one composer runs, so that all of a recipient's messages in one conversation that
/// are due together are claimed together and go out as one email (R34).
const BATCH: i64 = 500;
/// Sending rounds under way at once: while one waits for the store, the other talks to the SMTP
/// server.
const SENDERS: usize = 2;
/// Emails claimed for sending at a time, per SMTP conversation under way at once. A batch costs
/// two writes (claim, sent) whatever its size, and the writer is shared with posting, so batches
/// are large enough to spread them: with two emails per conversation the sender spent four
/// fifths of its time waiting on the writer and fell behind at 1,100 emails/s. After a crash, the
/// batch the node held waits for its lease (R14: late, not lost and not twice).
const SEND_BATCH_PER_SENDER: usize = 8;
/// Outgoing emails are kept this long for the log (R32).
const LOG_KEEP_MS: i64 = 72 * 3_600_000;

/// What one round did, for tests and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    /// Held messages released to customers (R33).
    pub released: usize,
    pub suppressed: usize,
    pub queued: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Emails sent again after a try whose outcome a crash left unknown.
    pub resent_in_doubt: usize,
}

impl DeliveryRound {
    pub fn is_idle(&self) -> bool {
        *self == DeliveryRound::default()
    }

    fn add(&mut self, other: DeliveryRound) {
        self.released += other.released;
        self.suppressed += other.suppressed;
        self.queued += other.queued;
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.resent_in_doubt += other.resent_in_doubt;
    }
}

impl App {
    /// One pass over due work: releasing held messages, digests, then sending them.
    #[tracing::instrument(name = "deliver", skip_all)]
    pub async fn deliver_due(&self) -> AppResult<DeliveryRound> {
        let mut round = self.compose_due().await?;
        round.add(self.send_due().await?);
        Ok(round)
    }

    /// The composing half of a round: held messages released, due jobs turned into queued emails.
    #[tracing::instrument(name = "deliver", skip_all, fields(half = "compose"))]
    pub async fn compose_due(&self) -> AppResult<DeliveryRound> {
        let mut round = DeliveryRound { released: self.release_held_messages().await?, ..DeliveryRound::default() };
        self.queue_due_digests(&mut round).await?;
        Ok(round)
    }

    /// The sending half of a round: queued emails that are due go out.
    #[tracing::instrument(name = "deliver", skip_all, fields(half = "send"))]
    pub async fn send_due(&self) -> AppResult<DeliveryRound> {
        let mut round = DeliveryRound::default();
        self.send_queued(&mut round).await?;
        Ok(round)
    }

    async fn queue_due_digests(&self, round: &mut DeliveryRound) -> AppResult<()> {
        let now = self.now();
        let due = self.store.claim_due_emails(now, now + self.lease_ms(), BATCH).await?;
        if due.is_empty() {
            return Ok(());
        }
        let (mut suppressed, digests) = plan_digests(&due);
        let mut ready = Vec::with_capacity(digests.len());
        for composed in self.compose_round(digests).await? {
            match composed {
                Ok(email) => ready.push(email),
                Err(digest) => {
                    suppressed.extend(digest.messages.iter().map(|m| (*m, digest.party, SuppressReason::NoAddress)))
                }
            }
        }
        let parties: Vec<Party> = ready.iter().map(|(digest, _)| digest.party).collect();
        for (party, queued) in parties.into_iter().zip(self.store.queue_digests(ready).await?) {
            match queued {
                Some(_) => round.queued += 1,
                // Seen while being composed: the jobs were released and the next round decides again.
                None => tracing::debug!(?party, "digest changed while composing"),
            }
        }
        round.suppressed += suppressed.len();
        self.store.suppress_emails(&suppressed, now).await?;
        for (_, _, reason) in &suppressed {
            self.metrics.emails("suppressed", reason.as_str(), 1);
        }
        Ok(())
    }

    async fn send_queued(&self, round: &mut DeliveryRound) -> AppResult<()> {
        let now = self.now();
        let at_once = self.mailer.parallel().max(1);
        let batch = i64::try_from(at_once * SEND_BATCH_PER_SENDER).unwrap_or(i64::MAX);
        // The claim records the tries as begun, so a crash during them is known afterwards.
        let claimed = self.store.claim_outgoing(now, now + self.lease_ms(), batch).await?;
        if claimed.is_empty() {
            return Ok(());
        }
        let mut sent = Vec::new();
        let mut to_send = Vec::with_capacity(claimed.len());
        for email in claimed {
            if email.in_doubt {
                // An earlier try began and its outcome was never recorded: the node died while
                // sending. If the SMTP server's acceptance made it into the journal, it is sent.
                if self.journal.holds(email.id) {
                    sent.push(email.id);
                    continue;
                }
                // Otherwise it goes again, with the same Message-ID, which mail clients fold
                // into one should the first try have arrived (R14: not lost).
                tracing::warn!(email = email.id.0, to = %email.email.to_address, "resending an email whose last try was cut off");
                round.resent_in_doubt += 1;
            }
            to_send.push(email);
        }
        // R44: whom each email is for is asked again before each try, retries included.
        let refused = self.out_of_reach(&to_send).await?;
        let (to_send, dropped): (Vec<_>, Vec<_>) =
            to_send.into_iter().partition(|e| !refused.iter().any(|(id, _)| *id == e.id));
        for email in dropped {
            let why = refused.iter().find(|(id, _)| *id == email.id).map_or("", |(_, why)| *why);
            self.metrics.refused_at(parley_domain::door::Door::NotificationEmail, why);
            self.store.outgoing_failed(email.id, why, None, now).await?;
            round.failed += 1;
            self.metrics.emails("failed", "", 1);
        }
        // Several conversations with the SMTP server at once: each waits mostly on the network.
        let mut tries = futures_util::stream::iter(to_send)
            .map(|email| async move {
                let span = tracing::info_span!("send", email = email.id.0, attempt = email.attempts + 1);
                // R44: the secrets are filled into a copy that lives only as long as the try.
                let result = match self.unseal(email.clone()).await {
                    Ok(out) => tracing::Instrument::instrument(self.mailer.send(&out), span).await,
                    Err(error) => Err(format!("the email's secrets could not be filled in: {error}")),
                };
                if result.is_ok() {
                    self.journal.record(email.id);
                }
                (email, result)
            })
            .buffer_unordered(at_once);
        let mut failed = Vec::new();
        while let Some((email, result)) = tries.next().await {
            match result {
                Ok(()) => sent.push(email.id),
                Err(error) => failed.push((email, error)),
            }
        }
        drop(tries);
        // Those the SMTP server took are in the journal until this commit records them.
        self.store.outgoing_sent(&sent, self.now()).await?;
        round.sent += sent.len();
        self.metrics.emails("sent", "", sent.len() as u64);
        for (email, error) in failed {
            let attempts = u32::try_from(email.attempts + 1).unwrap_or(u32::MAX);
            let retry_at = retry_delay_ms(attempts).map(|d| self.now() + d);
            tracing::warn!(
                email = email.id.0, to = %email.email.to_address, attempts, %error,
                retry_at, "sending an email failed"
            );
            self.store.outgoing_failed(email.id, &error, retry_at, self.now()).await?;
            match retry_at {
                Some(_) => round.retried += 1,
                None => {
                    round.failed += 1;
                    self.announce_failed_email(&email, &error).await;
                }
            }
            self.metrics.emails(if retry_at.is_some() { "retried" } else { "failed" }, "", 1);
        }
        // What this batch put in the journal is now recorded in the store.
        self.journal.forget(&sent);
        Ok(())
    }

    /// §10: webhooks hear of an email given up on (internal when it was about an internal
    /// conversation). Its body is not sent: the subject and recipient say which it was.
    async fn announce_failed_email(&self, email: &OutgoingEmail, error: &str) {
        let conversation = match email.email.conversation_id {
            Some(id) => self.store.conversation(id).await.ok().map(|c| c.header),
            None => None,
        };
        let internal = conversation.as_ref().is_some_and(|c| c.visibility == Visibility::Internal);
        let data = serde_json::json!({
            "id": email.id,
            "to_address": email.email.to_address,
            "subject": email.email.subject,
            "conversation_id": email.email.conversation_id,
            "tries": email.attempts + 1,
            "error": parley_domain::redact::redact(error),
        });
        self.announce(crate::webhooks::Announcement::delivery_failed(data, internal)).await;
    }

    /// R44 at the door: the emails of `emails` whose recipient may no longer have them, with why —
    /// a user deactivated since, or someone who may no longer see the conversation (a narrowed
    /// scope, a customer who stopped following). What an email says was decided when it was
    /// composed, after the send guard: its messages can no longer be taken back or made internal.
    async fn out_of_reach(&self, emails: &[OutgoingEmail]) -> AppResult<Vec<(OutgoingEmailId, &'static str)>> {
        // Whether each user recipient is active, read once per user.
        let mut active: HashMap<UserId, bool> = HashMap::new();
        let mut refused = Vec::new();
        let mut about = Vec::new();
        for email in emails {
            let Some(party) = email.email.party else { continue };
            if let Party::User(id) = party {
                let is_active = match active.get(&id) {
                    Some(known) => *known,
                    None => {
                        let known = match self.store.user(id).await {
                            Ok(u) => u.active,
                            Err(parley_store::StoreError::NotFound) => false,
                            Err(e) => return Err(e.into()),
                        };
                        *active.entry(id).or_insert(known)
                    }
                };
                if !is_active {
                    refused.push((email.id, "not sent: the recipient was deactivated"));
                    continue;
                }
            }
            if let Some(conversation) = email.email.conversation_id {
                about.push((email.id, party, conversation));
            }
        }
        // Whether each may still see the conversation, for the whole batch at once.
        let pairs: Vec<(Party, ConversationId)> = about.iter().map(|(_, p, c)| (*p, *c)).collect();
        let seeing = self.who_sees(&pairs).await?;
        for (id, party, conversation) in about {
            if !seeing.contains(&(party, conversation)) {
                refused.push((id, "not sent: the recipient may no longer see the conversation"));
            }
        }
        Ok(refused)
    }

    /// After a start: emails the SMTP server accepted before the process died, but which the
    /// store did not hear of, are recorded as sent now. Returns how many.
    pub async fn recover_sent_journal(&self) -> AppResult<usize> {
        let mut recovered = 0;
        for id in self.journal.entries() {
            let email = self.store.outgoing_email(id).await;
            if email.is_ok_and(|e| e.status == "queued") {
                self.store.outgoing_sent(&[id], self.now()).await?;
                recovered += 1;
            }
        }
        if recovered > 0 {
            tracing::warn!(recovered, "emails sent before a crash recorded from the sent journal");
        }
        self.journal.clear();
        Ok(recovered)
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.config.delivery_lease.as_millis()).unwrap_or(60_000)
    }

    /// R32: forgets outgoing and incoming emails older than 72 hours.
    pub async fn prune_email_logs(&self) -> AppResult<u64> {
        let outgoing = self.store.prune_outgoing(self.now() - LOG_KEEP_MS).await?;
        let incoming = self.store.prune_incoming(self.now() - crate::INCOMING_LOG_MS).await?;
        Ok(outgoing + incoming)
    }
}

/// The background loop running [`App::deliver_due`] every `poll`.
pub struct DeliveryWorker;

impl DeliveryWorker {
    /// Runs until `stop` turns true; a round under way is finished first, so every email it
    /// claimed is settled before the worker ends.
    pub fn spawn(app: App, poll: Duration, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            if let Err(error) = app.recover_sent_journal().await {
                tracing::error!(%error, "reading the sent journal failed");
            }
            // Composing waits mostly on the database and sending on the SMTP server, so each half
            // runs in a loop of its own; both claim their work, so they never meet.
            // The sender is woken as soon as the composer queued something.
            let queued = tokio::sync::Notify::new();
            let composer = Half { name: "compose", woken_by: None, queued_tells: Some(&queued) };
            let senders = (0..SENDERS).map(|_| {
                let sender = Half { name: "send", woken_by: Some(&queued), queued_tells: None };
                keep_doing(&app, sender, poll, stop.clone(), |app| Box::pin(app.send_due()))
            });
            tokio::join!(
                keep_doing(&app, composer, poll, stop.clone(), |app| Box::pin(app.compose_due())),
                futures_util::future::join_all(senders),
                keep_answering_waits(&app, poll.max(WAITS_POLL), stop.clone()),
                keep_calling_webhooks(&app, poll, stop.clone()),
                keep_pruning(&app, stop),
            );
        })
    }
}

type Round<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<DeliveryRound>> + Send + 'a>>;

/// One half of the worker's loop.
struct Half<'a> {
    name: &'static str,
    /// Rests until this is told, or `poll` passed.
    woken_by: Option<&'a tokio::sync::Notify>,
    /// Tells this when a round queued emails.
    queued_tells: Option<&'a tokio::sync::Notify>,
}

/// Runs `round` until `stop`: rounds follow each other while there is work; when idle it rests
/// for `poll`, or until woken.
async fn keep_doing(
    app: &App,
    half: Half<'_>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
    round: impl for<'a> Fn(&'a App) -> Round<'a>,
) {
    let (name, woken) = (half.name, half.woken_by);
    while !*stop.borrow() {
        let busy = match round(app).await {
            Ok(done) if !done.is_idle() => {
                tracing::info!(half = name, round = ?done, "delivery");
                if let (Some(tell), true) = (half.queued_tells, done.queued > 0) {
                    // Every resting sender, or the next to rest if none is.
                    tell.notify_one();
                    tell.notify_waiters();
                }
                true
            }
            Ok(_) => false,
            Err(error) => {
                tracing::error!(half = name, %error, "delivery round failed");
                false
            }
        };
        if !busy {
            let wake = async {
                match woken {
                    Some(notify) => notify.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = wake => {}
                _ = stop.wait_for(|stopping| *stopping) => {}
            }
        }
    }
}

/// How often customer messages waiting for a user are looked for (R29 "no user reply"): the
/// waits are minutes long.
const WAITS_POLL: Duration = Duration::from_secs(15);

/// R29: the bot answers the customer messages that have waited an automation's minutes.
async fn keep_answering_waits(app: &App, every: Duration, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        match app.run_waiting_automations().await {
            Ok(0) => {}
            Ok(posted) => tracing::info!(posted, "automations answered waiting customers"),
            Err(error) => tracing::error!(%error, "answering waiting customers failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
    }
}

/// How many webhook deliveries one round claims.
const WEBHOOK_BATCH: i64 = 64;

/// How long a webhook's settled deliveries stay in its log: a week.
pub const WEBHOOK_LOG_MS: i64 = 7 * 24 * 3600 * 1000;

/// §10: sends due webhook deliveries: rounds follow each other while there are some; when idle it
/// rests for `poll`, or until a delivery is queued.
async fn keep_calling_webhooks(app: &App, poll: Duration, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let busy = match app.send_due_webhooks(WEBHOOK_BATCH).await {
            Ok(tried) => tried > 0,
            Err(error) => {
                tracing::error!(%error, "sending webhooks failed");
                false
            }
        };
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = app.webhooks_queued.notified() => {}
                _ = stop.wait_for(|stopping| *stopping) => {}
            }
        }
    }
}

/// R32: the email logs are pruned once an hour; so are uploads no message took, and webhook
/// deliveries settled a week ago.
async fn keep_pruning(app: &App, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if let Err(error) = app.prune_email_logs().await {
            tracing::error!(%error, "pruning the email logs failed");
        }
        if let Err(error) = app.prune_unsent_attachments().await {
            tracing::error!(%error, "pruning unsent uploads failed");
        }
        if let Err(error) = app.prune_webhook_deliveries(WEBHOOK_LOG_MS).await {
            tracing::error!(%error, "pruning webhook deliveries failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
    }
}
