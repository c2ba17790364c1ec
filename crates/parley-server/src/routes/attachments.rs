//! Attachments: uploading a file for a message, and fetching one. Every fetch asks the app, which
//! answers only to someone who may read the file's message (404 to everyone else).

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path, Query};
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parley_app::App;
use parley_domain::attachment::Attachment;
use parley_domain::*;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct UploadQuery {
    /// The file's name, as it will be shown and offered for download (1 to 200 characters).
    // Required, though read as optional: someone who may not write in the conversation gets 404
    // whatever they sent, not a word about the name.
    #[param(required = true, min_length = 1, max_length = 200)]
    pub name: Option<String>,
}

/// Upload a file into a conversation for your next message there: the body is the file, its
/// `Content-Type` the file's type. Send the answer's `id` in the message's `attachments`. Until
/// then only you can fetch it; an upload no message takes is removed after a day. 413 `too_large`
/// over the server's limit (10 MiB unless changed), 415 `unsupported_type` for types Parley does
/// not take (anything a browser would run) or a picture that is not one.
#[utoipa::path(post, operation_id = "upload_attachment", path = "/api/v1/conversations/{id}/attachments", tag = "attachments",
    params(("id" = i64, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 201, body = Attachment), (status = 404, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody)))]
pub async fn upload(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let attachment = app
        .upload_attachment(
            actor,
            ConversationId(id),
            q.name.as_deref().unwrap_or(""),
            content_type,
            body.into_data_stream(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// A file of a message you may read: pictures are shown, anything else is downloaded.
#[utoipa::path(get, operation_id = "fetch_attachment", path = "/api/v1/attachments/{id}", tag = "attachments", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn fetch(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<Response> {
    serve(&app, actor, id).await
}

/// The same file under its name, as links in emails give it; the name is not checked.
#[utoipa::path(get, operation_id = "fetch_attachment_by_name", path = "/api/v1/attachments/{id}/{name}", tag = "attachments",
    params(("id" = i64, Path), ("name" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn fetch_named(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(at): Path<(Id, String)>,
) -> ApiResult<Response> {
    serve(&app, actor, at.0 .0).await
}

async fn serve(app: &App, actor: parley_app::Actor, id: i64) -> ApiResult<Response> {
    let (attachment, file) = app.attachment_file(actor, AttachmentId(id)).await?;
    let how = if attachment.inline() { "inline" } else { "attachment" };
    let headers = [
        (CONTENT_TYPE, attachment.content_type.clone()),
        (CONTENT_LENGTH, attachment.size.to_string()),
        (
            CONTENT_DISPOSITION,
            format!("{how}; filename*=UTF-8''{}", parley_domain::attachment::url_encoded(&attachment.name)),
        ),
        (X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
        // Whatever the bytes are, they never run on Parley's origin.
        (CONTENT_SECURITY_POLICY, "default-src 'none'; img-src 'self'; sandbox".into()),
        // Access is asked again on every fetch: no shared cache may keep a copy.
        (CACHE_CONTROL, "private, no-store".into()),
    ];
    // 64 KiB reads: a picture or a document in a few chunks, not hundreds.
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024);
    Ok((headers, Body::from_stream(stream)).into_response())
}
