//! Tickets, tasks and articles: their fields, people and conversations.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, NewItemRequest};
use parley_domain::*;
use parley_store::ItemRole;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItemBody {
    pub project_id: ProjectId,
    pub kind: ItemKind,
    #[schema(schema_with = crate::schema::name)]
    pub title: String,
    #[serde(default)]
    pub requester_ids: Vec<CustomerId>,
    #[serde(default)]
    pub assignee_ids: Vec<UserId>,
}

impl From<NewItemBody> for NewItemRequest {
    fn from(b: NewItemBody) -> Self {
        NewItemRequest {
            project_id: b.project_id,
            kind: b.kind,
            title: b.title,
            requesters: b.requester_ids,
            assignees: b.assignee_ids,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPatchBody {
    #[schema(schema_with = crate::schema::name_or_null)]
    pub title: Option<String>,
    pub status: Option<ItemStatus>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPersonBody {
    pub role: ItemRoleName,
    pub party: Party,
}

/// How someone belongs to an item: `follower`, `requester` (customers) or `assignee` (users).
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ItemRoleName {
    Follower,
    Requester,
    Assignee,
}

/// A person's kind, in paths that name one.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    User,
    Customer,
}

impl PartyKind {
    pub fn party(self, id: i64) -> Party {
        match self {
            PartyKind::User => Party::User(UserId(id)),
            PartyKind::Customer => Party::Customer(CustomerId(id)),
        }
    }
}

fn item_role(role: ItemRoleName) -> ItemRole {
    match role {
        ItemRoleName::Follower => ItemRole::Follower,
        ItemRoleName::Requester => ItemRole::Requester,
        ItemRoleName::Assignee => ItemRole::Assignee,
    }
}

/// Create an item; its creator, requesters and assignees follow it.
#[utoipa::path(post, path = "/api/v1/items", request_body = NewItemBody, tag = "work", responses((status = 201, body = Item)))]
pub async fn create_item(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(b): Json<NewItemBody>,
) -> ApiResult<(StatusCode, Json<Item>)> {
    Ok((StatusCode::CREATED, Json(app.create_item(actor, b.into()).await?)))
}

/// A project's items, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{id}/items", tag = "work", params(("id" = i64, Path)), responses((status = 200, body = Vec<Item>)))]
pub async fn project_items(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<Vec<Item>>> {
    Ok(Json(app.items(actor, ProjectId(id)).await?))
}

/// The asking customer's items (the portal's list): requested, followed, or in a project they or
/// their organization follow.
#[utoipa::path(get, path = "/api/v1/me/items", tag = "work", responses((status = 200, body = Vec<Item>)))]
pub async fn my_items(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<Item>>> {
    Ok(Json(app.my_items(actor).await?))
}

/// One item.
#[utoipa::path(get, path = "/api/v1/items/{id}", tag = "work", params(("id" = i64, Path)), responses((status = 200, body = Item)))]
pub async fn item(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<Json<Item>> {
    Ok(Json(app.item(actor, ItemId(id)).await?))
}

/// Change an item's title or status.
#[utoipa::path(patch, path = "/api/v1/items/{id}", request_body = ItemPatchBody, tag = "work", params(("id" = i64, Path)), responses((status = 200, body = Item)))]
pub async fn update_item(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<ItemPatchBody>,
) -> ApiResult<Json<Item>> {
    Ok(Json(app.update_item(actor, ItemId(id), b.title.as_deref(), b.status).await?))
}

/// Add a follower, requester or assignee.
#[utoipa::path(post, operation_id = "add_item_person", path = "/api/v1/items/{id}/people", request_body = ItemPersonBody, tag = "work", params(("id" = i64, Path)), responses((status = 200, body = Item)))]
pub async fn add_person(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<ItemPersonBody>,
) -> ApiResult<Json<Item>> {
    Ok(Json(app.set_item_role(actor, ItemId(id), item_role(b.role), b.party, true).await?))
}

/// Remove a follower, requester or assignee.
#[utoipa::path(delete, operation_id = "remove_item_person", path = "/api/v1/items/{id}/people/{role}/{kind}/{party_id}", tag = "work",
    params(("id" = i64, Path), ("role" = ItemRoleName, Path), ("kind" = PartyKind, Path), ("party_id" = i64, Path)), responses((status = 200, body = Item)))]
pub async fn remove_person(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, role, kind, party_id)): Path<(Id, ItemRoleName, PartyKind, Id)>,
) -> ApiResult<Json<Item>> {
    let (id, party_id) = (id.0, party_id.0);
    // Nobody holds a role of the wrong kind (a user requester, a customer assignee): not found.
    if matches!(
        (role, kind),
        (ItemRoleName::Requester, PartyKind::User) | (ItemRoleName::Assignee, PartyKind::Customer)
    ) {
        return Err(parley_app::AppError::NotFound("item person").into());
    }
    Ok(Json(app.set_item_role(actor, ItemId(id), item_role(role), kind.party(party_id), false).await?))
}

/// R28: all of an item's conversations the asker may see, public and internal.
#[utoipa::path(get, path = "/api/v1/items/{id}/conversations", tag = "work", params(("id" = i64, Path)), responses((status = 200, body = Vec<ConversationHeader>)))]
pub async fn item_conversations(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<Vec<ConversationHeader>>> {
    Ok(Json(app.item_conversations(actor, ItemId(id)).await?))
}
