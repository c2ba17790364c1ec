//! The in-process hub: one broadcast channel per connected person, so every tab of theirs gets
//! every event, and a short replay buffer per person for reconnects.
//!
//! Memory is bounded, and small for the many idle connections: the live channel holds only
//! [`LIVE_BUFFER`] events; a connection that falls further behind catches up from the person's
//! replay buffer ([`HUB_BUFFER`] events), and one that falls behind even that is cut off (it
//! reconnects and replays, or resyncs) instead of being buffered without limit. People with no
//! open connection are forgotten after a while.

use super::endings::{EndNotice, Ending, Endings};
use super::events::{Event, EventBody};
use parley_domain::Party;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Events kept per person for replay, and the most a connection may lag behind.
pub const HUB_BUFFER: usize = 256;
/// Events a person's live channel holds. Each slot costs memory whether used or not, for every
/// person connected; a connection that falls further behind catches up from the replay buffer.
pub const LIVE_BUFFER: usize = 16;
/// How long a person's replay buffer outlives their last connection.
const KEEP_AFTER_DISCONNECT: Duration = Duration::from_secs(300);

struct Channel {
    sender: broadcast::Sender<Arc<Event>>,
    recent: VecDeque<(u64, Arc<Event>)>,
    last_connected: Instant,
}

pub struct Hub {
    /// Distinguishes this process's event ids from an earlier run's.
    epoch: String,
    sequence: AtomicU64,
    channels: Mutex<HashMap<Party, Channel>>,
    endings: Endings,
}

/// A connection's view of the hub: what it missed, then live events ([`Subscription::next`]).
pub struct Subscription {
    pub missed: Vec<Arc<Event>>,
    party: Party,
    live: broadcast::Receiver<Arc<Event>>,
    /// The sequence number of the last event this connection was given (or of the last one
    /// published before it subscribed).
    last: u64,
}

/// What a connection is to send next.
#[derive(Debug)]
pub enum Next {
    /// Events in order: one live event, or those it missed while it lagged.
    Events(Vec<Arc<Event>>),
    /// It fell further behind than the replay buffer reaches: it must reconnect.
    TooFarBehind { missed: u64 },
    /// The hub is gone.
    Closed,
}

impl Subscription {
    /// The next events for this connection. Cancel-safe (it may lose a `select!`): nothing is
    /// taken from the hub but what is returned.
    pub async fn next(&mut self, hub: &Hub) -> Next {
        loop {
            match self.live.recv().await {
                Ok(event) => match hub.sequence_of(&event.id) {
                    // Already given while catching up.
                    Some(seq) if seq <= self.last => continue,
                    seq => {
                        self.last = seq.unwrap_or(self.last);
                        return Next::Events(vec![event]);
                    }
                },
                Err(broadcast::error::RecvError::Lagged(missed)) => match hub.events_after(self.party, self.last) {
                    Some(events) if events.is_empty() => continue,
                    Some(events) => {
                        self.last = events.last().and_then(|e| hub.sequence_of(&e.id)).unwrap_or(self.last);
                        return Next::Events(events);
                    }
                    None => return Next::TooFarBehind { missed },
                },
                Err(broadcast::error::RecvError::Closed) => return Next::Closed,
            }
        }
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis().to_string())
            .unwrap_or_default();
        Hub { epoch, sequence: AtomicU64::new(0), channels: Mutex::default(), endings: Endings::default() }
    }

    /// R38: connections listen here for the end of their session or access.
    pub fn endings(&self) -> broadcast::Receiver<EndNotice> {
        self.endings.listen()
    }

    /// The connection opened with `credential` (a session or API token hash) ends.
    pub fn end_session(&self, party: Party, credential: &str) {
        let only = Some(credential.to_string());
        self.endings.announce(EndNotice { party: Some(party), only, except: None, ending: Ending::SessionEnded });
    }

    /// Every connection of `party` ends, except the one opened with `except`.
    pub fn end_sessions_of(&self, party: Party, except: Option<&str>) {
        let except = except.map(str::to_string);
        self.endings.announce(EndNotice { party: Some(party), only: None, except, ending: Ending::SessionEnded });
    }

    /// What `party` may see changed: their connections close so they reconnect afresh.
    pub fn access_changed(&self, party: Party) {
        self.endings.announce(EndNotice {
            party: Some(party),
            only: None,
            except: None,
            ending: Ending::AccessChanged,
        });
    }

    /// The connections `notice` names end (told by another node).
    pub fn end(&self, notice: EndNotice) {
        self.endings.announce(notice);
    }

    /// The server is stopping: every connection closes with "going away".
    pub fn stopping(&self) {
        self.endings.announce(EndNotice { party: None, only: None, except: None, ending: Ending::ServerStopping });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Party, Channel>> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Opens a connection for `party`. With `last_event_id`, the events after it are returned as
    /// missed — or a single `resync` if they are no longer known.
    pub fn subscribe(&self, party: Party, last_event_id: Option<&str>) -> Subscription {
        let mut channels = self.lock();
        self.forget_idle(&mut channels);
        let channel = channels.entry(party).or_insert_with(|| Channel {
            sender: broadcast::channel(LIVE_BUFFER).0,
            recent: VecDeque::new(),
            last_connected: Instant::now(),
        });
        channel.last_connected = Instant::now();
        let live = channel.sender.subscribe();
        // Under the lock: every event published after this one reaches `live`.
        let last = self.sequence.load(Ordering::Relaxed);
        let missed = match last_event_id {
            None => Vec::new(),
            Some(id) => match self.sequence_of(id).and_then(|seq| self.kept_after(channel, seq)) {
                Some(missed) => missed,
                None => vec![Arc::new(Event { id: self.next_id().1, body: EventBody::Resync })],
            },
        };
        Subscription { missed, party, live, last }
    }

    /// The events `party` was sent after sequence number `seq`, if all of them are still kept.
    fn events_after(&self, party: Party, seq: u64) -> Option<Vec<Arc<Event>>> {
        let channels = self.lock();
        self.kept_after(channels.get(&party)?, seq)
    }

    fn kept_after(&self, channel: &Channel, seq: u64) -> Option<Vec<Arc<Event>>> {
        (seq >= self.oldest_known(channel))
            .then(|| channel.recent.iter().filter(|(s, _)| *s > seq).map(|(_, e)| e.clone()).collect())
    }

    /// The first sequence number a reconnecting client may have seen and still be served fully.
    fn oldest_known(&self, channel: &Channel) -> u64 {
        match channel.recent.front() {
            Some((first, _)) if channel.recent.len() >= HUB_BUFFER => *first,
            // Nothing dropped from the buffer yet: any id of this epoch is fine.
            _ => 0,
        }
    }

    fn sequence_of(&self, id: &str) -> Option<u64> {
        let (epoch, seq) = id.split_once('-')?;
        (epoch == self.epoch).then(|| seq.parse().ok()).flatten()
    }

    fn next_id(&self) -> (u64, String) {
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        (seq, format!("{}-{seq}", self.epoch))
    }

    /// Whether `party` has a connection open now.
    pub fn is_online(&self, party: Party) -> bool {
        self.lock().get(&party).is_some_and(|c| c.sender.receiver_count() > 0)
    }

    /// Everyone with a connection open now.
    pub fn online(&self) -> Vec<Party> {
        self.lock().iter().filter(|(_, c)| c.sender.receiver_count() > 0).map(|(p, _)| *p).collect()
    }

    /// Whether `party` is connected now or was recently (their events are kept for replay).
    pub fn is_known(&self, party: Party) -> bool {
        self.lock().contains_key(&party)
    }

    /// Sends `body` to every open connection of `party` and keeps it for replay. People with no
    /// connection and no recent one get nothing. Returns whether anyone was connected.
    pub fn publish(&self, party: Party, body: EventBody) -> bool {
        let mut channels = self.lock();
        let Some(channel) = channels.get_mut(&party) else {
            return false;
        };
        let (seq, id) = self.next_id();
        let event = Arc::new(Event { id, body });
        if channel.recent.len() >= HUB_BUFFER {
            channel.recent.pop_front();
        }
        channel.recent.push_back((seq, event.clone()));
        channel.sender.send(event).is_ok()
    }

    /// How many people have a channel (connected now or recently).
    pub fn channel_count(&self) -> usize {
        self.lock().len()
    }

    fn forget_idle(&self, channels: &mut HashMap<Party, Channel>) {
        channels.retain(|_, c| c.sender.receiver_count() > 0 || c.last_connected.elapsed() < KEEP_AFTER_DISCONNECT);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use parley_domain::{ConversationId, ConversationState, UserId};

    fn state(n: i64) -> EventBody {
        EventBody::State { conversation_id: ConversationId(n), state: ConversationState::Closed }
    }

    const ANN: Party = Party::User(UserId(1));
    const BOB: Party = Party::User(UserId(2));

    #[tokio::test]
    async fn r12_every_tab_of_a_person_receives_and_nobody_else() {
        let hub = Hub::new();
        let mut tab1 = hub.subscribe(ANN, None).live;
        let mut tab2 = hub.subscribe(ANN, None).live;
        let mut bob = hub.subscribe(BOB, None).live;
        assert!(hub.publish(ANN, state(1)));
        assert_eq!(tab1.recv().await.unwrap().id, tab2.recv().await.unwrap().id);
        assert!(bob.try_recv().is_err());
        assert!(!hub.publish(Party::User(UserId(3)), state(1)), "never connected: nothing kept");
    }

    #[tokio::test]
    async fn r12_reconnecting_with_the_last_id_replays_what_was_missed() {
        let hub = Hub::new();
        let mut live = hub.subscribe(ANN, None).live;
        hub.publish(ANN, state(1));
        let seen = live.recv().await.unwrap().id.clone();
        drop(live);
        hub.publish(ANN, state(2));
        hub.publish(ANN, state(3));
        let again = hub.subscribe(ANN, Some(&seen));
        let missed: Vec<String> = again.missed.iter().map(|e| serde_json::to_string(&e.body).unwrap()).collect();
        assert_eq!(missed.len(), 2);
        assert!(missed[0].contains("\"conversation_id\":2") && missed[1].contains("\"conversation_id\":3"));
        let stale = hub.subscribe(ANN, Some("123-4"));
        assert!(matches!(stale.missed[0].body, EventBody::Resync), "another epoch");
    }

    #[tokio::test]
    async fn r12_a_client_too_far_behind_is_told_to_resync() {
        let hub = Hub::new();
        let first = {
            let mut live = hub.subscribe(ANN, None).live;
            hub.publish(ANN, state(0));
            live.recv().await.unwrap().id.clone()
        };
        for n in 0..HUB_BUFFER as i64 + 5 {
            hub.publish(ANN, state(n));
        }
        let again = hub.subscribe(ANN, Some(&first));
        assert!(matches!(again.missed[..], [ref e] if matches!(e.body, EventBody::Resync)));
    }

    fn conversations_of(events: &[Arc<Event>]) -> Vec<i64> {
        let of = |e: &Arc<Event>| match e.body {
            EventBody::State { conversation_id, .. } => conversation_id.0,
            _ => -1,
        };
        events.iter().map(of).collect()
    }

    #[tokio::test]
    async fn r12_a_connection_that_lags_catches_up_from_the_replay_buffer_once() {
        let hub = Hub::new();
        let mut subscription = hub.subscribe(ANN, None);
        let behind = LIVE_BUFFER as i64 * 3;
        for n in 0..behind {
            hub.publish(ANN, state(n));
        }
        let Next::Events(events) = subscription.next(&hub).await else { panic!("caught up") };
        assert_eq!(conversations_of(&events), (0..behind).collect::<Vec<_>>(), "all, in order");
        // The live channel still holds the last events of the catch-up: they are not sent twice.
        let again = tokio::time::timeout(Duration::from_millis(50), subscription.next(&hub)).await;
        assert!(again.is_err(), "sent twice: {again:?}");
        hub.publish(ANN, state(1000));
        let Next::Events(events) = subscription.next(&hub).await else { panic!("live again") };
        assert_eq!(conversations_of(&events), [1000]);
    }

    #[tokio::test]
    async fn r12_a_connection_behind_more_than_the_replay_buffer_must_reconnect() {
        let hub = Hub::new();
        let mut subscription = hub.subscribe(ANN, None);
        for n in 0..HUB_BUFFER as i64 + 5 {
            hub.publish(ANN, state(n));
        }
        assert!(matches!(subscription.next(&hub).await, Next::TooFarBehind { .. }));
    }

    #[tokio::test]
    async fn slow_connections_lag_instead_of_growing_without_bound() {
        let hub = Hub::new();
        let mut slow = hub.subscribe(ANN, None).live;
        for n in 0..HUB_BUFFER as i64 + 10 {
            hub.publish(ANN, state(n));
        }
        assert!(matches!(slow.recv().await, Err(broadcast::error::RecvError::Lagged(_))));
    }
}
