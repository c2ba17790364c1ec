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
