//! Projects and items.

use crate::error::StoreResult;
use crate::records::*;
use async_trait::async_trait;
use parley_domain::*;

#[async_trait]
pub trait WorkStore {
    /// Creates a project; its creator becomes a member and a follower.
    async fn insert_project(&self, name: &str, creator: UserId, created_at: i64) -> StoreResult<Project>;
    async fn project(&self, id: ProjectId) -> StoreResult<Project>;
    async fn projects(&self) -> StoreResult<Vec<Project>>;
    async fn set_project_role(&self, project: ProjectId, role: ProjectRole, on: bool) -> StoreResult<Project>;

    /// Creates an item; its creator, requesters and assignees follow it.
    async fn insert_item(&self, item: NewItem) -> StoreResult<Item>;
    async fn item(&self, id: ItemId) -> StoreResult<Item>;
    async fn items(&self, project: ProjectId) -> StoreResult<Vec<Item>>;
    /// The items a customer asked for or follows, or whose project they (or their organization)
    /// follow; newest first.
    async fn customer_items(&self, customer: CustomerId) -> StoreResult<Vec<Item>>;
    async fn update_item(&self, id: ItemId, patch: ItemPatch) -> StoreResult<Item>;
    /// Adds or removes a person in a role; a new requester or assignee also follows the item.
    async fn set_item_role(&self, id: ItemId, role: ItemRole, party: Party, on: bool) -> StoreResult<Item>;
}
