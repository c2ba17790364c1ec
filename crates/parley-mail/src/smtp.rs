//! Sending over SMTP (`--smtp-url`, read by [`Target`](crate::smtp_target::Target)) through
//! Parley's own pool of open conversations ([`SmtpPool`]).

use crate::message::build;
use crate::smtp_pool::{SmtpPool, CONNECTIONS};
use crate::smtp_target::Target;
use async_trait::async_trait;
use lettre::message::Mailbox;
use parley_app::Mailer;
use parley_store::OutgoingEmail;

pub struct SmtpMailer {
    pool: SmtpPool,
    from: Mailbox,
    describe: String,
}

impl SmtpMailer {
    pub fn new(url: &str, from: Mailbox) -> Result<SmtpMailer, String> {
        let target = Target::parse(url)?;
        // The URL may hold a password: describe it by scheme, host and port only.
        let scheme = url.split("://").next().unwrap_or("smtp");
        let describe = format!("{scheme}://{}:{}", target.host, target.port);
        Ok(SmtpMailer { pool: SmtpPool::new(target)?, from, describe })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), String> {
        let message = build(&email.email, &self.from)?;
        self.pool.send(message.envelope(), &message.formatted()).await
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn parallel(&self) -> usize {
        CONNECTIONS
    }
}
