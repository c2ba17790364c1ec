//! The OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Parley API", description = "Omnichannel conversations for support teams. Authenticate with `Authorization: Bearer <token>` (a session token from a login, or a personal API token) or the session cookie."),
    modifiers(&BearerAuth),
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

/// The whole document: the routes' annotations on top of [`ApiDoc`].
pub fn document() -> utoipa::openapi::OpenApi {
    crate::routes::api().into_openapi()
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
}
