//! The OpenAPI 3 document, generated from the handlers' annotations.

use crate::routes::*;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Parley API", description = "Omnichannel conversations for support teams. Authenticate with `Authorization: Bearer <token>` (a session token from a login, or a personal API token) or the session cookie."),
    paths(
        auth::login, auth::customer_login, auth::request_customer_link, auth::redeem_customer_link, auth::logout, auth::me, auth::change_password, auth::tokens, auth::create_token, auth::delete_token,
        company::get_company, company::update_company,
        people::users, people::create_user, people::user, people::update_user, people::preferences, people::update_preferences,
        people::teams, people::create_team, people::add_team_member, people::remove_team_member,
        people::organizations, people::create_organization, people::customers, people::create_customer, people::customer,
        projects::projects, projects::create_project, projects::project, projects::add_person, projects::remove_person,
        items::create_item, items::project_items, items::my_items, items::item, items::update_item, items::add_person, items::remove_person,
        items::item_conversations,
        conversations::create, conversations::get_one, conversations::change_state, conversations::link,
        conversations::add_person, conversations::remove_person, conversations::mark_read,
        messages::list, messages::post, messages::preview, messages::audience, messages::undo, messages::make_internal,
        delivery::seen, delivery::deliveries, delivery::conversation_deliveries, delivery::outgoing_log, delivery::outgoing_email,
        delivery::template, delivery::update_template,
        views::list, views::page, widget::start_visitor, widget::set_contact, widget::verify,
    ),
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

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::BTreeMap;

    /// Client generators need every operation named once; the document names each handler.
    #[test]
    fn every_operation_has_its_own_id() {
        let doc = ApiDoc::openapi();
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
