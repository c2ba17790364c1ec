//! Single-use links to choose a password: asked for when it is forgotten (R31's password reset),
//! sent with a new user's welcome, sent to an invited customer. A link is stored hashed, works
//! once and for a short time, and using it ends every session and API token of its owner (R38).

use crate::auth::{hash_password, new_token, token_hash};
use crate::delivery::system_templates::{named, SystemContext};
use crate::system_emails::SystemRecipient;
use crate::{Actor, App, AppError, AppResult};
use parley_domain::system_email::{PasswordLink, SystemEmail};
use parley_domain::values::check_password_strength;
use parley_domain::*;
use parley_store::{NewPasswordLink, StoreError};

const LINK_PREFIX: &str = "pw_";
/// At most this many links per person in [`THROTTLE_WINDOW_MS`]: asking again is harmless but
/// does not flood their inbox.
const MAX_LINKS: i64 = 3;
/// How long every answer to a reset request takes at least: longer than sending a link does.
const RESET_ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(250);
const THROTTLE_WINDOW_MS: i64 = 10 * 60_000;

/// `1 hour`, `7 days`.
fn in_words(ms: i64) -> String {
    let hours = ms / 3_600_000;
    match hours {
        h if h >= 48 => format!("{} days", h / 24),
        1 => "1 hour".into(),
        h => format!("{h} hours"),
    }
}

impl App {
    /// R31: emails a reset link to the user and to the customer whose address `email` is, if
    /// any. The answer is the same whoever it is, so it tells no one who has an account.
    pub async fn request_password_reset(&self, email: &str) -> AppResult<()> {
        let email = EmailAddress::parse("email", email)?;
        // The answer takes the same time whether or not the address is anyone's: sending a link
        // takes longer than finding nobody, so every answer waits out the same floor.
        let floor = tokio::time::Instant::now() + RESET_ANSWER_FLOOR;
        let asked = self.reset_links_for(&email).await;
        tokio::time::sleep_until(floor).await;
        asked
    }

    async fn reset_links_for(&self, email: &EmailAddress) -> AppResult<()> {
        let email = email.clone();
        match self.store.user_credentials(&email).await {
            Ok((user, _)) if user.active => {
                let to = SystemRecipient { party: Party::User(user.id), name: user.name, address: user.email };
                self.send_password_link(&to, PasswordLink::Reset, None).await?;
            }
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        match self.store.customer_credentials(&email).await {
            Ok((customer, _)) => {
                let to = SystemRecipient {
                    party: Party::Customer(customer.id),
                    name: customer.name,
                    address: email.to_string(),
                };
                self.send_password_link(&to, PasswordLink::Reset, None).await?;
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Makes a link of `purpose` for `to` and emails it, unless they were sent enough lately or
    /// the email that carries it is turned off. Says whether it was sent.
    pub(crate) async fn send_password_link(
        &self,
        to: &SystemRecipient,
        purpose: PasswordLink,
        by: Option<&str>,
    ) -> AppResult<bool> {
        let now = self.now();
        if self.store.password_links_since(to.party, now - THROTTLE_WINDOW_MS).await? >= MAX_LINKS {
            tracing::info!(party = %to.party.raw_id(), "password link not sent: too many asked for recently");
            return Ok(false);
        }
        if !self.system_email_on(purpose.email()).await? {
            return Ok(false);
        }
        let token = new_token(LINK_PREFIX);
        self.store
            .insert_password_link(NewPasswordLink {
                token_hash: token_hash(&token),
                party: to.party,
                purpose,
                created_at: now,
                expires_at: now + purpose.lifetime_ms(),
            })
            .await?;
        let page = match to.party {
            Party::User(_) => "/set-password",
            Party::Customer(_) => "/portal/set-password",
        };
        let context = SystemContext {
            secret_link: Some(self.app_url(&format!("{page}?token={token}"))),
            expires_in: Some(in_words(purpose.lifetime_ms())),
            actor: by.map(named),
            ..SystemContext::default()
        };
        self.send_system_email(purpose.email(), to, context).await
    }

    /// Sets a password with an emailed link, once. Every session and API token of its owner ends,
    /// with their realtime connections (R38). 422 `invalid_link` for a link that is unknown, used
    /// or expired; 400 for a weak password, before the link is spent.
    pub async fn set_password_with_link(&self, token: &str, password: &str) -> AppResult<()> {
        let invalid = || {
            AppError::unprocessable("invalid_link", "token: the link is unknown, used or expired; ask for a new one")
        };
        if !token.starts_with(LINK_PREFIX) {
            return Err(invalid());
        }
        // The strength check needs the owner's address: look the link up without spending it.
        let hash = token_hash(token);
        let party = self.store.password_link_owner(&hash, self.now()).await.map_err(|e| match e {
            StoreError::NotFound => invalid(),
            e => e.into(),
        })?;
        let address = match party {
            Party::User(id) => self.store.user(id).await?.email,
            Party::Customer(id) => self.store.customer(id).await?.email.unwrap_or_default(),
        };
        check_password_strength("password", password, &address)?;
        let password_hash = hash_password(password).await?;
        let party = self.store.set_password_by_link(&hash, &password_hash, self.now()).await.map_err(|e| match e {
            StoreError::NotFound => invalid(),
            e => e.into(),
        })?;
        self.end_sessions_of(party, None);
        Ok(())
    }

    /// R31: invites a customer to the portal: an email with a link to choose their password.
    /// 409 `email_turned_off` when an admin turned that email off, 422 `no_address` for a customer
    /// without a proven address.
    pub async fn invite_customer(&self, actor: Actor, id: CustomerId) -> AppResult<()> {
        let user = Self::require_user(actor, "customer")?;
        // R37: only a customer within the inviter's reach; others do not exist for them.
        let customer = self.customer(actor, id).await?;
        let address = customer
            .email
            .clone()
            .ok_or_else(|| AppError::unprocessable("no_address", "the customer has no proven email address"))?;
        if !self.system_email_on(SystemEmail::CustomerInvite).await? {
            return Err(AppError::conflict("email_turned_off", "an admin turned the customer invitation email off"));
        }
        let by = self.store.user(user).await?.name;
        let to = SystemRecipient { party: Party::Customer(id), name: customer.name, address };
        if !self.send_password_link(&to, PasswordLink::Invite, Some(&by)).await? {
            return Err(AppError::conflict("too_many_links", "the customer was sent enough links lately; try later"));
        }
        Ok(())
    }
}
