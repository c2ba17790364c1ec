//! R29: the automations of the messaging center.

use crate::error::StoreResult;
use async_trait::async_trait;
use parley_domain::automation::{Automation, AutomationSpec};
use parley_domain::*;

#[async_trait]
pub trait AutomationStore {
    /// Every automation: the core rule first, then by when they were made.
    async fn automations(&self) -> StoreResult<Vec<Automation>>;
    async fn automation(&self, id: AutomationId) -> StoreResult<Automation>;
    /// With `core`, stores the core rule unless there is one (`Conflict("core")`).
    async fn insert_automation(
        &self,
        spec: &AutomationSpec,
        enabled: bool,
        core: bool,
        at: i64,
    ) -> StoreResult<Automation>;
    async fn update_automation(
        &self,
        id: AutomationId,
        spec: &AutomationSpec,
        enabled: bool,
        at: i64,
    ) -> StoreResult<Automation>;
    async fn delete_automation(&self, id: AutomationId) -> StoreResult<()>;
}

/// The statements of [`AutomationStore`], shared by the backends (`$n` in order, as in
/// [`crate::accounts::sql`]).
pub mod sql {
    pub const COLUMNS: &str =
        "id, name, trigger_name, project_id, item_kind, action, visibility, body, enabled, core, created_at, updated_at";
    pub const INSERT: &str = "INSERT INTO automations
        (name, trigger_name, project_id, item_kind, action, visibility, body, enabled, core, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id";
    pub const UPDATE: &str = "UPDATE automations SET name = $1, trigger_name = $2, project_id = $3, item_kind = $4,
        action = $5, visibility = $6, body = $7, enabled = $8, updated_at = $9 WHERE id = $10";
    pub const DELETE: &str = "DELETE FROM automations WHERE id = $1";
}

/// Implements [`AutomationStore`] for a backend's store type (see [`crate::impl_account_store`]).
// `crate::` names the calling backend's own helpers, on purpose.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! impl_automation_store {
    ($store:ty, reader: $reader:ident, writer: $writer:ident) => {
        const _: () = {
            use crate::errors::{other, unique};
            use crate::rows::automation;
            use parley_domain::automation::{Automation, AutomationSpec};
            use parley_domain::*;
            use $crate::automations::sql;
            use $crate::{StoreError, StoreResult};

            #[async_trait::async_trait]
            impl $crate::AutomationStore for $store {
                async fn automations(&self) -> StoreResult<Vec<Automation>> {
                    let rows = sqlx::query(&format!("SELECT {} FROM automations ORDER BY core DESC, id", sql::COLUMNS))
                        .fetch_all(&self.$reader)
                        .await
                        .map_err(other)?;
                    rows.iter().map(automation).collect()
                }

                async fn automation(&self, id: AutomationId) -> StoreResult<Automation> {
                    let row = sqlx::query(&format!("SELECT {} FROM automations WHERE id = $1", sql::COLUMNS))
                        .bind(id.0)
                        .fetch_one(&self.$writer)
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
                        .bind(spec.action.as_str())
                        .bind(spec.visibility.as_str())
                        .bind(&spec.body)
                        .bind(enabled)
                        .bind(core)
                        .bind(at)
                        .fetch_one(&self.$writer)
                        .await
                        .map_err(unique("core"))?;
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
                        .bind(spec.action.as_str())
                        .bind(spec.visibility.as_str())
                        .bind(&spec.body)
                        .bind(enabled)
                        .bind(at)
                        .bind(id.0)
                        .execute(&self.$writer)
                        .await
                        .map_err(other)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    self.automation(id).await
                }

                async fn delete_automation(&self, id: AutomationId) -> StoreResult<()> {
                    let done = sqlx::query(sql::DELETE).bind(id.0).execute(&self.$writer).await.map_err(other)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }
            }
        };
    };
}
