//! Email in (R16–R19, R32): the one function the SMTP listener and the relay endpoint hand raw
//! mail to. Every mail is logged before it is handled; then it is ignored as automatic, refused
//! with a reason, or posted through the one message path — into the conversation its reply token
//! or threading headers name, as the recipient that email went to, or as a new request from a
//! customer to the support address.

mod parse;
mod tokens;

pub use parse::{parse, InboundError, InboundMail, MailAttachment};
pub use tokens::RELAY_TOKEN_PREFIX;

use crate::{Actor, App, AppError, AppResult, Attempt, NewConversationRequest};
use parley_domain::inbound::{self, IncomingStatus};
use parley_domain::reply_token::{self, ReplyTarget};
use parley_domain::values::MAX_NAME_CHARS;
use parley_domain::*;
use parley_store::{IncomingEmail, IncomingOutcome, NewIncomingEmail, StoreError};
use std::net::IpAddr;

/// How a mail reached Parley.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The built-in SMTP listener.
    Smtp,
    /// `POST /api/v1/inbound/email`, from a relay.
    Http,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Smtp => "smtp",
            Via::Http => "http",
        }
    }
}

/// How long the incoming log keeps a mail (R32).
pub const INCOMING_LOG_MS: i64 = 72 * 3600 * 1000;

fn refused(reason: impl Into<String>) -> IncomingOutcome {
    IncomingOutcome { status: Some(IncomingStatus::Refused), reason: Some(reason.into()), ..IncomingOutcome::default() }
}

impl App {
    /// The address new requests are sent to (R18).
    pub fn support_address(&self) -> &str {
        &self.config.support_address
    }

    /// Whether Parley takes mail for `address`: the support address, or a reply address of its
    /// mail domain. The SMTP listener answers 550 for any other.
    pub fn takes_mail_for(&self, address: &str) -> bool {
        same_address(address, &self.config.support_address)
            || inbound::reply_token_of(address, &self.config.mail_domain).is_some()
    }

    /// Receives one raw mail: logs it, handles it, and answers its log entry. `envelope_to` are the
    /// SMTP envelope's recipients (empty for a relay, which posts the message alone); `client` is
    /// the sending host, for the per-client limit. An error means nothing was decided (the store
    /// failed): the sender should try again later.
    pub async fn receive_email(
        &self,
        raw: Vec<u8>,
        via: Via,
        envelope_to: &[String],
        client: Option<IpAddr>,
    ) -> AppResult<IncomingEmail> {
        let parsed = parse(&raw);
        let (from, mut to, subject, message_id) = match &parsed {
            Ok(m) => (m.from.clone(), m.to.clone(), m.subject.clone(), m.message_id.clone()),
            Err(_) => (String::new(), Vec::new(), String::new(), None),
        };
        for address in envelope_to {
            if !to.iter().any(|t| same_address(t, address)) {
                to.push(address.clone());
            }
        }
        let logged = NewIncomingEmail {
            received_at: self.now(),
            via: via.as_str().to_string(),
            from_address: from,
            to_addresses: to.join(", "),
            subject,
            message_id,
            raw,
        };
        let id = self.store.insert_incoming_email(logged).await?;
        let outcome = match parsed {
            Err(e) => refused(format!("unreadable: {e}")),
            Ok(mail) => self.handle_email(&mail, &to, client).await?,
        };
        tracing::info!(
            incoming = %id,
            status = %outcome.status.unwrap_or(IncomingStatus::Received),
            reason = outcome.reason.as_deref().unwrap_or(""),
            "email received"
        );
        Ok(self.store.finish_incoming_email(id, outcome).await?)
    }

    async fn handle_email(
        &self,
        mail: &InboundMail,
        recipients: &[String],
        client: Option<IpAddr>,
    ) -> AppResult<IncomingOutcome> {
        let domain = &self.config.mail_domain;
        // R19: automatic mail is logged and never answered, whatever it is addressed to.
        if let Some(reason) = inbound::automatic(&mail.automatic_signs(), domain) {
            return Ok(IncomingOutcome {
                status: Some(IncomingStatus::Automatic),
                reason: Some(reason.as_str().to_string()),
                ..IncomingOutcome::default()
            });
        }
        // An SMTP retry of a mail that was handled posts nothing more.
        if let Some(id) = &mail.message_id {
            if let Some(earlier) = self.store.handled_incoming_email(id).await? {
                return Ok(IncomingOutcome {
                    status: Some(IncomingStatus::Duplicate),
                    reason: Some(format!("same Message-ID as incoming email {}", earlier.id)),
                    conversation_id: earlier.conversation_id,
                    posted_message_id: earlier.posted_message_id,
                    party: earlier.party,
                });
            }
        }
        if let Err(AppError::TooManyRequests { retry_after_secs }) =
            self.limits.check(Attempt::InboundMail, client, Some(&mail.from))
        {
            return Ok(refused(format!("rate_limited: too many mails from this sender; next in {retry_after_secs} s")));
        }
        let Ok(sender) = EmailAddress::parse("from", &mail.from) else {
            return Ok(refused("bad_sender: the From address does not parse"));
        };
        let mut with_token = recipients.iter().filter_map(|a| inbound::reply_token_of(a, domain));
        if let Some(token) = with_token.next() {
            let secret = self.reply_secret().await?;
            return match reply_token::verify(secret, token) {
                Some(target) => self.post_reply(target, &sender, mail).await,
                None => Ok(refused("bad_token: the reply address was altered or is not this installation's")),
            };
        }
        // A reply without the plus-address: its threading headers may name an email Parley sent,
        // whose Message-ID carries the same signed token.
        let named = mail.in_reply_to.iter().chain(mail.references.iter().rev());
        if let Some(token) = named.filter_map(|id| inbound::own_message_id(id, domain)).next() {
            let secret = self.reply_secret().await?;
            return match reply_token::verify(secret, token) {
                Some(target) => self.post_reply(target, &sender, mail).await,
                None => Ok(refused("unknown_thread: the email it answers is not one this installation sent")),
            };
        }
        if recipients.iter().any(|r| same_address(r, &self.config.support_address)) {
            return self.new_request(&sender, mail).await;
        }
        Ok(refused("no_conversation: not a reply, and not sent to the support address"))
    }

    /// R16, R17: a reply posts into the conversation its email was about, as the recipient of that
    /// email, and only when the sender is that recipient.
    async fn post_reply(
        &self,
        target: ReplyTarget,
        sender: &EmailAddress,
        mail: &InboundMail,
    ) -> AppResult<IncomingOutcome> {
        let mismatch =
            || Ok(refused("sender_mismatch: the sender is not the recipient this reply address was made for"));
        // The recipient's address (and, for a user, their role) in one read.
        let (address, actor) = match target.party {
            Party::User(id) => match self.store.user(id).await {
                Ok(user) => (Some(user.email), Actor::User { id, role: user.role, via_api_token: false }),
                Err(StoreError::NotFound) => return mismatch(),
                Err(e) => return Err(e.into()),
            },
            Party::Customer(id) => match self.contact(target.party).await {
                Ok(contact) => (contact.map(|c| c.address), Actor::Customer { id }),
                Err(AppError::NotFound(_)) => return mismatch(),
                Err(e) => return Err(e),
            },
        };
        if !address.is_some_and(|a| EmailAddress::parse("to", &a).is_ok_and(|a| &a == sender)) {
            return mismatch();
        }
        let body = inbound::fit_body(&inbound::reply_text(&mail.text));
        self.post_from_email(actor, target.conversation_id, &body, &mail.attachments, IncomingStatus::Posted).await
    }

    /// R18: a new request: the sender, matched or added as a customer, starts a public
    /// conversation with the mail's subject — on a new ticket they asked for, in the project the
    /// company setting names, or else on its own.
    async fn new_request(&self, sender: &EmailAddress, mail: &InboundMail) -> AppResult<IncomingOutcome> {
        if self.store.user_credentials(sender).await.is_ok() {
            return Ok(refused("staff_sender: a user's mail to the support address is not a customer request"));
        }
        let subject = match inbound::fit_line(&mail.subject, MAX_NAME_CHARS) {
            s if s.is_empty() => "(no subject)".to_string(),
            s => s,
        };
        // Checked before anything is made, so a refused mail leaves no customer or empty
        // conversation behind.
        let text = inbound::fit_body(&inbound::reply_text(&mail.text));
        if text.trim().is_empty() {
            return Ok(refused("empty: the mail has no text"));
        }
        let customer = match self.store.customer_credentials(sender).await {
            Ok((customer, _)) => customer,
            Err(StoreError::NotFound) => self.add_customer_from_email(sender, mail.from_name.as_deref()).await?,
            Err(e) => return Err(e.into()),
        };
        let actor = Actor::Customer { id: customer.id };
        let settings = self.store.company().await?.map(|c| c.settings).unwrap_or_default();
        let ticket = match settings.email_ticket_project_id {
            Some(project_id) => {
                let ticket = parley_store::NewItem {
                    project_id,
                    kind: ItemKind::Ticket,
                    title: subject.clone(),
                    created_by: Party::Customer(customer.id),
                    requesters: vec![customer.id],
                    assignees: vec![],
                    created_at: self.now(),
                };
                Some(self.store.insert_item(ticket).await?.id)
            }
            None => None,
        };
        let start = NewConversationRequest {
            subject,
            link: ticket.map(Link::Item),
            visibility: None,
            start_as: None,
            participants: vec![],
            body: None,
        };
        let conversation = match self.create_conversation(actor, start).await {
            Ok(c) => c,
            Err(AppError::Invalid(e)) => return Ok(refused(format!("invalid: {e}"))),
            Err(e) => return Err(e),
        };
        let mut outcome = self
            .post_from_email(actor, conversation.header.id, &text, &mail.attachments, IncomingStatus::Started)
            .await?;
        if let Some(ticket) = ticket {
            // R29, §10: a ticket opened by email is an item created like any other.
            if let Ok(item) = self.store.item(ticket).await {
                self.announce(crate::webhooks::Announcement::item_created(&item)).await;
            }
            self.automate(parley_domain::automation::Trigger::ItemCreated, crate::automations::Place::Item(ticket))
                .await;
        }
        if let (Some(ticket), Some(IncomingStatus::Started)) = (ticket, outcome.status) {
            let opened = format!("opened ticket #{ticket}");
            outcome.reason = Some(match outcome.reason.take() {
                Some(dropped) => format!("{opened}; {dropped}"),
                None => opened,
            });
        }
        Ok(outcome)
    }

    /// A customer for an address that wrote in: named as the mail names them (or by the address),
    /// joining the organization of their domain.
    async fn add_customer_from_email(&self, address: &EmailAddress, name: Option<&str>) -> AppResult<Customer> {
        let name = name
            .map(|n| inbound::fit_line(n, MAX_NAME_CHARS))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| address.to_string());
        let organization_id = self.store.organization_by_domain(address.domain()).await?.map(|o| o.id);
        let new = parley_store::NewCustomer {
            email: Some(address.clone()),
            name,
            organization_id,
            password_hash: None,
            created_at: self.now(),
        };
        match self.store.insert_customer(new).await {
            Ok(c) => Ok(c),
            // Another mail from the same address added them a moment ago.
            Err(StoreError::Conflict(_)) => Ok(self.store.customer_credentials(address).await?.0),
            Err(e) => Err(e.into()),
        }
    }

    /// Posts `body` (already fitted with `inbound::fit_body`) and the mail's files as `actor`,
    /// and says what happened; a file that cannot be attached (its type, its size) is named in the
    /// log's reason (the raw mail keeps it for 72 hours).
    async fn post_from_email(
        &self,
        actor: Actor,
        conversation: ConversationId,
        body: &str,
        files: &[MailAttachment],
        status: IncomingStatus,
    ) -> AppResult<IncomingOutcome> {
        let not_in_audience = || IncomingOutcome {
            conversation_id: Some(conversation),
            party: Some(actor.party()),
            ..refused("not_in_audience: the sender may not write in this conversation")
        };
        // Files are kept only where the sender may write.
        let (kept, dropped) = match self.visible_conversation(actor, conversation).await {
            Ok(_) => self.keep_mail_files(actor, conversation, files).await?,
            Err(AppError::NotFound(_)) => return Ok(not_in_audience()),
            Err(e) => return Err(e),
        };
        if body.trim().is_empty() && kept.is_empty() {
            return Ok(refused("empty: the mail has no new text"));
        }
        let dropped = (!dropped.is_empty()).then(|| format!("attachments dropped: {}", dropped.join(", ")));
        match self.post_on(actor, conversation, body, &kept, Channel::Email).await {
            Ok((message, _)) => Ok(IncomingOutcome {
                status: Some(status),
                reason: dropped,
                conversation_id: Some(conversation),
                posted_message_id: Some(message.id),
                party: Some(actor.party()),
            }),
            Err(AppError::NotFound(_)) => Ok(not_in_audience()),
            Err(AppError::Conflict { code, message }) => Ok(IncomingOutcome {
                conversation_id: Some(conversation),
                party: Some(actor.party()),
                ..refused(format!("{code}: {message}"))
            }),
            Err(AppError::Invalid(e)) => Ok(refused(format!("invalid: {e}"))),
            Err(e) => Err(e),
        }
    }

    /// R32: the incoming log of the last 72 hours, newest first (admins).
    pub async fn incoming_emails(&self, actor: Actor, limit: i64) -> AppResult<Vec<IncomingEmail>> {
        Self::require_admin(actor)?;
        if !(1..=500).contains(&limit) {
            return Err(ValidationError::new("limit", "must be between 1 and 500").into());
        }
        Ok(self.store.incoming_emails(self.now() - INCOMING_LOG_MS, limit).await?)
    }

    /// R17: the original mail a message was posted from, for users who may see the message, while
    /// the incoming log keeps it (72 hours).
    pub async fn message_original(&self, actor: Actor, id: MessageId) -> AppResult<Vec<u8>> {
        Self::require_user(actor, "message")?;
        let message = self.store.message(id).await.map_err(AppError::from_store("message"))?;
        self.visible_conversation(actor, message.conversation_id).await.map_err(|_| AppError::NotFound("message"))?;
        let mail = self.store.incoming_email_of_message(id).await?;
        let mail = mail.filter(|m| m.received_at >= self.now() - INCOMING_LOG_MS);
        let mail = mail.ok_or(AppError::NotFound("original email"))?;
        self.store.incoming_email_raw(mail.id).await.map_err(AppError::from_store("original email"))
    }

    /// One mail of the log (admins).
    pub async fn incoming_email(&self, actor: Actor, id: IncomingEmailId) -> AppResult<IncomingEmail> {
        Self::require_admin(actor)?;
        let found = self.store.incoming_email(id).await.map_err(AppError::from_store("incoming email"))?;
        if found.received_at < self.now() - INCOMING_LOG_MS {
            return Err(AppError::NotFound("incoming email"));
        }
        Ok(found)
    }

    /// One mail of the log as it arrived (admins).
    pub async fn incoming_email_raw(&self, actor: Actor, id: IncomingEmailId) -> AppResult<Vec<u8>> {
        self.incoming_email(actor, id).await?;
        self.store.incoming_email_raw(id).await.map_err(AppError::from_store("incoming email"))
    }
}

/// Whether two addresses are the same in their normalized form.
fn same_address(a: &str, b: &str) -> bool {
    match (EmailAddress::parse("a", a), EmailAddress::parse("b", b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
