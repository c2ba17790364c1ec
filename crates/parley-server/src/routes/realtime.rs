//! `GET /api/v1/realtime`: the WebSocket that pushes events (R12). Authenticated like every other
//! endpoint (bearer token or session cookie), or by `access_token` in the query for browsers on
//! another origin, which cannot set headers on a WebSocket.
//!
//! Server → client: JSON events `{"id", "type", …}` (see `parley_app::EventBody`). Client → server:
//! `{"type":"looking","conversation_id":7,"visible":true,"newest_in_view":12}` (R43: what the page
//! shows, sent when it changes; it marks read and seen what a visible page shows, and keeps the
//! open conversation's new messages coming), or `{"type":"seen","message_ids":[…]}` (an API
//! client's own word that it showed these). A connection that falls behind catches up from the
//! person's replay buffer; one that falls further behind than that is closed with code 4008 and
//! reconnects with `last_event_id` (and gets a `resync`). A connection whose session
//! ends (logout, password change, token revoked, session expired) is closed with 4001; one whose
//! access changed (role, scope) with 4003 (R38).

use crate::auth::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::policy::Asker;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use parley_app::LookingReport;
use parley_app::{App, AppError, Authenticated, Ending, Event, EventBody, Next};
use parley_domain::{ConversationId, MessageId};
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Bytes read from a socket at a time: small, because most connections are idle and clients
/// send only short seen reports (a longer message is read in several reads).
const READ_BUFFER: usize = 1024;
/// The largest message a client may send.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Unsent bytes a connection may hold before it is considered stuck.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;
const PING_EVERY: Duration = Duration::from_secs(30);
/// Close code for a client that could not keep up.
const TOO_SLOW: u16 = 4008;

#[derive(Deserialize)]
pub struct RealtimeQuery {
    /// The id of the last event this client received, to replay what it missed.
    pub last_event_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Seen {
        message_ids: Vec<MessageId>,
    },
    Looking {
        conversation_id: Option<ConversationId>,
        #[serde(default)]
        visible: bool,
        #[serde(default)]
        newest_in_view: Option<i64>,
    },
}

/// The realtime socket (WebSocket): events for the asker, seen reports from them.
#[utoipa::path(get, path = "/api/v1/realtime", tag = "realtime",
    params(
        ("last_event_id" = Option<String>, Query, description = "Replay what came after this event"),
        ("access_token" = Option<String>, Query, description = "The session token, for browsers that cannot set a header"),
    ),
    responses((status = 101, description = "Switching to the WebSocket protocol")))]
pub async fn connect(
    State(app): State<App>,
    Query(q): Query<RealtimeQuery>,
    asker: Option<Extension<Asker>>,
    ClientIp(client): ClientIp,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(StatusCode::BAD_REQUEST, "websocket_required", format!("open a WebSocket here: {rejection}"))
    })?;
    // The policy gate authenticated the socket (header, cookie or `access_token`).
    let Extension(Asker { auth, credential }) = asker.ok_or(AppError::Unauthenticated)?;
    // R40: a person's, and a client's, open connections are bounded; the slot is held until
    // the connection ends.
    let slot = app.socket_slot(auth.actor.party(), client)?;
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            session(app, auth, credential, q.last_event_id, socket).await;
            drop(slot);
        }))
}

async fn send(socket: &mut WebSocket, event: &Event) -> bool {
    match serde_json::to_string(event) {
        Ok(text) => socket.send(WsMessage::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

async fn close(socket: &mut WebSocket, ending: Ending) {
    let frame = CloseFrame { code: ending.close_code(), reason: ending.reason().into() };
    let _ = socket.send(WsMessage::Close(Some(frame))).await;
}

#[tracing::instrument(name = "socket", skip_all, fields(party = ?auth.actor.party()))]
async fn session(
    app: App,
    auth: Authenticated,
    credential: String,
    last_event_id: Option<String>,
    mut socket: WebSocket,
) {
    let actor = auth.actor;
    let party = actor.party();
    let _counted = app.metrics().socket_opened();
    // Listen for the end of this session before anything else, so none is missed.
    let mut endings = app.hub().endings();
    let expires_in = auth.expires_at.map(|at| Duration::from_millis(u64::try_from(at - app.now_ms()).unwrap_or(0)));
    let expiry = async move {
        match expires_in {
            Some(left) => tokio::time::sleep(left).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expiry);
    // Subscribe before reading the counts, so nothing between the two is lost.
    let mut subscription = app.hub().subscribe(party, last_event_id.as_deref());
    // Boxed: awaited once, it would otherwise size every idle connection's task for good.
    let views = Box::pin(app.views(actor)).await.unwrap_or_default();
    if !send(&mut socket, &Event { id: String::new(), body: EventBody::Hello { party, views } }).await {
        return;
    }
    // Counts missed are older than those `hello` just read: only later ones are sent.
    let missed = std::mem::take(&mut subscription.missed);
    for event in missed.iter().filter(|e| !matches!(e.body, EventBody::Counts { .. })) {
        if !send(&mut socket, event).await {
            return;
        }
    }
    // R43: what this connection's page has open.
    let mut looking = app.looking(party);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            next = subscription.next(app.hub()) => match next {
                Next::Events(events) => {
                    for event in events {
                        if !send(&mut socket, &event).await {
                            return;
                        }
                    }
                }
                Next::TooFarBehind { missed } => {
                    app.metrics().dropped("lagged", missed);
                    let frame = CloseFrame { code: TOO_SLOW, reason: "too slow: reconnect with last_event_id".into() };
                    let _ = socket.send(WsMessage::Close(Some(frame))).await;
                    return;
                }
                Next::Closed => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    let done = match serde_json::from_str(&text) {
                        Ok(ClientMessage::Seen { message_ids }) => Box::pin(app.mark_seen(actor, &message_ids)).await.map(|_| ()),
                        Ok(ClientMessage::Looking { conversation_id, visible, newest_in_view }) => {
                            let report = LookingReport { conversation: conversation_id, visible, newest_in_view };
                            Box::pin(app.report_looking(actor, &mut looking, report)).await
                        }
                        Err(_) => Ok(()),
                    };
                    if let Err(error) = done {
                        tracing::debug!(%error, "a report over the socket refused");
                    }
                }
                Some(Ok(WsMessage::Pong(_))) => awaiting_pong = false,
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            notice = endings.recv() => match notice {
                Ok(notice) if notice.concerns(party, &credential) => return close(&mut socket, notice.ending).await,
                Ok(_) => {}
                // Missed announcements might have concerned this connection: end it to be safe.
                Err(RecvError::Lagged(_)) => return close(&mut socket, Ending::AccessChanged).await,
                Err(RecvError::Closed) => return,
            },
            _ = &mut expiry => return close(&mut socket, Ending::SessionEnded).await,
            _ = ping.tick() => {
                // No answer to the last ping within a whole interval: the peer is gone.
                if awaiting_pong || socket.send(WsMessage::Ping(Default::default())).await.is_err() {
                    return;
                }
                awaiting_pong = true;
            }
        }
    }
}
