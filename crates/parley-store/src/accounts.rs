//! Account work outside conversations: single-use password links (reset, welcome, invitation),
//! the switches of system emails (R31), and invitations into projects (R25).

use crate::error::StoreResult;
use async_trait::async_trait;
use parley_domain::system_email::{Invitation, PasswordLink, SystemEmail};
use parley_domain::*;

/// A password link to store: only the hash of its token is kept.
#[derive(Debug, Clone)]
pub struct NewPasswordLink {
    pub token_hash: String,
    pub party: Party,
    pub purpose: PasswordLink,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An invitation to store. With `accepted`, the user becomes a member in the same write.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub project: ProjectId,
    pub user: UserId,
    pub invited_by: UserId,
    /// The hash of the emailed link's token.
    pub token_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted: bool,
}

#[async_trait]
pub trait AccountStore {
    async fn insert_password_link(&self, link: NewPasswordLink) -> StoreResult<()>;
    /// How many links `party` was sent since `since`, for the per-address throttle.
    async fn password_links_since(&self, party: Party, since: i64) -> StoreResult<i64>;
    /// Whose unused, unexpired link `token_hash` is; `NotFound` otherwise.
    async fn password_link_owner(&self, token_hash: &str, now: i64) -> StoreResult<Party>;
    /// Sets the password of the party whose unused, unexpired link `token_hash` is, in one write:
    /// the link and every other link of theirs are spent, and every session and API token of
    /// theirs ends (R38). `NotFound` for a link that
    /// is unknown, used or expired.
    async fn set_password_by_link(&self, token_hash: &str, password_hash: &str, now: i64) -> StoreResult<Party>;

    /// The system emails an admin turned off.
    async fn system_emails_off(&self) -> StoreResult<Vec<SystemEmail>>;
    async fn set_system_email(&self, email: SystemEmail, enabled: bool) -> StoreResult<()>;

    /// Stores an invitation; `Conflict("invitation")` while the user has one pending for the
    /// project.
    async fn insert_invitation(&self, invitation: NewInvitation) -> StoreResult<Invitation>;
    async fn invitation(&self, id: InvitationId) -> StoreResult<Invitation>;
    /// The invitation of an unexpired link; `NotFound` otherwise.
    async fn invitation_by_link(&self, token_hash: &str, now: i64) -> StoreResult<Invitation>;
    /// The user's pending invitations, newest first.
    async fn pending_invitations(&self, user: UserId) -> StoreResult<Vec<Invitation>>;
    /// Accepts (the user becomes a member of the project, in the same write) or declines a
    /// pending invitation; `NotFound` when it is not pending.
    async fn answer_invitation(&self, id: InvitationId, accept: bool, now: i64) -> StoreResult<Invitation>;
}

/// The statements of [`AccountStore`], shared by the backends: parameters are `$n`, numbered in
/// the order they first appear, which SQLite and PostgreSQL read alike.
pub mod sql {
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

/// Implements [`AccountStore`] for a backend's store type: the same code for every backend, over
/// its own pools (`reader` for reads, `writer` for writes; PostgreSQL names one pool twice). The
/// backend provides `crate::errors::{other, unique}`, `crate::rows::{party, invitation}` and
/// `crate::people::replace_password`.
// `crate::` names the calling backend's own helpers, on purpose.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! impl_account_store {
    ($store:ty, reader: $reader:ident, writer: $writer:ident) => {
        const _: () = {
            use crate::errors::{other, unique};
            use crate::rows::invitation;
            use parley_domain::system_email::{Invitation, InvitationState, SystemEmail};
            use parley_domain::*;
            use $crate::accounts::sql;
            use $crate::{NewInvitation, NewPasswordLink, StoreError, StoreResult};

            #[async_trait::async_trait]
            impl $crate::AccountStore for $store {
                async fn insert_password_link(&self, link: NewPasswordLink) -> StoreResult<()> {
                    sqlx::query(sql::INSERT_PASSWORD_LINK)
                        .bind(&link.token_hash)
                        .bind(link.party.kind_str())
                        .bind(link.party.raw_id())
                        .bind(link.purpose.as_str())
                        .bind(link.created_at)
                        .bind(link.expires_at)
                        .execute(&self.$writer)
                        .await
                        .map_err(other)?;
                    Ok(())
                }

                async fn password_links_since(&self, party: Party, since: i64) -> StoreResult<i64> {
                    sqlx::query_scalar(sql::PASSWORD_LINKS_SINCE)
                        .bind(party.kind_str())
                        .bind(party.raw_id())
                        .bind(since)
                        .fetch_one(&self.$reader)
                        .await
                        .map_err(other)
                }

                async fn password_link_owner(&self, token_hash: &str, now: i64) -> StoreResult<Party> {
                    let row = sqlx::query(sql::PASSWORD_LINK_OWNER)
                        .bind(token_hash)
                        .bind(now)
                        .fetch_one(&self.$reader)
                        .await
                        .map_err(other)?;
                    crate::rows::party(&row)
                }

                async fn set_password_by_link(
                    &self,
                    token_hash: &str,
                    password_hash: &str,
                    now: i64,
                ) -> StoreResult<Party> {
                    let mut tx = self.$writer.begin().await.map_err(other)?;
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
                        sqlx::query_scalar(sql::SYSTEM_EMAILS_OFF).fetch_all(&self.$reader).await.map_err(other)?;
                    // A kind this version does not know (written by a newer one) is left out.
                    Ok(kinds.iter().filter_map(|k| SystemEmail::parse(k)).collect())
                }

                async fn set_system_email(&self, email: SystemEmail, enabled: bool) -> StoreResult<()> {
                    sqlx::query(sql::SET_SYSTEM_EMAIL)
                        .bind(email.as_str())
                        .bind(enabled)
                        .execute(&self.$writer)
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
                        .fetch_one(&self.$writer)
                        .await
                        .map_err(unique("invitation"))?;
                    self.invitation(InvitationId(id)).await
                }

                async fn invitation(&self, id: InvitationId) -> StoreResult<Invitation> {
                    let row = sqlx::query(&format!("{} WHERE i.id = $1", sql::INVITATION))
                        .bind(id.0)
                        .fetch_one(&self.$writer)
                        .await
                        .map_err(other)?;
                    invitation(&row)
                }

                async fn invitation_by_link(&self, token_hash: &str, now: i64) -> StoreResult<Invitation> {
                    let row =
                        sqlx::query(&format!("{} WHERE i.token_hash = $1 AND i.expires_at > $2", sql::INVITATION))
                            .bind(token_hash)
                            .bind(now)
                            .fetch_one(&self.$reader)
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
                    .fetch_all(&self.$reader)
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
                        .execute(&self.$writer)
                        .await
                        .map_err(other)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    self.invitation(id).await
                }
            }
        };
    };
}
