//! The live-chat widget's visitors.

use crate::auth::{Auth, ClientIp};
use crate::error::ApiResult;
use crate::extract::Json;
use crate::routes::auth::session_response;
use axum::extract::State;
use axum::response::IntoResponse;
use parley_app::{App, Attempt};
use parley_domain::Customer;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorBody {
    /// How the visitor wants to be called; "Visitor" if not given.
    #[schema(schema_with = crate::schema::blank_or_name_or_null)]
    pub name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    #[schema(schema_with = crate::schema::email)]
    pub email: String,
    #[schema(schema_with = crate::schema::name_or_null)]
    pub name: Option<String>,
}

/// Start an anonymous live-chat visitor (a customer without an address) and log them in. The
/// widget keeps the token and sends it as a bearer token.
#[utoipa::path(post, path = "/api/v1/widget/visitors", request_body = VisitorBody, tag = "widget",
    responses((status = 200, body = crate::routes::auth::Session), (status = 400, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn start_visitor(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    Json(body): Json<VisitorBody>,
) -> ApiResult<impl IntoResponse> {
    app.limits().check(Attempt::Visitor, ip, None)?;
    let login = app.start_visitor(body.name.as_deref()).await?;
    session_response(&app, login).await
}

/// A visitor gives the address that replies they miss are emailed to (R36). It stays unverified
/// (`unverified_email`) and a 6-digit code to prove it is emailed to it; the answer is the same
/// whether or not the address belongs to a customer. While unverified it may be corrected (a new
/// code goes out); 409 `contact_already_given` once proven.
#[utoipa::path(post, path = "/api/v1/widget/contact", request_body = ContactBody, tag = "widget",
    responses((status = 200, body = Customer), (status = 400, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn set_contact(
    State(app): State<App>,
    Auth(actor): Auth,
    ClientIp(ip): ClientIp,
    Json(body): Json<ContactBody>,
) -> ApiResult<Json<Customer>> {
    app.limits().check(Attempt::Contact, ip, Some(&body.email))?;
    Ok(Json(app.set_visitor_contact(actor, &body.email, body.name.as_deref()).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The 6-digit code emailed to the address.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// What proving the address did: the customer now holding the chat and, when that is an existing
/// customer with this address, a new session of theirs for the widget to use from now on (the
/// visitor's own session has ended).
#[derive(Serialize, ToSchema)]
pub struct VerifiedAnswer {
    pub customer: Customer,
    pub session: Option<crate::routes::auth::Session>,
}

/// Prove the address with the emailed code (R36): the visitor becomes the customer with this
/// address, joining its organization, or their chat moves to the existing customer who has it.
#[utoipa::path(post, path = "/api/v1/widget/verify", request_body = VerifyBody, tag = "widget",
    responses((status = 200, body = VerifiedAnswer), (status = 400, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn verify(
    State(app): State<App>,
    Auth(actor): Auth,
    ClientIp(ip): ClientIp,
    Json(body): Json<VerifyBody>,
) -> ApiResult<Json<VerifiedAnswer>> {
    app.limits().check(Attempt::Verify, ip, None)?;
    let verified = app.verify_visitor_email(actor, &body.code).await?;
    let session = match verified.session {
        Some(login) => Some(crate::routes::auth::session_of(&app, login).await?),
        None => None,
    };
    Ok(Json(VerifiedAnswer { customer: verified.customer, session }))
}
