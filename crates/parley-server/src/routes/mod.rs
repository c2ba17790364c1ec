//! `/api/v1`: one file per resource.

pub mod auth;
pub mod company;
pub mod conversations;
pub mod delivery;
pub mod items;
pub mod messages;
pub mod people;
pub mod projects;
pub mod realtime;
pub mod views;
pub mod widget;

use axum::routing::{delete, get, post};
use axum::Router;
use parley_app::App;

pub fn api() -> Router<App> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/customer-login", post(auth::customer_login))
        .route("/auth/customer-link", post(auth::request_customer_link))
        .route("/auth/customer-link/redeem", post(auth::redeem_customer_link))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/me/items", get(items::my_items))
        .route("/me/password", post(auth::change_password))
        .route("/me/tokens", get(auth::tokens).post(auth::create_token))
        .route("/me/tokens/{id}", delete(auth::delete_token))
        .route("/company", get(company::get_company).patch(company::update_company))
        .route("/users", get(people::users).post(people::create_user))
        .route("/users/{id}", get(people::user).patch(people::update_user))
        .route("/users/{id}/preferences", get(people::preferences).patch(people::update_preferences))
        .route("/teams", get(people::teams).post(people::create_team))
        .route("/teams/{id}/members", post(people::add_team_member))
        .route("/teams/{id}/members/{user_id}", delete(people::remove_team_member))
        .route("/organizations", get(people::organizations).post(people::create_organization))
        .route("/customers", get(people::customers).post(people::create_customer))
        .route("/customers/{id}", get(people::customer))
        .route("/projects", get(projects::projects).post(projects::create_project))
        .route("/projects/{id}", get(projects::project))
        .route("/projects/{id}/people", post(projects::add_person))
        .route("/projects/{id}/people/{role}/{kind}/{party_id}", delete(projects::remove_person))
        .route("/projects/{id}/items", get(items::project_items))
        .route("/items", post(items::create_item))
        .route("/items/{id}", get(items::item).patch(items::update_item))
        .route("/items/{id}/people", post(items::add_person))
        .route("/items/{id}/people/{role}/{kind}/{party_id}", delete(items::remove_person))
        .route("/items/{id}/conversations", get(items::item_conversations))
        .route("/conversations", post(conversations::create))
        .route("/conversations/{id}", get(conversations::get_one))
        .route("/conversations/{id}/state", post(conversations::change_state))
        .route("/conversations/{id}/link", post(conversations::link))
        .route("/conversations/{id}/people", post(conversations::add_person))
        .route("/conversations/{id}/people/{role}/{kind}/{party_id}", delete(conversations::remove_person))
        .route("/conversations/{id}/read", post(conversations::mark_read))
        .route("/conversations/{id}/deliveries", get(delivery::conversation_deliveries))
        .route("/conversations/{id}/messages", get(messages::list).post(messages::post))
        .route("/conversations/{id}/recipients-preview", post(messages::preview))
        .route("/messages/{id}/audience", get(messages::audience))
        .route("/messages/seen", post(delivery::seen))
        .route("/messages/{id}/undo", post(messages::undo))
        .route("/messages/{id}/make-internal", post(messages::make_internal))
        .route("/messages/{id}/deliveries", get(delivery::deliveries))
        .route("/outgoing-emails", get(delivery::outgoing_log))
        .route("/outgoing-emails/{id}", get(delivery::outgoing_email))
        .route("/templates/{name}", get(delivery::template).put(delivery::update_template))
        .route("/realtime", get(realtime::connect))
        .route("/widget/visitors", post(widget::start_visitor))
        .route("/widget/contact", post(widget::set_contact))
        .route("/widget/verify", post(widget::verify))
        .route("/views", get(views::list))
        .route("/views/{view}", get(views::page))
}
