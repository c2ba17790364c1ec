//! Emailed one-time login links for the customer portal: a customer asks with their email, gets a
//! link valid for 15 minutes that logs them in once.

use crate::account_email::{html_escape, AccountEmail};
use crate::auth::{new_token, token_hash};
use crate::{App, AppError, AppResult, LoginResult};
use parley_domain::*;
use parley_store::StoreError;

const LINK_PREFIX: &str = "pl_";
const LINK_TTL_MS: i64 = 15 * 60_000;
/// At most this many links per customer in [`THROTTLE_WINDOW_MS`]: asking again is harmless but
/// does not flood their inbox.
const MAX_LINKS: i64 = 3;
const THROTTLE_WINDOW_MS: i64 = 10 * 60_000;

impl App {
    /// Emails a login link if `email` belongs to a customer. The answer is the same either way, so
    /// it does not tell who is a customer.
    /// `conversation` is where the link leads after login (the portal's page of it); nothing is
    /// checked about it here: the portal shows it only if it is the customer's.
    pub async fn request_login_link(&self, email: &str, conversation: Option<ConversationId>) -> AppResult<()> {
        let email = EmailAddress::parse("email", email)?;
        let (customer, to_address) = match self.store.customer_credentials(&email).await {
            Ok((customer, _)) => (customer, email.to_string()),
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        if self.store.login_links_since(customer.id, now - THROTTLE_WINDOW_MS).await? >= MAX_LINKS {
            tracing::info!(customer = customer.id.0, "login link not sent: too many asked for recently");
            return Ok(());
        }
        let token = new_token(LINK_PREFIX);
        self.store.insert_login_link(&token_hash(&token), customer.id, now, now + LINK_TTL_MS).await?;
        let mut link = format!("{}/portal/login?token={token}", self.config.base_url.trim_end_matches('/'));
        if let Some(conversation) = conversation.filter(|c| c.0 > 0) {
            link.push_str(&format!("&conversation={conversation}"));
        }
        // R44: the link is filled in when the email is sent; what is stored holds its slot.
        let slot = parley_domain::sealed::SECRET_SLOT;
        let email = AccountEmail {
            kind: "login",
            subject: "Your login link".into(),
            body_text: format!(
                "Hello {},\n\nOpen this link within 15 minutes to log in to the support portal:\n\n{slot}\n\n\
                 If you did not ask for it, ignore this email.\n",
                customer.name
            ),
            body_html: format!(
                "<p>Hello {},</p><p><a href=\"{slot}\">Log in to the support portal</a> (valid for 15 minutes).</p>\
                 <p>If you did not ask for it, ignore this email.</p>",
                html_escape(&customer.name)
            ),
            secret: Some(link),
        };
        self.queue_account_email(Party::Customer(customer.id), &customer.name, &to_address, email).await?;
        Ok(())
    }

    /// Logs a customer in with a login link, once.
    pub async fn redeem_login_link(&self, token: &str) -> AppResult<LoginResult> {
        if !token.starts_with(LINK_PREFIX) {
            return Err(AppError::BadCredentials);
        }
        let customer = self.store.redeem_login_link(&token_hash(token), self.now()).await.map_err(|e| match e {
            StoreError::NotFound => AppError::BadCredentials,
            e => e.into(),
        })?;
        self.start_session(crate::Actor::Customer { id: customer }).await
    }
}
