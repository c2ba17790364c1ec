//! The seam to the mail transport (SMTP, or the outbox folder), implemented in `parley-mail`.

use async_trait::async_trait;
use parley_store::OutgoingEmail;

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Hands one email to the transport. The error is kept in the outgoing log.
    async fn send(&self, email: &OutgoingEmail) -> Result<(), String>;
    /// Where mail goes, for the start-up banner and logs (never with a password).
    fn describe(&self) -> String;
    /// How many sends may run at once; the email worker keeps that many under way.
    fn parallel(&self) -> usize {
        1
    }
}
