//! R30: the templates of automated emails (admins): listed with the automations that send them,
//! added, and deleted while no automation sends them. Editing and previewing are the routes every
//! template shares (`/api/v1/templates/{name}`, `…/preview`).

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, TemplateEdit, TemplateSummary};
use parley_store::Template;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateBody {
    /// 1 to 64 of `a-z`, `0-9`, `_` and `-`; not `new_message`.
    #[schema(pattern = "^[a-z0-9_-]{1,64}$")]
    pub name: String,
    /// minijinja source of the subject line.
    #[schema(min_length = 1, max_length = 100000, pattern = "\\S")]
    pub subject: String,
    /// minijinja source of the plain-text part; a short default when left out or blank.
    #[serde(default)]
    #[schema(max_length = 100000)]
    pub body_text: String,
    /// minijinja source of the HTML part (values are escaped unless marked `|safe`); a short
    /// default when left out or blank.
    #[serde(default)]
    #[schema(max_length = 100000)]
    pub body_html: String,
}

/// Every email template — the new-message one, the system emails' and the automated emails' —
/// each with what it is for and the automations that send it.
#[utoipa::path(get, operation_id = "list_templates", path = "/api/v1/templates", tag = "messaging center",
    responses((status = 200, body = Vec<TemplateSummary>)))]
pub async fn list(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<TemplateSummary>>> {
    Ok(Json(app.templates(actor).await?))
}

/// Add an automated email's template. It must render with sample values (422
/// `invalid_template`, naming the part and line); 409 `template_exists` for a name taken.
#[utoipa::path(post, operation_id = "create_template", path = "/api/v1/templates", request_body = NewTemplateBody, tag = "messaging center",
    responses((status = 201, body = Template), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(b): Json<NewTemplateBody>,
) -> ApiResult<(StatusCode, Json<Template>)> {
    let edit = TemplateEdit { subject: b.subject, body_text: b.body_text, body_html: b.body_html };
    Ok((StatusCode::CREATED, Json(app.create_template(actor, &b.name, edit).await?)))
}

/// Delete an automated email's template. 409 `built_in` for the new-message and system email
/// templates; 409 `template_in_use` while an automation sends it.
#[utoipa::path(delete, operation_id = "delete_template", path = "/api/v1/templates/{name}", tag = "messaging center",
    params(("name" = String, Path)),
    responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(State(app): State<App>, Auth(actor): Auth, Path(name): Path<String>) -> ApiResult<StatusCode> {
    app.delete_template(actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
