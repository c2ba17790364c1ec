//! The embedded default: each email is written to `<dir>/<id>.eml`, complete with headers.

use crate::message::build;
use async_trait::async_trait;
use lettre::message::Mailbox;
use parley_app::Mailer;
use parley_store::OutgoingEmail;
use std::path::PathBuf;

pub struct FileOutbox {
    dir: PathBuf,
    from: Mailbox,
}

impl FileOutbox {
    pub fn new(dir: PathBuf, from: Mailbox) -> FileOutbox {
        FileOutbox { dir, from }
    }

    /// Where email `id` is (or will be) written.
    pub fn path_of(&self, id: i64) -> PathBuf {
        self.dir.join(format!("{id}.eml"))
    }
}

#[async_trait]
impl Mailer for FileOutbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), String> {
        let bytes = build(&email.email, &self.from)?.formatted();
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| format!("outbox folder: {e}"))?;
        // Write then rename, so a reader never sees half an email.
        let path = self.path_of(email.id.0);
        let partial = path.with_extension("eml.partial");
        tokio::fs::write(&partial, bytes).await.map_err(|e| format!("writing {}: {e}", partial.display()))?;
        tokio::fs::rename(&partial, &path).await.map_err(|e| format!("writing {}: {e}", path.display()))
    }

    fn describe(&self) -> String {
        format!("outbox folder {}", self.dir.display())
    }

    fn parallel(&self) -> usize {
        4
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use parley_app::Mailer;
    use parley_store::{NewOutgoingEmail, OutgoingEmail};

    #[tokio::test]
    async fn r16_outbox_file_carries_threading_and_reply_headers() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = FileOutbox::new(dir.path().join("outbox"), "Parley <support@acme.test>".parse().unwrap());
        let email = OutgoingEmail::queued(
            parley_domain::OutgoingEmailId(7),
            NewOutgoingEmail {
                created_at: 0,
                conversation_id: None,
                party: None,
                to_address: "cora@client.test".into(),
                to_name: "Cora".into(),
                subject: "Printer (2 new)".into(),
                body_text: "Hello Cora".into(),
                body_html: "<p>Hello Cora</p>".into(),
                message_id_header: "<parley.m1.c2@acme.test>".into(),
                in_reply_to: Some("<parley.c3@acme.test>".into()),
                references: Some("<parley.c3@acme.test>".into()),
                reply_to: Some("reply+abc@acme.test".into()),
                secret: None,
            },
        );
        outbox.send(&email).await.unwrap();
        let raw = std::fs::read(outbox.path_of(7)).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.message_id(), Some("parley.m1.c2@acme.test"));
        assert_eq!(parsed.in_reply_to().as_text(), Some("parley.c3@acme.test"));
        assert_eq!(parsed.header_raw("Auto-Submitted").map(str::trim), Some("auto-generated"));
        assert_eq!(parsed.reply_to().and_then(|a| a.first()).and_then(|a| a.address()), Some("reply+abc@acme.test"));
        assert_eq!(parsed.body_text(0).as_deref(), Some("Hello Cora"));
        assert!(parsed.body_html(0).unwrap().contains("<p>Hello Cora</p>"));
    }
}
