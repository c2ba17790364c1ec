//! R44: every way a message or an action leaves or enters Parley, as a list the code knows. Each
//! door asks the access rule at the moment it acts, with the message's and the actor's state
//! then; what a door refuses is counted under its name (`parley_door_refusals_total`). The door
//! tests (`doors_api`) hold a row for every door, or say why a door has none.

use crate::entities::str_enum;

str_enum!(
    /// A way out of Parley, or a way in.
    Door {
        /// Out: a realtime event to an open page, widget or portal (R12).
        Push => "push",
        /// Out: the unseen-message email and its digests (R14, R34).
        NotificationEmail => "notification_email",
        /// Out: an automation's email (R30).
        AutomatedEmail => "automated_email",
        /// Out: a webhook delivery (§10).
        Webhook => "webhook",
        /// Out: search hits (conversations, messages, items, customers).
        Search => "search",
        /// Out: a message's file.
        Attachment => "attachment",
        /// Out: the recipient preview (R11).
        RecipientPreview => "recipient_preview",
        /// Out: a message's stored audience.
        AudienceView => "audience_view",
        /// Out: a message's delivery timeline (R35).
        DeliveryView => "delivery_view",
        /// Out: the original mail a message was written in, and the incoming log's raw mail.
        OriginalMail => "original_mail",
        /// Out: the customer directory.
        CustomerDirectory => "customer_directory",
        /// Out: a new message pushed to whoever has its conversation open, and a customer's new
        /// conversation to every connected user who may see it (R43), outside its audience.
        OnlookerPush => "onlooker_push",
        /// In: the HTTP API (the messenger, the portal, integrations).
        Http => "http",
        /// In: the realtime socket (the connection itself, and an API client's seen reports).
        Socket => "socket",
        /// In: a page's looking report on the socket: the conversation it has open, and what a
        /// visible page shows, read and seen (R43).
        Looking => "looking",
        /// In: email, by reply token, threading headers or the support address (R16–R18).
        EmailIn => "email_in",
        /// In: the live-chat widget.
        Widget => "widget",
        /// In: an automation acting as the bot (R29).
        Automation => "automation",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_door_has_one_name() {
        let mut names: Vec<&str> = Door::ALL.iter().map(|d| d.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Door::ALL.len());
        assert!(Door::ALL.iter().all(|d| Door::parse(d.as_str()) == Some(*d)));
    }
}
