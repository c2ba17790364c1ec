//! An outgoing email as a MIME message: text and HTML alternatives, threading headers (R16) and
//! `Auto-Submitted` so auto-responders stay quiet.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use parley_store::NewOutgoingEmail;

const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");

/// Builds the MIME message for `email`, sent from `from`.
pub fn build(email: &NewOutgoingEmail, from: &Mailbox) -> Result<Message, String> {
    let to_address = email.to_address.parse().map_err(|e| format!("recipient address: {e}"))?;
    let to_name = (!email.to_name.is_empty()).then(|| email.to_name.clone());
    let mut builder = Message::builder()
        .from(from.clone())
        .to(Mailbox::new(to_name, to_address))
        .subject(email.subject.clone())
        .message_id(Some(email.message_id_header.clone()))
        .raw_header(HeaderValue::new(AUTO_SUBMITTED, "auto-generated".to_string()));
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(reply_to.parse().map_err(|e| format!("reply address: {e}"))?);
    }
    if let Some(parent) = &email.in_reply_to {
        builder = builder.in_reply_to(parent.clone());
    }
    if let Some(references) = &email.references {
        builder = builder.references(references.clone());
    }
    builder
        .multipart(MultiPart::alternative_plain_html(email.body_text.clone(), email.body_html.clone()))
        .map_err(|e| format!("building the email: {e}"))
}
