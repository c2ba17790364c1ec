//! Parley's HTTP API under `/api/v1`, JSON in and out, with its OpenAPI document at
//! `/api/openapi.json`. Handlers are thin: they parse input into domain values, call one
//! application service, and shape the answer. Errors are always `{"error":{"code","message"}}`.

mod auth;
mod error;
mod extract;
mod health;
mod metrics;
mod openapi;
pub mod policy;
mod request_log;
mod routes;
mod schema;
mod smtp_in;
mod web;

pub use error::ApiError;
pub use metrics::serve_metrics;
pub use openapi::document as openapi_document;
pub use smtp_in::{serve_smtp, tls_acceptor, SmtpInConfig};

use axum::extract::DefaultBodyLimit;
use axum::Router;
use parley_app::App;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The whole HTTP application.
pub fn router(app: App) -> Router {
    let (api, doc) = openapi::routes_and_document();
    let api = api.route_layer(axum::middleware::from_fn_with_state(app.clone(), policy::enforce));
    let doc = std::sync::Arc::new(serde_json::to_value(doc).unwrap_or_default());
    let document =
        Router::new().route("/api/openapi.json", axum::routing::get(openapi::serve_document)).with_state(doc);
    Router::new()
        .merge(api)
        .merge(web::routes())
        .merge(document)
        .merge(health::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(app.clone(), request_log::log))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // The connection's address is kept for per-client limits (R39).
    let service = router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Nagle off: a response written in pieces (a file's bytes after its headers) must not wait
    // for the client's delayed acknowledgement (40 ms a piece on Linux).
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
