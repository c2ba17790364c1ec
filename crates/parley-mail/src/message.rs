//! An outgoing email as a MIME message: text and HTML alternatives, threading headers (R16) and
//! `Auto-Submitted` so auto-responders stay quiet, and `X-Loop` naming this installation, so a mail
//! that comes back round is known for what it is (R19).

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use parley_store::NewOutgoingEmail;

const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");
const X_LOOP: HeaderName = HeaderName::new_from_ascii_str("X-Loop");

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
    // The mail domain is the one of Parley's own Message-IDs.
    let domain = email.message_id_header.trim_end_matches('>').rsplit_once('@').map(|(_, d)| d);
    if let Some(domain) = domain.filter(|d| !d.is_empty()) {
        builder = builder.raw_header(HeaderValue::new(X_LOOP, format!("parley@{domain}")));
    }
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
