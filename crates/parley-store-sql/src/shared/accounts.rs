//! Password links, system email switches and project invitations (R25, R31, R38).

use crate::errors::{other, unique};
use crate::rows::invitation;
use parley_domain::system_email::{Invitation, InvitationState, SystemEmail};
use parley_domain::*;
use parley_store::{NewInvitation, NewPasswordLink, StoreError, StoreResult};

#[async_trait::async_trait]
impl parley_store::AccountStore for crate::SqlStore {
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

/// The statements of [`AccountStore`], shared by the backends: parameters are `$n`, numbered in
/// the order they first appear, which SQLite and PostgreSQL read alike.
mod sql {
    pub const INSERT_PASSWORD_LINK: &str = "INSERT INTO password_links
        (token_hash, party_kind, party_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
    pub const PASSWORD_LINKS_SINCE: &str =
        "SELECT COUNT(*) FROM password_links WHERE party_kind = $1 AND party_id = $2 AND created_at >= $3";
    /// Spends an unused, unexpired link, naming its party.
    pub const SPEND_PASSWORD_LINK: &str = "UPDATE password_links SET used_at = $1
        WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING party_kind, party_id";
    pub const PASSWORD_LINK_OWNER: &str =
        "SELECT party_kind, party_id FROM password_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
    /// Spends every other link of a party.
    pub const SPEND_LINKS_OF: &str =
        "UPDATE password_links SET used_at = $1 WHERE party_kind = $2 AND party_id = $3 AND used_at IS NULL";
    pub const SYSTEM_EMAILS_OFF: &str = "SELECT kind FROM system_emails WHERE NOT enabled ORDER BY kind";
    pub const SET_SYSTEM_EMAIL: &str = "INSERT INTO system_emails (kind, enabled) VALUES ($1, $2)
        ON CONFLICT (kind) DO UPDATE SET enabled = excluded.enabled";
    /// An invitation's columns, with its project's name.
    pub const INVITATION: &str = "SELECT i.id, i.project_id, p.name AS project_name, i.user_id, i.invited_by,
        i.state, i.created_at, i.answered_at FROM project_invitations i JOIN projects p ON p.id = i.project_id";
    pub const INSERT_INVITATION: &str = "INSERT INTO project_invitations
        (project_id, user_id, invited_by, token_hash, state, created_at, expires_at, answered_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
    pub const ANSWER_INVITATION: &str =
        "UPDATE project_invitations SET state = $1, answered_at = $2 WHERE id = $3 AND state = 'pending'";
}
