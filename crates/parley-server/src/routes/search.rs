//! Search over what the asker may see.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Json, Query};
use axum::extract::State;
use parley_app::search::SearchResults;
use parley_app::App;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct SearchQuery {
    /// The words to look for (up to 200 characters); the last one also matches words it begins.
    #[param(min_length = 1, max_length = 200)]
    pub q: String,
    /// Hits of each kind, 1 to 50; default 10.
    #[serde(default, deserialize_with = "crate::extract::whole_or_none")]
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

/// Conversations, messages, items and (for staff) customers matching `q`, each kind best first,
/// among what the asker may see: a customer finds only their own public conversations, and
/// nothing internal ever.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQuery),
    responses((status = 200, body = SearchResults), (status = 400, body = crate::error::ErrorBody)))]
pub async fn search(
    State(app): State<App>,
    Auth(actor): Auth,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<SearchResults>> {
    Ok(Json(app.search(actor, &q.q, q.limit).await?))
}
