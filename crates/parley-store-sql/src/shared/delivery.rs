//! The delivery ledger, email jobs, the outgoing queue, secrets and templates.

use crate::errors::{other, unique};
use crate::names::DbRow;
use crate::names::{Db, DbConnection};
use crate::rows::{self, get, parse};
use crate::SqlStore;
use crate::B;
use async_trait::async_trait;
use parley_domain::delivery::{Digest, DueEmail, EmailState, SuppressReason};
use parley_domain::*;
use parley_store::*;
use parley_store_sql::{Backend, Engine};
use sqlx::QueryBuilder;
use std::collections::{HashMap, HashSet};

/// `(message_id, party_kind, party_id) IN (VALUES …)` for a list of jobs: looked up by the key.
pub(crate) fn push_job_keys<'a>(query: &mut QueryBuilder<'a, Db>, jobs: impl Iterator<Item = (MessageId, Party)>) {
    query.push("(message_id, party_kind, party_id) IN (VALUES ");
    let mut list = query.separated(", ");
    for (message, party) in jobs {
        list.push("(")
            .push_bind_unseparated(message.0)
            .push_unseparated(", ")
            .push_bind_unseparated(party.kind_str())
            .push_unseparated(", ")
            .push_bind_unseparated(party.raw_id())
            .push_unseparated(")");
    }
    query.push(")");
}

fn outgoing(row: &DbRow) -> StoreResult<OutgoingEmail> {
    let kind: Option<String> = get(row, "party_kind")?;
    let party_id: Option<i64> = get(row, "party_id")?;
    Ok(OutgoingEmail {
        id: OutgoingEmailId(get(row, "id")?),
        email: NewOutgoingEmail {
            created_at: get(row, "created_at")?,
            conversation_id: get::<Option<i64>>(row, "conversation_id")?.map(ConversationId),
            party: kind.zip(party_id).and_then(|(k, id)| Party::from_parts(&k, id)),
            to_address: get(row, "to_address")?,
            to_name: get(row, "to_name")?,
            subject: get(row, "subject")?,
            body_text: get(row, "body_text")?,
            body_html: get(row, "body_html")?,
            message_id_header: get(row, "message_id_header")?,
            in_reply_to: get(row, "in_reply_to")?,
            references: get(row, "references_header")?,
            reply_to: get(row, "reply_to")?,
            secret: get(row, "secret")?,
        },
        status: get(row, "status")?,
        attempts: get(row, "attempts")?,
        next_attempt_at: get(row, "next_attempt_at")?,
        last_error: get(row, "last_error")?,
        sent_at: get(row, "sent_at")?,
        in_doubt: get::<Option<i64>>(row, "attempt_started_at")?.is_some(),
    })
}

async fn insert_outgoing(conn: &mut DbConnection, e: &NewOutgoingEmail) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO outgoing_emails (created_at, conversation_id, party_kind, party_id, to_address, to_name,
           subject, body_text, body_html, message_id_header, in_reply_to, references_header, reply_to, status,
           next_attempt_at, secret, claimed_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'queued', $14, $15, $16) RETURNING id",
    )
    .bind(e.created_at)
    .bind(e.conversation_id.map(|c| c.0))
    .bind(e.party.map(|p| p.kind_str()))
    .bind(e.party.map(|p| p.raw_id()))
    .bind(&e.to_address)
    .bind(&e.to_name)
    .bind(&e.subject)
    .bind(&e.body_text)
    .bind(&e.body_html)
    .bind(&e.message_id_header)
    .bind(&e.in_reply_to)
    .bind(&e.references)
    .bind(&e.reply_to)
    .bind(e.created_at)
    .bind(&e.secret)
    .bind(e.sealed().then_some(parley_store::SEALED_LEASE))
    .fetch_one(conn)
    .await
    .map_err(unique("message_id_header"))
}

/// Rows written by one multi-row statement (each row binds at most 16 values; PostgreSQL allows
/// 65,535 per statement).
const INSERT_ROWS: usize = 500;

/// Inserts queued emails in one statement, adding each one's id to `ids` by its Message-ID. One
/// whose Message-ID is queued already is left out (the same digest, queued before).
async fn insert_outgoing_rows<'e>(
    conn: &mut DbConnection,
    emails: impl Iterator<Item = &'e NewOutgoingEmail>,
    ids: &mut HashMap<String, i64>,
) -> StoreResult<()> {
    let mut insert = QueryBuilder::new(
        "INSERT INTO outgoing_emails (created_at, conversation_id, party_kind, party_id, to_address, to_name,
           subject, body_text, body_html, message_id_header, in_reply_to, references_header, reply_to, status,
           next_attempt_at, secret, claimed_until) ",
    );
    let mut any = false;
    insert.push_values(emails, |mut row, e| {
        any = true;
        row.push_bind(e.created_at)
            .push_bind(e.conversation_id.map(|c| c.0))
            .push_bind(e.party.map(|p| p.kind_str()))
            .push_bind(e.party.map(|p| p.raw_id()))
            .push_bind(e.to_address.clone())
            .push_bind(e.to_name.clone())
            .push_bind(e.subject.clone())
            .push_bind(e.body_text.clone())
            .push_bind(e.body_html.clone())
            .push_bind(e.message_id_header.clone())
            .push_bind(e.in_reply_to.clone())
            .push_bind(e.references.clone())
            .push_bind(e.reply_to.clone())
            .push("'queued'")
            .push_bind(e.created_at)
            .push_bind(e.secret.clone())
            .push_bind(e.sealed().then_some(parley_store::SEALED_LEASE));
    });
    if !any {
        return Ok(());
    }
    insert.push(" ON CONFLICT (message_id_header) DO NOTHING RETURNING id, message_id_header");
    for row in insert.build().fetch_all(conn).await.map_err(other)? {
        ids.insert(get(&row, "message_id_header")?, get(&row, "id")?);
    }
    Ok(())
}

/// Moves the jobs of email `id` from `queued` to `state`.
async fn settle_jobs(conn: &mut DbConnection, id: OutgoingEmailId, state: EmailState, now: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE message_recipients SET email_state = $1, email_at = $2 WHERE email_id = $3 AND email_state = 'queued'",
    )
    .bind(state.as_str())
    .bind(now)
    .bind(id.0)
    .execute(conn)
    .await
    .map_err(other)?;
    Ok(())
}

/// R13: marks ledger rows seen and suppresses their pending emails. `filter` narrows the rows of
/// `party` (by message ids or by read position).
pub(crate) async fn mark_seen_where(
    conn: &mut DbConnection,
    party: Party,
    now: i64,
    filter: impl FnOnce(&mut QueryBuilder<'_, Db>),
) -> StoreResult<Vec<SeenReceipt>> {
    let mut query = QueryBuilder::new("UPDATE message_recipients SET seen_at = ");
    query.push_bind(now);
    query.push(", email_state = CASE WHEN email_state = 'pending' THEN 'suppressed' ELSE email_state END");
    query.push(", email_reason = CASE WHEN email_state = 'pending' THEN 'seen' ELSE email_reason END");
    query.push(", email_at = CASE WHEN email_state = 'pending' THEN ");
    query.push_bind(now);
    query.push(" ELSE email_at END WHERE seen_at IS NULL AND party_kind = ");
    query.push_bind(party.kind_str());
    query.push(" AND party_id = ");
    query.push_bind(party.raw_id());
    query.push(" AND ");
    filter(&mut query);
    // Each row is updated once (its `seen_at` was empty), so a `seen` suppression stamped now is
    // this update's.
    query.push(
        " RETURNING message_id, conversation_id, email_state = 'suppressed' AND email_reason = 'seen' AND email_at = ",
    );
    query.push_bind(now);
    query.push(" AS email_suppressed");
    let rows = query.build().fetch_all(conn).await.map_err(other)?;
    let mut seen: Vec<SeenReceipt> = rows
        .iter()
        .map(|r| {
            Ok(SeenReceipt {
                message_id: MessageId(get(r, "message_id")?),
                conversation_id: ConversationId(get(r, "conversation_id")?),
                seen_at: now,
                email_suppressed: get(r, "email_suppressed")?,
            })
        })
        .collect::<StoreResult<_>>()?;
    seen.sort_by_key(|s| s.message_id);
    Ok(seen)
}

#[async_trait]
impl DeliveryStore for SqlStore {
    async fn mark_seen(&self, party: Party, messages: &[MessageId], now: i64) -> StoreResult<Vec<SeenReceipt>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.writer.acquire().await.map_err(other)?;
        // Only messages the person may read now: never one taken back and, for a customer, never
        // one made internal or still held by the send guard (R7, R13, R33). Others are ignored
        // silently, so ids cannot be probed.
        mark_seen_where(&mut conn, party, now, |q| {
            q.push("message_id IN (SELECT id FROM messages WHERE withdrawn_at IS NULL AND id IN (");
            let mut list = q.separated(", ");
            for m in messages {
                list.push_bind(m.0);
            }
            q.push(")");
            if party.is_customer() {
                q.push(" AND ");
                rows::push_fragment(q, &rows::customer_sees("", "{0}"), &[now]);
            }
            q.push(")");
        })
        .await
    }

    async fn mark_pushed(&self, pushed: &[(MessageId, Party)], now: i64) -> StoreResult<()> {
        Engine::mark_pushed(self, pushed, now).await
    }

    async fn email_queues(&self) -> StoreResult<EmailQueues> {
        // Both read partial indexes of the waiting rows only.
        let (jobs, oldest_due_job): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(email_due_at) FROM message_recipients WHERE email_state = 'pending'")
                .fetch_one(&self.reader)
                .await
                .map_err(other)?;
        let (outgoing, oldest_due_outgoing): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(next_attempt_at) FROM outgoing_emails WHERE status = 'queued'")
                .fetch_one(&self.reader)
                .await
                .map_err(other)?;
        Ok(EmailQueues { jobs, oldest_due_job, outgoing, oldest_due_outgoing })
    }

    async fn delivery_timeline(&self, message: MessageId) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT r.*, e.last_error FROM message_recipients r LEFT JOIN outgoing_emails e ON e.id = r.email_id
             WHERE r.message_id = $1 ORDER BY r.party_kind DESC, r.party_id",
        )
        .bind(message.0)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| {
                let reason: Option<String> = get(r, "email_reason")?;
                Ok(DeliveryRecord {
                    party: rows::party(r)?,
                    reasons: rows::reasons(r)?,
                    notify: get(r, "notify")?,
                    pushed_at: get(r, "pushed_at")?,
                    seen_at: get(r, "seen_at")?,
                    email_state: parse(r, "email_state", EmailState::parse)?,
                    email_reason: reason.as_deref().and_then(SuppressReason::parse),
                    email_due_at: get(r, "email_due_at")?,
                    email_at: get(r, "email_at")?,
                    email_id: get::<Option<i64>>(r, "email_id")?.map(OutgoingEmailId),
                    email_error: get(r, "last_error")?,
                })
            })
            .collect()
    }

    async fn claim_due_emails(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<DueEmail>> {
        let _lane = self.writer_lane();
        let mut tx = self.writer.begin().await.map_err(other)?;
        let rows = self.claim_due_jobs(&mut tx, now, lease_until, limit).await?;
        // What the rules ask of the claimed jobs' messages, in one read (bodies are read later,
        // for those that are sent).
        let ids = rows.iter().map(|r| get::<i64>(r, "message_id")).collect::<StoreResult<Vec<_>>>()?;
        let found = sqlx::query(&format!(
            "SELECT id, number, author_kind, author_id, visibility FROM messages
             WHERE id IN ({})",
            B::id_set(1)
        ))
        .bind(B::id_list(ids.iter().copied()))
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?;
        let mut messages: HashMap<i64, (i64, Author, Visibility)> = HashMap::with_capacity(found.len());
        for m in &found {
            let facts = (
                get(m, "number")?,
                rows::author(m, "author_kind", "author_id")?,
                parse(m, "visibility", Visibility::parse)?,
            );
            messages.insert(get(m, "id")?, facts);
        }
        let mut due = Vec::with_capacity(rows.len());
        for (r, id) in rows.iter().zip(&ids) {
            let (number, author, visibility) = *messages.get(id).ok_or_else(|| crate::errors::corrupt("message_id"))?;
            due.push(DueEmail {
                message_id: MessageId(*id),
                conversation_id: ConversationId(get(r, "conversation_id")?),
                number,
                party: rows::party(r)?,
                author,
                visibility,
                notify: get(r, "notify")?,
                seen: get::<Option<i64>>(r, "seen_at")?.is_some(),
            });
        }
        tx.commit().await.map_err(other)?;
        Ok(due)
    }

    async fn digest_reads(&self, digests: &[Digest]) -> StoreResult<DigestReads> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        crate::digest_reads::digest_reads(&mut conn, digests).await
    }

    async fn suppress_emails(&self, jobs: &[(MessageId, Party, SuppressReason)], now: i64) -> StoreResult<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let _lane = self.writer_lane();
        let mut tx = self.writer.begin().await.map_err(other)?;
        for (message, party, reason) in jobs {
            sqlx::query(
                "UPDATE message_recipients SET email_state = 'suppressed', email_reason = $1, email_at = $2
                 WHERE message_id = $3 AND party_kind = $4 AND party_id = $5 AND email_state = 'pending'",
            )
            .bind(reason.as_str())
            .bind(now)
            .bind(message.0)
            .bind(party.kind_str())
            .bind(party.raw_id())
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        }
        tx.commit().await.map_err(other)
    }

    async fn queue_digests(&self, batch: Vec<(Digest, NewOutgoingEmail)>) -> StoreResult<Vec<Option<OutgoingEmailId>>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // A handful of statements for the whole batch, however many digests it holds: each is a
        // round trip to the database (on SQLite, to the writer's thread, shared with posting). The check
        // locks the jobs it reads (`FOR_UPDATE` below; SQLite's one writer holds them anyway), so
        // nothing changes them between the check and the writes.
        let _lane = self.writer_lane();
        let mut tx = self.writer.begin().await.map_err(other)?;
        let jobs = || batch.iter().flat_map(|(d, _)| d.messages.iter().map(|m| (*m, d.party)));
        let mut open = QueryBuilder::new(
            "SELECT message_id, party_kind, party_id FROM message_recipients
             WHERE email_state = 'pending' AND seen_at IS NULL AND ",
        );
        push_job_keys(&mut open, jobs());
        open.push(B::FOR_UPDATE);
        let open: HashSet<(MessageId, Party)> = open
            .build()
            .fetch_all(&mut *tx)
            .await
            .map_err(other)?
            .iter()
            .map(|r| Ok((MessageId(get(r, "message_id")?), rows::party(r)?)))
            .collect::<StoreResult<_>>()?;
        // A digest goes only if every one of its jobs is still pending and unseen.
        // (Should two of the batch carry one Message-ID, the first goes.)
        let mut headers = HashSet::with_capacity(batch.len());
        let ready: Vec<&(Digest, NewOutgoingEmail)> = batch
            .iter()
            .filter(|(d, e)| {
                d.messages.iter().all(|m| open.contains(&(*m, d.party))) && headers.insert(&e.message_id_header)
            })
            .collect();
        let mut queued: HashMap<String, i64> = HashMap::with_capacity(ready.len());
        for chunk in ready.chunks(INSERT_ROWS) {
            insert_outgoing_rows(&mut tx, chunk.iter().map(|(_, e)| e), &mut queued).await?;
        }
        // The jobs of every email queued (one of the same Message-ID queued before is not).
        let jobs_queued: Vec<(MessageId, Party, i64, i64)> = ready
            .iter()
            .filter_map(|(d, e)| queued.get(&e.message_id_header).map(|id| (d, *id, e.created_at)))
            .flat_map(|(d, id, at)| d.messages.iter().map(move |m| (*m, d.party, id, at)))
            .collect();
        for chunk in jobs_queued.chunks(INSERT_ROWS) {
            let mut update =
                QueryBuilder::new("WITH q (message_id, party_kind, party_id, email_id, email_at) AS (VALUES ");
            let mut rows = update.separated(", ");
            for (message, party, id, at) in chunk {
                rows.push("(")
                    .push_bind_unseparated(message.0)
                    .push_unseparated(", ")
                    .push_bind_unseparated(party.kind_str())
                    .push_unseparated(", ")
                    .push_bind_unseparated(party.raw_id())
                    .push_unseparated(", ")
                    .push_bind_unseparated(*id)
                    .push_unseparated(", ")
                    .push_bind_unseparated(*at)
                    .push_unseparated(")");
            }
            update.push(
                ") UPDATE message_recipients SET email_state = 'queued', email_id = q.email_id, email_at = q.email_at",
            );
            update.push(
                " FROM q WHERE message_recipients.message_id = q.message_id
                   AND message_recipients.party_kind = q.party_kind AND message_recipients.party_id = q.party_id",
            );
            update.build().execute(&mut *tx).await.map_err(other)?;
        }
        // The others are released, so the next round plans their jobs afresh.
        let refused: Vec<(MessageId, Party)> = batch
            .iter()
            .filter(|(_, e)| !queued.contains_key(&e.message_id_header))
            .flat_map(|(d, _)| d.messages.iter().map(|m| (*m, d.party)))
            .collect();
        if !refused.is_empty() {
            let mut release = QueryBuilder::new("UPDATE message_recipients SET claimed_until = NULL WHERE ");
            push_job_keys(&mut release, refused.into_iter());
            release.build().execute(&mut *tx).await.map_err(other)?;
        }
        tx.commit().await.map_err(other)?;
        Ok(batch.iter().map(|(_, e)| queued.get(&e.message_id_header).map(|id| OutgoingEmailId(*id))).collect())
    }

    async fn queue_email(&self, e: NewOutgoingEmail) -> StoreResult<OutgoingEmailId> {
        let mut conn = self.writer.acquire().await.map_err(other)?;
        Ok(OutgoingEmailId(insert_outgoing(&mut conn, &e).await?))
    }

    async fn take_back_claims(&self) -> StoreResult<u64> {
        self.take_back().await
    }

    async fn claim_outgoing(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<OutgoingEmail>> {
        let _lane = self.writer_lane();
        let mut tx = self.writer.begin().await.map_err(other)?;
        // RETURNING shows `attempt_started_at` as the last claim left it: whether that try ended.
        const LEASE: &str = "CASE WHEN claimed_until >= $4 THEN $4 + $1 ELSE $1 END";
        let rows = sqlx::query(&format!(
            "UPDATE outgoing_emails SET claimed_until = {LEASE}{owned}
             WHERE id IN (SELECT id FROM outgoing_emails
                          WHERE status = 'queued' AND next_attempt_at <= $2
                            AND (claimed_until IS NULL OR claimed_until <= $2
                                 OR claimed_until BETWEEN $4 AND $4 + $2)
                          ORDER BY next_attempt_at, id LIMIT $3{skip_locked})
             RETURNING *",
            owned = self.outgoing_claim_owned(LEASE),
            skip_locked = B::SKIP_LOCKED
        ))
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .bind(parley_store::SEALED_LEASE)
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?;
        let mut emails: Vec<OutgoingEmail> = rows.iter().map(outgoing).collect::<StoreResult<_>>()?;
        emails.sort_by_key(|e| e.id);
        if !emails.is_empty() {
            sqlx::query(&format!("UPDATE outgoing_emails SET attempt_started_at = $1 WHERE id IN ({})", B::id_set(2)))
                .bind(now)
                .bind(B::id_list(emails.iter().map(|e| e.id.0)))
                .execute(&mut *tx)
                .await
                .map_err(other)?;
        }
        tx.commit().await.map_err(other)?;
        Ok(emails)
    }

    async fn outgoing_sent(&self, ids: &[OutgoingEmailId], now: i64) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = B::id_list(ids.iter().map(|id| id.0));
        let _lane = self.writer_lane();
        let mut tx = self.writer.begin().await.map_err(other)?;
        sqlx::query(&format!(
            "UPDATE outgoing_emails SET status = 'sent', sent_at = $1, attempts = attempts + 1, claimed_until = NULL, secret = NULL,
               attempt_started_at = NULL
             WHERE id IN ({}) AND status = 'queued'",
            B::id_set(2)
        ))
        .bind(now)
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        sqlx::query(&format!(
            "UPDATE message_recipients SET email_state = 'sent', email_at = $1
             WHERE email_id IN ({}) AND email_state = 'queued'",
            B::id_set(2)
        ))
        .bind(now)
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        tx.commit().await.map_err(other)
    }

    async fn outgoing_failed(
        &self,
        id: OutgoingEmailId,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        let _lane = self.writer_lane();
        let mut tx = self.writer.begin().await.map_err(other)?;
        // A sealed email stays sealed when released (see `SEALED_LEASE`).
        sqlx::query(
            "UPDATE outgoing_emails SET attempts = attempts + 1, last_error = $1, attempt_started_at = NULL,
               claimed_until = CASE WHEN claimed_until >= $5 THEN $5 END,
               secret = CASE WHEN $2 IS NULL THEN NULL ELSE secret END,
               status = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'queued' END,
               next_attempt_at = COALESCE($3, next_attempt_at)
             WHERE id = $4 AND status = 'queued'",
        )
        .bind(error)
        .bind(retry_at)
        .bind(retry_at)
        .bind(id.0)
        .bind(parley_store::SEALED_LEASE)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        if retry_at.is_none() {
            settle_jobs(&mut tx, id, EmailState::Failed, now).await?;
        }
        tx.commit().await.map_err(other)
    }

    async fn outgoing_email(&self, id: OutgoingEmailId) -> StoreResult<OutgoingEmail> {
        let row = sqlx::query("SELECT * FROM outgoing_emails WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        outgoing(&row)
    }

    async fn outgoing_log(&self, since: i64, limit: i64) -> StoreResult<Vec<OutgoingLogEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM (
               SELECT created_at AS at, status, last_error AS reason, party_kind, party_id, to_address, subject,
                      conversation_id, id AS email_id, NULL AS message_id, attempts
               FROM outgoing_emails WHERE created_at >= $1
               UNION ALL
               SELECT r.email_at AS at, 'suppressed' AS status, r.email_reason AS reason, r.party_kind, r.party_id,
                      NULL AS to_address, NULL AS subject, r.conversation_id, NULL AS email_id, r.message_id, 0
               FROM message_recipients r WHERE r.email_state = 'suppressed' AND r.email_at >= $1) AS log
             ORDER BY at DESC, email_id DESC NULLS LAST, message_id DESC NULLS LAST LIMIT $2",
        )
        .bind(since)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| {
                let kind: Option<String> = get(r, "party_kind")?;
                let party_id: Option<i64> = get(r, "party_id")?;
                Ok(OutgoingLogEntry {
                    at: get(r, "at")?,
                    status: get(r, "status")?,
                    reason: get(r, "reason")?,
                    party: kind.zip(party_id).and_then(|(k, id)| Party::from_parts(&k, id)),
                    to_address: get(r, "to_address")?,
                    subject: get(r, "subject")?,
                    conversation_id: get::<Option<i64>>(r, "conversation_id")?.map(ConversationId),
                    email_id: get::<Option<i64>>(r, "email_id")?.map(OutgoingEmailId),
                    message_id: get::<Option<i64>>(r, "message_id")?.map(MessageId),
                    attempts: get(r, "attempts")?,
                })
            })
            .collect()
    }

    async fn prune_outgoing(&self, before: i64) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        sqlx::query(
            "UPDATE message_recipients SET email_id = NULL
             WHERE email_id IN (SELECT id FROM outgoing_emails WHERE created_at < $1 AND status <> 'queued')",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        let done = sqlx::query("DELETE FROM outgoing_emails WHERE created_at < $1 AND status <> 'queued'")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        tx.commit().await.map_err(other)?;
        Ok(done.rows_affected())
    }

    async fn secret(&self, name: &str, fresh: &str) -> StoreResult<String> {
        sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(fresh)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.writer)
            .await
            .map_err(other)
    }

    async fn template(&self, name: &str) -> StoreResult<Option<Template>> {
        let row = sqlx::query("SELECT * FROM templates WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.reader)
            .await
            .map_err(other)?;
        row.map(|r| template(&r)).transpose()
    }

    async fn put_template(&self, t: &Template, only_if_absent: bool) -> StoreResult<Template> {
        let on_conflict = if only_if_absent {
            "DO NOTHING"
        } else {
            "DO UPDATE SET subject = excluded.subject, body_text = excluded.body_text,
             body_html = excluded.body_html, updated_at = excluded.updated_at"
        };
        let mut tx = self.writer.begin().await.map_err(other)?;
        sqlx::query(&format!(
            "INSERT INTO templates (name, subject, body_text, body_html, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) {on_conflict}"
        ))
        .bind(&t.name)
        .bind(&t.subject)
        .bind(&t.body_text)
        .bind(&t.body_html)
        .bind(t.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        let row = sqlx::query("SELECT * FROM templates WHERE name = $1")
            .bind(&t.name)
            .fetch_one(&mut *tx)
            .await
            .map_err(other)?;
        tx.commit().await.map_err(other)?;
        template(&row)
    }
}

fn template(r: &DbRow) -> StoreResult<Template> {
    Ok(Template {
        name: get(r, "name")?,
        subject: get(r, "subject")?,
        body_text: get(r, "body_text")?,
        body_html: get(r, "body_html")?,
        updated_at: get(r, "updated_at")?,
    })
}
