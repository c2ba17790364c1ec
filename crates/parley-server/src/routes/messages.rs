//! Messages: reading, posting (the one path), the recipient preview and the stored audience.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, PostRequest};
use parley_domain::audience::{Audience, Recipient};
use parley_domain::*;
use parley_store::Retraction;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only messages with a greater number.
    #[serde(default, deserialize_with = "crate::extract::whole")]
    pub after: i64,
    /// 1 to 200; default 50.
    #[serde(default = "fifty", deserialize_with = "crate::extract::whole")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: i64,
}

fn fifty() -> i64 {
    50
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostBody {
    /// Markdown, up to 50,000 characters.
    #[schema(schema_with = crate::schema::body)]
    pub body: String,
    /// `app` or `api` for users; `portal` or `widget` for customers.
    pub channel: Option<Channel>,
    /// Files uploaded with `POST /api/v1/conversations/{id}/attachments` for this message, up to
    /// 10; with one, `body` may be empty.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub attachments: Vec<AttachmentId>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// The draft; `@mentions` in it count.
    #[serde(default)]
    #[schema(max_length = 50000)]
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct Posted {
    pub message: Message,
    pub audience: Audience,
}

#[derive(Serialize, ToSchema)]
pub struct MessageAudience {
    pub message: Message,
    pub recipients: Vec<Recipient>,
}

/// Messages of a conversation, oldest first.
#[utoipa::path(get, operation_id = "list_messages", path = "/api/v1/conversations/{id}/messages", tag = "messages", params(("id" = i64, Path), ListQuery),
    responses((status = 200, body = Vec<Message>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<Message>>> {
    Ok(Json(app.messages(actor, ConversationId(id), q.after, q.limit).await?))
}

/// Post a message; a closed conversation reopens, a locked one answers 409 `conversation_locked`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", request_body = PostBody, tag = "messages", params(("id" = i64, Path)),
    responses((status = 201, body = Posted), (status = 409, body = crate::error::ErrorBody)))]
pub async fn post(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<PostBody>,
) -> ApiResult<(StatusCode, Json<Posted>)> {
    let (message, audience) = app
        .post_message(
            actor,
            ConversationId(id),
            PostRequest { body: b.body, channel: b.channel, attachments: b.attachments },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Posted { message, audience })))
}

/// Who would receive this draft, and why (R11).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/recipients-preview", request_body = PreviewBody, tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = Audience)))]
pub async fn preview(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<PreviewBody>,
) -> ApiResult<Json<Audience>> {
    if b.body.chars().count() > parley_domain::values::MAX_BODY_CHARS {
        return Err(ValidationError::new("body", "is longer than a message may be").into());
    }
    Ok(Json(app.preview_recipients(actor, ConversationId(id), &b.body).await?))
}

/// The audience stored with a message when it was posted.
#[utoipa::path(get, path = "/api/v1/messages/{id}/audience", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = MessageAudience)))]
pub async fn audience(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<MessageAudience>> {
    let (message, recipients) = app.message_audience(actor, MessageId(id)).await?;
    Ok(Json(MessageAudience { message, recipients }))
}

/// Undo a message within the send guard (R33): it disappears for everyone. Only its author;
/// 409 `send_guard_passed` once customers may have seen it.
#[utoipa::path(post, path = "/api/v1/messages/{id}/undo", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = Message), (status = 409, body = crate::error::ErrorBody)))]
pub async fn undo(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<Json<Message>> {
    Ok(Json(app.retract_message(actor, MessageId(id), Retraction::Undo).await?))
}

/// Turn a message internal within the send guard (R33): no customer ever sees it. Only its author;
/// 409 `send_guard_passed` once customers may have seen it.
#[utoipa::path(post, path = "/api/v1/messages/{id}/make-internal", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = Message), (status = 409, body = crate::error::ErrorBody)))]
pub async fn make_internal(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<Message>> {
    Ok(Json(app.retract_message(actor, MessageId(id), Retraction::MakeInternal).await?))
}
