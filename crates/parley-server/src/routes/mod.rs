//! `/api/v1`: one file per resource.

pub mod accounts;
pub mod attachments;
pub mod auth;
pub mod automated_emails;
pub mod automations;
pub mod company;
pub mod conversations;
pub mod customer_view;
pub mod delivery;
pub mod items;
pub mod mail_in;
pub mod messages;
pub mod people;
pub mod projects;
pub mod realtime;
pub mod saved_replies;
pub mod search;
pub mod views;
pub mod webhooks;
pub mod widget;

use crate::openapi::ApiDoc;
use parley_app::App;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes and the OpenAPI document, made from the same list so neither misses one.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::customer_login))
        .routes(routes!(auth::request_customer_link))
        .routes(routes!(auth::redeem_customer_link))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(search::search))
        .routes(routes!(items::my_items))
        .routes(routes!(customer_view::open_request))
        .routes(routes!(customer_view::message_author))
        .routes(routes!(customer_view::welcome))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::set_away))
        .routes(routes!(auth::tokens, auth::create_token))
        .routes(routes!(auth::delete_token))
        .routes(routes!(company::get_company, company::update_company))
        .routes(routes!(people::users, people::create_user))
        .routes(routes!(people::user, people::update_user))
        .routes(routes!(people::preferences, people::update_preferences))
        .routes(routes!(people::teams, people::create_team))
        .routes(routes!(people::add_team_member))
        .routes(routes!(people::remove_team_member))
        .routes(routes!(people::organizations, people::create_organization))
        .routes(routes!(people::customers, people::create_customer))
        .routes(routes!(people::customer))
        .routes(routes!(projects::projects, projects::create_project))
        .routes(routes!(projects::project))
        .routes(routes!(projects::add_person))
        .routes(routes!(projects::remove_person))
        .routes(routes!(items::project_items))
        .routes(routes!(items::create_item))
        .routes(routes!(items::item, items::update_item))
        .routes(routes!(items::add_person))
        .routes(routes!(items::remove_person))
        .routes(routes!(items::item_conversations))
        .routes(routes!(conversations::create))
        .routes(routes!(conversations::get_one))
        .routes(routes!(conversations::change_state))
        .routes(routes!(conversations::state_changes))
        .routes(routes!(conversations::link))
        .routes(routes!(conversations::add_person))
        .routes(routes!(conversations::remove_person))
        .routes(routes!(conversations::mark_read))
        .routes(routes!(delivery::conversation_deliveries))
        .routes(routes!(messages::list, messages::post))
        .routes(routes!(messages::preview))
        .routes(routes!(saved_replies::list, saved_replies::create))
        .routes(routes!(saved_replies::update, saved_replies::delete))
        .routes(routes!(saved_replies::fill))
        .routes(routes!(attachments::fetch))
        .routes(routes!(attachments::fetch_named))
        .routes(routes!(messages::audience))
        .routes(routes!(delivery::seen))
        .routes(routes!(messages::undo))
        .routes(routes!(messages::make_internal))
        .routes(routes!(delivery::deliveries))
        .routes(routes!(delivery::outgoing_log))
        .routes(routes!(delivery::outgoing_email))
        .routes(routes!(delivery::template, delivery::update_template))
        .routes(routes!(delivery::preview_template))
        .routes(routes!(realtime::connect))
        .merge(
            // A mail may be larger than any JSON body.
            OpenApiRouter::new()
                .routes(routes!(mail_in::receive_email))
                .layer(axum::extract::DefaultBodyLimit::max(mail_in::MAX_MAIL_BYTES)),
        )
        .merge(
            // An upload is streamed to disk, and the app stops it at the server's file limit.
            OpenApiRouter::new().routes(routes!(attachments::upload)).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .routes(routes!(mail_in::incoming_log))
        .routes(routes!(mail_in::incoming_email))
        .routes(routes!(mail_in::incoming_raw))
        .routes(routes!(mail_in::message_original))
        .routes(routes!(mail_in::relay_tokens, mail_in::create_relay_token))
        .routes(routes!(mail_in::delete_relay_token))
        .routes(routes!(widget::start_visitor))
        .routes(routes!(widget::set_contact))
        .routes(routes!(widget::verify))
        .routes(routes!(views::list))
        .routes(routes!(views::page))
        .routes(routes!(accounts::request_reset))
        .routes(routes!(accounts::set_password))
        .routes(routes!(accounts::system_emails))
        .routes(routes!(accounts::set_system_email))
        .routes(routes!(accounts::invite_customer))
        .routes(routes!(accounts::invite_to_project))
        .routes(routes!(accounts::my_invitations))
        .routes(routes!(accounts::accept))
        .routes(routes!(accounts::decline))
        .routes(routes!(accounts::accept_link))
        .routes(routes!(automations::list, automations::create))
        .routes(routes!(automations::update, automations::delete))
        .routes(routes!(automated_emails::list, automated_emails::create))
        .routes(routes!(automated_emails::delete))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::renew_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::resend))
}
