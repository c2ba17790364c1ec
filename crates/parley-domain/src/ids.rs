//! Typed identifiers, so a customer id can never be passed where a user id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(#[serde(deserialize_with = "integral")] pub i64);

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
    /// An invitation of a user into a project (R25, R31).
    InvitationId,
    /// An automation of the messaging center (R29).
    AutomationId,
    /// An email received, in the incoming log.
    IncomingEmailId,
    /// A token a mail relay posts incoming email with.
    InboundTokenId,
    /// A file attached to a message (or uploaded for one).
    AttachmentId,
    /// A team's canned answer.
    SavedReplyId,
    /// An endpoint that hears about events (§10).
    WebhookId,
    /// One event queued for one webhook, with its attempts.
    WebhookDeliveryId,
);

/// Reads a whole number, also when a JSON encoder wrote it as `12.0`: JSON has one number type, and
/// `12.0` is a valid integer to a JSON Schema. Fractions and numbers beyond 2^53 are refused.
pub fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("number too large"))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
            if v.fract() == 0.0 && v.abs() <= EXACT {
                Ok(v as i64)
            } else {
                Err(E::custom(format!("{v} is not a whole number")))
            }
        }
    }
    d.deserialize_any(Whole)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_read_whole_numbers_however_they_are_written() {
        assert_eq!(serde_json::from_str::<UserId>("12").unwrap(), UserId(12));
        assert_eq!(serde_json::from_str::<UserId>("12.0").unwrap(), UserId(12));
        assert_eq!(serde_json::from_str::<UserId>("-3").unwrap(), UserId(-3));
        assert!(serde_json::from_str::<UserId>("12.5").is_err());
        assert!(serde_json::from_str::<UserId>("1e300").is_err());
        assert!(serde_json::from_str::<UserId>("\"12\"").is_err());
    }
}
