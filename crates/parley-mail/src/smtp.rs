//! Sending over SMTP: `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS),
//! `smtps://user:pass@host` (TLS), as lettre reads them.

use crate::message::build;
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use parley_app::Mailer;
use parley_store::OutgoingEmail;
use std::time::Duration;

/// SMTP connections kept open and used at once. Each email waits on the network (and, with
/// lettre, on the server's delayed acknowledgement of the message before its final dot: about
/// 40 ms on Linux), so throughput comes from several conversations at a time.
pub const CONNECTIONS: u32 = 32;

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    describe: String,
}

impl SmtpMailer {
    pub fn new(url: &str, from: Mailbox) -> Result<SmtpMailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP URL: {e}"))?
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(CONNECTIONS))
            .build();
        // The URL may hold a password: describe it by scheme and host only.
        let host = url.split('@').next_back().unwrap_or(url).split(['/', '?']).next().unwrap_or_default();
        let scheme = url.split("://").next().unwrap_or("smtp");
        Ok(SmtpMailer { transport, from, describe: format!("{scheme}://{host}") })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), String> {
        let message = build(&email.email, &self.from)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn parallel(&self) -> usize {
        CONNECTIONS as usize
    }
}
