//! Logging in and out, the asker's identity, and personal API tokens.

use crate::auth::{cleared_cookie, session_cookie, token_of, Auth, ClientIp};
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path};
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use parley_app::{Actor, App, Attempt, LoginResult};
use parley_domain::*;
use parley_store::ApiToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

/// A session: send `token` as `Authorization: Bearer …`, or rely on the cookie set with it.
#[derive(Serialize, ToSchema)]
pub struct Session {
    pub token: String,
    pub expires_at: i64,
    #[serde(flatten)]
    pub me: Me,
}

/// The asker: a user or a customer.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Me {
    User { user: User },
    Customer { customer: Customer },
}

async fn me_of(app: &App, actor: Actor) -> ApiResult<Me> {
    Ok(match actor {
        Actor::User { id, .. } => Me::User { user: app.user(actor, id).await? },
        Actor::Customer { id } => Me::Customer { customer: app.customer(actor, id).await? },
    })
}

pub(crate) async fn session_of(app: &App, login: LoginResult) -> ApiResult<Session> {
    let me = me_of(app, login.actor).await?;
    Ok(Session { token: login.token, expires_at: login.expires_at, me })
}

pub(crate) async fn session_response(app: &App, login: LoginResult) -> ApiResult<impl IntoResponse> {
    let max_age = app.config().session_ttl.as_secs() as i64;
    let cookie = session_cookie(&login.token, max_age);
    Ok(([(SET_COOKIE, cookie)], Json(session_of(app, login).await?)))
}

/// Log in as a user. Limited per client and per address (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginBody, tag = "auth",
    responses((status = 200, body = Session), (status = 401, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn login(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginBody>,
) -> ApiResult<impl IntoResponse> {
    app.limits().check(Attempt::Login, ip, Some(&body.email))?;
    let login = app.login_user(&body.email, &body.password).await?;
    session_response(&app, login).await
}

/// Log in as a customer (portal). Limited per client and per address.
#[utoipa::path(post, path = "/api/v1/auth/customer-login", request_body = LoginBody, tag = "auth",
    responses((status = 200, body = Session), (status = 401, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn customer_login(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginBody>,
) -> ApiResult<impl IntoResponse> {
    app.limits().check(Attempt::Login, ip, Some(&body.email))?;
    let login = app.login_customer(&body.email, &body.password).await?;
    session_response(&app, login).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequestBody {
    #[schema(schema_with = crate::schema::email)]
    pub email: String,
    /// The conversation the link should open after login (a page of the portal reached from an
    /// email); the link opens the portal's list otherwise. It opens it only for its reader.
    #[serde(default)]
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    pub conversation_id: Option<ConversationId>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    /// The token from the emailed link.
    pub token: String,
}

/// Email a customer a one-time login link (valid 15 minutes). Answers 202 whether or not the
/// address belongs to a customer.
#[utoipa::path(post, path = "/api/v1/auth/customer-link", request_body = LinkRequestBody, tag = "auth",
    responses((status = 202), (status = 400, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn request_customer_link(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LinkRequestBody>,
) -> ApiResult<StatusCode> {
    app.limits().check(Attempt::LoginLink, ip, Some(&body.email))?;
    if body.conversation_id.is_some_and(|c| c.0 < 1) {
        return Err(parley_app::AppError::from(ValidationError::new("conversation_id", "must be a positive id")).into());
    }
    app.request_login_link(&body.email, body.conversation_id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Log in as a customer with an emailed link; each link works once.
#[utoipa::path(post, path = "/api/v1/auth/customer-link/redeem", request_body = RedeemBody, tag = "auth",
    responses((status = 200, body = Session), (status = 401, body = crate::error::ErrorBody)))]
pub async fn redeem_customer_link(
    State(app): State<App>,
    Json(body): Json<RedeemBody>,
) -> ApiResult<impl IntoResponse> {
    let login = app.redeem_login_link(&body.token).await?;
    session_response(&app, login).await
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(app): State<App>, _auth: Auth, parts: Parts) -> ApiResult<impl IntoResponse> {
    if let Some(token) = token_of(&parts) {
        app.logout(&token).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cleared_cookie())]))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeBody {
    pub current_password: String,
    #[schema(schema_with = crate::schema::password)]
    pub new_password: String,
}

/// Change my password (users and customers with a password). Every other session ends, with its
/// realtime connections (R38); this one stays.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = PasswordChangeBody, tag = "auth",
    responses((status = 204), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn change_password(
    State(app): State<App>,
    Auth(actor): Auth,
    ClientIp(ip): ClientIp,
    parts: Parts,
    Json(body): Json<PasswordChangeBody>,
) -> ApiResult<StatusCode> {
    let account = format!("{}:{}", actor.party().kind_str(), actor.party().raw_id());
    app.limits().check(Attempt::PasswordChange, ip, Some(&account))?;
    let token = token_of(&parts).unwrap_or_default();
    app.change_password(actor, &token, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who am I?
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me)))]
pub async fn me(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Me>> {
    Ok(Json(me_of(&app, actor).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwayBody {
    pub away: bool,
}

/// R42: set myself away (new conversations are not routed to me; colleagues see it) or back.
#[utoipa::path(put, path = "/api/v1/me/away", request_body = AwayBody, tag = "auth", responses((status = 200, body = User)))]
pub async fn set_away(State(app): State<App>, Auth(actor): Auth, Json(body): Json<AwayBody>) -> ApiResult<Json<User>> {
    Ok(Json(app.set_away(actor, body.away).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
}

/// A new API token; `token` is shown only in this answer.
#[derive(Serialize, ToSchema)]
pub struct NewToken {
    pub token: String,
    pub api_token: ApiToken,
}

/// My API tokens.
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "auth", responses((status = 200, body = Vec<ApiToken>)))]
pub async fn tokens(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(app.api_tokens(actor).await?))
}

/// Create an API token.
#[utoipa::path(post, path = "/api/v1/me/tokens", request_body = NewTokenBody, tag = "auth",
    responses((status = 201, body = NewToken)))]
pub async fn create_token(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(body): Json<NewTokenBody>,
) -> ApiResult<(StatusCode, Json<NewToken>)> {
    let (api_token, token) = app.create_api_token(actor, &body.name).await?;
    Ok((StatusCode::CREATED, Json(NewToken { token, api_token })))
}

/// Revoke an API token.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "auth", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_token(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<StatusCode> {
    app.delete_api_token(actor, ApiTokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
