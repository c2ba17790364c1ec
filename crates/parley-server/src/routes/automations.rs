//! R29: the automations of the messaging center (admins).

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, AutomationView};
use parley_domain::automation::{Action, AutomationSpec, EmailRecipient, Trigger};
use parley_domain::*;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomationBody {
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
    /// What sets it off (`new_message` is the core rule's alone: 400).
    #[schema(schema_with = crate::schema::automation_trigger)]
    pub trigger: Trigger,
    /// Only items and conversations of this project.
    #[serde(default)]
    pub project_id: Option<ProjectId>,
    /// Only items of this kind.
    #[serde(default)]
    pub item_kind: Option<ItemKind>,
    /// For `no_user_reply`: how many minutes a customer's message waits for a user before the bot
    /// speaks, 1 to 10,080 (a week); 60 if left out. Other triggers do not wait: a wait given to them is dropped.
    #[serde(default, deserialize_with = "whole_minutes")]
    #[schema(minimum = 1, maximum = 10080)]
    pub minutes: Option<i64>,
    /// `post_message` (the default): the bot posts `body`; `send_email`: the `template` goes to
    /// `recipients` and `address`; `call_webhook`: the webhook `webhook_id` hears of it.
    #[serde(default = "post_message")]
    #[schema(schema_with = crate::schema::automation_action)]
    pub action: Action,
    /// For `post_message`: into the item's (or the conversation's) public or internal
    /// conversation, made if missing. Public unless said.
    #[serde(default = "public")]
    pub visibility: Visibility,
    /// For `post_message`: what the bot says (Markdown).
    #[serde(default)]
    #[schema(max_length = 50000)]
    pub body: String,
    /// For `send_email`: an automated email's template (see `/api/v1/templates`).
    #[serde(default)]
    pub template: Option<String>,
    /// For `send_email`: who of the item's (or conversation's) people get it — each only if they
    /// may see it.
    #[serde(default)]
    pub recipients: Vec<EmailRecipient>,
    /// For `send_email`: a fixed address that gets it too.
    #[serde(default)]
    pub address: Option<String>,
    /// For `call_webhook`: the webhook.
    #[serde(default)]
    pub webhook_id: Option<WebhookId>,
    #[serde(default = "on")]
    pub enabled: bool,
}

/// A whole number of minutes, also when a JSON encoder wrote it as `45.0`.
fn whole_minutes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "parley_domain::ids::integral")] i64);
    Ok(Option::<Whole>::deserialize(d)?.map(|Whole(m)| m))
}

fn post_message() -> Action {
    Action::PostMessage
}

fn public() -> Visibility {
    Visibility::Public
}

fn on() -> bool {
    true
}

impl AutomationBody {
    fn spec(self) -> (AutomationSpec, bool) {
        let spec = AutomationSpec {
            name: self.name,
            trigger: self.trigger,
            project_id: self.project_id,
            item_kind: self.item_kind,
            minutes: self.minutes,
            action: self.action,
            visibility: self.visibility,
            body: self.body,
            template: self.template,
            recipients: self.recipients,
            address: self.address,
            webhook_id: self.webhook_id,
        };
        (spec, self.enabled)
    }
}

/// The automations: the core rule first, each with who it reaches and whether it is on.
#[utoipa::path(get, operation_id = "list_automations", path = "/api/v1/automations", tag = "messaging center",
    responses((status = 200, body = Vec<AutomationView>)))]
pub async fn list(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<AutomationView>>> {
    Ok(Json(app.automations(actor).await?))
}

/// Add an automation. 422 `unknown_project`, `unknown_template`, `unknown_webhook`, and
/// `invalid_action` for an action without what it needs; 400 for a trigger or action that is the
/// core rule's.
#[utoipa::path(post, operation_id = "create_automation", path = "/api/v1/automations", request_body = AutomationBody, tag = "messaging center",
    responses((status = 201, body = AutomationView), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(body): Json<AutomationBody>,
) -> ApiResult<(StatusCode, Json<AutomationView>)> {
    let (spec, enabled) = body.spec();
    Ok((StatusCode::CREATED, Json(app.create_automation(actor, spec, enabled).await?)))
}

/// Change an automation, or turn it on or off. The core rule answers 409 `core_rule`: its text is
/// the `new_message` template.
#[utoipa::path(put, operation_id = "update_automation", path = "/api/v1/automations/{id}", request_body = AutomationBody, tag = "messaging center",
    params(("id" = i64, Path)),
    responses((status = 200, body = AutomationView), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(body): Json<AutomationBody>,
) -> ApiResult<Json<AutomationView>> {
    let (spec, enabled) = body.spec();
    Ok(Json(app.update_automation(actor, AutomationId(id), spec, enabled).await?))
}

/// Delete an automation. The core rule answers 409 `core_rule`.
#[utoipa::path(delete, operation_id = "delete_automation", path = "/api/v1/automations/{id}", tag = "messaging center", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<StatusCode> {
    app.delete_automation(actor, AutomationId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
