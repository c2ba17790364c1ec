//! Company settings (R3 default visibilities, R18 tickets for new requests by email).

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Json;
use axum::extract::State;
use parley_app::App;
use parley_domain::*;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    #[schema(schema_with = crate::schema::name_or_null)]
    pub name: Option<String>,
    pub item_default_visibility: Option<Visibility>,
    pub project_default_visibility: Option<Visibility>,
    /// R18: the project in which a new request by email opens a ticket; `null`: none (the request
    /// is an independent conversation). Left out: unchanged.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    pub email_ticket_project_id: Option<Option<ProjectId>>,
    /// The project in which a customer's new request from the portal opens a ticket; `null`: the
    /// portal takes no new requests. Left out: unchanged.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    pub portal_request_project_id: Option<Option<ProjectId>>,
    /// The name every user goes by to customers ("ACME Support"); blank or `null`: each by
    /// their own name. Left out: unchanged.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::schema::blank_or_name_or_null)]
    pub staff_display_name: Option<Option<String>>,
    /// What the live-chat widget says before the visitor's first message.
    #[schema(schema_with = crate::schema::greeting_or_null)]
    pub widget_greeting: Option<String>,
    /// The reply time the widget promises; blank: none.
    #[schema(schema_with = crate::schema::blank_or_name_or_null)]
    pub widget_reply_time: Option<String>,
    /// R33: how long a reply is held in a chat (a conversation begun in the widget), in ms, at
    /// most 300000; `null`: the deployment's default. Left out: unchanged.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(value_type = Option<i64>, nullable, minimum = 0, maximum = 300000)]
    pub chat_send_guard_ms: Option<Option<i64>>,
    /// R33: how long a reply is held in every other conversation, in ms; `null`: the
    /// deployment's default. Left out: unchanged.
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(value_type = Option<i64>, nullable, minimum = 0, maximum = 300000)]
    pub send_guard_ms: Option<Option<i64>>,
    /// R42: a new conversation from a customer is assigned round-robin to an available user
    /// (`round_robin`) or goes to everyone who may see it (`everyone`).
    pub routing: Option<parley_domain::routing::Routing>,
    /// R42: open conversations a user is assigned before round-robin passes them by (1 to 1000).
    #[serde(default, deserialize_with = "whole")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub routing_cap: Option<i64>,
}

/// A field that is present, `null` included (absent is `None` by `default`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A whole number or `null`, present (`12.0` is read as 12, as JSON Schema's integers allow).
fn present_whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<Whole>::deserialize(d).map(|n| Some(n.map(|Whole(n)| n)))
}

/// A whole number when present; `null` as if left out.
fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<Whole>::deserialize(d).map(|n| n.map(|Whole(n)| n))
}

#[derive(Deserialize)]
struct Whole(#[serde(deserialize_with = "parley_domain::ids::integral")] i64);

/// The company and its settings.
#[utoipa::path(get, path = "/api/v1/company", tag = "company", responses((status = 200, body = Company)))]
pub async fn get_company(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Company>> {
    Ok(Json(app.company(actor).await?))
}

/// Change the company's name, default visibilities, where email and portal requests open
/// tickets, how staff are named to customers, the widget's greeting, the send guards and how new
/// conversations are routed (admins).
#[utoipa::path(patch, path = "/api/v1/company", request_body = CompanyPatch, tag = "company",
    responses((status = 200, body = Company), (status = 403, body = crate::error::ErrorBody)))]
pub async fn update_company(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(patch): Json<CompanyPatch>,
) -> ApiResult<Json<Company>> {
    let current = app.company(actor).await?.settings;
    let settings = CompanySettings {
        item_default_visibility: patch.item_default_visibility.unwrap_or(current.item_default_visibility),
        project_default_visibility: patch.project_default_visibility.unwrap_or(current.project_default_visibility),
        email_ticket_project_id: patch.email_ticket_project_id.unwrap_or(current.email_ticket_project_id),
        portal_request_project_id: patch.portal_request_project_id.unwrap_or(current.portal_request_project_id),
        staff_display_name: patch.staff_display_name.unwrap_or(current.staff_display_name),
        widget_greeting: patch.widget_greeting.unwrap_or(current.widget_greeting),
        widget_reply_time: patch.widget_reply_time.unwrap_or(current.widget_reply_time),
        chat_send_guard_ms: patch.chat_send_guard_ms.unwrap_or(current.chat_send_guard_ms),
        send_guard_ms: patch.send_guard_ms.unwrap_or(current.send_guard_ms),
        routing: patch.routing.unwrap_or(current.routing),
        routing_cap: patch.routing_cap.unwrap_or(current.routing_cap),
    };
    Ok(Json(app.update_company(actor, patch.name.as_deref(), settings).await?))
}
