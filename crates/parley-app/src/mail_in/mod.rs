//! Email in (R16–R19, R32): the one function the SMTP listener and the relay endpoint hand raw
//! mail to. Every mail is logged before it is handled; then it is ignored as automatic, refused
//! with a reason, or posted through the one message path — into the conversation its reply token
//! or threading headers name, as the recipient that email went to, or as a new request from a
//! customer to the support address.

mod budget;
mod parse;
mod tokens;

pub(crate) use budget::LogBudget;

pub use parse::{parse, InboundError, InboundMail, MailAttachment};
pub use tokens::RELAY_TOKEN_PREFIX;

use crate::{Actor, App, AppError, AppResult, Attempt, NewConversationRequest};
use parley_domain::delivery::EmailState;
use parley_domain::inbound::OwnMessageId;
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

/// R45: the raw mail the incoming log keeps at most, out of the box: 1 GiB.
pub const DEFAULT_INCOMING_LOG_BYTES: u64 = 1 << 30;

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

    /// R19, R45: may `client` begin a mail from the envelope sender `from` (`None`: the null
    /// reverse-path of bounces and auto-replies) now? Asked by the SMTP listener at MAIL time,
    /// before anything is read or kept; `Err` holds the seconds to wait.
    pub fn may_send_mail(&self, client: Option<IpAddr>, from: Option<&str>) -> Result<(), u64> {
        let (attempt, why) = match from {
            Some(_) => (Attempt::InboundMail, "rate_limited"),
            None => (Attempt::InboundBounce, "rate_limited_bounces"),
        };
        if let Err(AppError::TooManyRequests { retry_after_secs }) = self.limits.check(attempt, client, from) {
            self.metrics.refused_at(parley_domain::door::Door::EmailIn, why);
            return Err(retry_after_secs);
        }
        Ok(())
    }

    /// Receives one raw mail: logs it, handles it, and answers its log entry. `envelope_to` are the
    /// SMTP envelope's recipients (empty for a relay, which posts the message alone); `client` is
    /// the sending host. The listener checked the sender's limits at MAIL time; a relay's mail is
    /// checked here, by its From, before anything is kept (`TooManyRequests`). An error means
    /// nothing was decided (the store failed): the sender should try again later.
    pub async fn receive_email(
        &self,
        raw: Vec<u8>,
        via: Via,
        envelope_to: &[String],
        client: Option<IpAddr>,
    ) -> AppResult<IncomingEmail> {
        let parsed = parse(&raw);
        if let (Via::Http, Ok(mail)) = (via, &parsed) {
            self.limits.check(Attempt::InboundMail, client, Some(&mail.from))?;
        }
        let (from, mut to, subject, message_id) = match &parsed {
            Ok(m) => (m.from.clone(), m.to.clone(), m.subject.clone(), m.message_id.clone()),
            Err(_) => (String::new(), Vec::new(), String::new(), None),
        };
        for address in envelope_to {
            if !to.iter().any(|t| same_address(t, address)) {
                to.push(address.clone());
            }
        }
        // R45: what the log keeps of a refused mail, or of every mail past the log's budget.
        let headers = inbound::headers_of(&raw).to_vec();
        let fits = self.incoming_log.fits(&*self.store, self.now(), raw.len()).await?;
        let logged = NewIncomingEmail {
            received_at: self.now(),
            via: via.as_str().to_string(),
            from_address: from,
            to_addresses: to.join(", "),
            subject,
            message_id,
            raw: if fits { raw } else { headers.clone() },
        };
        let id = self.store.insert_incoming_email(logged).await?;
        let mut outcome = match parsed {
            Err(e) => refused(format!("unreadable: {e}")),
            Ok(mail) => self.handle_email(&mail, &to).await?,
        };
        if outcome.status == Some(IncomingStatus::Refused) && fits {
            outcome.keep = Some(headers);
        }
        if !fits {
            tracing::warn!(incoming = %id, "the incoming log is over its budget: only the mail's headers are kept");
            let note = "the incoming log is over its budget: only the headers are kept";
            outcome.reason = Some(match outcome.reason.take() {
                Some(more) => format!("{more}; {note}"),
                None => note.to_string(),
            });
        }
        if outcome.status == Some(IncomingStatus::Refused) {
            let why = outcome.reason.as_deref().and_then(|r| r.split(':').next()).unwrap_or("refused");
            self.metrics.refused_at(parley_domain::door::Door::EmailIn, why);
        }
        tracing::info!(
            incoming = %id,
            status = %outcome.status.unwrap_or(IncomingStatus::Received),
            reason = outcome.reason.as_deref().unwrap_or(""),
            "email received"
        );
        Ok(self.store.finish_incoming_email(id, outcome).await?)
    }

    async fn handle_email(&self, mail: &InboundMail, recipients: &[String]) -> AppResult<IncomingOutcome> {
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
                    keep: None,
                });
            }
        }
        let Ok(sender) = EmailAddress::parse("from", &mail.from) else {
            return Ok(refused("bad_sender: the From address does not parse"));
        };
        let mut with_token = recipients.iter().filter_map(|a| inbound::reply_token_of(a, domain));
        if let Some(token) = with_token.next() {
            let secret = self.reply_secret().await?;
            return match reply_token::verify(secret, token) {
                Some(verified) => self.post_through(verified, &sender, mail).await,
                None => Ok(refused("bad_token: the reply address was altered or is not this installation's")),
            };
        }
        // A reply without the plus-address: its threading headers may name an email Parley sent.
        let named = mail.in_reply_to.iter().chain(mail.references.iter().rev());
        if let Some(own) = named.filter_map(|id| inbound::own_message_id(id, domain)).next() {
            let answered = match own {
                OwnMessageId::Recipient { message, to } => self.emailed(message, to).await?,
                // An email sent before Message-IDs held no secret: the token it carries decides.
                OwnMessageId::Token(token) => reply_token::verify(self.reply_secret().await?, token),
            };
            return match answered {
                Some(verified) => self.post_through(verified, &sender, mail).await,
                None => Ok(refused("unknown_thread: the email it answers is not one this installation sent")),
            };
        }
        if recipients.iter().any(|r| same_address(r, &self.config.support_address)) {
            return self.new_request(&sender, mail).await;
        }
        Ok(refused("no_conversation: not a reply, and not sent to the support address"))
    }

    /// The email of `message` to `to`, as a reply through it is handled: where it leads and the
    /// day it was sent. `None` unless that email went out.
    async fn emailed(&self, message: MessageId, to: Party) -> AppResult<Option<reply_token::Verified>> {
        let message = match self.store.message(message).await {
            Ok(m) => m,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let went_out = self
            .store
            .delivery_timeline(message.id)
            .await?
            .iter()
            .any(|r| r.party == to && matches!(r.email_state, EmailState::Sent | EmailState::Queued));
        Ok(went_out.then(|| reply_token::Verified {
            target: ReplyTarget { conversation_id: message.conversation_id, party: to },
            day: reply_token::day_of(message.created_at),
        }))
    }

    /// R44: a reply through a reply address (or the email it answers) that is past its lifetime
    /// posts nothing where the address led. A customer's words are not lost: they start a new
    /// request, as mail to the support address would; a user's are refused.
    async fn post_through(
        &self,
        verified: reply_token::Verified,
        sender: &EmailAddress,
        mail: &InboundMail,
    ) -> AppResult<IncomingOutcome> {
        let days = self.config.reply_address_days;
        if !verified.expired(self.now(), days) {
            return self.post_reply(verified.target, sender, mail).await;
        }
        if let Party::User(_) = verified.target.party {
            return Ok(refused(format!(
                "expired: the reply address is more than {days} days old; answer in Parley instead"
            )));
        }
        let mut outcome = self.new_request(sender, mail).await?;
        let note = format!("the reply address is more than {days} days old: posted as a new request");
        outcome.reason = Some(match outcome.reason.take() {
            Some(more) => format!("{note}; {more}"),
            None => note,
        });
        Ok(outcome)
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
                // R44: a deactivated user acts by no door, email included.
                Ok(user) if !user.active => {
                    return Ok(refused("deactivated: the user this reply address was made for is deactivated"))
                }
                Ok(user) => (Some(user.email), Actor::User { id, role: user.role, via_api_token: false }),
                Err(StoreError::NotFound) => return mismatch(),
                Err(e) => return Err(e.into()),
            },
            Party::Customer(id) => match self.store.customer(id).await {
                Ok(customer) => match (customer.email, customer.unverified_email) {
                    (Some(proven), _) => (Some(proven), Actor::Customer { id }),
                    // R36, R44: a visitor's unproven address was emailed the replies they missed,
                    // but its mailbox may be someone else's: an answer from it never joins the
                    // visitor's chat. It is a request of the address's real owner.
                    (None, Some(unproven)) if same_address(&unproven, sender.as_str()) => {
                        let mut outcome = self.new_request(sender, mail).await?;
                        let note = "the reply address was made for an unproven address: posted as a new request";
                        outcome.reason = Some(match outcome.reason.take() {
                            Some(more) => format!("{note}; {more}"),
                            None => note.to_string(),
                        });
                        return Ok(outcome);
                    }
                    (None, _) => (None, Actor::Customer { id }),
                },
                Err(StoreError::NotFound) => return mismatch(),
                Err(e) => return Err(e.into()),
            },
        };
        if !address.is_some_and(|a| EmailAddress::parse("to", &a).is_ok_and(|a| &a == sender)) {
            return mismatch();
        }
        // R44: quoted lines are never a reply's words; a reply of quotes alone posts nothing.
        let body = inbound::reply_text(&mail.text).map(|t| inbound::fit_body(&t)).unwrap_or_default();
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
        let text = inbound::reply_text(&mail.text).map(|t| inbound::fit_body(&t)).unwrap_or_default();
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
            return Ok(refused("no_new_words: the mail quotes and adds no words of its own"));
        }
        let dropped = (!dropped.is_empty()).then(|| format!("attachments dropped: {}", dropped.join(", ")));
        match self.post_on(actor, conversation, body, &kept, Channel::Email).await {
            Ok((message, _)) => Ok(IncomingOutcome {
                status: Some(status),
                reason: dropped,
                conversation_id: Some(conversation),
                posted_message_id: Some(message.id),
                party: Some(actor.party()),
                keep: None,
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
        let mut log = self.store.incoming_emails(self.now() - INCOMING_LOG_MS, limit).await?;
        log.iter_mut().for_each(hide_tokens);
        Ok(log)
    }

    /// R17: the original mail a message was posted from, for admins who may see the message,
    /// while the incoming log keeps it (72 hours), its reply tokens hidden (R44): quoted headers
    /// and addresses in it carry the token that lets a mail post as its recipient.
    pub async fn message_original(&self, actor: Actor, id: MessageId) -> AppResult<Vec<u8>> {
        Self::require_user(actor, "message")?;
        Self::require_admin(actor)?;
        let message = self.store.message(id).await.map_err(AppError::from_store("message"))?;
        self.visible_conversation(actor, message.conversation_id).await.map_err(|_| AppError::NotFound("message"))?;
        let mail = self.store.incoming_email_of_message(id).await?;
        let mail = mail.filter(|m| m.received_at >= self.now() - INCOMING_LOG_MS);
        let mail = mail.ok_or(AppError::NotFound("original email"))?;
        let raw = self.store.incoming_email_raw(mail.id).await.map_err(AppError::from_store("original email"))?;
        Ok(parley_domain::redact::hide_reply_tokens(&raw))
    }

    /// One mail of the log (admins).
    pub async fn incoming_email(&self, actor: Actor, id: IncomingEmailId) -> AppResult<IncomingEmail> {
        Self::require_admin(actor)?;
        let found = self.store.incoming_email(id).await.map_err(AppError::from_store("incoming email"))?;
        if found.received_at < self.now() - INCOMING_LOG_MS {
            return Err(AppError::NotFound("incoming email"));
        }
        let mut found = found;
        hide_tokens(&mut found);
        Ok(found)
    }

    /// One mail of the log as it arrived (admins), its reply tokens hidden.
    pub async fn incoming_email_raw(&self, actor: Actor, id: IncomingEmailId) -> AppResult<Vec<u8>> {
        self.incoming_email(actor, id).await?;
        let raw = self.store.incoming_email_raw(id).await.map_err(AppError::from_store("incoming email"))?;
        Ok(parley_domain::redact::hide_reply_tokens(&raw))
    }
}

/// R44: an incoming log entry as admins read it: the reply tokens in its addresses and
/// Message-ID hidden.
fn hide_tokens(mail: &mut IncomingEmail) {
    use parley_domain::redact::hide_reply_tokens_in;
    mail.to_addresses = hide_reply_tokens_in(&mail.to_addresses);
    mail.message_id = mail.message_id.as_deref().map(hide_reply_tokens_in);
}

/// Whether two addresses are the same in their normalized form.
fn same_address(a: &str, b: &str) -> bool {
    match (EmailAddress::parse("a", a), EmailAddress::parse("b", b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
