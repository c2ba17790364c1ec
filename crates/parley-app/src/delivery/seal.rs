//! R44: what is filled in as an email leaves. A stored email holds slots where its secrets go
//! (`parley_domain::sealed`); the reply token is signed here, from the email's own conversation,
//! recipient and day, and an account email's one secret comes from the column the store forgets
//! once the email is settled. Nothing read from the log or the database carries either.

use crate::{App, AppResult};
use parley_domain::reply_token::{self, ReplyTarget};
use parley_domain::sealed;
use parley_store::{OutgoingEmail, StoreError};
use rand::RngCore;

/// The name of the reply-token key in the store.
const REPLY_SECRET: &str = "reply_token_key";

impl App {
    /// The key that signs reply tokens, created on first use and kept in the store.
    pub(crate) async fn reply_secret(&self) -> AppResult<&[u8]> {
        let secret = self
            .reply_secret
            .get_or_try_init(|| async {
                let mut fresh = [0_u8; 32];
                rand::thread_rng().fill_bytes(&mut fresh);
                let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
                let stored = self.store.secret(REPLY_SECRET, &hex).await?;
                Ok::<_, StoreError>(stored.into_bytes())
            })
            .await?;
        Ok(secret)
    }

    /// `email` as it goes out: its reply token and its secret filled in.
    pub(crate) async fn unseal(&self, mut email: OutgoingEmail) -> AppResult<OutgoingEmail> {
        let e = &mut email.email;
        if let Some(stored) = e.reply_to.as_deref().filter(|r| r.contains(sealed::TOKEN_SLOT)) {
            e.reply_to = match (e.conversation_id, e.party) {
                (Some(conversation_id), Some(party)) => {
                    // Signed on the day the email was queued: a retry carries the same address.
                    let target = ReplyTarget { conversation_id, party };
                    let token = reply_token::sign(self.reply_secret().await?, target, e.created_at);
                    Some(sealed::fill_reply_address(stored, &token))
                }
                // A reply address names a conversation and a recipient; without them, none.
                _ => None,
            };
        }
        if let Some(secret) = e.secret.take() {
            e.subject = sealed::fill(&e.subject, &secret);
            e.body_text = sealed::fill(&e.body_text, &secret);
            e.body_html = sealed::fill_html(&e.body_html, &secret);
        }
        Ok(email)
    }
}
