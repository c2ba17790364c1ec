//! Health checks for load balancers and orchestrators: `/healthz` answers while the process serves
//! requests at all; `/readyz` only while the store answers too, so a node that lost its database
//! is taken out of rotation instead of failing every request. Neither needs a credential, and
//! neither says more than the backend's name.

use crate::error::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use parley_app::App;
use serde_json::{json, Value};
use std::time::Duration;

/// How long `/readyz` waits for the store before calling it unreachable.
const STORE_DEADLINE: Duration = Duration::from_secs(2);

pub fn routes() -> Router<App> {
    Router::new().route("/healthz", get(live)).route("/readyz", get(ready))
}

async fn live() -> Json<Value> {
    Json(json!({"status": "live"}))
}

async fn ready(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    let store = app.store();
    match tokio::time::timeout(STORE_DEADLINE, store.company()).await {
        Ok(Ok(_)) => Ok(Json(json!({"status": "ready", "store": store.backend()}))),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check: the store failed");
            Err(unreachable())
        }
        Err(_) => {
            tracing::warn!("readiness check: the store did not answer in time");
            Err(unreachable())
        }
    }
}

fn unreachable() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unreachable", "the database does not answer")
}
