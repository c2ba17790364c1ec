//! What is pushed. Each event carries an id `<epoch>-<sequence>`; a client that reconnects with
//! the last id it saw receives what it missed, or a `resync` when that is no longer known (the
//! server restarted, or the gap is larger than the replay buffer).

use crate::views::ViewCount;
use parley_domain::*;
use parley_store::SeenReceipt;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    #[serde(flatten)]
    pub body: EventBody,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// First event on a connection.
    Hello { party: Party, views: Vec<ViewCount> },
    /// A message addressed to the receiver.
    Message {
        message: Message,
        subject: String,
        /// R12: play the notification sound (not when the preferences say no notification or no sound).
        sound: bool,
    },
    /// R33: the author took a held message back: `undone` (gone for everyone) or `made_internal`.
    Retracted { message: Message, how: &'static str },
    /// A conversation changed state (R6).
    State { conversation_id: ConversationId, state: ConversationState },
    /// Someone saw messages (R13); staff see who.
    Seen { party: Party, receipts: Vec<SeenReceipt> },
    /// The receiver's counts of the views a write changed, with their new values (R26, R27);
    /// views not listed keep theirs. `hello` carries all of them.
    Counts { views: Vec<ViewCount> },
    /// The missed events are no longer known: reload state from the API.
    Resync,
}
