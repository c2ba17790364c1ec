//! Turning what happened into events for the people concerned. Publishing runs in a task of its
//! own after the write has committed, so a post never waits for pushes; it only does work for
//! people who are connected. Each `publish_*` pushes to this node's connections and tells the
//! other nodes sharing the store (`cluster.rs`), which push the same to theirs.

use super::events::EventBody;
use crate::{Actor, App, AppResult};
use parley_domain::audience::{Audience, Recipient};
use parley_domain::delivery::SuppressReason;
use parley_domain::*;
use parley_store::{Notice, SeenReceipt};
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::oneshot;

/// New messages are handed to this node's connections in the order they were posted. Each push
/// runs in a task of its own and may read first (a customer's number), so two of them could
/// otherwise pass each other; each waits for the one before to be handed over, not for its record
/// in the store.
#[derive(Default)]
pub(crate) struct PushOrder(std::sync::Mutex<Option<oneshot::Receiver<()>>>);

impl PushOrder {
    /// A place in line: what to wait for first, and what to signal once handed over.
    fn take_turn(&self) -> (Option<oneshot::Receiver<()>>, oneshot::Sender<()>) {
        let (pushed, next) = oneshot::channel();
        let before = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).replace(next);
        (before, pushed)
    }
}

/// Whether a message is a customer's first in a new conversation: its arrival belongs in the
/// list of every user who may see it (R43).
fn opens_customer_conversation(message: &Message) -> bool {
    message.number == 1 && message.author.party().is_some_and(|p| p.is_customer())
}

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
        let opens = opens_customer_conversation(&message);
        self.tell_others(Notice::Posted { message: message.id, conversation: Some(message.conversation_id), opens });
        let app = self.clone();
        let (before, pushed) = self.push_order.take_turn();
        tokio::spawn(async move {
            if let Some(before) = before {
                let _ = before.await;
            }
            let handed = app.hand_to_hub(&message, &audience, &subject, &silent).await;
            let _ = pushed.send(());
            let recorded = match handed {
                Ok(handed) => app.store.mark_pushed(&handed, app.now()).await.map_err(crate::AppError::from),
                Err(error) => Err(error),
            };
            if let Err(error) = recorded {
                tracing::warn!(%error, "pushing a message failed");
            }
            if let Err(error) = app.push_to_onlookers(&message, &audience, &subject, opens).await {
                tracing::warn!(%error, "pushing a message to onlookers failed");
            }
        });
    }

    /// A message another node stored, pushed to this node's connections: what the poster's node
    /// had at hand is read from the store.
    pub(super) async fn push_posted(
        &self,
        id: MessageId,
        conversation: Option<ConversationId>,
        opens: bool,
    ) -> AppResult<()> {
        let recipients = self.store.message_audience(id).await?;
        // Most nodes hold nobody the message is for, nor anyone looking: they read nothing more.
        let watched = opens || conversation.is_some_and(|c| self.onlookers.any(c));
        if !recipients.iter().any(|r| self.hub.is_known(r.party)) && !watched {
            return Ok(());
        }
        let message = self.store.message(id).await?;
        let users: Vec<UserId> = recipients.iter().filter_map(|r| r.party.user()).collect();
        let silent = self
            .store
            .audience_profiles(&users)
            .await?
            .into_iter()
            .filter(|p| !p.preferences.sound)
            .map(|p| p.id)
            .collect();
        let subject = self.store.conversation(message.conversation_id).await?.header.subject;
        let audience = Audience { recipients };
        self.push_message(message.clone(), audience.clone(), subject.clone(), &silent).await?;
        self.push_to_onlookers(&message, &audience, &subject, opens).await
    }

    /// R43, R10, R26: the users on this node who are not in a message's audience but have its
    /// conversation open — and, when it opens a customer's conversation, every user connected
    /// here — get it too, if they may see the conversation now (R44), without a sound: being
    /// notified is the preferences' business, a right screen is everyone's. Customers are never
    /// onlookers (the conversations they may see address them), nor is the author (R9).
    async fn push_to_onlookers(
        &self,
        message: &Message,
        audience: &Audience,
        subject: &str,
        opens: bool,
    ) -> AppResult<()> {
        let id = message.conversation_id;
        let mut parties: BTreeSet<Party> = self.onlookers.of(id).into_iter().collect();
        if opens {
            parties.extend(self.sockets.connected());
        }
        let addressed: BTreeSet<Party> = audience.recipients.iter().map(|r| r.party).collect();
        parties.retain(|p| !p.is_customer() && !addressed.contains(p) && message.author.party() != Some(*p));
        if parties.is_empty() {
            return Ok(());
        }
        let pairs: Vec<(Party, ConversationId)> = parties.iter().map(|p| (*p, id)).collect();
        let seeing = self.who_sees(&pairs).await?;
        let onlookers: BTreeSet<Party> = self.onlookers.of(id).into_iter().collect();
        for party in parties {
            if !seeing.contains(&(party, id)) {
                // Someone who had it open and may no longer see it; users merely connected when
                // a conversation outside their reach opens are no refusal.
                if onlookers.contains(&party) {
                    self.metrics.refused_at(parley_domain::door::Door::OnlookerPush, "may not see the conversation");
                }
                continue;
            }
            let body = EventBody::Message { message: message.clone(), subject: subject.to_owned(), sound: false };
            self.push(party, body, None);
        }
        Ok(())
    }

    async fn push_message(
        &self,
        message: Message,
        audience: Audience,
        subject: String,
        silent: &BTreeSet<UserId>,
    ) -> AppResult<()> {
        let pushed = self.hand_to_hub(&message, &audience, &subject, silent).await?;
        self.store.mark_pushed(&pushed, self.now()).await?;
        Ok(())
    }

    /// Pushes a message to this node's connections among its recipients; answers the pushes for
    /// the ledger to record.
    async fn hand_to_hub(
        &self,
        message: &Message,
        audience: &Audience,
        subject: &str,
        silent: &BTreeSet<UserId>,
    ) -> AppResult<Vec<(MessageId, Party)>> {
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
            let body = EventBody::Message { message: shown, subject: subject.to_owned(), sound };
            if self.push(*party, body, None) {
                delivered.push(*party);
            }
        }
        Ok(delivered.into_iter().map(|party| (message.id, party)).collect())
    }

    /// R33: held messages whose guard has passed go to their customers now. Returns how many.
    pub(crate) async fn release_held_messages(&self) -> AppResult<usize> {
        let released = self.store.release_held(self.now(), 200).await?;
        if !released.is_empty() {
            self.tell_others(Notice::Released { messages: released.iter().map(|m| m.id).collect() });
        }
        for message in &released {
            self.push_released(message).await?;
        }
        Ok(released.len())
    }

    /// R33: a released message goes to its customers.
    pub(super) async fn push_released(&self, message: &Message) -> AppResult<()> {
        if message.visibility != Visibility::Public {
            return Ok(());
        }
        let customers: Vec<Recipient> =
            self.store.message_audience(message.id).await?.into_iter().filter(|r| r.party.is_customer()).collect();
        let subject = self.store.conversation(message.conversation_id).await?.header.subject;
        // Customers have no sound preference: theirs is always on.
        let silent = BTreeSet::new();
        self.push_message(message.clone(), Audience { recipients: customers }, subject, &silent).await
    }

    /// R33 in realtime: users who got a message learn it was taken back.
    pub(crate) fn publish_retraction(&self, message: Message, how: parley_store::Retraction) {
        let undone = how == parley_store::Retraction::Undo;
        self.tell_others(Notice::Retracted { message: message.id, undone });
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(error) = app.push_retraction(message, undone).await {
                tracing::warn!(%error, "pushing a retraction failed");
            }
        });
    }

    pub(super) async fn push_retraction(&self, message: Message, undone: bool) -> AppResult<()> {
        let how = if undone { "undone" } else { "made_internal" };
        let audience = self.store.message_audience(message.id).await?.into_iter().map(|r| r.party);
        let mut users: BTreeSet<Party> = audience.filter(|p| !p.is_customer()).chain(message.author.party()).collect();
        // R43: those who had it on screen as onlookers learn it too, if they may still see it.
        let id = message.conversation_id;
        let onlookers: Vec<(Party, ConversationId)> = self
            .onlookers
            .of(id)
            .into_iter()
            .filter(|p| !p.is_customer() && !users.contains(p))
            .map(|p| (p, id))
            .collect();
        if !onlookers.is_empty() {
            users.extend(self.who_sees(&onlookers).await?.into_iter().map(|(p, _)| p));
        }
        for party in users {
            self.push(party, EventBody::Retracted { message: message.clone(), how }, None);
        }
        Ok(())
    }

    /// R6 in realtime: everyone who would receive a message in the conversation now learns of
    /// its new state.
    pub(crate) fn publish_state(&self, conversation: Conversation, by: Party) {
        self.tell_others(Notice::StateChanged { conversation: conversation.header.id, by });
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(error) = app.push_state(conversation, by).await {
                tracing::warn!(%error, "pushing a state change failed");
            }
        });
    }

    pub(super) async fn push_state(&self, conversation: Conversation, by: Party) -> AppResult<()> {
        let id = conversation.header.id;
        let context = self.store.post_context(id, Some(by), &[]).await?;
        let audience = crate::messages::address(&context, Author::Bot, &Default::default()).audience;
        let body = EventBody::State { conversation_id: id, state: conversation.header.state };
        for party in audience.recipients.iter().map(|r| r.party).chain(std::iter::once(by)) {
            self.push(party, body.clone(), Some(conversation.header.visibility));
        }
        Ok(())
    }

    /// R13 in realtime: the staff in each message's audience (and its author) learn who saw it.
    pub(crate) fn publish_seen(&self, party: Party, receipts: Vec<SeenReceipt>) {
        if receipts.is_empty() {
            return;
        }
        let suppressed = receipts.iter().filter(|r| r.email_suppressed).count();
        self.metrics.emails("suppressed", SuppressReason::Seen.as_str(), suppressed as u64);
        self.tell_others(Notice::Seen { party, receipts: receipts.clone() });
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(error) = app.push_seen(party, receipts).await {
                tracing::warn!(%error, "pushing seen receipts failed");
            }
        });
    }

    pub(super) async fn push_seen(&self, party: Party, receipts: Vec<SeenReceipt>) -> AppResult<()> {
        let mut by_message: BTreeMap<MessageId, Vec<SeenReceipt>> = BTreeMap::new();
        for r in receipts {
            by_message.entry(r.message_id).or_default().push(r);
        }
        for (id, receipts) in by_message {
            let message = self.store.message(id).await?;
            let staff = self.store.message_audience(id).await?.into_iter().map(|r| r.party);
            let told: Vec<Party> =
                staff.chain(message.author.party()).filter(|p| !p.is_customer() && *p != party).collect();
            for p in told {
                self.push(p, EventBody::Seen { party, receipts: receipts.clone() }, None);
            }
        }
        Ok(())
    }
}
