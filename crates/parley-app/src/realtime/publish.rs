//! Turning what happened into events for the people concerned. Publishing runs in a task of its
//! own after the write has committed, so a post never waits for pushes; it only does work for
//! people who are connected.

use super::events::EventBody;
use crate::{Actor, App, AppResult};
use parley_domain::audience::{Audience, Recipient};
use parley_domain::delivery::SuppressReason;
use parley_domain::*;
use parley_store::SeenReceipt;
use std::collections::{BTreeMap, BTreeSet};

impl App {
    /// The actor a connected party acts as, for computing their views.
    pub(super) async fn actor_of(&self, party: Party) -> AppResult<Actor> {
        Ok(match party {
            Party::User(id) => Actor::User { id, role: self.store.user(id).await?.role, via_api_token: false },
            Party::Customer(id) => Actor::Customer { id },
        })
    }

    /// Every event goes out here, through the event table (`policy.rs`): a receiver the table
    /// refuses gets nothing, and the refusal is logged, since the publisher should not have chosen
    /// them. `about` is the conversation's visibility, for events that carry no message.
    pub(crate) fn push(&self, party: Party, body: EventBody, about: Option<Visibility>) -> bool {
        let kind = super::policy::kind_of(&body);
        if !super::policy::may_receive(&body, party, about, self.now()) {
            tracing::error!(?party, kind, "event refused by the event table");
            self.metrics.dropped("refused", 1);
            return false;
        }
        let delivered = self.hub.publish(party, body);
        if delivered {
            self.metrics.pushed(kind);
        }
        delivered
    }

    /// R12: a new message goes to every connected recipient, with the sound flag; the ledger
    /// records who got it pushed. The author is not sent their own message (R9). New counts go
    /// out from the write itself (`counts.rs`).
    pub(crate) fn publish_message(
        &self,
        message: Message,
        audience: Audience,
        subject: String,
        silent: BTreeSet<UserId>,
    ) {
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(error) = app.push_message(message, audience, subject, &silent).await {
                tracing::warn!(%error, "pushing a message failed");
            }
        });
    }

    async fn push_message(
        &self,
        message: Message,
        audience: Audience,
        subject: String,
        silent: &BTreeSet<UserId>,
    ) -> AppResult<()> {
        let now = self.now();
        let mut delivered = Vec::new();
        // Customers are shown their own numbers (R7, R33); computed once, only if one is online.
        let mut for_customers: Option<Message> = None;
        for Recipient { party, notify, .. } in &audience.recipients {
            // Recently connected people get it kept for their reconnect, too. Customers get a
            // held message only when it is released (R33).
            let held = message.held_until.is_some_and(|t| t > now);
            if !self.hub.is_known(*party) || (held && party.is_customer()) {
                continue;
            }
            let sound = *notify && party.user().is_none_or(|id| !silent.contains(&id));
            let shown = match (party.is_customer(), &for_customers) {
                (false, _) => message.clone(),
                (true, Some(shown)) => shown.clone(),
                (true, None) => {
                    let Some(number) = self.store.customer_number(message.id, now).await? else { continue };
                    for_customers.insert(Message { number, ..message.clone() }).clone()
                }
            };
            let body = EventBody::Message { message: shown, subject: subject.clone(), sound };
            if self.push(*party, body, None) {
                delivered.push(*party);
            }
        }
        let pushed: Vec<(MessageId, Party)> = delivered.into_iter().map(|party| (message.id, party)).collect();
        self.store.mark_pushed(&pushed, now).await?;
        Ok(())
    }

    /// R33: held messages whose guard has passed go to their customers now. Returns how many.
    pub(crate) async fn release_held_messages(&self) -> AppResult<usize> {
        let released = self.store.release_held(self.now(), 200).await?;
        for message in &released {
            if message.visibility != Visibility::Public {
                continue;
            }
            let customers: Vec<Recipient> =
                self.store.message_audience(message.id).await?.into_iter().filter(|r| r.party.is_customer()).collect();
            let subject = self.store.conversation(message.conversation_id).await?.header.subject;
            // Customers have no sound preference: theirs is always on.
            let silent = BTreeSet::new();
            self.push_message(message.clone(), Audience { recipients: customers }, subject, &silent).await?;
        }
        Ok(released.len())
    }

    /// R33 in realtime: users who got a message learn it was taken back.
    pub(crate) fn publish_retraction(&self, message: Message, how: parley_store::Retraction) {
        let app = self.clone();
        tokio::spawn(async move {
            let result = async {
                let how = match how {
                    parley_store::Retraction::Undo => "undone",
                    parley_store::Retraction::MakeInternal => "made_internal",
                };
                let users = app.store.message_audience(message.id).await?.into_iter().map(|r| r.party);
                for party in users.filter(|p| !p.is_customer()).chain(message.author.party()) {
                    app.push(party, EventBody::Retracted { message: message.clone(), how }, None);
                }
                AppResult::Ok(())
            }
            .await;
            if let Err(error) = result {
                tracing::warn!(%error, "pushing a retraction failed");
            }
        });
    }

    /// R6 in realtime: everyone who would receive a message in the conversation now learns of
    /// its new state.
    pub(crate) fn publish_state(&self, conversation: Conversation, by: Party) {
        let app = self.clone();
        tokio::spawn(async move {
            let id = conversation.header.id;
            let result = async {
                let context = app.store.post_context(id, by, &[]).await?;
                let audience = crate::messages::address(&context, Author::Bot).audience;
                let body = EventBody::State { conversation_id: id, state: conversation.header.state };
                for party in audience.recipients.iter().map(|r| r.party).chain(std::iter::once(by)) {
                    app.push(party, body.clone(), Some(conversation.header.visibility));
                }
                AppResult::Ok(())
            }
            .await;
            if let Err(error) = result {
                tracing::warn!(%error, "pushing a state change failed");
            }
        });
    }

    /// R13 in realtime: the staff in each message's audience (and its author) learn who saw it.
    pub(crate) fn publish_seen(&self, party: Party, receipts: Vec<SeenReceipt>) {
        if receipts.is_empty() {
            return;
        }
        let suppressed = receipts.iter().filter(|r| r.email_suppressed).count();
        self.metrics.emails("suppressed", SuppressReason::Seen.as_str(), suppressed as u64);
        let app = self.clone();
        tokio::spawn(async move {
            let result = async {
                let mut by_message: BTreeMap<MessageId, Vec<SeenReceipt>> = BTreeMap::new();
                for r in receipts {
                    by_message.entry(r.message_id).or_default().push(r);
                }
                for (id, receipts) in by_message {
                    let message = app.store.message(id).await?;
                    let staff = app.store.message_audience(id).await?.into_iter().map(|r| r.party);
                    let told: Vec<Party> =
                        staff.chain(message.author.party()).filter(|p| !p.is_customer() && *p != party).collect();
                    for p in told {
                        app.push(p, EventBody::Seen { party, receipts: receipts.clone() }, None);
                    }
                }
                AppResult::Ok(())
            }
            .await;
            if let Err(error) = result {
                tracing::warn!(%error, "pushing seen receipts failed");
            }
        });
    }
}
