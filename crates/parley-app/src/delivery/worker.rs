//! The email worker (R14, R15, R34): it claims pending emails that have fallen due, suppresses
//! those the rules now refuse (seen, preferences…), queues one digest per recipient and
//! conversation, and sends queued emails with retries. All of its work is claimed in the store
//! with a lease, so several nodes (or a restarted one) never do the same job twice, and a job a
//! crashed node held is taken over once its lease runs out.

use crate::{App, AppResult};
use parley_domain::delivery::{plan_digests, retry_delay_ms, SuppressReason};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Due jobs composed per round.
const BATCH: i64 = 200;
/// Emails claimed for sending at a time: few, so that after a crash little waits for the lease.
const SEND_BATCH: i64 = 20;
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
}

impl App {
    /// One pass over due work: releasing held messages, digests, then sending.
    #[tracing::instrument(name = "deliver", skip_all)]
    pub async fn deliver_due(&self) -> AppResult<DeliveryRound> {
        let mut round = DeliveryRound { released: self.release_held_messages().await?, ..DeliveryRound::default() };
        self.queue_due_digests(&mut round).await?;
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
        for digest in digests {
            let Some(contact) = self.contact(digest.party).await? else {
                suppressed.extend(digest.messages.iter().map(|m| (*m, digest.party, SuppressReason::NoAddress)));
                continue;
            };
            let email = self.compose(&digest, &contact).await?;
            match self.store.queue_digest(&digest, email).await? {
                Some(_) => round.queued += 1,
                // Seen while being composed: the jobs were released and the next round decides again.
                None => tracing::debug!(party = ?digest.party, "digest changed while composing"),
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
        for email in self.store.claim_outgoing(now, now + self.lease_ms(), SEND_BATCH).await? {
            if email.in_doubt {
                // An earlier try began and its outcome was never recorded: the node died while
                // sending. If the SMTP server's acceptance made it into the journal, it is sent.
                if self.journal.holds(email.id) {
                    self.store.outgoing_sent(email.id, self.now()).await?;
                    round.sent += 1;
                    continue;
                }
                // Otherwise it goes again, with the same Message-ID, which mail clients fold
                // into one should the first try have arrived (R14: not lost).
                tracing::warn!(email = email.id.0, to = %email.email.to_address, "resending an email whose last try was cut off");
                round.resent_in_doubt += 1;
            }
            // Recorded before the SMTP conversation, so a crash during it is known afterwards.
            self.store.outgoing_attempting(email.id, self.now()).await?;
            let span = tracing::info_span!("send", email = email.id.0, attempt = email.attempts + 1);
            match tracing::Instrument::instrument(self.mailer.send(&email), span).await {
                Ok(()) => {
                    self.journal.record(email.id);
                    self.store.outgoing_sent(email.id, self.now()).await?;
                    self.metrics.emails("sent", "", 1);
                    round.sent += 1;
                }
                Err(error) => {
                    let attempts = u32::try_from(email.attempts + 1).unwrap_or(u32::MAX);
                    let retry_at = retry_delay_ms(attempts).map(|d| self.now() + d);
                    tracing::warn!(
                        email = email.id.0, to = %email.email.to_address, attempts, %error,
                        retry_at, "sending an email failed"
                    );
                    self.store.outgoing_failed(email.id, &error, retry_at, self.now()).await?;
                    match retry_at {
                        Some(_) => round.retried += 1,
                        None => round.failed += 1,
                    }
                    self.metrics.emails(if retry_at.is_some() { "retried" } else { "failed" }, "", 1);
                }
            }
        }
        // Everything the journal holds is now recorded in the store.
        self.journal.clear();
        Ok(())
    }

    /// After a start: emails the SMTP server accepted before the process died, but which the
    /// store did not hear of, are recorded as sent now. Returns how many.
    pub async fn recover_sent_journal(&self) -> AppResult<usize> {
        let mut recovered = 0;
        for id in self.journal.entries() {
            let email = self.store.outgoing_email(id).await;
            if email.is_ok_and(|e| e.status == "queued") {
                self.store.outgoing_sent(id, self.now()).await?;
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
    pub fn spawn(app: App, poll: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            if let Err(error) = app.recover_sent_journal().await {
                tracing::error!(%error, "reading the sent journal failed");
            }
            let mut last_prune: Option<i64> = None;
            while !*stop.borrow() {
                match app.deliver_due().await {
                    Ok(round) if !round.is_idle() => tracing::info!(?round, "delivery"),
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "delivery round failed"),
                }
                if last_prune.is_none_or(|at| app.now() - at > 3_600_000) {
                    last_prune = Some(app.now());
                    if let Err(error) = app.prune_email_logs().await {
                        tracing::error!(%error, "pruning the email logs failed");
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.wait_for(|stopping| *stopping) => {}
                }
            }
        })
    }
}
