//! R42: someone always answers. Assigning conversations (independent ones too), the "away"
//! switch, which users are connected, and routing a customer's new conversation: round-robin to
//! an available user under the cap, or to everyone who may see it, with the admins as the last
//! resort (the rules are `parley_domain::routing` and the audience's fallback).

use crate::{Actor, App, AppResult};
use parley_domain::access::ConversationFacts;
use parley_domain::routing::{self, Routing};
use parley_domain::*;
use parley_store::{ItemRole, PostContext};
use std::collections::BTreeSet;

/// Who a customer's message reaches besides its own audience, for `audience::compute`.
#[derive(Debug, Default)]
pub(crate) struct Routed {
    /// With routing "everyone": whoever may see the conversation.
    pub everyone: Vec<UserId>,
    /// The admins, should nobody else be notified.
    pub fallback: Vec<UserId>,
}

impl App {
    /// Assigns `user` a conversation, or takes it back: an independent one itself, a linked one
    /// through its item (as assigning the item does, R25 email included).
    pub async fn set_conversation_assignee(
        &self,
        actor: Actor,
        id: ConversationId,
        user: UserId,
        on: bool,
    ) -> AppResult<Conversation> {
        let conversation = self.visible_conversation(actor, id).await?;
        Self::require_user(actor, "conversation")?;
        let party = Party::User(user);
        match conversation.header.link {
            Some(Link::Item(item)) => {
                self.set_item_role(actor, item, ItemRole::Assignee, party, on).await?;
            }
            _ => {
                self.check_parties(&[party]).await?;
                self.store.set_conversation_assignee(id, user, on).await?;
            }
        }
        self.visible_conversation(actor, id).await
    }

    /// R42: the user sets themself away (new conversations pass them by) or back.
    pub async fn set_away(&self, actor: Actor, away: bool) -> AppResult<User> {
        let me = Self::require_user(actor, "user")?;
        let mut user = self.store.set_away(me, away).await?;
        user.available = routing::available(user.away, user.connected_at, self.now());
        Ok(user)
    }

    /// R42: tells the store which users are connected to this node now, and that those who were
    /// and are no more are not; answers who is, for the next call. Run every
    /// `routing::CONNECTED_EVERY_MS`, so a user stays available while connected to any node.
    pub async fn tell_who_is_connected(&self, before: &BTreeSet<UserId>) -> BTreeSet<UserId> {
        let now: BTreeSet<UserId> = self.sockets.connected().into_iter().filter_map(|p| p.user()).collect();
        let gone: Vec<UserId> = before.difference(&now).copied().collect();
        let here: Vec<UserId> = now.iter().copied().collect();
        for (users, at) in [(here, Some(self.now())), (gone, None)] {
            if let Err(error) = self.store.mark_connected(&users, at).await {
                tracing::warn!(%error, "who is connected not recorded for routing");
            }
        }
        now
    }

    /// R42: before a customer's message is addressed. A conversation no one takes part in or is
    /// assigned is routed: round-robin assigns it to someone (who then follows it, and so is in
    /// this message's audience); with routing "everyone", whoever may see it gets it. The admins
    /// are the fallback should nobody be notified. Routing never stops a post: if it fails, the
    /// message still goes to its audience and the fallback.
    pub(crate) async fn route(&self, context: &mut PostContext, author: Author) -> Routed {
        let c = &context.people.conversation;
        let unclaimed = c.assignees.is_empty() && c.taking_part.is_empty();
        if !matches!(author, Author::Customer(_)) || c.header.visibility != Visibility::Public || !unclaimed {
            return Routed::default();
        }
        let id = c.header.id;
        match self.route_unclaimed(context).await {
            Ok(routed) => routed,
            Err(error) => {
                tracing::warn!(conversation = id.0, %error, "routing failed; the message goes to its audience");
                Routed::default()
            }
        }
    }

    async fn route_unclaimed(&self, context: &mut PostContext) -> AppResult<Routed> {
        let header = context.people.conversation.header.clone();
        let settings = self.store.company().await?.map(|c| c.settings).unwrap_or_default();
        let users = self.store.users().await?;
        let active: Vec<UserId> = users.iter().filter(|u| u.active).map(|u| u.id).collect();
        let profiles = self.store.audience_profiles(&active).await?;
        let facts = ConversationFacts { visibility: header.visibility, project_id: header.project_id };
        let eligible = routing::eligible(&profiles, facts);
        let fallback = users.iter().filter(|u| u.active && u.role == Role::Admin).map(|u| u.id).collect();
        // The audience checks every one of them against their scope with these.
        for profile in profiles {
            if !context.profiles.iter().any(|p| p.id == profile.id) {
                context.profiles.push(profile);
            }
        }
        let everyone = match settings.routing {
            Routing::Everyone => eligible,
            Routing::RoundRobin => {
                let chosen =
                    self.store.route_conversation(header.id, &eligible, settings.routing_cap, self.now()).await?;
                if let Some(user) = chosen {
                    tracing::info!(conversation = header.id.0, user = user.0, "routed round-robin");
                    // Assigned, they follow it: this message is addressed to them already.
                    let people = &mut context.people;
                    match header.link {
                        Some(Link::Item(_)) => people.item_followers.push(Party::User(user)),
                        _ => people.conversation.followers.push(Party::User(user)),
                    }
                    people.conversation.assignees.push(user);
                }
                vec![]
            }
        };
        Ok(Routed { everyone, fallback })
    }

    /// R42: a deactivated user's open conversations go to someone else: each is taken from them
    /// and routed again as if new.
    pub(crate) async fn reassign_from(&self, user: UserId) -> AppResult<usize> {
        let open = self.store.open_assigned(user).await?;
        let settings = self.store.company().await?.map(|c| c.settings).unwrap_or_default();
        let users = self.store.users().await?;
        let active: Vec<UserId> = users.iter().filter(|u| u.active && u.id != user).map(|u| u.id).collect();
        let profiles = self.store.audience_profiles(&active).await?;
        let mut routed = 0;
        for id in &open {
            let conversation = self.store.conversation(*id).await?;
            self.store.set_conversation_assignee(*id, user, false).await?;
            if settings.routing != Routing::RoundRobin || conversation.header.visibility != Visibility::Public {
                continue;
            }
            let facts = ConversationFacts {
                visibility: conversation.header.visibility,
                project_id: conversation.header.project_id,
            };
            let eligible = routing::eligible(&profiles, facts);
            if let Some(to) = self.store.route_conversation(*id, &eligible, settings.routing_cap, self.now()).await? {
                tracing::info!(conversation = id.0, from = user.0, to = to.0, "reassigned from a deactivated user");
                routed += 1;
            }
        }
        Ok(routed)
    }
}
