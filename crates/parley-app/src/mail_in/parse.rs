//! Reading an incoming email (R17–R19): the raw RFC 5322 bytes, as the SMTP listener or the
//! inbound HTTP endpoint receive them, become the few facts Parley routes by. Parsing is
//! mail-parser's; the text of an HTML-only mail is its conversion to text. Nothing here panics on
//! any input: a mail that cannot be read is an error the caller logs.

use mail_parser::{HeaderName, MessageParser, MimeHeaders};
use parley_domain::inbound::AutomaticSigns;

/// What Parley needs from one incoming mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundMail {
    /// The sender's address, as written (compared in normalized form by the caller).
    pub from: String,
    pub from_name: Option<String>,
    /// Every address in To and Cc.
    pub to: Vec<String>,
    pub subject: String,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The body as text (an HTML-only mail converted), before quotes are stripped.
    pub text: String,
    /// The files it carries, in order.
    pub attachments: Vec<MailAttachment>,
    auto_submitted: Option<String>,
    precedence: Option<String>,
    auto_response_suppress: bool,
    list_headers: bool,
    x_loop: Vec<String>,
    content_type: String,
}

/// A file attached to a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub name: String,
    /// As the mail declares it, `type/subtype`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why a mail could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundError {
    /// Not an RFC 5322 message at all.
    NotAMessage,
    /// No sender address to answer or match.
    NoSender,
}

impl std::fmt::Display for InboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InboundError::NotAMessage => "not an email message",
            InboundError::NoSender => "the message has no sender address",
        })
    }
}

impl std::error::Error for InboundError {}

impl InboundMail {
    /// The headers R19 decides by (`parley_domain::inbound::automatic`).
    pub fn automatic_signs(&self) -> AutomaticSigns<'_> {
        AutomaticSigns {
            auto_submitted: self.auto_submitted.as_deref(),
            precedence: self.precedence.as_deref(),
            auto_response_suppress: self.auto_response_suppress,
            list_headers: self.list_headers,
            x_loop: self.x_loop.iter().map(String::as_str).collect(),
            from: &self.from,
            content_type: &self.content_type,
            message_id: self.message_id.as_deref(),
        }
    }
}

/// Reads one raw message.
pub fn parse(raw: &[u8]) -> Result<InboundMail, InboundError> {
    let message = MessageParser::default().parse(raw).ok_or(InboundError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(InboundError::NotAMessage);
    }
    let sender = message.from().and_then(|a| a.first());
    let from = sender.and_then(|a| a.address()).map(str::trim).filter(|a| !a.is_empty());
    let from = from.ok_or(InboundError::NoSender)?.to_string();
    let recipients = [message.to(), message.cc()];
    let to = recipients
        .into_iter()
        .flatten()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(|a| a.trim().to_string())
        .collect();
    let text_list = |v: &mail_parser::HeaderValue| -> Vec<String> {
        match v {
            mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
            mail_parser::HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let raw_header = |name: &str| message.header_raw(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let content_type = message
        .header(HeaderName::ContentType)
        .and_then(|h| h.as_content_type())
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()))
        .unwrap_or_else(|| "text/plain".to_string());
    let x_loop = message
        .headers()
        .iter()
        .filter(|h| h.name.as_str().eq_ignore_ascii_case("x-loop"))
        .filter_map(|h| h.value.as_text().map(str::to_string))
        .collect();
    Ok(InboundMail {
        from,
        from_name: sender.and_then(|a| a.name()).map(str::to_string),
        to,
        subject: message.subject().unwrap_or_default().to_string(),
        message_id: message.message_id().map(str::to_string),
        in_reply_to: text_list(message.in_reply_to()),
        references: text_list(message.references()),
        text: message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        attachments: message
            .attachments()
            .map(|part| {
                let content_type = part
                    .content_type()
                    .map(|t| match t.subtype() {
                        Some(sub) => format!("{}/{sub}", t.ctype()),
                        None => t.ctype().to_string(),
                    })
                    .unwrap_or_default();
                let name = part.attachment_name().unwrap_or("attachment").to_string();
                MailAttachment { name, content_type, bytes: part.contents().to_vec() }
            })
            .collect(),
        auto_submitted: raw_header("Auto-Submitted"),
        precedence: raw_header("Precedence"),
        auto_response_suppress: raw_header("X-Auto-Response-Suppress").is_some(),
        list_headers: raw_header("List-Id").is_some() || raw_header("List-Unsubscribe").is_some(),
        x_loop,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use parley_domain::inbound::{automatic, reply_text, AutomaticReason};

    fn corpus(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn r17_a_gmail_reply_is_read_and_its_new_text_found() {
        let mail = parse(&corpus("gmail-reply.eml")).unwrap();
        assert_eq!(mail.from, "carla@client.example");
        assert_eq!(mail.from_name.as_deref(), Some("Carla Diaz"));
        assert_eq!(mail.to, vec!["reply+aaaaaaaaaaaacyyaaaaaaaaaaaa3xrj2nqonxd7fy4bds5y@acme.test".to_string()]);
        assert_eq!(mail.in_reply_to, vec!["parley.m12.customer1@acme.test".to_string()]);
        assert_eq!(
            mail.references,
            vec!["parley.c1@acme.test".to_string(), "parley.m12.customer1@acme.test".to_string()]
        );
        assert_eq!(automatic(&mail.automatic_signs(), "acme.test"), None);
        assert_eq!(reply_text(&mail.text).as_deref(), Some("Thanks, the printer works again.\n\nCarla"));
    }

    #[test]
    fn r17_an_html_only_outlook_reply_becomes_text() {
        let mail = parse(&corpus("outlook-html-only.eml")).unwrap();
        assert_eq!(mail.subject, "RE: [Ticket #12] Printer");
        assert_eq!(reply_text(&mail.text).as_deref(), Some("It jams again on the lower tray."));
    }

    #[test]
    fn r17_quoted_printable_latin1_is_decoded() {
        let mail = parse(&corpus("latin1-quoted-printable.eml")).unwrap();
        assert_eq!(reply_text(&mail.text).as_deref(), Some("Merci, ça marche très bien."));
    }

    #[test]
    fn r19_an_out_of_office_and_a_bounce_are_automatic() {
        let ooo = parse(&corpus("out-of-office.eml")).unwrap();
        assert_eq!(automatic(&ooo.automatic_signs(), "acme.test"), Some(AutomaticReason::AutoSubmitted));
        let bounce = parse(&corpus("bounce.eml")).unwrap();
        assert_eq!(automatic(&bounce.automatic_signs(), "acme.test"), Some(AutomaticReason::Bounce));
    }

    #[test]
    fn anything_that_is_not_a_mail_is_an_error_not_a_panic() {
        assert_eq!(parse(b""), Err(InboundError::NotAMessage));
        assert!(parse(b"\x00\xff\xfe garbage").is_err());
        assert_eq!(parse(b"Subject: hi\r\n\r\nno sender"), Err(InboundError::NoSender));
        for n in 0..200u32 {
            let bytes: Vec<u8> = (0..n).map(|i| (i.wrapping_mul(2654435761) >> 7) as u8).collect();
            let _ = parse(&bytes);
        }
    }
}
