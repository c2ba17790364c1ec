//! Invitations into projects (R25, R31): an admin invites a user; a user who accepts all
//! invitations is a member at once, anyone else is emailed and answers in the app or by the
//! emailed link. Whoever joins a project, its other members hear of it (R31, if they want, R25).

use crate::auth::{new_token, token_hash};
use crate::delivery::system_templates::{named, MemberNamed, SystemContext};
use crate::{Actor, App, AppError, AppResult};
use parley_domain::system_email::{accepted_at_once, Invitation, InvitationState, SystemEmail, INVITATION_LINK_MS};
use parley_domain::*;
use parley_store::{NewInvitation, ProjectRole, StoreError};

const LINK_PREFIX: &str = "pi_";

/// Who joined a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Joined {
    User(UserId),
    Team(TeamId),
}

impl App {
    /// Invites `user` into `project` as a member. Only admins (R37); 409 `already_member` for a
    /// member, `invitation` while one is pending.
    pub async fn invite_to_project(&self, actor: Actor, project: ProjectId, user: UserId) -> AppResult<Invitation> {
        self.visible_project(actor, project).await?;
        let admin = Self::require_admin(actor)?;
        self.check_parties(&[Party::User(user)]).await?;
        let found = self.store.project(project).await?;
        if found.member_users.contains(&user) {
            return Err(AppError::conflict("already_member", "the user is already a member of the project"));
        }
        let at_once = accepted_at_once(&self.store.preferences(user).await?);
        let token = new_token(LINK_PREFIX);
        let now = self.now();
        let invitation = self
            .store
            .insert_invitation(NewInvitation {
                project,
                user,
                invited_by: admin,
                token_hash: token_hash(&token),
                created_at: now,
                expires_at: now + INVITATION_LINK_MS,
                accepted: at_once,
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    AppError::conflict("invitation_pending", "the user has an invitation to this project waiting")
                }
                e => e.into(),
            })?;
        if at_once {
            self.join_project(project, Joined::User(user), Some(admin)).await?;
            return Ok(invitation);
        }
        if let Some(to) = self.user_recipient(user, SystemEmail::ProjectInvitation).await? {
            let context = SystemContext {
                secret_link: Some(self.app_url(&format!("/invitations/accept?token={token}"))),
                actor: Some(named(self.store.user(admin).await?.name)),
                project: Some(named(&found.name)),
                ..SystemContext::default()
            };
            self.send_system_email(SystemEmail::ProjectInvitation, &to, context).await?;
        }
        Ok(invitation)
    }

    /// The asker's invitations waiting for an answer.
    pub async fn my_invitations(&self, actor: Actor) -> AppResult<Vec<Invitation>> {
        let user = Self::require_user(actor, "invitations")?;
        Ok(self.store.pending_invitations(user).await?)
    }

    /// Accepts or declines one of the asker's invitations; anyone else's is "not found". 409
    /// `already_answered` once answered.
    pub async fn answer_invitation(&self, actor: Actor, id: InvitationId, accept: bool) -> AppResult<Invitation> {
        let user = Self::require_user(actor, "invitation")?;
        let invitation = self.store.invitation(id).await.map_err(AppError::from_store("invitation"))?;
        if invitation.user_id != user {
            return Err(AppError::NotFound("invitation"));
        }
        self.answer(invitation, accept).await
    }

    /// Accepts an invitation by its emailed link, without logging in: the link speaks for its
    /// user. 422 `invalid_link` for a link unknown or expired.
    pub async fn accept_invitation_link(&self, token: &str) -> AppResult<Invitation> {
        let invalid = || AppError::unprocessable("invalid_link", "token: the link is unknown or expired");
        if !token.starts_with(LINK_PREFIX) {
            return Err(invalid());
        }
        let invitation = self.store.invitation_by_link(&token_hash(token), self.now()).await.map_err(|e| match e {
            StoreError::NotFound => invalid(),
            e => e.into(),
        })?;
        if !self.store.user(invitation.user_id).await?.active {
            return Err(invalid());
        }
        self.answer(invitation, true).await
    }

    async fn answer(&self, invitation: Invitation, accept: bool) -> AppResult<Invitation> {
        let answered = || AppError::conflict("already_answered", "the invitation was already answered");
        if invitation.state != InvitationState::Pending {
            return Err(answered());
        }
        if accept {
            // Joining first: adding a member again changes nothing, so two answers at once are
            // harmless, and the invitation is marked only once the user is in.
            self.store
                .set_project_role(invitation.project_id, ProjectRole::MemberUser(invitation.user_id), true)
                .await?;
        }
        let answered = self.store.answer_invitation(invitation.id, accept, self.now()).await.map_err(|e| match e {
            StoreError::NotFound => answered(),
            e => e.into(),
        })?;
        if accept {
            self.access_changed(Party::User(invitation.user_id));
            self.tell_members(invitation.project_id, Joined::User(invitation.user_id), None).await?;
        }
        Ok(answered)
    }

    /// Someone joined `project` through an invitation accepted at once: the new member's
    /// connections start afresh, and the other members hear of it.
    pub(crate) async fn join_project(&self, project: ProjectId, who: Joined, by: Option<UserId>) -> AppResult<()> {
        let role = match who {
            Joined::User(u) => ProjectRole::MemberUser(u),
            Joined::Team(t) => ProjectRole::MemberTeam(t),
        };
        self.store.set_project_role(project, role, true).await?;
        if let Joined::User(u) = who {
            self.access_changed(Party::User(u));
        }
        self.tell_members(project, who, by).await
    }

    /// R31, R25: the new user or team in `project` is emailed to its other members who want it;
    /// not to the newcomer, nor to whoever added them.
    pub(crate) async fn tell_members(&self, project: ProjectId, who: Joined, by: Option<UserId>) -> AppResult<()> {
        if !self.system_email_on(SystemEmail::NewProjectMember).await? {
            return Ok(());
        }
        let project = self.store.project(project).await?;
        let (member, newcomers) = match who {
            Joined::User(u) => (MemberNamed { name: self.store.user(u).await?.name, kind: "user" }, vec![u]),
            Joined::Team(t) => {
                let team = self.store.team(t).await?;
                (MemberNamed { name: team.name.clone(), kind: "team" }, team.members.clone())
            }
        };
        let mut members = project.member_users.clone();
        for team in &project.member_teams {
            if Joined::Team(*team) != who {
                members.extend(self.store.team(*team).await?.members);
            }
        }
        members.sort();
        members.dedup();
        members.retain(|m| !newcomers.contains(m) && Some(*m) != by);
        for user in members {
            let Some(to) = self.user_recipient(user, SystemEmail::NewProjectMember).await? else { continue };
            let context = SystemContext {
                project: Some(named(&project.name)),
                member: Some(member.clone()),
                link: Some(self.app_url("/")),
                ..SystemContext::default()
            };
            self.send_system_email(SystemEmail::NewProjectMember, &to, context).await?;
        }
        Ok(())
    }
}
