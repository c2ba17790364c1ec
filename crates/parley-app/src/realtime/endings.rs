//! R38: access that ends, ends everywhere. Logging out, revoking a token, changing a password or
//! losing a role or scope is announced here, and every open realtime connection it concerns closes
//! itself at once (within the same process; each node announces to its own connections).

use parley_domain::Party;
use tokio::sync::broadcast;

/// Why the server closes a realtime connection; each has its own WebSocket close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The session or token it was opened with is no longer valid: log in again.
    SessionEnded,
    /// What the person may see changed (role, scope): reconnect to start from the new state.
    AccessChanged,
    /// The server is stopping (a deploy, a restart): reconnect, to another node or to it once back.
    ServerStopping,
}

impl Ending {
    /// The WebSocket close code: 4001 session ended, 4003 access changed, 1001 going away.
    pub fn close_code(self) -> u16 {
        match self {
            Ending::SessionEnded => 4001,
            Ending::AccessChanged => 4003,
            Ending::ServerStopping => 1001,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Ending::SessionEnded => "session ended: log in again",
            Ending::AccessChanged => "access changed: reconnect",
            Ending::ServerStopping => "server stopping: reconnect",
        }
    }
}

/// An announcement: the connections of `party` (everyone's when `None`) end, either only the one
/// opened with credential `only` (a token hash), or all of them but the one opened with `except`.
#[derive(Debug, Clone)]
pub struct EndNotice {
    pub party: Option<Party>,
    pub only: Option<String>,
    pub except: Option<String>,
    pub ending: Ending,
}

impl EndNotice {
    /// Whether a connection of `party` opened with credential `credential` must close.
    pub fn concerns(&self, party: Party, credential: &str) -> bool {
        self.party.is_none_or(|p| p == party)
            && self.only.as_deref().is_none_or(|only| only == credential)
            && self.except.as_deref() != Some(credential)
    }
}

/// Where endings are announced; every connection listens.
pub struct Endings {
    sender: broadcast::Sender<EndNotice>,
}

impl Default for Endings {
    fn default() -> Self {
        Endings { sender: broadcast::channel(1024).0 }
    }
}

impl Endings {
    pub fn listen(&self) -> broadcast::Receiver<EndNotice> {
        self.sender.subscribe()
    }

    pub fn announce(&self, notice: EndNotice) {
        // No connection listening is fine: there is nothing to close.
        let _ = self.sender.send(notice);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_domain::UserId;

    const ANN: Party = Party::User(UserId(1));

    #[test]
    fn r38_a_notice_concerns_exactly_the_connections_it_names() {
        let one = EndNotice { party: Some(ANN), only: Some("a".into()), except: None, ending: Ending::SessionEnded };
        assert!(one.concerns(ANN, "a"));
        assert!(!one.concerns(ANN, "b"));
        assert!(!one.concerns(Party::User(UserId(2)), "a"));
        let all_but =
            EndNotice { party: Some(ANN), only: None, except: Some("a".into()), ending: Ending::SessionEnded };
        assert!(!all_but.concerns(ANN, "a"));
        assert!(all_but.concerns(ANN, "b"));
        let everyone = EndNotice { party: None, only: None, except: None, ending: Ending::ServerStopping };
        assert!(everyone.concerns(ANN, "a") && everyone.concerns(Party::User(UserId(2)), "b"));
    }
}
