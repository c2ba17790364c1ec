//! `GET /metrics` on a listener of its own (`--metrics-listen`), so the figures are never on the
//! public address: Prometheus scrapes it from inside the network.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parley_app::App;
use tokio::net::TcpListener;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn metrics(State(app): State<App>) -> Response {
    match app.metrics_text().await {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        Err(error) => {
            tracing::warn!(%error, "reading the metrics failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Serves `/metrics` until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = Router::new().route("/metrics", get(metrics)).with_state(app);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
