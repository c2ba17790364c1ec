//! §10: webhooks (admins): endpoints with the events they want, their signing secrets, and the
//! log of what was sent to each.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, WebhookView, WebhookWithSecret};
use parley_domain::webhook::{Webhook, WebhookEvent, WebhookSpec};
use parley_domain::*;
use parley_store::webhooks::WebhookDelivery;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
    /// Where events are POSTed (`https://…` or `http://…`). Hosts inside the server's own network
    /// (loopback, private, link-local) are refused unless the server allows them.
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    /// The events it wants (at least one). `automation` is sent to the webhook an automation
    /// names, whatever its events.
    #[schema(min_items = 1)]
    pub events: Vec<WebhookEvent>,
    /// Whether it may hear of internal messages and conversations; off unless said.
    #[serde(default)]
    pub internal: bool,
    #[serde(default = "on")]
    pub enabled: bool,
}

fn on() -> bool {
    true
}

impl WebhookBody {
    fn spec(self) -> (WebhookSpec, bool) {
        (WebhookSpec { name: self.name, url: self.url, events: self.events, internal: self.internal }, self.enabled)
    }
}

#[derive(Deserialize, IntoParams)]
pub struct DeliveriesQuery {
    /// Only deliveries older than this one (the `id` of the last of the previous page).
    #[serde(default, deserialize_with = "crate::extract::whole_or_none")]
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// 1 to 100; default 50.
    #[serde(default = "fifty", deserialize_with = "crate::extract::whole")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: i64,
}

fn fifty() -> i64 {
    50
}

/// The webhooks, each with the automations that call it. Secrets are never listed.
#[utoipa::path(get, operation_id = "list_webhooks", path = "/api/v1/webhooks", tag = "messaging center",
    responses((status = 200, body = Vec<WebhookView>)))]
pub async fn list(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<WebhookView>>> {
    Ok(Json(app.webhooks(actor).await?))
}

/// Register an endpoint. The answer holds its signing secret (`whsec_…`), shown this once. 422
/// `invalid_url` for a URL that is not `http(s)`, holds credentials or points inside the network.
#[utoipa::path(post, operation_id = "create_webhook", path = "/api/v1/webhooks", request_body = WebhookBody, tag = "messaging center",
    responses((status = 201, body = WebhookWithSecret), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(body): Json<WebhookBody>,
) -> ApiResult<(StatusCode, Json<WebhookWithSecret>)> {
    let (spec, enabled) = body.spec();
    Ok((StatusCode::CREATED, Json(app.create_webhook(actor, spec, enabled).await?)))
}

/// Change a webhook, or turn it off: it hears no new events, and deliveries already queued wait
/// until it is on again.
#[utoipa::path(put, operation_id = "update_webhook", path = "/api/v1/webhooks/{id}", request_body = WebhookBody, tag = "messaging center",
    params(("id" = i64, Path)), responses((status = 200, body = Webhook), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(body): Json<WebhookBody>,
) -> ApiResult<Json<Webhook>> {
    let (spec, enabled) = body.spec();
    Ok(Json(app.update_webhook(actor, WebhookId(id), spec, enabled).await?))
}

/// Delete a webhook and its log. 409 `webhook_in_use` while an automation calls it.
#[utoipa::path(delete, operation_id = "delete_webhook", path = "/api/v1/webhooks/{id}", tag = "messaging center",
    params(("id" = i64, Path)), responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<StatusCode> {
    app.delete_webhook(actor, WebhookId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once; the old one signs nothing more.
#[utoipa::path(post, operation_id = "renew_webhook_secret", path = "/api/v1/webhooks/{id}/secret", tag = "messaging center",
    params(("id" = i64, Path)), responses((status = 200, body = WebhookWithSecret)))]
pub async fn renew_secret(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<WebhookWithSecret>> {
    Ok(Json(app.renew_webhook_secret(actor, WebhookId(id)).await?))
}

/// What was sent to a webhook, newest first: each delivery's body, state and tries (when, the
/// HTTP status or why there was none, how long it took).
#[utoipa::path(get, operation_id = "list_webhook_deliveries", path = "/api/v1/webhooks/{id}/deliveries", tag = "messaging center",
    params(("id" = i64, Path), DeliveriesQuery), responses((status = 200, body = Vec<WebhookDelivery>)))]
pub async fn deliveries(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Query(q): Query<DeliveriesQuery>,
) -> ApiResult<Json<Vec<WebhookDelivery>>> {
    let before = q.before.map(WebhookDeliveryId);
    Ok(Json(app.webhook_deliveries(actor, WebhookId(id), before, q.limit).await?))
}

/// Send a delivery again now, whatever became of it: one more try.
#[utoipa::path(post, operation_id = "resend_webhook_delivery", path = "/api/v1/webhooks/{id}/deliveries/{delivery}/resend", tag = "messaging center",
    params(("id" = i64, Path), ("delivery" = i64, Path)), responses((status = 202)))]
pub async fn resend(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, delivery)): Path<(Id, Id)>,
) -> ApiResult<StatusCode> {
    app.resend_webhook_delivery(actor, WebhookId(id.0), WebhookDeliveryId(delivery.0)).await?;
    Ok(StatusCode::ACCEPTED)
}
