//! R43: the one "I am looking" signal. Each open page says on its socket which conversation it
//! has open, whether it is visible, and the newest message in view. That drives:
//! - **seen**: a message counts as read and seen only when reported in view in a visible page;
//!   a message merely received by a connection, or loaded into a hidden tab, is not;
//! - **live threads** (R10, R26): whoever has a conversation open gets its new messages pushed,
//!   whether or not they are in its audience (their access is asked at the moment of the push);
//! - **availability** (R42): a user with a connection open is connected (`slots.rs`).
//!
//! What each connection looks at is kept here, on its node; a node pushes to its own onlookers.

use crate::{Actor, App, AppResult};
use parley_domain::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What one page reports (the socket's `looking` message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LookingReport {
    /// The conversation open in the page; `None`: none.
    pub conversation: Option<ConversationId>,
    /// The page is shown (not a background tab; for the widget, its panel open too).
    pub visible: bool,
    /// The newest message in view, numbered as the reader numbers them (R7).
    pub newest_in_view: Option<i64>,
}

type Watchers = HashMap<ConversationId, HashMap<Party, usize>>;

/// This node's onlookers: who has which conversation open, counted per connection.
#[derive(Clone, Default)]
pub struct Onlookers {
    watchers: Arc<Mutex<Watchers>>,
}

fn lock(watchers: &Mutex<Watchers>) -> std::sync::MutexGuard<'_, Watchers> {
    watchers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Onlookers {
    /// The people with `conversation` open on this node.
    pub fn of(&self, conversation: ConversationId) -> Vec<Party> {
        lock(&self.watchers).get(&conversation).map(|by| by.keys().copied().collect()).unwrap_or_default()
    }

    /// Whether anyone has `conversation` open on this node.
    pub fn any(&self, conversation: ConversationId) -> bool {
        lock(&self.watchers).contains_key(&conversation)
    }

    /// A connection's place among the onlookers, looking at nothing yet.
    pub fn join(&self, party: Party) -> Looking {
        Looking { watchers: self.watchers.clone(), party, at: None }
    }
}

/// What one connection looks at; it stops looking when dropped (the connection ended).
pub struct Looking {
    watchers: Arc<Mutex<Watchers>>,
    party: Party,
    at: Option<ConversationId>,
}

impl Looking {
    /// The conversation this connection has open now.
    pub fn at(&self) -> Option<ConversationId> {
        self.at
    }

    fn look_at(&mut self, conversation: Option<ConversationId>) {
        if self.at == conversation {
            return;
        }
        let mut watchers = lock(&self.watchers);
        if let Some(before) = self.at.take() {
            leave(&mut watchers, before, self.party);
        }
        if let Some(now) = conversation {
            *watchers.entry(now).or_default().entry(self.party).or_insert(0) += 1;
        }
        self.at = conversation;
    }
}

fn leave(watchers: &mut Watchers, conversation: ConversationId, party: Party) {
    let Some(by) = watchers.get_mut(&conversation) else { return };
    if let Some(n) = by.get_mut(&party) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            by.remove(&party);
        }
    }
    if by.is_empty() {
        watchers.remove(&conversation);
    }
}

impl Drop for Looking {
    fn drop(&mut self) {
        if let Some(at) = self.at.take() {
            leave(&mut lock(&self.watchers), at, self.party);
        }
    }
}

impl App {
    /// A new connection's place among the onlookers.
    pub fn looking(&self, party: Party) -> Looking {
        self.onlookers.join(party)
    }

    /// R43: a page's report. The conversation it names must be one the actor may see now (else
    /// it looks at nothing, and "not found" answers); in a visible page, the newest message in
    /// view and all before it are read and seen.
    pub async fn report_looking(&self, actor: Actor, looking: &mut Looking, report: LookingReport) -> AppResult<()> {
        let Some(id) = report.conversation else {
            looking.look_at(None);
            return Ok(());
        };
        if let Err(refused) = self.visible_conversation(actor, id).await {
            looking.look_at(None);
            if matches!(refused, crate::AppError::NotFound(_)) {
                self.metrics.refused_at(parley_domain::door::Door::Looking, "may not see the conversation");
            }
            return Err(refused);
        }
        looking.look_at(Some(id));
        match (report.visible, report.newest_in_view) {
            (true, Some(newest)) => self.mark_read(actor, id, newest).await.map(|_| ()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r43_onlookers_are_counted_per_connection_and_leave_with_it() {
        let onlookers = Onlookers::default();
        let (ann, c1, c2) = (Party::User(UserId(1)), ConversationId(1), ConversationId(2));
        let mut tab = onlookers.join(ann);
        let mut other_tab = onlookers.join(ann);
        tab.look_at(Some(c1));
        other_tab.look_at(Some(c1));
        assert_eq!(onlookers.of(c1), vec![ann]);
        tab.look_at(Some(c2));
        assert_eq!((onlookers.of(c1), onlookers.of(c2)), (vec![ann], vec![ann]), "the other tab still has c1");
        drop(other_tab);
        assert!(!onlookers.any(c1));
        tab.look_at(None);
        assert!(!onlookers.any(c2));
        tab.look_at(Some(c2));
        drop(tab);
        assert!(onlookers.of(c2).is_empty(), "a closed connection looks at nothing");
    }
}
