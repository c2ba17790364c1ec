//! Looking things up on behalf of someone: what they may not see does not exist for them (R7, R20,
//! R37). Every service reaches conversations, items and projects through these functions, which ask
//! `parley_domain::access` and answer "not found" for anything outside the asker's reach.

use crate::{Actor, App, AppError, AppResult};
use parley_domain::access::{
    customer_may_see, project_in_scope, user_may_see, user_may_see_item, ConversationFacts, Relation,
};
use parley_domain::*;
use parley_store::{PostContext, Reader};

/// How many reads [`read_each`] keeps under way at once.
const READS_AT_ONCE: usize = 8;

/// Reads each of `keys` with `read`, several under way at once; what is not found is left out.
pub(crate) async fn read_each<K, V, F, Fut>(
    keys: impl IntoIterator<Item = K>,
    read: F,
) -> AppResult<std::collections::HashMap<K, V>>
where
    K: Copy + Eq + std::hash::Hash,
    F: Fn(K) -> Fut,
    Fut: std::future::Future<Output = parley_store::StoreResult<V>>,
{
    use futures_util::{StreamExt, TryStreamExt};
    futures_util::stream::iter(keys)
        .map(|key| {
            let reading = read(key);
            async move {
                match reading.await {
                    Ok(value) => Ok(Some((key, value))),
                    Err(parley_store::StoreError::NotFound) => Ok(None),
                    Err(e) => Err(AppError::from(e)),
                }
            }
        })
        .buffer_unordered(READS_AT_ONCE)
        .try_filter_map(|found| async move { Ok(found) })
        .try_collect()
        .await
}

impl App {
    /// R44: of `pairs`, those whose party may see the conversation now — the rule of
    /// [`App::visible_conversation`], for a whole batch: each conversation, each user and each
    /// relation read once, several reads under way at once. A deactivated or deleted user sees
    /// nothing.
    pub(crate) async fn who_sees(
        &self,
        pairs: &[(Party, ConversationId)],
    ) -> AppResult<std::collections::HashSet<(Party, ConversationId)>> {
        use futures_util::{StreamExt, TryStreamExt};
        use std::collections::BTreeSet;
        let conversations: BTreeSet<ConversationId> = pairs.iter().map(|(_, c)| *c).collect();
        let users: BTreeSet<UserId> = pairs.iter().filter_map(|(p, _)| p.user()).collect();
        let pairs: BTreeSet<(Party, ConversationId)> = pairs.iter().copied().collect();
        let facts = read_each(conversations, |id| async move {
            let c = self.store.conversation(id).await?;
            Ok(ConversationFacts { visibility: c.header.visibility, project_id: c.header.project_id })
        })
        .await?;
        let profiles = read_each(users, |id| self.store.user_profile(id)).await?;
        let (facts, profiles) = (&facts, &profiles);
        futures_util::stream::iter(pairs)
            .map(|(party, id)| async move {
                let Some(facts) = facts.get(&id).copied() else { return Ok(None) };
                let actor = match party {
                    Party::Customer(id) => Actor::Customer { id },
                    Party::User(id) => match profiles.get(&id) {
                        // The role plays no part in seeing a conversation.
                        Some(_) => Actor::User { id, role: Role::Member, via_api_token: false },
                        None => return Ok(None),
                    },
                };
                let relation = self.store.relation(id, party).await?;
                let profile = party.user().and_then(|u| profiles.get(&u));
                Ok::<_, AppError>(sees(actor, facts, relation, profile).then_some((party, id)))
            })
            .buffer_unordered(READS_AT_ONCE)
            .try_filter_map(|seen| async move { Ok(seen) })
            .try_collect()
            .await
    }

    /// The conversation, if `actor` may see it; "not found" otherwise, whether or not it exists.
    pub async fn visible_conversation(&self, actor: Actor, id: ConversationId) -> AppResult<Conversation> {
        let conversation = self.store.conversation(id).await.map_err(AppError::from_store("conversation"))?;
        let facts = ConversationFacts {
            visibility: conversation.header.visibility,
            project_id: conversation.header.project_id,
        };
        let relation = self.store.relation(id, actor.party()).await?;
        if !self.may_see(actor, facts, relation).await? {
            return Err(AppError::NotFound("conversation"));
        }
        let mut conversation = conversation;
        self.as_seen_by(actor, &mut conversation.header).await?;
        Ok(conversation)
    }

    /// R37: the project, if it lies within the asking user's scope. Customers never see projects
    /// as such (their portal lists items).
    pub(crate) async fn visible_project(&self, actor: Actor, id: ProjectId) -> AppResult<Project> {
        let user = Self::require_user(actor, "project")?;
        let project = self.store.project(id).await.map_err(AppError::from_store("project"))?;
        let profile = self.store.user_profile(user).await?;
        if !profile.active || !project_in_scope(profile.preferences.scope, &profile.followed_projects, id) {
            return Err(AppError::NotFound("project"));
        }
        Ok(project)
    }

    /// R7, R37: the item, to users whose scope covers it (or who follow it), and to customers who
    /// asked for it, follow it, or follow its project.
    pub(crate) async fn visible_item(&self, actor: Actor, id: ItemId) -> AppResult<Item> {
        let item = self.store.item(id).await.map_err(AppError::from_store("item"))?;
        let visible = match actor {
            Actor::User { id: me, .. } => {
                let profile = self.store.user_profile(me).await?;
                let follows = item.followers.contains(&Party::User(me)) || item.assignees.contains(&me);
                profile.active
                    && user_may_see_item(
                        profile.preferences.scope,
                        &profile.followed_projects,
                        item.project_id,
                        follows,
                    )
            }
            Actor::Customer { id: me } => self.store.customer_items(me).await?.iter().any(|i| i.id == id),
        };
        if !visible {
            return Err(AppError::NotFound("item"));
        }
        Ok(item)
    }

    /// R37: whether the asking user's scope covers `project` (for lists and new items).
    pub(crate) async fn project_in_scope_of(&self, user: UserId, project: ProjectId) -> AppResult<bool> {
        let profile = self.store.user_profile(user).await?;
        Ok(project_in_scope(profile.preferences.scope, &profile.followed_projects, project))
    }

    /// What of a conversation's messages `actor` may read (R7, R33).
    pub(crate) fn reader_for(&self, actor: Actor) -> Reader {
        match actor {
            Actor::User { .. } => Reader::User,
            Actor::Customer { .. } => Reader::Customer { now: self.now() },
        }
    }

    /// Message count and latest activity as the asker sees them: nothing withdrawn and, for a
    /// customer, nothing internal or still held — counts must not betray those either (R7, R33).
    pub(crate) async fn as_seen_by(&self, actor: Actor, header: &mut ConversationHeader) -> AppResult<()> {
        let (count, last_at) = self.store.visible_activity(header.id, self.reader_for(actor)).await?;
        header.message_count = count;
        header.last_activity_at = last_at.unwrap_or(header.created_at);
        Ok(())
    }

    pub(crate) async fn may_see(&self, actor: Actor, facts: ConversationFacts, relation: Relation) -> AppResult<bool> {
        let profile = match actor {
            Actor::User { id, .. } => Some(self.store.user_profile(id).await?),
            Actor::Customer { .. } => None,
        };
        Ok(sees(actor, facts, relation, profile.as_ref()))
    }

    /// What a post into the conversation needs, read at once, if `actor` may see it (the rule of
    /// [`App::visible_conversation`]); "not found" otherwise, whether or not it exists.
    pub(crate) async fn postable(
        &self,
        actor: Actor,
        id: ConversationId,
        handles: &[String],
    ) -> AppResult<PostContext> {
        let context = self
            .store
            .post_context(id, Some(actor.party()), handles)
            .await
            .map_err(AppError::from_store("conversation"))?;
        let header = &context.people.conversation.header;
        let facts = ConversationFacts { visibility: header.visibility, project_id: header.project_id };
        let profile = actor.user_id().and_then(|me| context.profile(me));
        if !sees(actor, facts, context.relation, profile) {
            return Err(AppError::NotFound("conversation"));
        }
        Ok(context)
    }

    /// Refuses customers: the operation is for staff only. Customers are told "not found", as for
    /// anything else outside their reach.
    pub(crate) fn require_user(actor: Actor, what: &'static str) -> AppResult<UserId> {
        actor.user_id().ok_or(AppError::NotFound(what))
    }

    pub(crate) fn require_admin(actor: Actor) -> AppResult<UserId> {
        match actor {
            Actor::User { id, role: Role::Admin, .. } => Ok(id),
            Actor::User { .. } => Err(AppError::Forbidden("only an admin may do this")),
            Actor::Customer { .. } => Err(AppError::Forbidden("only an admin may do this")),
        }
    }

    /// Checks that every party exists.
    pub(crate) async fn check_parties(&self, parties: &[Party]) -> AppResult<()> {
        for p in parties {
            match p {
                Party::User(id) => {
                    let user = self.store.user(*id).await.map_err(AppError::from_store("user"))?;
                    if !user.active {
                        return Err(AppError::unprocessable(
                            "user_deactivated",
                            format!("{} is deactivated: reactivate them first", user.name),
                        ));
                    }
                }
                Party::Customer(id) => {
                    self.store.customer(*id).await.map(drop).map_err(AppError::from_store("customer"))?
                }
            }
        }
        Ok(())
    }
}

/// R7, R20: whether `actor` may see a conversation; `profile` is the asking user's (a user without
/// one sees nothing). R44: a deactivated user reaches nothing, by any door, whatever their sessions still hold.
fn sees(actor: Actor, facts: ConversationFacts, relation: Relation, profile: Option<&UserProfile>) -> bool {
    match (actor, profile) {
        (Actor::User { .. }, Some(p)) => {
            p.active && user_may_see(p.preferences.scope, &p.followed_projects, facts, relation)
        }
        (Actor::User { .. }, None) => false,
        (Actor::Customer { .. }, _) => customer_may_see(facts, relation),
    }
}
