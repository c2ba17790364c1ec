//! Several nodes, one store: what happens on one node reaches the connections held by the others.
//! Each `publish_*` tells the other nodes through the store's notice board (PostgreSQL's
//! LISTEN/NOTIFY; nothing with an embedded store); this relay hears them and pushes the same events
//! to this node's own connections, reading what they carry from the store. Counts travel on their
//! own, with the writes (`counts.rs`). Event ids are per node: a client that reconnects to another
//! node with the last id it saw is told to `resync` (R12).

use super::endings::{EndNotice, Ending};
use super::events::EventBody;
use crate::{App, AppResult};
use parley_domain::Party;
use parley_store::Notice;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

pub struct ClusterRelay;

impl ClusterRelay {
    /// Listens from now on.
    pub fn spawn(app: App) -> JoinHandle<()> {
        let mut notices = app.store.notices();
        tokio::spawn(async move {
            loop {
                let notice = match notices.recv().await {
                    Ok(notice) => notice,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "fell behind what other nodes told; connections resync");
                        Arc::new(Notice::Deaf)
                    }
                    Err(RecvError::Closed) => return,
                };
                // In a task of its own, as on the node where it happened: a slow read for one
                // notice does not hold the next back.
                let app = app.clone();
                tokio::spawn(async move {
                    if let Err(error) = app.hear(&notice).await {
                        tracing::warn!(%error, "pushing what another node told failed");
                    }
                });
            }
        })
    }
}

impl App {
    /// Tells the other nodes, without holding up the caller.
    pub(crate) fn tell_others(&self, notice: Notice) {
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(error) = store.announce(notice).await {
                tracing::warn!(%error, "telling the other nodes failed");
            }
        });
    }

    async fn hear(&self, notice: &Notice) -> AppResult<()> {
        match notice {
            Notice::Posted { message, conversation, opens } => self.push_posted(*message, *conversation, *opens).await,
            Notice::Released { messages } => {
                for id in messages {
                    let message = self.store.message(*id).await?;
                    self.push_released(&message).await?;
                }
                Ok(())
            }
            Notice::Retracted { message, undone } => {
                let message = self.store.message(*message).await?;
                self.push_retraction(message, *undone).await
            }
            Notice::StateChanged { conversation, by } => {
                let conversation = self.store.conversation(*conversation).await?;
                self.push_state(conversation, *by).await
            }
            Notice::Seen { party, receipts } => self.push_seen(*party, receipts.clone()).await,
            Notice::Ended { party, only, except, access_changed } => {
                let ending = if *access_changed { Ending::AccessChanged } else { Ending::SessionEnded };
                let notice = EndNotice { party: Some(*party), only: only.clone(), except: except.clone(), ending };
                self.hub.end(notice);
                Ok(())
            }
            Notice::Deaf => {
                // What this node's connections missed is unknown: they read their state afresh.
                for party in self.hub.online() {
                    self.push(party, EventBody::Resync, None);
                }
                Ok(())
            }
        }
    }

    /// R38: the connection opened with `credential` ends, on every node.
    pub(crate) fn end_session(&self, party: Party, credential: &str) {
        self.hub.end_session(party, credential);
        let only = Some(credential.to_string());
        self.tell_others(Notice::Ended { party, only, except: None, access_changed: false });
    }

    /// R38: every connection of `party` ends, but the one opened with `except`, on every node.
    pub(crate) fn end_sessions_of(&self, party: Party, except: Option<&str>) {
        self.hub.end_sessions_of(party, except);
        let except = except.map(str::to_string);
        self.tell_others(Notice::Ended { party, only: None, except, access_changed: false });
    }

    /// What `party` may see changed: their connections on every node close to start afresh.
    pub(crate) fn access_changed(&self, party: Party) {
        self.hub.access_changed(party);
        self.tell_others(Notice::Ended { party, only: None, except: None, access_changed: true });
    }
}
