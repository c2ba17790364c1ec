//! Who may call which route: one table, enforced in front of every handler of `/api/v1`.
//!
//! The server tells five kinds of asker apart: nobody (no credential, or one that was logged out,
//! revoked or expired), a customer (a live-chat visitor is one too), a member, an admin, and a
//! mail relay (a relay token an admin made, which speaks for no person). For
//! each route the table says what each kind gets: [`Gate::Pass`] lets the handler run — and the
//! handler still answers 404 for anything outside the asker's reach (R7, R20, R37) — or one of the
//! refusals. A route without a row answers 500 and fails the policy test, so no route is added
//! without deciding who may call it. The answers of the realtime socket are the same as its
//! route's; what each kind of event reaches is decided in `parley_app::realtime::policy`.

use crate::auth::token_of;
use crate::error::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parley_app::{Actor, App, AppError, Authenticated};
use parley_domain::Role;

/// What one kind of asker gets from a route before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The handler runs; it reaches only what the asker may see.
    Pass,
    /// 401: a valid credential is needed.
    Unauthenticated,
    /// 403: the asker may know the route exists, but it is not theirs to use.
    Forbidden,
    /// 404: for this asker the route does not exist.
    Hidden,
}

/// The gates of one route, per kind of asker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub nobody: Gate,
    pub customer: Gate,
    pub member: Gate,
    pub admin: Gate,
    pub relay: Gate,
}

use Gate::{Forbidden, Hidden, Pass, Unauthenticated};

/// Logging in and starting a live chat: anyone.
pub const OPEN: Rule = Rule { nobody: Pass, customer: Pass, member: Pass, admin: Pass, relay: Pass };
/// Anyone logged in; conversations, messages and items are still limited to what they may see.
pub const SIGNED_IN: Rule =
    Rule { nobody: Unauthenticated, customer: Pass, member: Pass, admin: Pass, relay: Unauthenticated };
/// The team's tools: customers are told they do not exist.
pub const STAFF: Rule =
    Rule { nobody: Unauthenticated, customer: Hidden, member: Pass, admin: Pass, relay: Unauthenticated };
/// Company settings, people and email: admins only.
pub const ADMIN: Rule =
    Rule { nobody: Unauthenticated, customer: Hidden, member: Forbidden, admin: Pass, relay: Unauthenticated };
/// The portal's and the widget's own routes.
pub const CUSTOMER: Rule =
    Rule { nobody: Unauthenticated, customer: Pass, member: Forbidden, admin: Forbidden, relay: Unauthenticated };
/// Posting incoming mail: relays only. A person's credential is not a relay's: 403.
pub const RELAY: Rule =
    Rule { nobody: Unauthenticated, customer: Forbidden, member: Forbidden, admin: Forbidden, relay: Pass };

/// Every route of `/api/v1`: method, path as the OpenAPI document writes it, rule.
pub const ROUTES: &[(&str, &str, Rule)] = &[
    ("POST", "/api/v1/auth/login", OPEN),
    ("POST", "/api/v1/auth/customer-login", OPEN),
    ("POST", "/api/v1/auth/customer-link", OPEN),
    ("POST", "/api/v1/auth/customer-link/redeem", OPEN),
    ("POST", "/api/v1/auth/logout", SIGNED_IN),
    ("GET", "/api/v1/me", SIGNED_IN),
    ("GET", "/api/v1/search", SIGNED_IN),
    ("GET", "/api/v1/me/items", CUSTOMER),
    // A widget visitor without a proven address gets 403 from the handler.
    ("POST", "/api/v1/me/requests", CUSTOMER),
    ("GET", "/api/v1/welcome", OPEN),
    // Answers 404 for a message the asker may not read.
    ("GET", "/api/v1/messages/{id}/author", SIGNED_IN),
    ("POST", "/api/v1/me/password", SIGNED_IN),
    ("GET", "/api/v1/me/tokens", STAFF),
    ("POST", "/api/v1/me/tokens", STAFF),
    ("DELETE", "/api/v1/me/tokens/{id}", STAFF),
    ("PUT", "/api/v1/me/away", STAFF),
    ("GET", "/api/v1/company", STAFF),
    ("PATCH", "/api/v1/company", ADMIN),
    ("GET", "/api/v1/users", STAFF),
    ("POST", "/api/v1/users", ADMIN),
    ("GET", "/api/v1/users/{id}", STAFF),
    ("PATCH", "/api/v1/users/{id}", ADMIN),
    // A member reads and changes their own preferences; the handler refuses anyone else's.
    ("GET", "/api/v1/users/{id}/preferences", STAFF),
    ("PATCH", "/api/v1/users/{id}/preferences", STAFF),
    ("GET", "/api/v1/teams", STAFF),
    ("POST", "/api/v1/teams", ADMIN),
    ("POST", "/api/v1/teams/{id}/members", ADMIN),
    ("DELETE", "/api/v1/teams/{id}/members/{user_id}", ADMIN),
    ("GET", "/api/v1/organizations", STAFF),
    ("POST", "/api/v1/organizations", ADMIN),
    ("GET", "/api/v1/customers", STAFF),
    ("POST", "/api/v1/customers", STAFF),
    // A customer reads their own record; the handler answers 404 for anyone else's.
    ("GET", "/api/v1/customers/{id}", SIGNED_IN),
    ("GET", "/api/v1/projects", STAFF),
    ("POST", "/api/v1/projects", STAFF),
    ("GET", "/api/v1/projects/{id}", STAFF),
    // Members get 404 outside their scope and 403 inside it (R37): the handler decides.
    ("POST", "/api/v1/projects/{id}/people", STAFF),
    ("DELETE", "/api/v1/projects/{id}/people/{role}/{kind}/{party_id}", STAFF),
    ("GET", "/api/v1/projects/{id}/items", STAFF),
    ("POST", "/api/v1/items", STAFF),
    ("GET", "/api/v1/items/{id}", SIGNED_IN),
    ("PATCH", "/api/v1/items/{id}", STAFF),
    ("POST", "/api/v1/items/{id}/people", STAFF),
    ("DELETE", "/api/v1/items/{id}/people/{role}/{kind}/{party_id}", STAFF),
    ("GET", "/api/v1/items/{id}/conversations", SIGNED_IN),
    ("POST", "/api/v1/conversations", SIGNED_IN),
    ("GET", "/api/v1/conversations/{id}", SIGNED_IN),
    ("POST", "/api/v1/conversations/{id}/state", STAFF),
    ("GET", "/api/v1/conversations/{id}/state-changes", SIGNED_IN),
    ("POST", "/api/v1/conversations/{id}/link", STAFF),
    ("POST", "/api/v1/conversations/{id}/people", STAFF),
    ("DELETE", "/api/v1/conversations/{id}/people/{role}/{kind}/{party_id}", STAFF),
    ("POST", "/api/v1/conversations/{id}/read", SIGNED_IN),
    ("GET", "/api/v1/conversations/{id}/deliveries", STAFF),
    ("GET", "/api/v1/conversations/{id}/messages", SIGNED_IN),
    ("POST", "/api/v1/conversations/{id}/messages", SIGNED_IN),
    ("POST", "/api/v1/conversations/{id}/attachments", SIGNED_IN),
    ("GET", "/api/v1/attachments/{id}", SIGNED_IN),
    ("GET", "/api/v1/saved-replies", STAFF),
    ("POST", "/api/v1/saved-replies", STAFF),
    ("PUT", "/api/v1/saved-replies/{id}", STAFF),
    ("DELETE", "/api/v1/saved-replies/{id}", STAFF),
    ("POST", "/api/v1/saved-replies/{id}/fill", STAFF),
    ("GET", "/api/v1/attachments/{id}/{name}", SIGNED_IN),
    ("POST", "/api/v1/conversations/{id}/recipients-preview", STAFF),
    ("GET", "/api/v1/messages/{id}/audience", STAFF),
    ("POST", "/api/v1/messages/seen", SIGNED_IN),
    ("POST", "/api/v1/messages/{id}/undo", STAFF),
    ("POST", "/api/v1/messages/{id}/make-internal", STAFF),
    ("GET", "/api/v1/messages/{id}/deliveries", STAFF),
    ("GET", "/api/v1/messages/{id}/original", ADMIN),
    ("GET", "/api/v1/outgoing-emails", ADMIN),
    ("GET", "/api/v1/outgoing-emails/{id}", ADMIN),
    ("GET", "/api/v1/templates/{name}", ADMIN),
    ("PUT", "/api/v1/templates/{name}", ADMIN),
    ("POST", "/api/v1/templates/{name}/preview", ADMIN),
    ("GET", "/api/v1/realtime", SIGNED_IN),
    ("POST", "/api/v1/inbound/email", RELAY),
    ("GET", "/api/v1/incoming-emails", ADMIN),
    ("GET", "/api/v1/incoming-emails/{id}", ADMIN),
    ("GET", "/api/v1/incoming-emails/{id}/raw", ADMIN),
    ("GET", "/api/v1/inbound-tokens", ADMIN),
    ("POST", "/api/v1/inbound-tokens", ADMIN),
    ("DELETE", "/api/v1/inbound-tokens/{id}", ADMIN),
    ("POST", "/api/v1/widget/visitors", OPEN),
    // Only a visitor gives and proves an address; other customers are refused by the handler.
    ("POST", "/api/v1/widget/contact", CUSTOMER),
    ("POST", "/api/v1/widget/verify", CUSTOMER),
    ("GET", "/api/v1/views", SIGNED_IN),
    ("GET", "/api/v1/views/{view}", SIGNED_IN),
    // Anyone may ask for a reset link or use an emailed link: the answer tells nothing about who
    // has an account, and a link speaks for its owner alone.
    ("POST", "/api/v1/auth/password-reset", OPEN),
    ("POST", "/api/v1/auth/set-password", OPEN),
    ("POST", "/api/v1/invitations/accept-link", OPEN),
    ("GET", "/api/v1/system-emails", ADMIN),
    ("PATCH", "/api/v1/system-emails/{kind}", ADMIN),
    ("POST", "/api/v1/customers/{id}/invite", STAFF),
    // Members get 404 outside their scope and 403 inside it (R37): the handler decides.
    ("POST", "/api/v1/projects/{id}/invitations", STAFF),
    ("GET", "/api/v1/me/invitations", STAFF),
    // Someone else's invitation is "not found".
    ("POST", "/api/v1/invitations/{id}/accept", STAFF),
    ("POST", "/api/v1/invitations/{id}/decline", STAFF),
    ("GET", "/api/v1/automations", ADMIN),
    ("POST", "/api/v1/automations", ADMIN),
    ("PUT", "/api/v1/automations/{id}", ADMIN),
    ("DELETE", "/api/v1/automations/{id}", ADMIN),
    ("GET", "/api/v1/templates", ADMIN),
    ("POST", "/api/v1/templates", ADMIN),
    ("DELETE", "/api/v1/templates/{name}", ADMIN),
    ("GET", "/api/v1/webhooks", ADMIN),
    ("POST", "/api/v1/webhooks", ADMIN),
    ("PUT", "/api/v1/webhooks/{id}", ADMIN),
    ("DELETE", "/api/v1/webhooks/{id}", ADMIN),
    ("POST", "/api/v1/webhooks/{id}/secret", ADMIN),
    ("GET", "/api/v1/webhooks/{id}/deliveries", ADMIN),
    ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery}/resend", ADMIN),
];

/// The rule of a route, if it has one.
pub fn rule_for(method: &Method, path: &str) -> Option<Rule> {
    ROUTES.iter().find(|(m, p, _)| *m == method.as_str() && *p == path).map(|(_, _, rule)| *rule)
}

impl Rule {
    /// The gate for `asker` (`None`: nobody).
    pub fn gate(&self, asker: Option<Actor>) -> Gate {
        match asker {
            None => self.nobody,
            Some(Actor::Customer { .. }) => self.customer,
            Some(Actor::User { role: Role::Admin, .. }) => self.admin,
            Some(Actor::User { .. }) => self.member,
        }
    }

    /// Every gate of the rule.
    pub fn gates(&self) -> [Gate; 5] {
        [self.nobody, self.customer, self.member, self.admin, self.relay]
    }
}

/// The relay a request with a relay token comes from, kept for the handler.
#[derive(Clone, Copy)]
pub struct Relay(pub parley_domain::InboundTokenId);

/// The asker the gate found, kept for the handler ([`crate::auth::Auth`], the socket): a request is
/// authenticated here and nowhere else.
#[derive(Clone)]
pub struct Asker {
    pub auth: Authenticated,
    /// The credential's hash, by which ended sessions find their sockets (R38).
    pub credential: String,
}

/// Middleware: looks the matched route up in [`ROUTES`] and refuses before the handler runs.
pub async fn enforce(State(app): State<App>, matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let path = matched.as_ref().map(|m| m.as_str()).unwrap_or_default();
    let Some(rule) = rule_for(request.method(), path) else {
        tracing::error!(method = %request.method(), path, "route without a policy row refused");
        return ApiError::from(AppError::Internal).into_response();
    };
    if rule == OPEN {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let token = token_of(&parts).or_else(|| socket_token(&parts));
    if let Some(token) = token.as_deref().filter(|t| t.starts_with(parley_app::RELAY_TOKEN_PREFIX)) {
        let gate = match app.authenticate_relay(token).await {
            Ok(relay) => {
                parts.extensions.insert(Relay(relay));
                rule.relay
            }
            Err(AppError::Unauthenticated) => rule.nobody,
            Err(e) => return ApiError::from(e).into_response(),
        };
        return pass_or_refuse(gate, Request::from_parts(parts, body), next).await;
    }
    let asker = match token {
        Some(token) => app
            .authenticate_until(&token)
            .await
            .ok()
            .map(|auth| Asker { auth, credential: parley_app::credential_of(&token) }),
        None => None,
    };
    let gate = rule.gate(asker.as_ref().map(|a| a.auth.actor));
    if gate == Unauthenticated {
        if let Some(to_login) = login_first(&parts, path) {
            return to_login;
        }
    }
    if let Some(asker) = asker {
        parts.extensions.insert(asker);
    }
    pass_or_refuse(gate, Request::from_parts(parts, body), next).await
}

/// A file linked from an email, opened in a browser that is not logged in: the reader logs in
/// first (customers in the portal, `?login=portal`) and comes back to it. Anything else that is
/// not logged in gets the 401 JSON answer.
fn login_first(parts: &axum::http::request::Parts, route: &str) -> Option<Response> {
    let file_route = route == "/api/v1/attachments/{id}" || route == "/api/v1/attachments/{id}/{name}";
    let wants_page = parts
        .headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if parts.method != Method::GET || !file_route || !wants_page {
        return None;
    }
    let portal = parts.uri.query().is_some_and(|q| q.split('&').any(|pair| pair == "login=portal"));
    let login = if portal { "/portal" } else { "/login" };
    // The path comes from the matched route and the request line; it is percent-encoded as sent.
    let back = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let encoded: String = back
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    Some(axum::response::Redirect::to(&format!("{login}?next={encoded}")).into_response())
}

async fn pass_or_refuse(gate: Gate, request: Request, next: Next) -> Response {
    match gate {
        Pass => next.run(request).await,
        Unauthenticated => ApiError::from(AppError::Unauthenticated).into_response(),
        Forbidden => ApiError::from(AppError::Forbidden("not yours to use")).into_response(),
        Hidden => crate::error::no_such_endpoint().into_response(),
    }
}

/// Browsers cannot set headers on a WebSocket: the socket may carry its token in the query.
fn socket_token(parts: &axum::http::request::Parts) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct SocketQuery {
        access_token: Option<String>,
    }
    if parts.uri.path() != "/api/v1/realtime" {
        return None;
    }
    axum::extract::Query::<SocketQuery>::try_from_uri(&parts.uri).ok()?.0.access_token
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A new route without a row fails here, before any server runs.
    #[test]
    fn every_route_of_the_document_has_one_row_and_every_row_a_route() {
        let doc = crate::openapi::document();
        let mut documented = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            let methods = [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ];
            for (method, operation) in methods {
                if operation.is_some() {
                    documented.insert((method.to_string(), path.clone()));
                }
            }
        }
        let rows: BTreeSet<_> = ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
        assert_eq!(rows.len(), ROUTES.len(), "a route has two rows");
        let missing: Vec<_> = documented.difference(&rows).collect();
        let stale: Vec<_> = rows.difference(&documented).collect();
        assert!(missing.is_empty(), "routes without a row: {missing:?}");
        assert!(stale.is_empty(), "rows without a route: {stale:?}");
    }

    #[test]
    fn r7_nobody_passes_only_the_open_routes() {
        for (method, path, rule) in ROUTES {
            if *rule != OPEN {
                assert_eq!(rule.nobody, Unauthenticated, "{method} {path}");
            }
        }
    }
}
