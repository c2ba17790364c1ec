//! What the nodes sharing one store tell each other, so that a person connected to any node hears
//! of what happened on another (R12, R38). A notice names what changed by id; each node reads what
//! it pushes to its own connections from the store. An embedded store has no other nodes: it
//! announces nothing and hears nothing.

use crate::error::StoreResult;
use crate::records::SeenReceipt;
use async_trait::async_trait;
use parley_domain::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// A message was stored; its audience hears of it, and whoever has its conversation open
    /// (R43); when it `opens` a customer's conversation, every user who may see it (its arrival
    /// in their list). Both are left out by nodes of an earlier version.
    Posted {
        message: MessageId,
        #[serde(default)]
        conversation: Option<ConversationId>,
        #[serde(default)]
        opens: bool,
    },
    /// Held messages were released to customers (R33).
    Released { messages: Vec<MessageId> },
    /// A held message was taken back: `undone`, or else made internal (R33).
    Retracted { message: MessageId, undone: bool },
    /// A conversation changed state (R6), by `by`.
    StateChanged { conversation: ConversationId, by: Party },
    /// `party` saw messages (R13).
    Seen { party: Party, receipts: Vec<SeenReceipt> },
    /// Connections of `party` end (R38): the one opened with credential `only`, or all but the one
    /// opened with `except`; with `access_changed`, because what they may see changed.
    Ended { party: Party, only: Option<String>, except: Option<String>, access_changed: bool },
    /// This node stopped hearing the others for a while (its connection to the database was
    /// lost): what its connections missed is unknown. Never sent; a node tells itself.
    Deaf,
}

impl Notice {
    /// The notice as parts of at most `items` ids each, for a transport that limits its size.
    pub fn split(self, items: usize) -> Vec<Notice> {
        let items = items.max(1);
        match self {
            Notice::Released { messages } if messages.len() > items => {
                messages.chunks(items).map(|c| Notice::Released { messages: c.to_vec() }).collect()
            }
            Notice::Seen { party, receipts } if receipts.len() > items => {
                receipts.chunks(items).map(|c| Notice::Seen { party, receipts: c.to_vec() }).collect()
            }
            notice => vec![notice],
        }
    }
}

#[async_trait]
pub trait NoticeBoard {
    /// Tells every other node sharing this store.
    async fn announce(&self, notice: Notice) -> StoreResult<()>;
    /// What the other nodes announce (and [`Notice::Deaf`] from this one), from now on.
    fn notices(&self) -> broadcast::Receiver<Arc<Notice>>;
}
