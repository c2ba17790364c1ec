//! Turning a digest (R34) into an email: the template rendered for the recipient, threading
//! headers per conversation and a reply address whose signed token is filled in when sent (R16). A round's digests are composed
//! together, from one read of the store.

use super::templates::{
    self, AttachmentContext, ConversationContext, MessageContext, NewMessageContext, RecipientContext,
};
use crate::{App, AppError, AppResult};
use parley_domain::delivery::Digest;
use parley_domain::*;
use parley_store::{DigestReads, NewOutgoingEmail};

/// A digest's email, or the digest back when its recipient has no address.
pub(crate) type Composed = Result<(Digest, NewOutgoingEmail), Digest>;

/// A recipient's address and name; `None` when they have no address.
#[derive(Clone)]
pub struct Contact {
    pub address: String,
    pub name: String,
}

/// Where a user is emailed.
fn user_contact(u: &User) -> Contact {
    Contact { address: u.email.clone(), name: u.name.clone() }
}

/// Where a customer is emailed, if anywhere. A visitor's unverified address gets the replies they
/// missed, which is what they gave it for (R36); it gets nothing else.
fn customer_contact(c: &Customer) -> Option<Contact> {
    let address = c.email.clone().or_else(|| c.unverified_email.clone())?;
    Some(Contact { address, name: c.name.clone() })
}

/// The line naming an item in a subject: `Ticket #12`.
fn item_line(link: Option<Link>, kind: Option<ItemKind>) -> Option<String> {
    let (Some(Link::Item(id)), Some(kind)) = (link, kind) else { return None };
    Some(format!("{} #{id}", kind.title()))
}

/// What every email of one round shares: the store's reads for all its digests and the template
/// compiled once.
struct Round<'r> {
    reads: &'r DigestReads,
    template: &'r templates::Compiled<'r>,
}

impl App {
    /// The emails for one round's digests (R34), composed from one read of the store and the
    /// template compiled once. A digest whose recipient has no address comes back as `Err`.
    #[tracing::instrument(name = "compose", skip_all, fields(digests = digests.len()))]
    pub(crate) async fn compose_round(&self, digests: Vec<Digest>) -> AppResult<Vec<Composed>> {
        let reads = self.store.digest_reads(&digests).await?;
        let stored = self.store.template(templates::NEW_MESSAGE_TEMPLATE).await?;
        let default = templates::default_new_message(self.now());
        // An admin's template is checked when saved; should it still not compile, mail goes out
        // with the default, and the failure is logged.
        let compiled = match templates::Compiled::new(stored.as_ref().unwrap_or(&default)) {
            Ok(compiled) => compiled,
            Err(error) => {
                tracing::warn!(%error, "new-message template failed; using the default");
                templates::Compiled::new(&default).map_err(|_| crate::AppError::Internal)?
            }
        };
        let round = Round { reads: &reads, template: &compiled };
        let mut composed = Vec::with_capacity(digests.len());
        for digest in digests {
            let contact = match digest.party {
                // A deactivated user is written to no more: suppressed as having no address.
                Party::User(id) => reads.users.get(&id).filter(|u| u.active).map(user_contact),
                Party::Customer(id) => reads.customers.get(&id).and_then(customer_contact),
            };
            composed.push(match contact {
                Some(to) => {
                    let email = self.compose(&digest, &to, &round)?;
                    Ok((digest, email))
                }
                None => Err(digest),
            });
        }
        Ok(composed)
    }

    fn author_name(reads: &DigestReads, author: Author) -> AppResult<String> {
        Ok(match author {
            Author::User(id) => reads.users.get(&id).ok_or(AppError::NotFound("user"))?.name.clone(),
            Author::Customer(id) => reads.customers.get(&id).ok_or(AppError::NotFound("customer"))?.name.clone(),
            Author::Bot => "Parley".to_string(),
        })
    }

    /// The email for `digest`, sent to `to`.
    fn compose(&self, digest: &Digest, to: &Contact, round: &Round<'_>) -> AppResult<NewOutgoingEmail> {
        let reads = round.reads;
        let (conversation, kind) =
            reads.conversations.get(&digest.conversation_id).ok_or(AppError::NotFound("conversation"))?;
        let base = self.config.base_url.trim_end_matches('/');
        // A file's link asks for the reader's access; one not logged in logs in where they can.
        let login = match digest.party {
            Party::Customer(_) => "?login=portal",
            Party::User(_) => "",
        };
        let mut messages = Vec::with_capacity(digest.messages.len());
        for id in &digest.messages {
            let m = reads.messages.get(id).ok_or(AppError::NotFound("message"))?;
            // R7, R44: a customer's email never holds what is internal, whatever was queued.
            if digest.party.is_customer() && m.visibility != Visibility::Public {
                continue;
            }
            let attachments = m
                .attachments
                .iter()
                .map(|a| AttachmentContext {
                    name: a.name.clone(),
                    size: attachment::human_size(a.size),
                    url: format!("{base}/api/v1/attachments/{}/{}{login}", a.id, attachment::url_encoded(&a.name)),
                })
                .collect();
            messages.push(MessageContext {
                number: m.number,
                author: Self::author_name(reads, m.author)?,
                sent_at: utc_minute(m.created_at),
                body: m.body.clone(),
                body_html: m.body_html.clone(),
                attachments,
                internal: m.visibility == Visibility::Internal && conversation.visibility == Visibility::Public,
            });
        }
        // Each reader opens it where they can: customers in the portal, users in the messenger.
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
                item: item_line(conversation.link, *kind),
            },
            count: messages.len(),
            messages,
        };
        // An admin's template that fails at send time falls back to the default, so mail still
        // goes out; the failure is logged.
        let rendered = match round.template.render(&context) {
            Ok(r) => r,
            Err(error) => {
                tracing::warn!(%error, "new-message template failed; using the default");
                templates::render(&templates::default_new_message(self.now()), &context)
                    .map_err(|_| crate::AppError::Internal)?
            }
        };
        let domain = &self.config.mail_domain;
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
            message_id_header: parley_domain::inbound::message_id_for(MessageId(first), digest.party, domain),
            in_reply_to: Some(thread.clone()),
            references: Some(thread),
            // R44: the reply token is filled in when the email is sent (`delivery::seal`).
            reply_to: Some(parley_domain::sealed::reply_address_slot(domain)),
            secret: None,
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
