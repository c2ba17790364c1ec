//! Emails about an account rather than a conversation — a login link, a code proving an address,
//! a system email (R31): one recipient, no thread, a Message-ID of their own, queued like every
//! other email.

use crate::auth::new_token;
use crate::{App, AppResult};
use parley_domain::*;
use parley_store::NewOutgoingEmail;

/// What an account email says.
pub(crate) struct AccountEmail {
    /// Names the kind in its Message-ID (`login`, `verify`, `password_reset`).
    pub kind: &'static str,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// R44: the one secret (a link, a code) its subject and bodies name by
    /// [`parley_domain::sealed::SECRET_SLOT`]; filled in when the email is sent.
    pub secret: Option<String>,
}

impl App {
    /// Queues `email` to `party`, named `to_name`, at `to_address`.
    pub(crate) async fn queue_account_email(
        &self,
        party: Party,
        to_name: &str,
        to_address: &str,
        email: AccountEmail,
    ) -> AppResult<()> {
        self.queue_email_to(Some(party), to_name, to_address, email).await
    }

    /// Queues `email` to `to_address`: a party's, or (`None`) an address that is no one's in
    /// Parley, such as an automation's fixed one.
    pub(crate) async fn queue_email_to(
        &self,
        party: Option<Party>,
        to_name: &str,
        to_address: &str,
        email: AccountEmail,
    ) -> AppResult<()> {
        let nonce: String = new_token("").chars().take(16).collect();
        self.store
            .queue_email(NewOutgoingEmail {
                created_at: self.now(),
                conversation_id: None,
                party,
                to_address: to_address.to_string(),
                to_name: to_name.to_string(),
                subject: email.subject,
                body_text: email.body_text,
                body_html: email.body_html,
                message_id_header: format!("<parley.{}.{nonce}@{}>", email.kind, self.config.mail_domain),
                in_reply_to: None,
                references: None,
                reply_to: None,
                secret: email.secret,
            })
            .await?;
        Ok(())
    }
}

/// Text made safe to put inside HTML.
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
