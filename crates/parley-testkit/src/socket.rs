//! A realtime client for tests: a real WebSocket to `/api/v1/realtime`.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The id of the last event received, for reconnecting.
    pub last_event_id: Option<String>,
}

/// Why a socket could not be opened: the HTTP status of the refusal, if any.
#[derive(Debug)]
pub struct Refused(pub Option<u16>);

impl Socket {
    /// Connects to `base` (an `http://` URL) with `token` as bearer.
    pub async fn connect(base: &str, token: &str, last_event_id: Option<&str>) -> Result<Socket, Refused> {
        let mut url = format!("{}/api/v1/realtime", base.replacen("http://", "ws://", 1));
        if let Some(id) = last_event_id {
            url.push_str(&format!("?last_event_id={id}"));
        }
        let mut request = url.into_client_request().expect("request");
        if !token.is_empty() {
            request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().expect("header"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(Socket { stream, last_event_id: None }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(Refused(Some(response.status().as_u16())))
            }
            Err(_) => Err(Refused(None)),
        }
    }

    /// The next event within `wait`, or `None`.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(wait, self.stream.next()).await.ok()??.ok()?;
            if let Message::Text(text) = frame {
                let event: Value = serde_json::from_str(&text).expect("JSON event");
                if let Some(id) = event["id"].as_str().filter(|id| !id.is_empty()) {
                    self.last_event_id = Some(id.to_string());
                }
                return Some(event);
            }
        }
    }

    /// The next event of type `kind` within `wait`, skipping others.
    pub async fn next_of(&mut self, kind: &str, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await?;
            if event["type"] == kind {
                return Some(event);
            }
        }
    }

    /// Every event of type `kind` arriving within `wait`.
    pub async fn all_of(&mut self, kind: &str, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::new();
        while let Some(event) =
            self.next_of(kind, deadline.saturating_duration_since(tokio::time::Instant::now())).await
        {
            out.push(event);
        }
        out
    }

    /// The close code the server ends the connection with within `wait`, skipping events; `None`
    /// if it stays open (or ends without a code).
    pub async fn closed_with(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await.ok()?? {
                Ok(Message::Close(Some(frame))) => return Some(u16::from(frame.code)),
                Ok(Message::Close(None)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    pub async fn send_json(&mut self, value: Value) {
        self.stream.send(Message::Text(value.to_string().into())).await.expect("send");
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
