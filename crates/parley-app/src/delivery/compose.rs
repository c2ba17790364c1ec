//! Turning a digest (R34) into an email: the template rendered for the recipient, threading
//! headers per conversation and a signed reply address (R16).

use super::templates::{self, ConversationContext, MessageContext, NewMessageContext, RecipientContext};
use crate::{App, AppResult};
use parley_domain::delivery::Digest;
use parley_domain::reply_token::{self, ReplyTarget};
use parley_domain::*;
use parley_store::{NewOutgoingEmail, StoreError, Template};
use rand::RngCore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The name of the reply-token key in the store.
const REPLY_SECRET: &str = "reply_token_key";

/// A recipient's address and name; `None` when they have no address.
#[derive(Clone)]
pub struct Contact {
    pub address: String,
    pub name: String,
}

/// A conversation's header and the line naming its item (`Ticket #12`).
type Heading = (ConversationHeader, Option<String>);

/// Reads one round of the email worker shares between its digests. Two digests composed at once
/// may both read the same thing; either copy is right.
#[derive(Default)]
pub(crate) struct RoundReads {
    template: tokio::sync::OnceCell<Template>,
    conversations: Mutex<HashMap<ConversationId, Arc<Heading>>>,
    names: Mutex<HashMap<Author, String>>,
    contacts: Mutex<HashMap<Party, Option<Contact>>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RoundReads {
    pub(crate) async fn contact(&self, app: &App, party: Party) -> AppResult<Option<Contact>> {
        if let Some(known) = locked(&self.contacts).get(&party) {
            return Ok(known.clone());
        }
        let contact = app.contact(party).await?;
        locked(&self.contacts).insert(party, contact.clone());
        Ok(contact)
    }

    async fn author_name(&self, app: &App, author: Author) -> AppResult<String> {
        if let Some(known) = locked(&self.names).get(&author) {
            return Ok(known.clone());
        }
        let name = app.author_name(author).await?;
        locked(&self.names).insert(author, name.clone());
        Ok(name)
    }

    /// A conversation's header and the line naming its item (`Ticket #12`).
    async fn conversation(&self, app: &App, id: ConversationId) -> AppResult<Arc<Heading>> {
        if let Some(known) = locked(&self.conversations).get(&id) {
            return Ok(known.clone());
        }
        let conversation = app.store.conversation(id).await?.header;
        let item = match conversation.link {
            Some(Link::Item(id)) => {
                let item = app.store.item(id).await?;
                let kind = match item.kind {
                    ItemKind::Ticket => "Ticket",
                    ItemKind::Task => "Task",
                    ItemKind::Article => "Article",
                };
                Some(format!("{kind} #{}", item.id))
            }
            _ => None,
        };
        let read = Arc::new((conversation, item));
        locked(&self.conversations).insert(id, read.clone());
        Ok(read)
    }
}

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

    pub(crate) async fn contact(&self, party: Party) -> AppResult<Option<Contact>> {
        Ok(match party {
            Party::User(id) => {
                let u = self.store.user(id).await?;
                Some(Contact { address: u.email, name: u.name })
            }
            Party::Customer(id) => {
                // A visitor's unverified address gets the replies they missed, which is what they
                // gave it for (R36); it gets nothing else.
                let c = self.store.customer(id).await?;
                c.email.or(c.unverified_email).map(|address| Contact { address, name: c.name })
            }
        })
    }

    async fn author_name(&self, author: Author) -> AppResult<String> {
        Ok(match author {
            Author::User(id) => self.store.user(id).await?.name,
            Author::Customer(id) => self.store.customer(id).await?.name,
            Author::Bot => "Parley".to_string(),
        })
    }

    /// The email for `digest`, sent to `to`. What several digests of one round share (the
    /// template, a conversation and its item, an author's name) is read once, into `shared`.
    #[tracing::instrument(name = "compose", skip_all, fields(party = ?digest.party, messages = digest.messages.len()))]
    pub(crate) async fn compose(
        &self,
        digest: &Digest,
        to: &Contact,
        shared: &RoundReads,
    ) -> AppResult<NewOutgoingEmail> {
        let (conversation, item) = &*shared.conversation(self, digest.conversation_id).await?;
        let mut messages = Vec::with_capacity(digest.messages.len());
        for id in &digest.messages {
            let m = self.store.message(*id).await?;
            messages.push(MessageContext {
                number: m.number,
                author: shared.author_name(self, m.author).await?,
                sent_at: utc_minute(m.created_at),
                body: m.body,
                body_html: m.body_html,
            });
        }
        let template = shared
            .template
            .get_or_try_init(|| async {
                AppResult::Ok(match self.store.template(templates::NEW_MESSAGE_TEMPLATE).await? {
                    Some(t) => t,
                    None => templates::default_new_message(self.now()),
                })
            })
            .await?;
        let item = item.clone();
        // Each reader opens it where they can: customers in the portal, users in the messenger.
        let base = self.config.base_url.trim_end_matches('/');
        let url = match digest.party {
            Party::Customer(_) => format!("{base}/portal/c/{}", conversation.id),
            Party::User(_) => format!("{base}/c/{}", conversation.id),
        };
        let context = NewMessageContext {
            recipient: RecipientContext { name: to.name.clone() },
            conversation: ConversationContext {
                id: conversation.id.0,
                subject: conversation.subject.clone(),
                url,
                internal: conversation.visibility == Visibility::Internal,
                item,
            },
            count: messages.len(),
            messages,
        };
        // An admin's template that fails at send time falls back to the default, so mail still
        // goes out; the failure is logged.
        let rendered = match templates::render(template, &context) {
            Ok(r) => r,
            Err(error) => {
                tracing::warn!(%error, "new-message template failed; using the default");
                templates::render(&templates::default_new_message(self.now()), &context)
                    .map_err(|_| crate::AppError::Internal)?
            }
        };
        let domain = &self.config.mail_domain;
        let token = reply_token::sign(
            self.reply_secret().await?,
            ReplyTarget { conversation_id: conversation.id, party: digest.party },
        );
        let first = digest.messages.first().map(|m| m.0).unwrap_or_default();
        let thread = format!("<parley.c{}@{domain}>", conversation.id);
        Ok(NewOutgoingEmail {
            created_at: self.now(),
            conversation_id: Some(conversation.id),
            party: Some(digest.party),
            to_address: to.address.clone(),
            to_name: to.name.clone(),
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            message_id_header: parley_domain::inbound::message_id_for(MessageId(first), &token, domain),
            in_reply_to: Some(thread.clone()),
            references: Some(thread),
            reply_to: Some(format!("reply+{token}@{domain}")),
        })
    }
}

/// `2026-11-22 09:30 UTC` for a time in milliseconds since the epoch.
pub fn utc_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rest / 3_600, rest % 3_600 / 60)
}

#[cfg(test)]
mod tests {
    use super::utc_minute;

    #[test]
    fn utc_minute_formats_known_instants() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc_minute(1_795_340_000_000), "2026-11-22 09:33 UTC");
    }
}
