//! What customers see of the company: new requests from the portal, who wrote to them, and the
//! welcome of the portal and the widget.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, OpenedRequest, ShownAuthor, Welcome};
use parley_domain::MessageId;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// What the request is about: the ticket's title and the conversation's subject.
    #[schema(schema_with = crate::schema::name)]
    pub title: String,
    /// The customer's first message (Markdown).
    #[schema(schema_with = crate::schema::body)]
    pub body: String,
}

/// A customer opens a new request from the portal: a ticket in the project the company chose
/// (`portal_request_project_id`), with the customer as requester, and its public conversation
/// started with their words. 409 `portal_requests_off` when the company chose none; 403 for a
/// visitor who has not proven an address.
#[utoipa::path(post, path = "/api/v1/me/requests", request_body = RequestBody, tag = "portal",
    responses((status = 201, body = OpenedRequest)))]
pub async fn open_request(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(body): Json<RequestBody>,
) -> ApiResult<(StatusCode, Json<OpenedRequest>)> {
    Ok((StatusCode::CREATED, Json(app.open_request(actor, &body.title, &body.body).await?)))
}

/// Who wrote a message, named as the asker sees them: customers see the team under the company's
/// display name when one is set, else each user by name. 404 for a message the asker may not read.
#[utoipa::path(get, path = "/api/v1/messages/{id}/author", tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = ShownAuthor)))]
pub async fn message_author(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<ShownAuthor>> {
    Ok(Json(app.message_author(actor, MessageId(id)).await?))
}

/// What the company shows every customer and visitor: the widget's greeting and the reply time it
/// promises, and whether the portal takes new requests. No credential needed.
#[utoipa::path(get, path = "/api/v1/welcome", tag = "widget", responses((status = 200, body = Welcome)))]
pub async fn welcome(State(app): State<App>) -> ApiResult<Json<Welcome>> {
    Ok(Json(app.welcome().await?))
}
