//! Saved replies: the team's canned answers, for users only.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::App;
use parley_domain::saved_reply::SavedReply;
use parley_domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedReplyBody {
    /// What `/` in the message box finds it by; unique, whatever the case.
    #[schema(schema_with = crate::schema::name)]
    pub title: String,
    /// Markdown, with variables: `{{customer.name}}`, `{{customer.first_name}}`, `{{item}}`,
    /// `{{item.number}}`, `{{agent.name}}`, `{{agent.first_name}}`.
    #[schema(schema_with = crate::schema::body)]
    pub body: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FillBody {
    /// The conversation the reply goes into.
    pub conversation_id: ConversationId,
}

#[derive(Serialize, ToSchema)]
pub struct Filled {
    /// The reply's body with its variables filled, ready for the message box.
    pub body: String,
}

/// The team's saved replies, by title.
#[utoipa::path(get, operation_id = "list_saved_replies", path = "/api/v1/saved-replies", tag = "saved replies", responses((status = 200, body = Vec<SavedReply>)))]
pub async fn list(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<SavedReply>>> {
    Ok(Json(app.saved_replies(actor).await?))
}

/// Add a saved reply. 409 `title_taken` when one has the title; 422 `unknown_variable` for a
/// variable Parley does not know.
#[utoipa::path(post, operation_id = "create_saved_reply", path = "/api/v1/saved-replies", request_body = SavedReplyBody, tag = "saved replies",
    responses((status = 201, body = SavedReply), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(b): Json<SavedReplyBody>,
) -> ApiResult<(StatusCode, Json<SavedReply>)> {
    Ok((StatusCode::CREATED, Json(app.create_saved_reply(actor, &b.title, &b.body).await?)))
}

/// Change a saved reply: its author or an admin (403 for other users).
#[utoipa::path(put, operation_id = "update_saved_reply", path = "/api/v1/saved-replies/{id}", request_body = SavedReplyBody, tag = "saved replies",
    params(("id" = i64, Path)), responses((status = 200, body = SavedReply), (status = 409, body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<SavedReplyBody>,
) -> ApiResult<Json<SavedReply>> {
    Ok(Json(app.update_saved_reply(actor, SavedReplyId(id), &b.title, &b.body).await?))
}

/// Remove a saved reply: its author or an admin (403 for other users).
#[utoipa::path(delete, operation_id = "delete_saved_reply", path = "/api/v1/saved-replies/{id}", tag = "saved replies", params(("id" = i64, Path)),
    responses((status = 204)))]
pub async fn delete(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<StatusCode> {
    app.delete_saved_reply(actor, SavedReplyId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A saved reply filled for a conversation you may see: its customer, its item, your name.
#[utoipa::path(post, operation_id = "fill_saved_reply", path = "/api/v1/saved-replies/{id}/fill", request_body = FillBody, tag = "saved replies",
    params(("id" = i64, Path)), responses((status = 200, body = Filled), (status = 404, body = crate::error::ErrorBody)))]
pub async fn fill(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<FillBody>,
) -> ApiResult<Json<Filled>> {
    Ok(Json(Filled { body: app.fill_saved_reply(actor, SavedReplyId(id), b.conversation_id).await? }))
}
