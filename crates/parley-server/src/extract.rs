//! Extractors whose rejections are JSON errors like every other error.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;

/// A JSON object body; malformed or mistyped input answers 400, an oversized one 413, one that is
/// not JSON 415. Every body of the API is an object: serde would also read a struct from an array
/// (`[null, null]`), which the document does not allow, so anything else is refused.
pub struct Json<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        // Checked for syntax without building a tree, then read once into `T`.
        let axum::Json(raw) = axum::Json::<Box<serde_json::value::RawValue>>::from_request(req, state).await?;
        if !raw.get().starts_with('{') {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", "the body must be a JSON object"));
        }
        serde_json::from_str(raw.get()).map(Json).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("Failed to deserialize the JSON body into the target type: {e}"),
            )
        })
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(r.status(), "payload_too_large", "request body too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::new(r.status(), "unsupported_media_type", "send JSON with Content-Type: application/json")
            }
            _ => ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", r.body_text()),
        }
    }
}

/// Path parameters; a non-numeric id answers 400.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", r.body_text())
    }
}

/// Query parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text())
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}
