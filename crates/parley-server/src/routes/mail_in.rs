//! Email in: relays post raw mail, admins read the incoming log (R32) and manage relay tokens.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Id, Json, Path, Query};
use crate::policy::Relay;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Extension;
use parley_app::{App, Via};
use parley_domain::*;
use parley_store::{InboundToken, IncomingEmail};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Largest incoming mail, through the relay endpoint and the SMTP listener alike.
pub const MAX_MAIL_BYTES: usize = 10 * 1024 * 1024;

/// Post one incoming email as the raw RFC 5322 message (`Content-Type: message/rfc822`), for mail
/// relays and providers that post inbound mail. Authenticated by a relay token
/// (`POST /api/v1/inbound-tokens`). The answer is the mail's entry in the incoming log: what it
/// did (posted, started a conversation, refused and why, ignored as automatic, duplicate). A From
/// address writing too often (R19) is answered 429, with `Retry-After`, and nothing is kept.
#[utoipa::path(post, path = "/api/v1/inbound/email", tag = "email in",
    request_body(content = String, content_type = "message/rfc822", description = "The raw message, at most 10 MiB"),
    responses((status = 200, body = IncomingEmail), (status = 429, body = crate::error::ErrorBody)))]
pub async fn receive_email(
    State(app): State<App>,
    Extension(relay): Extension<Relay>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<IncomingEmail>> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("message/rfc822") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the raw message with Content-Type: message/rfc822",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", "the body is empty: send the raw message"));
    }
    tracing::debug!(relay = %relay.0, bytes = body.len(), "incoming email from a relay");
    Ok(Json(app.receive_email(body.to_vec(), Via::Http, &[], None).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct IncomingQuery {
    /// 1 to 500; default 200.
    #[serde(default = "two_hundred", deserialize_with = "crate::extract::whole")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: i64,
}

fn two_hundred() -> i64 {
    200
}

/// The incoming email log of the last 72 hours, newest first (R32). Admins only.
#[utoipa::path(get, path = "/api/v1/incoming-emails", tag = "email in", params(IncomingQuery),
    responses((status = 200, body = Vec<IncomingEmail>)))]
pub async fn incoming_log(
    State(app): State<App>,
    Auth(actor): Auth,
    Query(q): Query<IncomingQuery>,
) -> ApiResult<Json<Vec<IncomingEmail>>> {
    Ok(Json(app.incoming_emails(actor, q.limit).await?))
}

/// One incoming email's log entry. Admins only.
#[utoipa::path(get, path = "/api/v1/incoming-emails/{id}", tag = "email in", params(("id" = i64, Path)),
    responses((status = 200, body = IncomingEmail)))]
pub async fn incoming_email(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<IncomingEmail>> {
    Ok(Json(app.incoming_email(actor, IncomingEmailId(id)).await?))
}

/// The original message as it arrived, for 72 hours. Admins only.
#[utoipa::path(get, path = "/api/v1/incoming-emails/{id}/raw", tag = "email in", params(("id" = i64, Path)),
    responses((status = 200, content_type = "message/rfc822", body = String)))]
pub async fn incoming_raw(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<impl IntoResponse> {
    Ok(eml_download(app.incoming_email_raw(actor, IncomingEmailId(id)).await?, "message.eml"))
}

/// A raw mail as a download of inert text, never rendered by the browser.
fn eml_download(raw: Vec<u8>, filename: &'static str) -> impl IntoResponse {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (CONTENT_TYPE, "message/rfc822".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        raw,
    )
}

/// The original email a message was posted from (R17), as it arrived, for 72 hours; users who may
/// see the message only. 404 for a message that did not come by email.
#[utoipa::path(get, path = "/api/v1/messages/{id}/original", tag = "email in", params(("id" = i64, Path)),
    responses((status = 200, content_type = "message/rfc822", body = String)))]
pub async fn message_original(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<impl IntoResponse> {
    Ok(eml_download(app.message_original(actor, MessageId(id)).await?, "original.eml"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelayTokenBody {
    /// Which relay uses it, e.g. "Postfix on mx1".
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
}

/// A new relay token; `token` is shown only in this answer.
#[derive(Serialize, ToSchema)]
pub struct NewRelayToken {
    pub token: String,
    pub inbound_token: InboundToken,
}

/// The relay tokens. Admins only.
#[utoipa::path(get, path = "/api/v1/inbound-tokens", tag = "email in", responses((status = 200, body = Vec<InboundToken>)))]
pub async fn relay_tokens(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<InboundToken>>> {
    Ok(Json(app.inbound_tokens(actor).await?))
}

/// Create a relay token, for `POST /api/v1/inbound/email`. Admins only.
#[utoipa::path(post, path = "/api/v1/inbound-tokens", request_body = NewRelayTokenBody, tag = "email in",
    responses((status = 201, body = NewRelayToken)))]
pub async fn create_relay_token(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(body): Json<NewRelayTokenBody>,
) -> ApiResult<(StatusCode, Json<NewRelayToken>)> {
    let (inbound_token, token) = app.create_inbound_token(actor, &body.name).await?;
    Ok((StatusCode::CREATED, Json(NewRelayToken { token, inbound_token })))
}

/// Revoke a relay token. Admins only.
#[utoipa::path(delete, path = "/api/v1/inbound-tokens/{id}", tag = "email in", params(("id" = i64, Path)),
    responses((status = 204)))]
pub async fn delete_relay_token(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<StatusCode> {
    app.delete_inbound_token(actor, InboundTokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
