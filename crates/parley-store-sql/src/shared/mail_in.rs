//! The incoming log and relay tokens.

use crate::errors::{other, unique};
use crate::names::DbRow;
use crate::rows::{get, parse};
use crate::SqlStore;
use async_trait::async_trait;
use parley_domain::inbound::IncomingStatus;
use parley_domain::*;
use parley_store::*;

/// Every column but the raw bytes.
const COLUMNS: &str = "id, received_at, via, from_address, to_addresses, subject, message_id, status, reason,
     conversation_id, posted_message_id, party_kind, party_id, size";

fn incoming(row: &DbRow) -> StoreResult<IncomingEmail> {
    let kind: Option<String> = get(row, "party_kind")?;
    let party_id: Option<i64> = get(row, "party_id")?;
    Ok(IncomingEmail {
        id: IncomingEmailId(get(row, "id")?),
        received_at: get(row, "received_at")?,
        via: get(row, "via")?,
        from_address: get(row, "from_address")?,
        to_addresses: get(row, "to_addresses")?,
        subject: get(row, "subject")?,
        message_id: get(row, "message_id")?,
        status: parse(row, "status", IncomingStatus::parse)?,
        reason: get(row, "reason")?,
        conversation_id: get::<Option<i64>>(row, "conversation_id")?.map(ConversationId),
        posted_message_id: get::<Option<i64>>(row, "posted_message_id")?.map(MessageId),
        party: kind.zip(party_id).and_then(|(k, id)| Party::from_parts(&k, id)),
        size: get(row, "size")?,
    })
}

fn token(row: &DbRow) -> StoreResult<InboundToken> {
    Ok(InboundToken {
        id: InboundTokenId(get(row, "id")?),
        name: get(row, "name")?,
        created_by: UserId(get(row, "created_by")?),
        created_at: get(row, "created_at")?,
        last_used_at: get(row, "last_used_at")?,
    })
}

#[async_trait]
impl MailInStore for SqlStore {
    async fn insert_incoming_email(&self, mail: NewIncomingEmail) -> StoreResult<IncomingEmailId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incoming_emails
               (received_at, via, from_address, to_addresses, subject, message_id, status, size, raw)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(mail.received_at)
        .bind(&mail.via)
        .bind(&mail.from_address)
        .bind(&mail.to_addresses)
        .bind(&mail.subject)
        .bind(&mail.message_id)
        .bind(IncomingStatus::Received.as_str())
        .bind(i64::try_from(mail.raw.len()).unwrap_or(i64::MAX))
        .bind(&mail.raw)
        .fetch_one(&self.writer)
        .await
        .map_err(other)?;
        Ok(IncomingEmailId(id))
    }

    async fn finish_incoming_email(&self, id: IncomingEmailId, outcome: IncomingOutcome) -> StoreResult<IncomingEmail> {
        let row = sqlx::query(&format!(
            "UPDATE incoming_emails SET status = $1, reason = $2, conversation_id = $3, posted_message_id = $4,
                    party_kind = $5, party_id = $6, raw = COALESCE($8, raw)
             WHERE id = $7 RETURNING {COLUMNS}"
        ))
        .bind(outcome.status.unwrap_or(IncomingStatus::Received).as_str())
        .bind(&outcome.reason)
        .bind(outcome.conversation_id.map(|c| c.0))
        .bind(outcome.posted_message_id.map(|m| m.0))
        .bind(outcome.party.map(Party::kind_str))
        .bind(outcome.party.map(Party::raw_id))
        .bind(id.0)
        .bind(outcome.keep.as_deref())
        .fetch_optional(&self.writer)
        .await
        .map_err(other)?;
        row.as_ref().map(incoming).transpose()?.ok_or(StoreError::NotFound)
    }

    async fn handled_incoming_email(&self, message_id: &str) -> StoreResult<Option<IncomingEmail>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM incoming_emails
             WHERE message_id = $1 AND status IN ('posted', 'started') ORDER BY id LIMIT 1"
        ))
        .bind(message_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(other)?;
        row.as_ref().map(incoming).transpose()
    }

    async fn incoming_emails(&self, since: i64, limit: i64) -> StoreResult<Vec<IncomingEmail>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM incoming_emails WHERE received_at >= $1 ORDER BY received_at DESC, id DESC LIMIT $2"
        ))
        .bind(since)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        rows.iter().map(incoming).collect()
    }

    async fn incoming_email(&self, id: IncomingEmailId) -> StoreResult<IncomingEmail> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM incoming_emails WHERE id = $1"))
            .bind(id.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        incoming(&row)
    }

    async fn incoming_email_raw(&self, id: IncomingEmailId) -> StoreResult<Vec<u8>> {
        sqlx::query_scalar("SELECT raw FROM incoming_emails WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)
    }

    async fn incoming_email_of_message(&self, message: MessageId) -> StoreResult<Option<IncomingEmail>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM incoming_emails WHERE posted_message_id = $1 AND status IN ('posted', 'started')
             ORDER BY id LIMIT 1"
        ))
        .bind(message.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(other)?;
        row.as_ref().map(incoming).transpose()
    }

    async fn prune_incoming(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM incoming_emails WHERE received_at < $1")
            .bind(before)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        Ok(done.rows_affected())
    }

    async fn incoming_log_bytes(&self, since: i64) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(LENGTH(raw)), 0) AS BIGINT) FROM incoming_emails WHERE received_at >= $1",
        )
        .bind(since)
        .fetch_one(&self.reader)
        .await
        .map_err(other)
    }

    async fn insert_inbound_token(
        &self,
        name: &str,
        token_hash: &str,
        created_by: UserId,
        created_at: i64,
    ) -> StoreResult<InboundToken> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inbound_tokens (name, token_hash, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(token_hash)
        .bind(created_by.0)
        .bind(created_at)
        .fetch_one(&self.writer)
        .await
        .map_err(unique("token"))?;
        Ok(InboundToken { id: InboundTokenId(id), name: name.to_string(), created_by, created_at, last_used_at: None })
    }

    async fn inbound_tokens(&self) -> StoreResult<Vec<InboundToken>> {
        let rows = sqlx::query("SELECT id, name, created_by, created_at, last_used_at FROM inbound_tokens ORDER BY id")
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        rows.iter().map(token).collect()
    }

    async fn delete_inbound_token(&self, id: InboundTokenId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM inbound_tokens WHERE id = $1")
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn use_inbound_token(&self, token_hash: &str, now: i64) -> StoreResult<InboundTokenId> {
        let id: i64 = sqlx::query_scalar("SELECT id FROM inbound_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        // As with API tokens: the last use is informative, one write a minute is plenty.
        sqlx::query(
            "UPDATE inbound_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(id)
        .bind(now - 60_000)
        .execute(&self.writer)
        .await
        .map_err(other)?;
        Ok(InboundTokenId(id))
    }
}
