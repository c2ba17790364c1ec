//! The OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::Modify;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Parley API", description = "Omnichannel conversations for support teams. Authenticate with `Authorization: Bearer <token>` (a session token from a login, or a personal API token) or the session cookie."),
    modifiers(&BearerAuth),
    components(schemas(
        crate::error::ErrorBody,
        crate::routes::conversations::ConversationRole,
        crate::routes::items::ItemRoleName,
        crate::routes::items::PartyKind,
        crate::routes::projects::ProjectRoleName,
        crate::routes::projects::ProjectPartyKind,
    )),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The routes and their whole document: the handlers' annotations on top of [`ApiDoc`], and the
/// error answers every operation can give.
pub fn routes_and_document() -> (axum::Router<parley_app::App>, OpenApi) {
    let (router, mut doc) = crate::routes::api().split_for_parts();
    document_errors(&mut doc);
    (router, doc)
}

/// The whole document.
pub fn document() -> OpenApi {
    routes_and_document().1
}

/// Statuses a route's own rules add to the common ones below: conflicts with the current state
/// (409), well-formed input the domain cannot take (422), and the abuse limits (429, R39).
const ALSO_ANSWERS: &[(&str, &str, &[u16])] = &[
    ("POST", "/api/v1/auth/login", &[429]),
    ("PATCH", "/api/v1/company", &[422]),
    ("POST", "/api/v1/me/requests", &[403, 409]),
    ("POST", "/api/v1/auth/customer-login", &[429]),
    ("POST", "/api/v1/auth/customer-link", &[429]),
    ("POST", "/api/v1/me/password", &[403, 429]),
    ("POST", "/api/v1/widget/visitors", &[429]),
    ("POST", "/api/v1/widget/contact", &[403, 429]),
    ("POST", "/api/v1/widget/verify", &[403, 429]),
    ("PATCH", "/api/v1/users/{id}", &[409]),
    ("GET", "/api/v1/users/{id}/preferences", &[403]),
    ("PATCH", "/api/v1/users/{id}/preferences", &[403]),
    ("POST", "/api/v1/projects/{id}/people", &[403]),
    ("DELETE", "/api/v1/projects/{id}/people/{role}/{kind}/{party_id}", &[403]),
    ("POST", "/api/v1/users", &[409]),
    ("POST", "/api/v1/customers", &[403, 409]),
    ("GET", "/api/v1/realtime", &[429]),
    ("POST", "/api/v1/organizations", &[409]),
    ("POST", "/api/v1/teams", &[409]),
    ("GET", "/api/v1/customers", &[422]),
    ("GET", "/api/v1/views/{view}", &[422]),
    ("POST", "/api/v1/conversations", &[404, 422]),
    ("POST", "/api/v1/items", &[404, 422]),
    ("POST", "/api/v1/conversations/{id}/messages", &[409, 422]),
    ("POST", "/api/v1/conversations/{id}/attachments", &[409]),
    ("POST", "/api/v1/saved-replies", &[409, 422]),
    ("PUT", "/api/v1/saved-replies/{id}", &[403, 409, 422]),
    ("DELETE", "/api/v1/saved-replies/{id}", &[403]),
    ("POST", "/api/v1/items/{id}/people", &[422]),
    // R42: only users are assignees.
    ("DELETE", "/api/v1/conversations/{id}/people/{role}/{kind}/{party_id}", &[422]),
    ("POST", "/api/v1/messages/{id}/undo", &[403, 409]),
    ("POST", "/api/v1/messages/{id}/make-internal", &[403, 409]),
    ("POST", "/api/v1/auth/password-reset", &[429]),
    ("POST", "/api/v1/auth/set-password", &[422, 429]),
    ("POST", "/api/v1/invitations/accept-link", &[409, 422, 429]),
    ("PATCH", "/api/v1/system-emails/{kind}", &[409]),
    ("POST", "/api/v1/customers/{id}/invite", &[409, 422]),
    ("POST", "/api/v1/projects/{id}/invitations", &[403, 409]),
    ("POST", "/api/v1/invitations/{id}/accept", &[409]),
    ("POST", "/api/v1/invitations/{id}/decline", &[409]),
    ("POST", "/api/v1/automations", &[422]),
    ("PUT", "/api/v1/automations/{id}", &[409, 422]),
    ("DELETE", "/api/v1/automations/{id}", &[409]),
    ("POST", "/api/v1/templates", &[409, 422]),
    ("DELETE", "/api/v1/templates/{name}", &[409]),
    ("DELETE", "/api/v1/webhooks/{id}", &[409]),
    ("POST", "/api/v1/webhooks", &[422]),
    ("PUT", "/api/v1/webhooks/{id}", &[422]),
];

/// Adds to every operation the error answers it can give, all `{"error":{"code","message"}}`:
/// 400 for bad input, 413 and 415 for a body too large or not JSON, 404 for ids, and what the
/// policy table (`crate::policy`) refuses with; plus [`ALSO_ANSWERS`].
fn document_errors(doc: &mut OpenApi) {
    use crate::policy::{rule_for, Gate};
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("GET", item.get.as_mut()),
            ("POST", item.post.as_mut()),
            ("PUT", item.put.as_mut()),
            ("PATCH", item.patch.as_mut()),
            ("DELETE", item.delete.as_mut()),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let mut codes = std::collections::BTreeSet::new();
            let has_body = operation.request_body.is_some();
            if has_body || operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                codes.insert(400);
            }
            if has_body {
                codes.extend([413, 415]);
            }
            if path.contains('{') {
                codes.insert(404);
            }
            let rule = method.parse().ok().and_then(|m| rule_for(&m, path));
            if rule == Some(crate::policy::OPEN) {
                // No credential needed: an empty requirement overrides the document's bearer one.
                operation.security = Some(vec![utoipa::openapi::security::SecurityRequirement::default()]);
            }
            if let Some(rule) = rule {
                for gate in rule.gates() {
                    match gate {
                        Gate::Pass => {}
                        Gate::Unauthenticated => drop(codes.insert(401)),
                        Gate::Forbidden => drop(codes.insert(403)),
                        Gate::Hidden => drop(codes.insert(404)),
                    }
                }
            }
            for (_, _, extra) in ALSO_ANSWERS.iter().filter(|(m, p, _)| *m == method && p == path) {
                codes.extend(extra.iter().copied());
            }
            for code in codes {
                let response = ResponseBuilder::new()
                    .description(describe(code))
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                    )
                    .build();
                operation.responses.responses.entry(code.to_string()).or_insert(response.into());
            }
        }
    }
}

fn describe(code: u16) -> &'static str {
    match code {
        400 => "Invalid input: the message says which field and why",
        401 => "No valid credential: log in (again)",
        403 => "Not yours to use",
        404 => "Not found, or outside the asker's reach (the same answer)",
        409 => "Conflicts with the current state (the code says which)",
        413 => "Request body too large",
        415 => "The body must be JSON (Content-Type: application/json)",
        422 => "Well-formed, but not acceptable here",
        429 => "Too many attempts: wait the Retry-After seconds",
        _ => "Error",
    }
}

/// `GET /api/openapi.json`.
pub async fn serve_document(
    axum::extract::State(doc): axum::extract::State<Arc<serde_json::Value>>,
) -> Json<serde_json::Value> {
    Json((*doc).clone())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::BTreeMap;

    /// Client generators need every operation named once; the document names each handler.
    #[test]
    fn every_operation_has_its_own_id() {
        let doc = document();
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, item) in &doc.paths.paths {
            let operations = [&item.get, &item.post, &item.put, &item.patch, &item.delete];
            for operation in operations.into_iter().flatten() {
                let id = operation.operation_id.clone().unwrap_or_default();
                assert!(!id.is_empty(), "{path} has an operation without an id");
                seen.entry(id).or_default().push(path.clone());
            }
        }
        let twice: Vec<_> = seen.iter().filter(|(_, paths)| paths.len() > 1).collect();
        assert!(twice.is_empty(), "operation ids used more than once: {twice:?}");
        assert!(seen.len() >= 60, "{} operations", seen.len());
    }

    /// Schemas are named by their type's name alone: two route types of one name would share one
    /// definition in the document, and one route would be documented with the other's body.
    #[test]
    fn no_two_route_types_share_a_schema_name() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes");
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            let mut documented = false;
            for line in source.lines() {
                if line.starts_with("#[derive(") {
                    documented = line.contains("ToSchema");
                }
                let name = line.strip_prefix("pub struct ").or_else(|| line.strip_prefix("pub enum "));
                if let (true, Some(name)) = (documented, name) {
                    let name: String = name.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    seen.entry(name).or_default().push(path.display().to_string());
                    documented = false;
                }
            }
        }
        let twice: Vec<_> = seen.iter().filter(|(_, files)| files.len() > 1).collect();
        assert!(twice.is_empty(), "schema names used more than once: {twice:?}");
        assert!(seen.contains_key("InvitationLinkBody"), "{:?}", seen.keys());
    }
}
