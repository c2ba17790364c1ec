//! Who is asking: a bearer token (session or API token) or the session cookie.

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use parley_app::{Actor, App};

pub const SESSION_COOKIE: &str = "parley_session";

/// The authenticated asker, as the policy gate (`crate::policy`) found it. Every endpoint but
/// the open ones takes one.
pub struct Auth(pub Actor);

/// The raw token the request carried, if any.
pub fn token_of(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(|t| t.trim().to_string());
    }
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &App) -> Result<Self, Self::Rejection> {
        // The policy gate authenticated the request; a handler of an open route has no asker.
        let asker = parts.extensions.get::<crate::policy::Asker>();
        Ok(Auth(asker.ok_or(parley_app::AppError::Unauthenticated)?.auth.actor))
    }
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(token: &str, max_age_secs: i64) -> String {
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}")
}

/// The `Set-Cookie` value that ends a session.
pub fn cleared_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
}

/// The client's IP address, for per-client limits (R39): from the header a trusted reverse proxy
/// sets (`--client-ip-header`, its last entry), else the connection's peer address.
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl FromRequestParts<App> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if let Some(header) = &app.config().client_ip_header {
            let forwarded = parts
                .headers
                .get_all(header.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|ip| ip.trim().parse().ok())
                .next_back();
            if forwarded.is_some() {
                return Ok(ClientIp(forwarded));
            }
        }
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientIp(peer))
    }
}
