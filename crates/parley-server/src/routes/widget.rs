//! The live-chat widget's visitors.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Json;
use crate::routes::auth::session_response;
use axum::extract::State;
use axum::response::IntoResponse;
use parley_app::App;
use parley_domain::Customer;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorBody {
    /// How the visitor wants to be called; "Visitor" if not given.
    pub name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    pub email: String,
    pub name: Option<String>,
}

/// Start an anonymous live-chat visitor (a customer without an address) and log them in. The
/// widget keeps the token and sends it as a bearer token.
#[utoipa::path(post, path = "/api/v1/widget/visitors", request_body = VisitorBody, tag = "widget",
    responses((status = 200, body = crate::routes::auth::Session), (status = 400, body = crate::error::ErrorBody)))]
pub async fn start_visitor(State(app): State<App>, Json(body): Json<VisitorBody>) -> ApiResult<impl IntoResponse> {
    let login = app.start_visitor(body.name.as_deref()).await?;
    session_response(&app, login).await
}

/// A visitor gives the address that replies they miss are emailed to. Once; 409 `email_taken`
/// when another customer has it.
#[utoipa::path(post, path = "/api/v1/widget/contact", request_body = ContactBody, tag = "widget",
    responses((status = 200, body = Customer), (status = 409, body = crate::error::ErrorBody)))]
pub async fn set_contact(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(body): Json<ContactBody>,
) -> ApiResult<Json<Customer>> {
    Ok(Json(app.set_visitor_contact(actor, &body.email, body.name.as_deref()).await?))
}
