//! One INFO line per request: method, matched route (never the ids in the path), status,
//! duration and a request id, which the response carries as `x-request-id` so a report from a
//! client can be found in the log. The same figures go to the metrics.

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use parley_app::App;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A per-process prefix, so ids of nodes or restarts do not collide.
fn prefix() -> &'static str {
    static PREFIX: OnceLock<String> = OnceLock::new();
    PREFIX.get_or_init(|| format!("{:08x}", rand::random::<u32>()))
}

pub async fn log(State(app): State<App>, request: Request, next: Next) -> Response {
    let id = format!("{}-{}", prefix(), NEXT.fetch_add(1, Ordering::Relaxed));
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let started = Instant::now();
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    let took = started.elapsed();
    app.metrics().request(method.as_str(), &route, status, took);
    let duration_ms = (took.as_secs_f64() * 100_000.0).round() / 100.0;
    tracing::info!(request_id = %id, %method, %route, status, duration_ms, "request");
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
