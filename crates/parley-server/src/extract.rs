//! Extractors whose rejections are JSON errors like every other error.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use serde::Deserialize as _;

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

/// An id in a path: a whole number, also when written `12.0` — JSON Schema's integers include it,
/// so a client generated from the document may send it. Fractions and other text answer 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i64);

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Whole;
        impl serde::de::Visitor<'_> for Whole {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                i64::try_from(v).map(Id).map_err(|_| E::custom("number too large"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                if let Ok(n) = v.parse::<i64>() {
                    return Ok(Id(n));
                }
                // `12.0`, `12.00`: the integer written as a decimal; nothing else.
                match v.split_once('.') {
                    Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => {
                        whole.parse::<i64>().map(Id).map_err(|_| E::custom(format!("'{v}' is not a whole number")))
                    }
                    _ => Err(E::custom(format!("'{v}' is not a whole number"))),
                }
            }
        }
        d.deserialize_str(Whole)
    }
}

/// A whole number in a query (`?limit=20`, also `20.0`), for `#[serde(deserialize_with)]`.
pub fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    <Id as serde::Deserialize>::deserialize(d).map(|id| id.0)
}

/// Like [`whole`], for an optional one.
pub fn whole_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<Id>::deserialize(d).map(|id| id.map(|id| id.0))
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
