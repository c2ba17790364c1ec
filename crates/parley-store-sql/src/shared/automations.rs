//! R29: the automations of the messaging center.

use crate::errors::{other, unique};
use crate::rows::automation;
use parley_domain::automation::{Automation, AutomationSpec};
use parley_domain::*;
use parley_store::{StoreError, StoreResult};

#[async_trait::async_trait]
impl parley_store::AutomationStore for crate::SqlStore {
    async fn automations(&self) -> StoreResult<Vec<Automation>> {
        let rows = sqlx::query(&format!("SELECT {} FROM automations ORDER BY core DESC, id", sql::COLUMNS))
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        rows.iter().map(automation).collect()
    }

    async fn automation(&self, id: AutomationId) -> StoreResult<Automation> {
        let row = sqlx::query(&format!("SELECT {} FROM automations WHERE id = $1", sql::COLUMNS))
            .bind(id.0)
            .fetch_one(&self.writer)
            .await
            .map_err(other)?;
        automation(&row)
    }

    async fn insert_automation(
        &self,
        spec: &AutomationSpec,
        enabled: bool,
        core: bool,
        at: i64,
    ) -> StoreResult<Automation> {
        let id: i64 = sqlx::query_scalar(sql::INSERT)
            .bind(&spec.name)
            .bind(spec.trigger.as_str())
            .bind(spec.project_id.map(|p| p.0))
            .bind(spec.item_kind.map(|k| k.as_str()))
            .bind(spec.minutes)
            .bind(spec.action.as_str())
            .bind(spec.visibility.as_str())
            .bind(&spec.body)
            .bind(&spec.template)
            .bind(parley_store::decode::list_text(&spec.recipients, |r| r.as_str()))
            .bind(&spec.address)
            .bind(spec.webhook_id.map(|w| w.0))
            .bind(enabled)
            .bind(core)
            .bind(at)
            .fetch_one(&self.writer)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Conflict("unknown_reference"),
                _ => unique("core")(e),
            })?;
        self.automation(AutomationId(id)).await
    }

    async fn update_automation(
        &self,
        id: AutomationId,
        spec: &AutomationSpec,
        enabled: bool,
        at: i64,
    ) -> StoreResult<Automation> {
        let done = sqlx::query(sql::UPDATE)
            .bind(&spec.name)
            .bind(spec.trigger.as_str())
            .bind(spec.project_id.map(|p| p.0))
            .bind(spec.item_kind.map(|k| k.as_str()))
            .bind(spec.minutes)
            .bind(spec.action.as_str())
            .bind(spec.visibility.as_str())
            .bind(&spec.body)
            .bind(&spec.template)
            .bind(parley_store::decode::list_text(&spec.recipients, |r| r.as_str()))
            .bind(&spec.address)
            .bind(spec.webhook_id.map(|w| w.0))
            .bind(enabled)
            .bind(at)
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Conflict("unknown_reference"),
                _ => other(e),
            })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.automation(id).await
    }

    async fn awaiting_reply(
        &self,
        automation: AutomationId,
        since: i64,
        until: i64,
        limit: i64,
    ) -> StoreResult<Vec<(ConversationId, MessageId)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(sql::AWAITING_REPLY)
            .bind(since)
            .bind(until)
            .bind(automation.0)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        Ok(rows.into_iter().map(|(c, m)| (ConversationId(c), MessageId(m))).collect())
    }

    async fn claim_automation_run(&self, automation: AutomationId, message: MessageId, at: i64) -> StoreResult<bool> {
        let done = sqlx::query(sql::CLAIM_RUN)
            .bind(automation.0)
            .bind(message.0)
            .bind(at)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        Ok(done.rows_affected() == 1)
    }

    async fn templates(&self) -> StoreResult<Vec<parley_store::Template>> {
        let rows: Vec<(String, String, String, String, i64)> =
            sqlx::query_as(sql::TEMPLATES).fetch_all(&self.reader).await.map_err(other)?;
        Ok(rows
            .into_iter()
            .map(|(name, subject, body_text, body_html, updated_at)| parley_store::Template {
                name,
                subject,
                body_text,
                body_html,
                updated_at,
            })
            .collect())
    }

    async fn insert_template(&self, t: &parley_store::Template) -> StoreResult<parley_store::Template> {
        sqlx::query(sql::INSERT_TEMPLATE)
            .bind(&t.name)
            .bind(&t.subject)
            .bind(&t.body_text)
            .bind(&t.body_html)
            .bind(t.updated_at)
            .execute(&self.writer)
            .await
            .map_err(unique("template"))?;
        Ok(t.clone())
    }

    async fn delete_template(&self, name: &str) -> StoreResult<()> {
        let done = sqlx::query(sql::DELETE_TEMPLATE).bind(name).execute(&self.writer).await.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Conflict("template_in_use"),
            _ => other(e),
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_automation(&self, id: AutomationId) -> StoreResult<()> {
        let done = sqlx::query(sql::DELETE).bind(id.0).execute(&self.writer).await.map_err(other)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// The statements of [`AutomationStore`], shared by the backends (`$n` in order, as in
/// [`crate::accounts::sql`]).
mod sql {
    pub const COLUMNS: &str = "id, name, trigger_name, project_id, item_kind, minutes, action, visibility, body,
        template_name, recipients, address, webhook_id, enabled, core, created_at, updated_at";
    pub const INSERT: &str = "INSERT INTO automations
        (name, trigger_name, project_id, item_kind, minutes, action, visibility, body, template_name, recipients,
         address, webhook_id, enabled, core, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id";
    pub const UPDATE: &str = "UPDATE automations SET name = $1, trigger_name = $2, project_id = $3, item_kind = $4,
        minutes = $5, action = $6, visibility = $7, body = $8, template_name = $9, recipients = $10, address = $11,
        webhook_id = $12, enabled = $13, updated_at = $14 WHERE id = $15";
    /// The latest customer message of each conversation waiting for a user, not answered yet.
    pub const AWAITING_REPLY: &str = "SELECT c.id AS conversation_id, m.id AS message_id
        FROM conversations c JOIN messages m ON m.conversation_id = c.id
        WHERE c.visibility = 'public' AND c.state = 'open' AND c.last_author_kind = 'customer'
          AND m.number = (SELECT MAX(x.number) FROM messages x
                          WHERE x.conversation_id = c.id AND x.author_kind = 'customer')
          AND m.created_at >= $1 AND m.created_at <= $2
          AND NOT EXISTS (SELECT 1 FROM automation_runs r WHERE r.automation_id = $3 AND r.message_id = m.id)
        ORDER BY m.created_at, m.id LIMIT $4";
    pub const CLAIM_RUN: &str = "INSERT INTO automation_runs (automation_id, message_id, ran_at) VALUES ($1, $2, $3)
        ON CONFLICT (automation_id, message_id) DO NOTHING";
    pub const DELETE: &str = "DELETE FROM automations WHERE id = $1";
    pub const TEMPLATES: &str = "SELECT name, subject, body_text, body_html, updated_at FROM templates ORDER BY name";
    pub const INSERT_TEMPLATE: &str =
        "INSERT INTO templates (name, subject, body_text, body_html, updated_at) VALUES ($1, $2, $3, $4, $5)";
    pub const DELETE_TEMPLATE: &str = "DELETE FROM templates WHERE name = $1";
}
