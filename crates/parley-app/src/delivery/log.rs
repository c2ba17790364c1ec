//! R32: the outgoing email log, for admins.

use crate::{Actor, App, AppError, AppResult};
use parley_domain::redact::{hide_reply_tokens_in, redact};
use parley_domain::OutgoingEmailId;
use parley_store::{OutgoingEmail, OutgoingLogEntry};

impl App {
    /// Emails queued, sent or failed, and messages not emailed (with why), in the last 72 hours,
    /// newest first.
    pub async fn outgoing_log(&self, actor: Actor, limit: i64) -> AppResult<Vec<OutgoingLogEntry>> {
        Self::require_admin(actor)?;
        if !(1..=1000).contains(&limit) {
            return Err(parley_domain::ValidationError::new("limit", "must be between 1 and 1000").into());
        }
        let mut log = self.store.outgoing_log(self.now() - 72 * 3_600_000, limit).await?;
        for entry in &mut log {
            entry.subject = entry.subject.as_deref().map(redact);
        }
        Ok(log)
    }

    /// One outgoing email with its bodies and headers.
    pub async fn outgoing_email(&self, actor: Actor, id: OutgoingEmailId) -> AppResult<OutgoingEmail> {
        Self::require_admin(actor)?;
        let mut email = self.store.outgoing_email(id).await.map_err(AppError::from_store("email"))?;
        // Login links and codes are their recipient's alone (the mail itself carries them).
        let e = &mut email.email;
        (e.subject, e.body_text, e.body_html) = (redact(&e.subject), redact(&e.body_text), redact(&e.body_html));
        // R44: a reply token lets a mail post as its recipient; it is theirs alone too.
        e.message_id_header = hide_reply_tokens_in(&e.message_id_header);
        for header in [&mut e.reply_to, &mut e.in_reply_to, &mut e.references].into_iter().flatten() {
            *header = hide_reply_tokens_in(header);
        }
        Ok(email)
    }
}
