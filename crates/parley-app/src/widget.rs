//! The live-chat widget's visitors: anonymous customers, who may give an address so that replies
//! they miss reach them by email (R14, R15), and prove it to become that customer (R36).
//!
//! An address a visitor types is only a claim. Until its owner proves it with the code emailed to
//! it, it receives the replies the visitor did not see (that is what they asked for) and nothing
//! else: it matches no customer, joins no organization, opens no portal. Once proven, the chat
//! moves to the customer who owns the address (or the visitor becomes that customer).

use crate::account_email::AccountEmail;
use crate::auth::token_hash;
use crate::{Actor, App, AppError, AppResult, LoginResult};
use parley_domain::values::parse_name;
use parley_domain::*;
use parley_store::{NewCustomer, NewVerification, StoreError};
use rand::Rng;

/// How long an emailed code proves an address.
const CODE_TTL_MS: i64 = 15 * 60_000;
/// Tries per code: with six digits, guessing stays a one in 200,000 chance.
const MAX_CODE_ATTEMPTS: i64 = 5;
/// Codes per visitor in [`CODE_WINDOW_MS`], so nobody's inbox is flooded through the widget.
const MAX_CODES: i64 = 3;
const CODE_WINDOW_MS: i64 = 10 * 60_000;

/// What the visitor holds after proving their address: the customer now holding the chat and,
/// when that is another customer than the visitor was, a session of theirs.
#[derive(Debug, Clone)]
pub struct Verified {
    pub customer: Customer,
    pub session: Option<LoginResult>,
}

fn code_hash(customer: CustomerId, code: &str) -> String {
    token_hash(&format!("{}:{code}", customer.0))
}

impl App {
    /// A new anonymous visitor, logged in.
    pub async fn start_visitor(&self, name: Option<&str>) -> AppResult<LoginResult> {
        let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => parse_name("name", n)?,
            None => "Visitor".to_string(),
        };
        let visitor =
            NewCustomer { email: None, name, organization_id: None, password_hash: None, created_at: self.now() };
        let customer = self.store.insert_customer(visitor).await?;
        self.start_session(Actor::Customer { id: customer.id }).await
    }

    /// R36: a visitor gives their address (and name). It is kept unverified and a code to prove it
    /// is emailed to it. The answer is the same whether or not the address belongs to a customer,
    /// so the widget cannot be used to find out who is one. Until proven, the address may be
    /// corrected (a new code goes out); once proven it cannot change here.
    pub async fn set_visitor_contact(&self, actor: Actor, email: &str, name: Option<&str>) -> AppResult<Customer> {
        let Actor::Customer { id } = actor else {
            return Err(AppError::Forbidden("only a live-chat visitor gives a contact address"));
        };
        let email = EmailAddress::parse("email", email)?;
        let name = name.map(|n| parse_name("name", n)).transpose()?;
        let now = self.now();
        let current = self.store.customer(id).await.map_err(AppError::from_store("customer"))?;
        if current.email.is_some() {
            return Err(AppError::conflict("contact_already_given", "this visitor has given an address already"));
        }
        if self.store.verifications_since(id, now - CODE_WINDOW_MS).await? >= MAX_CODES {
            return Err(AppError::TooManyRequests { retry_after_secs: (CODE_WINDOW_MS / 1000) as u64 });
        }
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let verification =
            NewVerification { code_hash: code_hash(id, &code), created_at: now, expires_at: now + CODE_TTL_MS };
        let customer = self.store.set_unverified_contact(id, &email, name.as_deref(), verification).await.map_err(
            |e| match e {
                StoreError::Conflict(_) => {
                    AppError::conflict("contact_already_given", "this visitor has given an address already")
                }
                e => AppError::from_store("customer")(e),
            },
        )?;
        self.queue_code_email(&customer, &email, &code).await?;
        Ok(customer)
    }

    /// R36: the visitor proves their address with the emailed code. Wrong, used or expired codes
    /// answer `invalid_code`; each code allows a few tries.
    pub async fn verify_visitor_email(&self, actor: Actor, code: &str) -> AppResult<Verified> {
        let Actor::Customer { id } = actor else {
            return Err(AppError::Forbidden("only a live-chat visitor proves an address"));
        };
        let code = code.trim();
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValidationError::new("code", "is the 6-digit code from the email").into());
        }
        let hash = code_hash(id, code);
        let email =
            self.store.use_verification_code(id, &hash, self.now(), MAX_CODE_ATTEMPTS).await.map_err(|e| match e {
                StoreError::NotFound => AppError::unprocessable(
                    "invalid_code",
                    "this code is wrong, used or expired: ask for a new one by giving your address again",
                ),
                e => e.into(),
            })?;
        let organization = self.store.organization_by_domain(email.domain()).await?.map(|o| o.id);
        let customer = self.store.verify_customer_email(id, &email, organization).await?;
        let session = if customer.id == id {
            None
        } else {
            // The chat moved: the visitor's sessions have ended; their open sockets end too.
            self.end_sessions_of(Party::Customer(id), None);
            Some(self.start_session(Actor::Customer { id: customer.id }).await?)
        };
        tracing::info!(visitor = id.0, customer = customer.id.0, "visitor proved their address");
        Ok(Verified { customer, session })
    }

    async fn queue_code_email(&self, customer: &Customer, email: &EmailAddress, code: &str) -> AppResult<()> {
        let minutes = CODE_TTL_MS / 60_000;
        // R44: the code is filled in when the email is sent; what is stored holds its slot.
        let slot = parley_domain::sealed::SECRET_SLOT;
        let message = AccountEmail {
            kind: "verify",
            subject: format!("Your code: {slot}"),
            body_text: format!(
                "Hello,\n\nTo confirm this address in the chat, enter this code there within {minutes} minutes:\n\n\
                 Your code: {slot}\n\nIf you did not ask for it, ignore this email: nothing happens without the code.\n"
            ),
            body_html: format!(
                "<p>Hello,</p><p>To confirm this address in the chat, enter this code there within {minutes} \
                 minutes:</p><p style=\"font-size:1.5em;letter-spacing:0.2em\">Your code: <strong>{slot}</strong></p>\
                 <p>If you did not ask for it, ignore this email: nothing happens without the code.</p>"
            ),
            secret: Some(code.to_string()),
        };
        self.queue_account_email(Party::Customer(customer.id), &customer.name, email.as_str(), message).await
    }
}
