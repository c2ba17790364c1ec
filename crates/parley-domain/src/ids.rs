//! Typed identifiers, so a customer id can never be passed where a user id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A staff member.
    UserId,
    /// An outside person.
    CustomerId,
    /// A group of users.
    TeamId,
    /// A customer organization.
    OrganizationId,
    /// A project.
    ProjectId,
    /// A ticket, task or article.
    ItemId,
    /// A conversation.
    ConversationId,
    /// A message.
    MessageId,
    /// A personal API token.
    ApiTokenId,
    /// An email in the outgoing queue.
    OutgoingEmailId,
);
