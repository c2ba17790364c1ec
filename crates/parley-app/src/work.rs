//! Projects and items.

use crate::automations::Place;
use crate::delivery::system_templates::{named, ItemNamed, SystemContext};
use crate::invitations::Joined;
use crate::webhooks::Announcement;
use crate::{Actor, App, AppError, AppResult};
use parley_domain::access::{project_in_scope, ConversationFacts};
use parley_domain::automation::Trigger;
use parley_domain::system_email::SystemEmail;
use parley_domain::values::parse_name;
use parley_domain::*;
use parley_store::{ItemPatch, ItemRole, NewItem, ProjectRole};

/// What a user asks for when creating an item.
#[derive(Debug, Clone)]
pub struct NewItemRequest {
    pub project_id: ProjectId,
    pub kind: ItemKind,
    pub title: String,
    pub requesters: Vec<CustomerId>,
    pub assignees: Vec<UserId>,
}

impl App {
    pub async fn create_project(&self, actor: Actor, name: &str) -> AppResult<Project> {
        let user = Self::require_user(actor, "projects")?;
        let name = parse_name("name", name)?;
        Ok(self.store.insert_project(&name, user, self.now()).await?)
    }

    /// The projects within the asker's scope (R37).
    pub async fn projects(&self, actor: Actor) -> AppResult<Vec<Project>> {
        let user = Self::require_user(actor, "projects")?;
        let profile = self.store.user_profile(user).await?;
        let in_scope = |p: &Project| project_in_scope(profile.preferences.scope, &profile.followed_projects, p.id);
        Ok(self.store.projects().await?.into_iter().filter(in_scope).collect())
    }

    pub async fn project(&self, actor: Actor, id: ProjectId) -> AppResult<Project> {
        self.visible_project(actor, id).await
    }

    pub async fn set_project_role(
        &self,
        actor: Actor,
        id: ProjectId,
        role: ProjectRole,
        on: bool,
    ) -> AppResult<Project> {
        // R37: who belongs to a project, who follows it and whom it is shared with decides who sees
        // what in it, so only admins change it. Others get "not found" when the project is outside
        // their scope, as on every route.
        self.visible_project(actor, id).await?;
        Self::require_admin(actor)?;
        match role {
            ProjectRole::MemberUser(u) | ProjectRole::FollowerUser(u) => self.check_parties(&[Party::User(u)]).await?,
            ProjectRole::FollowerCustomer(c) => self.check_parties(&[Party::Customer(c)]).await?,
            ProjectRole::MemberTeam(t) => self.store.team(t).await.map(drop).map_err(AppError::from_store("team"))?,
            ProjectRole::FollowerOrganization(o) => {
                let known = self.store.organizations().await?.iter().any(|x| x.id == o);
                if !known {
                    return Err(AppError::NotFound("organization"));
                }
            }
        }
        let before = self.store.project(id).await.map_err(AppError::from_store("project"))?;
        let project = self.store.set_project_role(id, role, on).await.map_err(AppError::from_store("project"))?;
        // R31: a user or team that was not a member is one now.
        let joined = match role {
            ProjectRole::MemberUser(u) if on && !before.member_users.contains(&u) => Some(Joined::User(u)),
            ProjectRole::MemberTeam(t) if on && !before.member_teams.contains(&t) => Some(Joined::Team(t)),
            _ => None,
        };
        if let Some(joined) = joined {
            self.tell_members(id, joined, actor.user_id()).await?;
        }
        Ok(project)
    }

    pub async fn create_item(&self, actor: Actor, req: NewItemRequest) -> AppResult<Item> {
        let user = Self::require_user(actor, "items")?;
        let new = self.new_item(user, req).await?;
        let item = self.store.insert_item(new).await.map_err(AppError::from_store("item"))?;
        for assignee in &item.assignees {
            self.tell_assignee(&item, *assignee, true, user).await?;
        }
        self.announce(Announcement::item_created(&item)).await;
        self.automate(Trigger::ItemCreated, Place::Item(item.id)).await;
        if !item.assignees.is_empty() {
            self.automate(Trigger::ItemAssigned, Place::Item(item.id)).await;
        }
        Ok(item)
    }

    /// Validates an item request into a row to insert.
    pub(crate) async fn new_item(&self, user: UserId, req: NewItemRequest) -> AppResult<NewItem> {
        let title = parse_name("title", &req.title)?;
        self.store.project(req.project_id).await.map_err(AppError::from_store("project"))?;
        if !self.project_in_scope_of(user, req.project_id).await? {
            return Err(AppError::NotFound("project"));
        }
        let people: Vec<Party> = req
            .requesters
            .iter()
            .map(|c| Party::Customer(*c))
            .chain(req.assignees.iter().map(|u| Party::User(*u)))
            .collect();
        self.check_parties(&people).await?;
        Ok(NewItem {
            project_id: req.project_id,
            kind: req.kind,
            title,
            created_by: Party::User(user),
            requesters: req.requesters,
            assignees: req.assignees,
            created_at: self.now(),
        })
    }

    /// An item, to users, and to customers who asked for it, follow it, or follow its project.
    pub async fn item(&self, actor: Actor, id: ItemId) -> AppResult<Item> {
        self.visible_item(actor, id).await
    }

    /// The portal's list: what the asking customer asked for or follows, directly or through their
    /// organization following the project.
    pub async fn my_items(&self, actor: Actor) -> AppResult<Vec<Item>> {
        match actor {
            Actor::Customer { id } => Ok(self.store.customer_items(id).await?),
            Actor::User { .. } => Err(AppError::Forbidden("only customers have a portal item list")),
        }
    }

    pub async fn items(&self, actor: Actor, project: ProjectId) -> AppResult<Vec<Item>> {
        self.visible_project(actor, project).await?;
        Ok(self.store.items(project).await?)
    }

    pub async fn update_item(
        &self,
        actor: Actor,
        id: ItemId,
        title: Option<&str>,
        status: Option<ItemStatus>,
    ) -> AppResult<Item> {
        Self::require_user(actor, "item")?;
        let before = self.visible_item(actor, id).await?;
        let title = title.map(|t| parse_name("title", t)).transpose()?;
        let item =
            self.store.update_item(id, ItemPatch { title, status }).await.map_err(AppError::from_store("item"))?;
        let changed: Vec<&str> = [("title", item.title != before.title), ("status", item.status != before.status)]
            .into_iter()
            .filter_map(|(what, did)| did.then_some(what))
            .collect();
        if !changed.is_empty() {
            self.announce(Announcement::item_updated(&item, &changed)).await;
        }
        if item.status != before.status {
            self.automate(Trigger::ItemStatusChanged, Place::Item(id)).await;
            if item.status == ItemStatus::Closed {
                self.automate(Trigger::ItemClosed, Place::Item(id)).await;
            }
        }
        Ok(item)
    }

    /// Adds or removes a follower, requester (customers) or assignee (users).
    pub async fn set_item_role(
        &self,
        actor: Actor,
        id: ItemId,
        role: ItemRole,
        party: Party,
        on: bool,
    ) -> AppResult<Item> {
        Self::require_user(actor, "item")?;
        // R37: only someone who may see the item changes its people.
        self.visible_item(actor, id).await?;
        match (role, party) {
            (ItemRole::Requester, Party::User(_)) => {
                return Err(AppError::unprocessable("requester_must_be_customer", "requesters are customers"))
            }
            (ItemRole::Assignee, Party::Customer(_)) => {
                return Err(AppError::unprocessable("assignee_must_be_user", "assignees are users"))
            }
            _ => {}
        }
        self.check_parties(&[party]).await?;
        let before = self.store.item(id).await.map_err(AppError::from_store("item"))?;
        let item = self.store.set_item_role(id, role, party, on).await.map_err(AppError::from_store("item"))?;
        if item != before {
            let changed = match role {
                ItemRole::Requester => "requesters",
                ItemRole::Assignee => "assignees",
                ItemRole::Follower => "followers",
            };
            self.announce(Announcement::item_updated(&item, &[changed])).await;
        }
        if let (ItemRole::Assignee, Party::User(assignee), Some(by)) = (role, party, actor.user_id()) {
            if before.assignees.contains(&assignee) != on {
                self.tell_assignee(&item, assignee, on, by).await?;
                if on {
                    self.automate(Trigger::ItemAssigned, Place::Item(id)).await;
                }
            }
        }
        Ok(item)
    }

    /// R31, R25: emails a user assigned to `item` (or taken off it) by someone else, if they
    /// want assignment emails.
    async fn tell_assignee(&self, item: &Item, assignee: UserId, assigned: bool, by: UserId) -> AppResult<()> {
        if assignee == by {
            return Ok(());
        }
        let Some(to) = self.user_recipient(assignee, SystemEmail::AssignmentChange).await? else { return Ok(()) };
        let context = SystemContext {
            actor: Some(named(self.store.user(by).await?.name)),
            item: Some(ItemNamed { name: format!("{} #{}", item.kind.title(), item.id), title: item.title.clone() }),
            assigned,
            link: Some(self.app_url(&format!("/items/{}", item.id))),
            ..SystemContext::default()
        };
        self.send_system_email(SystemEmail::AssignmentChange, &to, context).await?;
        Ok(())
    }

    /// R28: every conversation of an item the asker may see, public and internal side by side.
    pub async fn item_conversations(&self, actor: Actor, id: ItemId) -> AppResult<Vec<ConversationHeader>> {
        self.item(actor, id).await?;
        let mut visible = Vec::new();
        for mut header in self.store.item_conversations(id).await? {
            let facts = ConversationFacts { visibility: header.visibility, project_id: header.project_id };
            let relation = self.store.relation(header.id, actor.party()).await?;
            if self.may_see(actor, facts, relation).await? {
                self.as_seen_by(actor, &mut header).await?;
                visible.push(header);
            }
        }
        Ok(visible)
    }
}
