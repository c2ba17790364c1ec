//! Password resets and links, system emails (R31), customer and project invitations (R25).

use crate::auth::{Auth, ClientIp};
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, AppError, Attempt, SystemEmailSetting};
use parley_domain::system_email::{Invitation, SystemEmail};
use parley_domain::*;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestBody {
    #[schema(schema_with = crate::schema::email)]
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordBody {
    /// The token from the emailed link.
    pub token: String,
    #[schema(schema_with = crate::schema::password)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemEmailPatch {
    pub enabled: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    pub user_id: UserId,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationLinkBody {
    /// The token from the emailed link.
    pub token: String,
}

/// Email a link to choose a new password (valid 1 hour, once) to the user and the customer with
/// this address. Answers 202 whether or not anyone has it. Limited per client and per address
/// (429), and to 3 links per person in 10 minutes.
#[utoipa::path(post, operation_id = "request_password_reset", path = "/api/v1/auth/password-reset", request_body = ResetRequestBody, tag = "auth",
    responses((status = 202), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn request_reset(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    Json(body): Json<ResetRequestBody>,
) -> ApiResult<StatusCode> {
    app.limits().check(Attempt::PasswordReset, ip, Some(&body.email))?;
    app.request_password_reset(&body.email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Choose a password with an emailed link (reset, welcome or portal invitation), once. Every
/// session and API token of the account ends (R38). 422 `invalid_link` for a link unknown, used or
/// expired; 400 for a password too short or too easy to guess.
#[utoipa::path(post, operation_id = "set_password_with_link", path = "/api/v1/auth/set-password", request_body = SetPasswordBody, tag = "auth",
    responses((status = 204), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn set_password(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    Json(body): Json<SetPasswordBody>,
) -> ApiResult<StatusCode> {
    app.limits().check(Attempt::PasswordReset, ip, None)?;
    app.set_password_with_link(&body.token, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The system emails (admins): what each is sent on, whether it is on, its template.
#[utoipa::path(get, operation_id = "list_system_emails", path = "/api/v1/system-emails", tag = "messaging center",
    responses((status = 200, body = Vec<SystemEmailSetting>)))]
pub async fn system_emails(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<SystemEmailSetting>>> {
    Ok(Json(app.system_emails(actor).await?))
}

/// Turn a system email on or off (admins). The password reset cannot be turned off: 409
/// `always_sent`.
#[utoipa::path(patch, path = "/api/v1/system-emails/{kind}", request_body = SystemEmailPatch, tag = "messaging center",
    params(("kind" = SystemEmail, Path)),
    responses((status = 200, body = SystemEmailSetting), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn set_system_email(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(kind): Path<String>,
    Json(body): Json<SystemEmailPatch>,
) -> ApiResult<Json<SystemEmailSetting>> {
    let kind = SystemEmail::parse(&kind).ok_or(AppError::NotFound("system email"))?;
    Ok(Json(app.set_system_email(actor, kind, body.enabled).await?))
}

/// Invite a customer to the portal: they are emailed a link to choose a password (valid 7 days).
/// 409 `email_turned_off` when an admin turned that email off.
#[utoipa::path(post, path = "/api/v1/customers/{id}/invite", tag = "people", params(("id" = i64, Path)),
    responses((status = 202), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn invite_customer(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<StatusCode> {
    app.invite_customer(actor, CustomerId(id)).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Invite a user into a project as a member (admins). A user who accepts all invitations (R25) is
/// a member at once; anyone else is emailed and answers. 409 `already_member`,
/// `invitation_pending`.
#[utoipa::path(post, path = "/api/v1/projects/{id}/invitations", request_body = InvitationBody, tag = "projects",
    params(("id" = i64, Path)),
    responses((status = 201, body = Invitation), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn invite_to_project(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(body): Json<InvitationBody>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    Ok((StatusCode::CREATED, Json(app.invite_to_project(actor, ProjectId(id), body.user_id).await?)))
}

/// My invitations waiting for an answer.
#[utoipa::path(get, path = "/api/v1/me/invitations", tag = "projects", responses((status = 200, body = Vec<Invitation>)))]
pub async fn my_invitations(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(app.my_invitations(actor).await?))
}

/// Accept one of my invitations: I become a member of its project. 409 `already_answered`.
#[utoipa::path(post, operation_id = "accept_invitation", path = "/api/v1/invitations/{id}/accept", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, body = Invitation), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn accept(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<Json<Invitation>> {
    Ok(Json(app.answer_invitation(actor, InvitationId(id), true).await?))
}

/// Decline one of my invitations. 409 `already_answered`.
#[utoipa::path(post, operation_id = "decline_invitation", path = "/api/v1/invitations/{id}/decline", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, body = Invitation), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn decline(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<Json<Invitation>> {
    Ok(Json(app.answer_invitation(actor, InvitationId(id), false).await?))
}

/// Accept an invitation with its emailed link, without logging in. 422 `invalid_link`, 409
/// `already_answered`.
#[utoipa::path(post, operation_id = "accept_invitation_link", path = "/api/v1/invitations/accept-link", request_body = InvitationLinkBody, tag = "projects",
    responses((status = 200, body = Invitation), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn accept_link(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    Json(body): Json<InvitationLinkBody>,
) -> ApiResult<Json<Invitation>> {
    app.limits().check(Attempt::PasswordReset, ip, None)?;
    Ok(Json(app.accept_invitation_link(&body.token).await?))
}
