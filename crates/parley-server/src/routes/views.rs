//! The messenger's views (R26, R27) for the asker.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use axum::extract::State;
use parley_app::{App, ViewCount, ViewFilter, ViewPage};
use parley_domain::views::View;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    /// The `next` of the previous page: only conversations older than it.
    #[param(pattern = "^[0-9]+_[0-9]+$")]
    pub before: Option<String>,
    /// 1 to 100; default 25.
    #[serde(default = "twenty_five", deserialize_with = "crate::extract::whole")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: i64,
    /// Staff only: `assigned_to_me` or `unassigned` (by the item's assignees; a conversation on
    /// no item has nobody assigned).
    #[param(inline)]
    pub filter: Option<ViewFilter>,
}

fn twenty_five() -> i64 {
    25
}

/// The asker's views with their counts.
#[utoipa::path(get, operation_id = "list_views", path = "/api/v1/views", tag = "views", responses((status = 200, body = Vec<ViewCount>)))]
pub async fn list(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<ViewCount>>> {
    Ok(Json(app.views(actor).await?))
}

/// One page of a view, latest activity first; `next` reads on.
#[utoipa::path(get, path = "/api/v1/views/{view}", tag = "views", params(("view" = View, Path), PageQuery),
    responses((status = 200, body = ViewPage), (status = 404, body = crate::error::ErrorBody)))]
pub async fn page(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(view): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<ViewPage>> {
    let view = View::parse(&view).ok_or_else(|| ApiError::from(parley_app::AppError::NotFound("view")))?;
    Ok(Json(app.view(actor, view, q.filter, q.before.as_deref(), q.limit).await?))
}
