//! Delivery: seen reports, a message's delivery timeline, the outgoing email log and templates.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path, Query};
use axum::extract::State;
use parley_app::{App, MessageDeliveries, TemplateEdit, TemplatePreview};
use parley_domain::*;
use parley_store::{DeliveryRecord, OutgoingEmail, OutgoingLogEntry, SeenReceipt, Template};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeenBody {
    /// Up to 500 message ids; ids of messages not addressed to the asker are ignored.
    #[schema(max_items = 500)]
    pub message_ids: Vec<MessageId>,
}

#[derive(Serialize, ToSchema)]
pub struct SeenAnswer {
    /// The messages newly marked seen (already seen ones are not repeated).
    pub seen: Vec<SeenReceipt>,
}

#[derive(Deserialize, IntoParams)]
pub struct LogQuery {
    /// 1 to 1000; default 200.
    #[serde(default = "two_hundred", deserialize_with = "crate::extract::whole")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: i64,
}

fn two_hundred() -> i64 {
    200
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// minijinja source of the subject line.
    #[schema(min_length = 1, max_length = 100000, pattern = "\\S")]
    pub subject: String,
    /// minijinja source of the plain-text part.
    #[schema(min_length = 1, max_length = 100000, pattern = "\\S")]
    pub body_text: String,
    /// minijinja source of the HTML part (values are escaped unless marked `|safe`).
    #[schema(min_length = 1, max_length = 100000, pattern = "\\S")]
    pub body_html: String,
}

/// Report messages as seen by the asker (R13). Idempotent.
#[utoipa::path(post, path = "/api/v1/messages/seen", request_body = SeenBody, tag = "delivery",
    responses((status = 200, body = SeenAnswer), (status = 400, body = crate::error::ErrorBody)))]
pub async fn seen(State(app): State<App>, Auth(actor): Auth, Json(b): Json<SeenBody>) -> ApiResult<Json<SeenAnswer>> {
    Ok(Json(SeenAnswer { seen: app.mark_seen(actor, &b.message_ids).await? }))
}

/// A message's delivery timeline: per recipient, pushed, seen, emailed or suppressed and why (R35).
#[utoipa::path(get, path = "/api/v1/messages/{id}/deliveries", tag = "delivery", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<DeliveryRecord>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn deliveries(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<Vec<DeliveryRecord>>> {
    Ok(Json(app.delivery_timeline(actor, MessageId(id)).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct PageOfMessages {
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

/// The delivery records of a page of a conversation's messages (seen by whom, emailed to whom).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/deliveries", tag = "delivery", params(("id" = i64, Path), PageOfMessages),
    responses((status = 200, body = Vec<MessageDeliveries>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn conversation_deliveries(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Query(q): Query<PageOfMessages>,
) -> ApiResult<Json<Vec<MessageDeliveries>>> {
    Ok(Json(app.conversation_deliveries(actor, ConversationId(id), q.after, q.limit).await?))
}

/// The outgoing email log of the last 72 hours, newest first (R32). Admins only.
#[utoipa::path(get, path = "/api/v1/outgoing-emails", tag = "delivery", params(LogQuery),
    responses((status = 200, body = Vec<OutgoingLogEntry>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn outgoing_log(
    State(app): State<App>,
    Auth(actor): Auth,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<Vec<OutgoingLogEntry>>> {
    Ok(Json(app.outgoing_log(actor, q.limit).await?))
}

/// One outgoing email, with its headers and bodies. Admins only.
#[utoipa::path(get, path = "/api/v1/outgoing-emails/{id}", tag = "delivery", params(("id" = i64, Path)),
    responses((status = 200, body = OutgoingEmail), (status = 404, body = crate::error::ErrorBody)))]
pub async fn outgoing_email(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<OutgoingEmail>> {
    Ok(Json(app.outgoing_email(actor, OutgoingEmailId(id)).await?))
}

/// An email template (`new_message`: the unseen-message email). Admins only.
#[utoipa::path(get, path = "/api/v1/templates/{name}", tag = "delivery", params(("name" = String, Path)),
    responses((status = 200, body = Template), (status = 404, body = crate::error::ErrorBody)))]
pub async fn template(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Template>> {
    Ok(Json(app.template(actor, &name).await?))
}

/// Edit an email template; it must render with sample values (422 `invalid_template` otherwise).
/// Templates cannot be removed or turned off (R29).
#[utoipa::path(put, path = "/api/v1/templates/{name}", request_body = TemplateBody, tag = "delivery", params(("name" = String, Path)),
    responses((status = 200, body = Template), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update_template(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(name): Path<String>,
    Json(b): Json<TemplateBody>,
) -> ApiResult<Json<Template>> {
    let edit = TemplateEdit { subject: b.subject, body_text: b.body_text, body_html: b.body_html };
    Ok(Json(app.update_template(actor, &name, edit).await?))
}

/// An edited template rendered with sample values (recipient "Ada", conversation "Printer on
/// fire", one message with a file), without storing it; 422 `invalid_template` with the part and
/// line that would not render. Admins only.
#[utoipa::path(post, path = "/api/v1/templates/{name}/preview", request_body = TemplateBody, tag = "delivery",
    params(("name" = String, Path)), operation_id = "preview_template",
    responses((status = 200, body = TemplatePreview), (status = 422, body = crate::error::ErrorBody)))]
pub async fn preview_template(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(name): Path<String>,
    Json(b): Json<TemplateBody>,
) -> ApiResult<Json<TemplatePreview>> {
    let edit = TemplateEdit { subject: b.subject, body_text: b.body_text, body_html: b.body_html };
    Ok(Json(app.preview_template(actor, &name, edit).await?))
}
