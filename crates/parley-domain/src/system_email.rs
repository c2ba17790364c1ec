//! R31 system emails and R25 email settings: which system emails there are, which an admin may turn
//! off, which a user's own settings stop, and how long the links they carry stay valid.

use crate::entities::str_enum;
use crate::ids::{InvitationId, ProjectId, UserId};
use crate::preferences::Preferences;
use serde::Serialize;
use utoipa::ToSchema;

str_enum!(
    /// R31: an email Parley sends on a system event rather than a conversation's message.
    SystemEmail {
        /// A user was created: a welcome with a link to set their password.
        Welcome => "welcome",
        /// A customer was invited to the portal: a link to set their password.
        CustomerInvite => "customer_invite",
        /// Someone asked to reset their password.
        PasswordReset => "password_reset",
        /// A user was invited into a project and has to accept.
        ProjectInvitation => "project_invitation",
        /// A user was assigned to an item, or no longer is.
        AssignmentChange => "assignment_change",
        /// A user or team joined a project the recipient is a member of.
        NewProjectMember => "new_project_member",
    }
);

/// The prefix of system emails' template names: `system.password_reset`.
pub const TEMPLATE_PREFIX: &str = "system.";

impl SystemEmail {
    /// The name of its editable template.
    pub fn template_name(self) -> String {
        format!("{TEMPLATE_PREFIX}{}", self.as_str())
    }

    /// The system email a template name belongs to, if any.
    pub fn of_template(name: &str) -> Option<SystemEmail> {
        name.strip_prefix(TEMPLATE_PREFIX).and_then(SystemEmail::parse)
    }

    /// R31: every system email can be turned off except the password reset, without which a
    /// locked-out person has no way back in.
    pub fn may_turn_off(self) -> bool {
        self != SystemEmail::PasswordReset
    }

    /// What admins read in the list.
    pub fn title(self) -> &'static str {
        match self {
            SystemEmail::Welcome => "New user created",
            SystemEmail::CustomerInvite => "Customer invited / set password",
            SystemEmail::PasswordReset => "Password reset",
            SystemEmail::ProjectInvitation => "Project invitation",
            SystemEmail::AssignmentChange => "Assignment change",
            SystemEmail::NewProjectMember => "New user or team in a project",
        }
    }

    /// R25: whether a user who set `preferences` receives this email. Emails a person asked for
    /// or needs to get in (welcome, reset, invitations) are not theirs to turn off.
    pub fn wanted_by(self, preferences: &Preferences) -> bool {
        match self {
            SystemEmail::AssignmentChange => preferences.email_assignment_changes,
            SystemEmail::NewProjectMember => preferences.email_new_members,
            SystemEmail::Welcome
            | SystemEmail::CustomerInvite
            | SystemEmail::PasswordReset
            | SystemEmail::ProjectInvitation => true,
        }
    }
}

str_enum!(
    /// Why a single-use password link was made.
    PasswordLink {
        /// Asked for on the login page.
        Reset => "reset",
        /// Sent with the welcome of a new user.
        Welcome => "welcome",
        /// Sent to a customer invited to the portal.
        Invite => "invite",
    }
);

impl PasswordLink {
    /// How long the link works: a reset is asked for by someone at their screen, so it is short;
    /// a welcome or an invitation may wait in an inbox for days.
    pub fn lifetime_ms(self) -> i64 {
        match self {
            PasswordLink::Reset => 60 * 60_000,
            PasswordLink::Welcome | PasswordLink::Invite => 7 * 24 * 60 * 60_000,
        }
    }

    /// The system email that carries it.
    pub fn email(self) -> SystemEmail {
        match self {
            PasswordLink::Reset => SystemEmail::PasswordReset,
            PasswordLink::Welcome => SystemEmail::Welcome,
            PasswordLink::Invite => SystemEmail::CustomerInvite,
        }
    }
}

/// How long an emailed invitation link works.
pub const INVITATION_LINK_MS: i64 = 14 * 24 * 60 * 60_000;

str_enum!(
    /// Where an invitation into a project stands.
    InvitationState { Pending => "pending", Accepted => "accepted", Declined => "declined" }
);

/// R25: an invitation is accepted at once for a user who accepts all invitations; anyone else
/// decides in the app or by the emailed link.
pub fn accepted_at_once(preferences: &Preferences) -> bool {
    preferences.auto_accept_invitations
}

/// An invitation of a user to become a member of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Invitation {
    pub id: InvitationId,
    pub project_id: ProjectId,
    pub project_name: String,
    pub user_id: UserId,
    /// The admin who invited them.
    pub invited_by: UserId,
    pub state: InvitationState,
    pub created_at: i64,
    pub answered_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r31_only_the_password_reset_cannot_be_turned_off() {
        let fixed: Vec<_> = SystemEmail::ALL.iter().filter(|e| !e.may_turn_off()).collect();
        assert_eq!(fixed, [&SystemEmail::PasswordReset]);
    }

    #[test]
    fn r25_email_settings_stop_only_their_own_emails() {
        for assignment in [true, false] {
            for members in [true, false] {
                let p = Preferences {
                    email_assignment_changes: assignment,
                    email_new_members: members,
                    ..Preferences::default()
                };
                for &email in SystemEmail::ALL {
                    let expected = match email {
                        SystemEmail::AssignmentChange => assignment,
                        SystemEmail::NewProjectMember => members,
                        _ => true,
                    };
                    assert_eq!(email.wanted_by(&p), expected, "{email} with {assignment}/{members}");
                }
            }
        }
    }

    #[test]
    fn r25_invitations_wait_unless_the_user_accepts_all() {
        let mut p = Preferences::default();
        assert!(!accepted_at_once(&p));
        p.auto_accept_invitations = true;
        assert!(accepted_at_once(&p));
    }

    #[test]
    fn template_names_round_trip() {
        for &email in SystemEmail::ALL {
            assert_eq!(SystemEmail::of_template(&email.template_name()), Some(email));
        }
        assert_eq!(SystemEmail::of_template("new_message"), None);
        assert_eq!(SystemEmail::of_template("system.nope"), None);
    }

    #[test]
    fn reset_links_are_short_lived_and_invitations_wait() {
        assert!(PasswordLink::Reset.lifetime_ms() <= 60 * 60_000);
        assert!(PasswordLink::Welcome.lifetime_ms() > PasswordLink::Reset.lifetime_ms());
        for &link in PasswordLink::ALL {
            assert_eq!(link.email().may_turn_off(), link != PasswordLink::Reset);
        }
    }
}
