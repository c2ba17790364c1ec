//! R6: conversation states. Open → closed (by a user) → locked (only from closed); unlocking
//! returns to closed; a new message reopens a closed conversation; a locked one refuses messages.

use crate::entities::ConversationState;
use crate::Author;
use serde::Deserialize;
use thiserror::Error;
use utoipa::ToSchema;

/// A state change a user asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateAction {
    Close,
    Lock,
    Unlock,
    Reopen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StateError {
    #[error("the conversation is locked; unlock it first")]
    Locked,
    #[error("only a closed conversation can be locked; close it first")]
    NotClosed,
    #[error("the conversation is not locked")]
    NotLocked,
}

/// The state after `action`, or why it is refused. Repeating a change that already holds is allowed.
pub fn apply(state: ConversationState, action: StateAction) -> Result<ConversationState, StateError> {
    use ConversationState::*;
    match (action, state) {
        (StateAction::Close, Open | Closed) => Ok(Closed),
        (StateAction::Close, Locked) => Err(StateError::Locked),
        (StateAction::Lock, Closed | Locked) => Ok(Locked),
        (StateAction::Lock, Open) => Err(StateError::NotClosed),
        (StateAction::Unlock, Locked) => Ok(Closed),
        (StateAction::Unlock, Open | Closed) => Err(StateError::NotLocked),
        (StateAction::Reopen, Open | Closed) => Ok(Open),
        (StateAction::Reopen, Locked) => Err(StateError::Locked),
    }
}

/// The state after a new message by `author` arrives, from any channel; a locked conversation
/// refuses it. A person's message reopens a closed conversation; the bot's does not (R29: what an
/// automation says when a conversation closes must not reopen it).
pub fn on_new_message(state: ConversationState, author: Author) -> Result<ConversationState, StateError> {
    match (state, author) {
        (ConversationState::Locked, _) => Err(StateError::Locked),
        (ConversationState::Closed, Author::Bot) => Ok(ConversationState::Closed),
        (ConversationState::Open | ConversationState::Closed, _) => Ok(ConversationState::Open),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConversationState::*;

    #[test]
    fn r6_close_then_lock_then_unlock_returns_to_closed() {
        let s = apply(Open, StateAction::Close).unwrap();
        assert_eq!(s, Closed);
        let s = apply(s, StateAction::Lock).unwrap();
        assert_eq!(s, Locked);
        assert_eq!(apply(s, StateAction::Unlock), Ok(Closed));
    }

    #[test]
    fn r6_only_a_closed_conversation_can_be_locked() {
        assert_eq!(apply(Open, StateAction::Lock), Err(StateError::NotClosed));
    }

    #[test]
    fn r6_new_message_reopens_a_closed_conversation() {
        let user = Author::User(crate::UserId(1));
        assert_eq!(on_new_message(Closed, user), Ok(Open));
        assert_eq!(on_new_message(Open, user), Ok(Open));
        assert_eq!(on_new_message(Closed, Author::Customer(crate::CustomerId(1))), Ok(Open));
    }

    #[test]
    fn r29_a_bot_message_leaves_a_closed_conversation_closed() {
        assert_eq!(on_new_message(Closed, Author::Bot), Ok(Closed));
        assert_eq!(on_new_message(Open, Author::Bot), Ok(Open));
        assert_eq!(on_new_message(Locked, Author::Bot), Err(StateError::Locked));
    }

    #[test]
    fn r6_locked_conversation_refuses_messages_and_reopening() {
        assert_eq!(on_new_message(Locked, Author::User(crate::UserId(1))), Err(StateError::Locked));
        assert_eq!(apply(Locked, StateAction::Reopen), Err(StateError::Locked));
        assert_eq!(apply(Locked, StateAction::Close), Err(StateError::Locked));
    }

    #[test]
    fn r6_every_transition_is_defined_and_locked_is_reached_only_from_closed() {
        let actions = [StateAction::Close, StateAction::Lock, StateAction::Unlock, StateAction::Reopen];
        for from in ConversationState::ALL {
            for action in actions {
                if let Ok(Locked) = apply(*from, action) {
                    assert!(matches!(from, Closed | Locked), "{from:?} --{action:?}--> locked");
                }
            }
        }
    }
}
