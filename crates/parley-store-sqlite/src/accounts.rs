//! Password links, system email switches and project invitations.

use crate::errors::{other, unique};
use crate::rows::invitation;
use crate::SqliteStore;
use async_trait::async_trait;
use parley_domain::system_email::{Invitation, InvitationState, SystemEmail};
use parley_domain::*;
use parley_store::accounts::sql;
use parley_store::{AccountStore, NewInvitation, NewPasswordLink, StoreError, StoreResult};

#[async_trait]
impl AccountStore for SqliteStore {
    async fn insert_password_link(&self, link: NewPasswordLink) -> StoreResult<()> {
        sqlx::query(sql::INSERT_PASSWORD_LINK)
            .bind(&link.token_hash)
            .bind(link.party.kind_str())
            .bind(link.party.raw_id())
            .bind(link.purpose.as_str())
            .bind(link.created_at)
            .bind(link.expires_at)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn password_links_since(&self, party: Party, since: i64) -> StoreResult<i64> {
        sqlx::query_scalar(sql::PASSWORD_LINKS_SINCE)
            .bind(party.kind_str())
            .bind(party.raw_id())
            .bind(since)
            .fetch_one(&self.reader)
            .await
            .map_err(other)
    }

    async fn password_link_owner(&self, token_hash: &str, now: i64) -> StoreResult<Party> {
        let row = sqlx::query(sql::PASSWORD_LINK_OWNER)
            .bind(token_hash)
            .bind(now)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        crate::rows::party(&row)
    }

    async fn set_password_by_link(&self, token_hash: &str, password_hash: &str, now: i64) -> StoreResult<Party> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let row = sqlx::query(sql::SPEND_PASSWORD_LINK)
            .bind(now)
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?
            .ok_or(StoreError::NotFound)?;
        let party = crate::rows::party(&row)?;
        sqlx::query(sql::SPEND_LINKS_OF)
            .bind(now)
            .bind(party.kind_str())
            .bind(party.raw_id())
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        crate::people::replace_password(&mut tx, party, password_hash, None).await?;
        tx.commit().await.map_err(other)?;
        Ok(party)
    }

    async fn system_emails_off(&self) -> StoreResult<Vec<SystemEmail>> {
        let kinds: Vec<String> =
            sqlx::query_scalar(sql::SYSTEM_EMAILS_OFF).fetch_all(&self.reader).await.map_err(other)?;
        // A kind this version does not know (written by a newer one) is left out.
        Ok(kinds.iter().filter_map(|k| SystemEmail::parse(k)).collect())
    }

    async fn set_system_email(&self, email: SystemEmail, enabled: bool) -> StoreResult<()> {
        sqlx::query(sql::SET_SYSTEM_EMAIL)
            .bind(email.as_str())
            .bind(enabled)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn insert_invitation(&self, new: NewInvitation) -> StoreResult<Invitation> {
        let (state, answered_at) = if new.accepted {
            (InvitationState::Accepted, Some(new.created_at))
        } else {
            (InvitationState::Pending, None)
        };
        let id: i64 = sqlx::query_scalar(sql::INSERT_INVITATION)
            .bind(new.project.0)
            .bind(new.user.0)
            .bind(new.invited_by.0)
            .bind(&new.token_hash)
            .bind(state.as_str())
            .bind(new.created_at)
            .bind(new.expires_at)
            .bind(answered_at)
            .fetch_one(&self.writer)
            .await
            .map_err(unique("invitation"))?;
        self.invitation(InvitationId(id)).await
    }

    async fn invitation(&self, id: InvitationId) -> StoreResult<Invitation> {
        let row = sqlx::query(&format!("{} WHERE i.id = $1", sql::INVITATION))
            .bind(id.0)
            .fetch_one(&self.writer)
            .await
            .map_err(other)?;
        invitation(&row)
    }

    async fn invitation_by_link(&self, token_hash: &str, now: i64) -> StoreResult<Invitation> {
        let row = sqlx::query(&format!("{} WHERE i.token_hash = $1 AND i.expires_at > $2", sql::INVITATION))
            .bind(token_hash)
            .bind(now)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        invitation(&row)
    }

    async fn pending_invitations(&self, user: UserId) -> StoreResult<Vec<Invitation>> {
        let rows = sqlx::query(&format!(
            "{} WHERE i.user_id = $1 AND i.state = 'pending' ORDER BY i.created_at DESC, i.id DESC",
            sql::INVITATION
        ))
        .bind(user.0)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        rows.iter().map(invitation).collect()
    }

    async fn answer_invitation(&self, id: InvitationId, accept: bool, now: i64) -> StoreResult<Invitation> {
        let state = if accept { InvitationState::Accepted } else { InvitationState::Declined };
        let done = sqlx::query(sql::ANSWER_INVITATION)
            .bind(state.as_str())
            .bind(now)
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.invitation(id).await
    }
}
