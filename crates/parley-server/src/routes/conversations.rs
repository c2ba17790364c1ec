//! Conversations: starting them, their state, linking and their people.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path};
use crate::routes::items::{NewItemBody, PartyKind};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, AppError, NewConversationRequest, StartAs};
use parley_domain::state::StateAction;
use parley_domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum StartAsBody {
    WithUsers,
    WithCustomers,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConversationBody {
    #[schema(schema_with = crate::schema::name)]
    pub subject: String,
    /// Link to an item…
    pub item_id: Option<ItemId>,
    /// …or to a project; neither makes an independent conversation.
    pub project_id: Option<ProjectId>,
    /// Omit to take the company default (R3).
    pub visibility: Option<Visibility>,
    /// Required for an independent conversation started by a user (R4).
    pub start_as: Option<StartAsBody>,
    #[serde(default)]
    pub participants: Vec<Party>,
    /// An optional first message.
    #[schema(schema_with = crate::schema::body_or_null)]
    pub body: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateBody {
    pub action: StateAction,
}

/// Link to an existing item (`item_id`) or to a new one (`new_item`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    pub item_id: Option<ItemId>,
    pub new_item: Option<NewItemBody>,
}

#[derive(Serialize, ToSchema)]
pub struct Linked {
    pub conversation: Conversation,
    pub item: Item,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationPersonBody {
    pub role: ConversationRole,
    pub party: Party,
}

/// How someone belongs to a conversation.
#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConversationRole {
    Participant,
    Follower,
    /// R42: a user who is to answer it (of a linked conversation: its item's assignee).
    Assignee,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// The number of the last message read.
    #[schema(minimum = 0)]
    #[serde(deserialize_with = "parley_domain::ids::integral")]
    pub up_to: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReadPosition {
    pub last_seen_number: i64,
}

/// Start a conversation, on an item or project or independent (R1–R4).
#[utoipa::path(post, path = "/api/v1/conversations", request_body = NewConversationBody, tag = "conversations",
    responses((status = 201, body = Conversation), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(b): Json<NewConversationBody>,
) -> ApiResult<(StatusCode, Json<Conversation>)> {
    let link = match (b.item_id, b.project_id) {
        (Some(i), None) => Some(Link::Item(i)),
        (None, Some(p)) => Some(Link::Project(p)),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(AppError::unprocessable("link_ambiguous", "give item_id or project_id, not both").into())
        }
    };
    let req = NewConversationRequest {
        subject: b.subject,
        link,
        visibility: b.visibility,
        start_as: b.start_as.map(|s| match s {
            StartAsBody::WithUsers => StartAs::WithUsers,
            StartAsBody::WithCustomers => StartAs::WithCustomers,
        }),
        participants: b.participants,
        body: b.body,
    };
    Ok((StatusCode::CREATED, Json(app.create_conversation(actor, req).await?)))
}

/// One conversation with its participants and followers.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(app.conversation(actor, ConversationId(id)).await?))
}

/// Close, lock (only when closed), unlock or reopen (R6).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/state", request_body = StateBody, tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = Conversation), (status = 409, body = crate::error::ErrorBody)))]
pub async fn change_state(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<StateBody>,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(app.change_state(actor, ConversationId(id), b.action).await?))
}

/// Link an independent conversation to an existing item or a new one (R5).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/link", request_body = LinkBody, tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = Linked), (status = 409, body = crate::error::ErrorBody)))]
pub async fn link(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<LinkBody>,
) -> ApiResult<Json<Linked>> {
    let (conversation, item) =
        app.link_conversation(actor, ConversationId(id), b.item_id, b.new_item.map(Into::into)).await?;
    Ok(Json(Linked { conversation, item }))
}

/// Add a participant, follower or assignee (R42: of a linked conversation, its item's).
#[utoipa::path(post, operation_id = "add_conversation_person", path = "/api/v1/conversations/{id}/people", request_body = ConversationPersonBody, tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = Conversation), (status = 422, body = crate::error::ErrorBody)))]
pub async fn add_person(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<ConversationPersonBody>,
) -> ApiResult<Json<Conversation>> {
    set_person(&app, actor, ConversationId(id), b.role, b.party, true).await
}

/// One person on or off a conversation, in the role named.
async fn set_person(
    app: &App,
    actor: parley_app::Actor,
    id: ConversationId,
    role: ConversationRole,
    party: Party,
    on: bool,
) -> ApiResult<Json<Conversation>> {
    Ok(Json(match (role, party) {
        (ConversationRole::Assignee, Party::User(user)) => app.set_conversation_assignee(actor, id, user, on).await?,
        (ConversationRole::Assignee, Party::Customer(_)) => {
            return Err(parley_app::AppError::unprocessable("assignee_must_be_user", "assignees are users").into())
        }
        (role, party) => {
            app.set_conversation_party(actor, id, role == ConversationRole::Participant, party, on).await?
        }
    }))
}

/// Remove a participant, follower or assignee.
#[utoipa::path(delete, operation_id = "remove_conversation_person", path = "/api/v1/conversations/{id}/people/{role}/{kind}/{party_id}", tag = "conversations",
    params(("id" = i64, Path), ("role" = ConversationRole, Path), ("kind" = PartyKind, Path), ("party_id" = i64, Path)), responses((status = 200, body = Conversation)))]
pub async fn remove_person(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, role, kind, party_id)): Path<(Id, ConversationRole, PartyKind, Id)>,
) -> ApiResult<Json<Conversation>> {
    let (id, party_id) = (id.0, party_id.0);
    set_person(&app, actor, ConversationId(id), role, kind.party(party_id), false).await
}

/// Record that the asker has read up to a message number.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", request_body = ReadBody, tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = ReadPosition)))]
pub async fn mark_read(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<ReadBody>,
) -> ApiResult<Json<ReadPosition>> {
    let last_seen_number = app.mark_read(actor, ConversationId(id), b.up_to).await?;
    Ok(Json(ReadPosition { last_seen_number }))
}

/// R6: who closed, locked, unlocked or reopened the conversation, and when, oldest first (a
/// message that reopened it is listed with its author).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/state-changes", tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<StateChange>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn state_changes(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<Vec<StateChange>>> {
    Ok(Json(app.state_changes(actor, ConversationId(id)).await?))
}
