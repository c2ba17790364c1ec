//! The web app's pages and assets, embedded in the binary: plain HTML pages whose live parts are
//! small JavaScript modules speaking to the JSON API and the realtime socket.

use crate::auth::token_of;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use parley_app::{Actor, App};

const LOGIN: &str = include_str!("../web/login.html");
const MESSENGER: &str = include_str!("../web/messenger.html");
const PORTAL: &str = include_str!("../web/portal.html");
const ITEMS: &str = include_str!("../web/items.html");
const SETTINGS: &str = include_str!("../web/settings.html");
const PORTAL_LOGIN: &str = include_str!("../web/portal-login.html");
const ACCOUNT: &str = include_str!("../web/account.html");
const WIDGET_FRAME: &str = include_str!("../web/widget-frame.html");
const WIDGET_SCRIPT: &str = include_str!("../web/widget.js");

/// Name, content type and content of each asset.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../web/app.css")),
    ("api.js", "text/javascript; charset=utf-8", include_str!("../web/api.js")),
    ("login.js", "text/javascript; charset=utf-8", include_str!("../web/login.js")),
    ("account.js", "text/javascript; charset=utf-8", include_str!("../web/account.js")),
    ("messenger.js", "text/javascript; charset=utf-8", include_str!("../web/messenger.js")),
    ("search.js", "text/javascript; charset=utf-8", include_str!("../web/search.js")),
    ("keyboard.js", "text/javascript; charset=utf-8", include_str!("../web/keyboard.js")),
    ("authors.js", "text/javascript; charset=utf-8", include_str!("../web/authors.js")),
    ("attachments.js", "text/javascript; charset=utf-8", include_str!("../web/attachments.js")),
    ("saved-replies.js", "text/javascript; charset=utf-8", include_str!("../web/saved-replies.js")),
    ("item-pane.js", "text/javascript; charset=utf-8", include_str!("../web/item-pane.js")),
    ("settings.js", "text/javascript; charset=utf-8", include_str!("../web/settings.js")),
    ("forms.js", "text/javascript; charset=utf-8", include_str!("../web/forms.js")),
    ("messaging-center.js", "text/javascript; charset=utf-8", include_str!("../web/messaging-center.js")),
    ("webhooks.js", "text/javascript; charset=utf-8", include_str!("../web/webhooks.js")),
    ("items.js", "text/javascript; charset=utf-8", include_str!("../web/items.js")),
    ("portal.js", "text/javascript; charset=utf-8", include_str!("../web/portal.js")),
    ("portal-login.js", "text/javascript; charset=utf-8", include_str!("../web/portal-login.js")),
    ("widget-frame.js", "text/javascript; charset=utf-8", include_str!("../web/widget-frame.js")),
    ("looking.js", "text/javascript; charset=utf-8", include_str!("../web/looking.js")),
];

/// Scripts and styles come only from Parley itself; message HTML is sanitized on the server and
/// this policy keeps any script in it from running all the same. Images only from Parley: a remote
/// image would tell its owner when and from where a message was read (message bodies turn images
/// into links for the same reason); `blob:` for the attachments the widget fetches with its token.
/// Forms post only here.
const POLICY: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; \
     style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(messenger))
        .route("/c/{id}", get(messenger))
        .route("/items", get(items))
        .route("/items/{id}", get(items))
        .route("/settings", get(settings))
        .route("/login", get(login))
        .route("/forgot-password", get(account))
        .route("/portal/forgot-password", get(account))
        .route("/set-password", get(account))
        .route("/portal/set-password", get(account))
        .route("/invitations/accept", get(account))
        .route("/portal", get(portal))
        .route("/portal/c/{id}", get(portal))
        .route("/portal/login", get(portal_login))
        .route("/assets/{name}", get(asset))
        .route("/widget.js", get(widget_script))
        .route("/widget/frame", get(widget_frame))
}

fn page(html: &'static str) -> Response {
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn login() -> Response {
    page(LOGIN)
}

/// Where emailed links lead (choosing a password, accepting an invitation), and the form asking
/// for a reset link.
async fn account() -> Response {
    let mut response = page(ACCOUNT);
    // A link's token is in this page's address: never send it on to another site.
    response.headers_mut().insert(axum::http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The customer portal: it signs customers in itself, and shows only what the API gives them.
async fn portal() -> Response {
    page(PORTAL)
}

/// Where an emailed login link lands; the customer's click uses it.
async fn portal_login() -> Response {
    let mut response = page(PORTAL_LOGIN);
    // The token is in this page's address: never send it on to another site.
    response.headers_mut().insert(axum::http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The messenger, for users with a session; anyone else is sent to log in first.
async fn messenger(State(app): State<App>, parts: Parts) -> Response {
    staff_page(&app, &parts, MESSENGER).await
}

/// Projects and items.
async fn items(State(app): State<App>, parts: Parts) -> Response {
    staff_page(&app, &parts, ITEMS).await
}

/// One's preferences; for admins the company, people and the messaging center. The email
/// template's preview shows the rendered HTML in a sandboxed frame, which keeps this page's
/// policy: style attributes (what email HTML is styled with) are let through there, nothing else.
async fn settings(State(app): State<App>, parts: Parts) -> Response {
    let mut response = staff_page(&app, &parts, SETTINGS).await;
    if response.headers().contains_key(CONTENT_SECURITY_POLICY) {
        let policy = format!("{POLICY}; style-src-attr 'unsafe-inline'");
        if let Ok(value) = HeaderValue::from_str(&policy) {
            response.headers_mut().insert(CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// A page for users: customers go to the portal, anyone else logs in first.
async fn staff_page(app: &App, parts: &Parts, html: &'static str) -> Response {
    let actor = match token_of(parts) {
        Some(token) => app.authenticate(&token).await.ok(),
        None => None,
    };
    match actor {
        Some(Actor::User { .. }) => page(html),
        Some(Actor::Customer { .. }) => Redirect::to("/portal").into_response(),
        None => {
            // Only Parley's own paths (digits and letters) go into the return address.
            let path = parts.uri.path();
            let safe = path.chars().all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-');
            Redirect::to(&format!("/login?next={}", if safe { path } else { "/" })).into_response()
        }
    }
}

/// The script any site embeds; it only adds a button and the frame, so it needs no CORS.
async fn widget_script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "max-age=300")], WIDGET_SCRIPT).into_response()
}

/// The chat frame: like every page, but meant to be embedded in any site.
async fn widget_frame() -> Response {
    let mut response = page(WIDGET_FRAME);
    let policy = POLICY.replace("frame-ancestors 'none'", "frame-ancestors *");
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(CONTENT_SECURITY_POLICY, value);
    }
    response
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => {
            ([(CONTENT_TYPE, *content_type), (CACHE_CONTROL, "no-cache"), (X_CONTENT_TYPE_OPTIONS, "nosniff")], *body)
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
