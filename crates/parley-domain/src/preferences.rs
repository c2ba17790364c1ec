//! Per-user notification preferences (R20–R25) and the rule that turns them into "notify or not".

use crate::entities::str_enum;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

str_enum!(
    /// R20: which conversations a user may see.
    Scope { AllProjects => "all_projects", FollowedProjects => "followed_projects" }
);
str_enum!(
    /// R22: messages written by customers.
    CustomerMessages { All => "all", Mine => "mine", None => "none" }
);
str_enum!(
    /// R23: messages written by users and the bot to customers.
    RepliesToCustomers { All => "all", Followed => "followed", None => "none" }
);

/// Everything a user can set about notifications and email. Only an admin changes `scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Preferences {
    /// R20
    pub scope: Scope,
    /// R21: show the "From customers" section in the messenger.
    pub show_from_customers: bool,
    /// R22
    pub customer_messages: CustomerMessages,
    /// R23
    pub replies_to_customers: RepliesToCustomers,
    /// R24: notify about internal messages in followed conversations.
    pub followed_internal: bool,
    /// R12: play a sound with in-app notifications.
    pub sound: bool,
    /// R25: emails about assignment changes.
    pub email_assignment_changes: bool,
    /// R25: emails about new users and teams in the user's projects.
    pub email_new_members: bool,
    /// R25: accept project invitations automatically.
    pub auto_accept_invitations: bool,
}

impl Default for Preferences {
    /// A new user follows what they take part in, and hears about it.
    fn default() -> Self {
        Preferences {
            scope: Scope::AllProjects,
            show_from_customers: true,
            customer_messages: CustomerMessages::Mine,
            replies_to_customers: RepliesToCustomers::Followed,
            followed_internal: true,
            sound: true,
            email_assignment_changes: true,
            email_new_members: true,
            auto_accept_invitations: false,
        }
    }
}

/// What kind of message a notification is about, as far as preferences care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageClass {
    /// A public message written by a customer (R22).
    FromCustomer,
    /// A public message written by a user or the bot (R23).
    ReplyToCustomers,
    /// A message in an internal conversation (R24).
    Internal,
}

impl Preferences {
    /// R22–R24: should a user be notified (in the app, and by email when unseen) of a message of
    /// `class`? `follows` says whether the user follows or takes part in the conversation or its item.
    pub fn wants(&self, class: MessageClass, follows: bool) -> bool {
        match class {
            MessageClass::FromCustomer => match self.customer_messages {
                CustomerMessages::All => true,
                CustomerMessages::Mine => follows,
                CustomerMessages::None => false,
            },
            MessageClass::ReplyToCustomers => match self.replies_to_customers {
                RepliesToCustomers::All => true,
                RepliesToCustomers::Followed => follows,
                RepliesToCustomers::None => false,
            },
            MessageClass::Internal => follows && self.followed_internal,
        }
    }

    /// R10: does this user ask for every public message of `class`, followed or not?
    pub fn wants_all(&self, class: MessageClass) -> bool {
        match class {
            MessageClass::FromCustomer => self.customer_messages == CustomerMessages::All,
            MessageClass::ReplyToCustomers => self.replies_to_customers == RepliesToCustomers::All,
            MessageClass::Internal => false,
        }
    }

    /// R24 "a user can turn all of them off for themself".
    pub fn all_off(&self) -> Preferences {
        Preferences {
            customer_messages: CustomerMessages::None,
            replies_to_customers: RepliesToCustomers::None,
            followed_internal: false,
            ..self.clone()
        }
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;

    #[test]
    fn r22_customer_messages_all_mine_none() {
        let mut p = Preferences::default();
        for (setting, followed, unfollowed) in [
            (CustomerMessages::All, true, true),
            (CustomerMessages::Mine, true, false),
            (CustomerMessages::None, false, false),
        ] {
            p.customer_messages = setting;
            assert_eq!(p.wants(MessageClass::FromCustomer, true), followed, "{setting}");
            assert_eq!(p.wants(MessageClass::FromCustomer, false), unfollowed, "{setting}");
        }
    }

    #[test]
    fn r23_replies_to_customers_all_followed_none() {
        let mut p = Preferences::default();
        for (setting, followed, unfollowed) in [
            (RepliesToCustomers::All, true, true),
            (RepliesToCustomers::Followed, true, false),
            (RepliesToCustomers::None, false, false),
        ] {
            p.replies_to_customers = setting;
            assert_eq!(p.wants(MessageClass::ReplyToCustomers, true), followed, "{setting}");
            assert_eq!(p.wants(MessageClass::ReplyToCustomers, false), unfollowed, "{setting}");
        }
    }

    #[test]
    fn r24_followed_internal_on_off() {
        let mut p = Preferences::default();
        assert!(p.wants(MessageClass::Internal, true));
        assert!(!p.wants(MessageClass::Internal, false));
        p.followed_internal = false;
        assert!(!p.wants(MessageClass::Internal, true));
    }

    #[test]
    fn r24_all_off_silences_every_class() {
        let p = Preferences::default().all_off();
        for class in [MessageClass::FromCustomer, MessageClass::ReplyToCustomers, MessageClass::Internal] {
            assert!(!p.wants(class, true));
        }
    }
}
