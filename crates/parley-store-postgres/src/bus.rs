//! The nodes sharing one database hear each other through PostgreSQL's LISTEN/NOTIFY. Two
//! channels: `parley_counts` carries the view counts each write changed, sent inside the write's
//! own transaction (so PostgreSQL delivers them when, and in the order, the writes commit, across
//! every node); `parley_notices` carries [`Notice`]s, which name what happened by id. Payloads
//! stay under PostgreSQL's 8,000-byte limit: larger ones go in several parts.
//!
//! Each node keeps one connection listening. A node hears its own count changes too (they reach
//! its connections in the same order as everyone else's), and a write returns only once its own
//! counts were heard; its own notices it ignores, as it acted on them before announcing them. When
//! the listening connection is lost it reconnects, and tells its connections that what they
//! missed is unknown ([`Notice::Deaf`]).

use crate::errors::other;
use parley_domain::views::View;
use parley_domain::Party;
use parley_store::{Notice, StoreError, StoreResult, TallyChange, ViewTally};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgNotification};
use sqlx::PgConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The channels' names; in a schema other than `public`, with the schema's name after them, so that
/// two installs in one database (the tests' schemas) do not hear each other.
const COUNTS: &str = "parley_counts";
const NOTICES: &str = "parley_notices";

/// The most bytes of one payload (PostgreSQL refuses 8,000 and more).
const PAYLOAD_LIMIT: usize = 7_000;

/// How long a write waits to hear its own counts before it returns anyway (the listening
/// connection is being replaced; its connections will be told to resync).
const HEAR_OWN_WRITE: Duration = Duration::from_secs(2);

/// One count as sent: party kind, party id, view, total, unread.
type CountRow = (String, i64, String, i64, i64);

#[derive(Serialize, Deserialize)]
struct CountsPayload {
    node: String,
    /// This node's write number, for the writer to know it was heard.
    write: u64,
    counts: Vec<CountRow>,
}

#[derive(Serialize, Deserialize)]
struct NoticePayload {
    node: String,
    notice: Notice,
}

/// This node's side of the bus.
pub(crate) struct Bus {
    /// Names this node in what it sends.
    node: String,
    counts_channel: String,
    notices_channel: String,
    writes: std::sync::atomic::AtomicU64,
    /// The last of this node's writes whose counts were heard back.
    heard: watch::Receiver<u64>,
    pub(crate) notices: broadcast::Sender<Arc<Notice>>,
    pub(crate) tallies: broadcast::Sender<Arc<[TallyChange]>>,
    listening: JoinHandle<()>,
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.listening.abort();
    }
}

/// Notices kept for a slow listener; further behind, it is told it lagged.
const BACKLOG: usize = 4096;

impl Bus {
    /// Starts listening before it returns: nothing committed after this goes unheard.
    pub(crate) async fn start(url: &str, schema: &str) -> StoreResult<Bus> {
        let node = node_name();
        let named = |channel: &str| match schema {
            "public" => channel.to_owned(),
            schema => format!("{channel}_{schema}"),
        };
        let (counts_channel, notices_channel) = (named(COUNTS), named(NOTICES));
        let mut listener = PgListener::connect(url).await.map_err(other)?;
        listener.listen_all([counts_channel.as_str(), notices_channel.as_str()]).await.map_err(other)?;
        let notices = broadcast::channel(BACKLOG).0;
        let tallies = broadcast::channel(BACKLOG).0;
        let (heard_tx, heard) = watch::channel(0);
        let ears = Ears {
            node: node.clone(),
            counts_channel: counts_channel.clone(),
            notices_channel: notices_channel.clone(),
            notices: notices.clone(),
            tallies: tallies.clone(),
            heard: heard_tx,
        };
        let listening = tokio::spawn(ears.listen(listener));
        Ok(Bus {
            node,
            counts_channel,
            notices_channel,
            writes: Default::default(),
            heard,
            notices,
            tallies,
            listening,
        })
    }

    /// Sends `counts` inside the write transaction `tx` (delivered at its commit); answers the
    /// write's number for [`Bus::heard`].
    pub(crate) async fn send_counts(&self, tx: &mut PgConnection, counts: &[TallyChange]) -> StoreResult<u64> {
        let write = self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let rows: Vec<CountRow> = counts
            .iter()
            .map(|c| {
                (
                    c.party.kind_str().to_owned(),
                    c.party.raw_id(),
                    c.tally.view.as_str().to_owned(),
                    c.tally.total,
                    c.tally.unread,
                )
            })
            .collect();
        // Parts of a size that stays under the limit: a row is well under 100 bytes.
        for part in rows.chunks(PAYLOAD_LIMIT / 100) {
            let payload = CountsPayload { node: self.node.clone(), write, counts: part.to_vec() };
            let payload = serde_json::to_string(&payload).map_err(other_json)?;
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(&self.counts_channel)
                .bind(payload)
                .execute(&mut *tx)
                .await
                .map_err(other)?;
        }
        Ok(write)
    }

    /// Waits until this node heard its own write `write` back (or gives up after a while).
    pub(crate) async fn heard(&self, write: u64) {
        let mut heard = self.heard.clone();
        let _ = tokio::time::timeout(HEAR_OWN_WRITE, heard.wait_for(|last| *last >= write)).await;
    }

    /// What tells the other nodes of `notice`: as many payloads as the payload limit asks.
    pub(crate) fn payloads(&self, notice: Notice) -> StoreResult<Vec<String>> {
        let mut payloads = Vec::new();
        for part in notice.split(PAYLOAD_LIMIT / 100) {
            let payload =
                serde_json::to_string(&NoticePayload { node: self.node.clone(), notice: part }).map_err(other_json)?;
            if payload.len() > PAYLOAD_LIMIT {
                tracing::warn!(bytes = payload.len(), "a notice too large to send was left out");
                continue;
            }
            payloads.push(payload);
        }
        Ok(payloads)
    }

    pub(crate) fn notices_channel(&self) -> &str {
        &self.notices_channel
    }
}

/// Notices share transactions. A NOTIFY makes its transaction a write, with a commit that waits
/// for the WAL: one per post, alone, would be as many commits again as posts. The notices that
/// arrive while the previous ones are sent go out together, in one statement and commit, in the
/// order they came.
pub(crate) struct Announcer {
    queue: mpsc::Sender<(Vec<String>, oneshot::Sender<StoreResult<()>>)>,
}

impl Announcer {
    pub(crate) fn start(pool: sqlx::PgPool, channel: String) -> Announcer {
        let (queue, mut jobs) = mpsc::channel::<(Vec<String>, oneshot::Sender<StoreResult<()>>)>(4096);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(256);
            while jobs.recv_many(&mut group, 256).await > 0 {
                let payloads: Vec<&str> = group.iter().flat_map(|(p, _)| p.iter().map(String::as_str)).collect();
                let sent = sqlx::query(
                    "SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS p (payload, n) ORDER BY n",
                )
                .bind(&channel)
                .bind(&payloads)
                .execute(&pool)
                .await
                .map(|_| ())
                .map_err(StoreError::other);
                for (_, reply) in group.drain(..) {
                    let _ = reply.send(sent.clone());
                }
            }
        });
        Announcer { queue }
    }

    /// Tells the other nodes; answers once the notices are sent.
    pub(crate) async fn announce(&self, payloads: Vec<String>) -> StoreResult<()> {
        if payloads.is_empty() {
            return Ok(());
        }
        let closed = || StoreError::message("the store is shutting down");
        let (reply, answer) = oneshot::channel();
        self.queue.send((payloads, reply)).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// The listening task's state.
struct Ears {
    node: String,
    counts_channel: String,
    notices_channel: String,
    notices: broadcast::Sender<Arc<Notice>>,
    tallies: broadcast::Sender<Arc<[TallyChange]>>,
    heard: watch::Sender<u64>,
}

impl Ears {
    async fn listen(self, mut listener: PgListener) {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => self.hear(&notification),
                Ok(None) => {
                    // The next `try_recv` connects again and listens to both channels again.
                    tracing::warn!("the connection that hears the other nodes was lost; reconnecting");
                    let _ = self.notices.send(Arc::new(Notice::Deaf));
                }
                Err(error) => {
                    tracing::warn!(%error, "hearing the other nodes failed; trying again in a second");
                    let _ = self.notices.send(Arc::new(Notice::Deaf));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn hear(&self, notification: &PgNotification) {
        let channel = notification.channel();
        if channel == self.counts_channel {
            match serde_json::from_str::<CountsPayload>(notification.payload()) {
                Ok(payload) => {
                    let batch: Vec<TallyChange> = payload.counts.iter().filter_map(tally_change).collect();
                    let _ = self.tallies.send(batch.into());
                    if payload.node == self.node {
                        self.heard.send_modify(|last| *last = (*last).max(payload.write));
                    }
                }
                Err(error) => tracing::warn!(%error, "unreadable count changes from another node"),
            }
        } else if channel == self.notices_channel {
            match serde_json::from_str::<NoticePayload>(notification.payload()) {
                Ok(payload) if payload.node == self.node => {}
                Ok(payload) => {
                    let _ = self.notices.send(Arc::new(payload.notice));
                }
                Err(error) => tracing::warn!(%error, "an unreadable notice from another node"),
            }
        }
    }
}

fn tally_change((kind, id, view, total, unread): &CountRow) -> Option<TallyChange> {
    Some(TallyChange {
        party: Party::from_parts(kind, *id)?,
        tally: ViewTally { view: View::parse(view)?, total: *total, unread: *unread },
    })
}

fn other_json(error: serde_json::Error) -> parley_store::StoreError {
    parley_store::StoreError::other(error)
}

/// A name no other node has: the host's process id and the time it started.
fn node_name() -> String {
    let started =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{}-{started}", std::process::id())
}
