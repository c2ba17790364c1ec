//! Push records share transactions. Every message pushed to someone connected records when
//! (R13's timeline), one small write per message; on PostgreSQL each of those alone would be a
//! commit of its own, waiting for the WAL to reach the disk, as many as there are posts. Instead
//! the records that arrive while the previous ones commit are written together, in one statement,
//! and each caller is answered after the commit that holds its records, as before.

use crate::errors::{other, retrying};
use parley_domain::{MessageId, Party};
use parley_store::{StoreError, StoreResult};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

/// The most callers one write serves.
const MAX_GROUP: usize = 256;
const QUEUE: usize = 4096;

struct Job {
    pushed: Vec<(MessageId, Party)>,
    at: i64,
    reply: oneshot::Sender<StoreResult<()>>,
}

pub(crate) struct Pushes {
    queue: mpsc::Sender<Job>,
}

impl Pushes {
    pub(crate) fn start(pool: PgPool) -> Pushes {
        let (queue, mut jobs) = mpsc::channel::<Job>(QUEUE);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(MAX_GROUP);
            while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
                let result = retrying(|| write(&pool, &group)).await;
                for job in group.drain(..) {
                    let _ = job.reply.send(result.as_ref().map(|_| ()).map_err(Clone::clone));
                }
            }
        });
        Pushes { queue }
    }

    /// Records that these messages were pushed to these people at `at`, where not recorded yet.
    pub(crate) async fn mark(&self, pushed: &[(MessageId, Party)], at: i64) -> StoreResult<()> {
        if pushed.is_empty() {
            return Ok(());
        }
        let closed = || StoreError::message("the store is shutting down");
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job { pushed: pushed.to_vec(), at, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// One statement for the whole group, its rows sorted and each once. Two nodes' groups touch
/// different rows (each pushes to its own connections); should they ever meet in a deadlock, the
/// group runs again.
async fn write(pool: &PgPool, group: &[Job]) -> StoreResult<()> {
    let mut rows: Vec<(i64, &str, i64, i64)> = group
        .iter()
        .flat_map(|job| job.pushed.iter().map(move |(m, p)| (m.0, p.kind_str(), p.raw_id(), job.at)))
        .collect();
    rows.sort_unstable();
    rows.dedup_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2));
    let (messages, kinds, ids, ats): (Vec<i64>, Vec<&str>, Vec<i64>, Vec<i64>) =
        rows.into_iter().fold(Default::default(), |mut columns, (m, k, p, at)| {
            columns.0.push(m);
            columns.1.push(k);
            columns.2.push(p);
            columns.3.push(at);
            columns
        });
    sqlx::query(
        "UPDATE message_recipients r SET pushed_at = v.at
         FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) AS v (message_id, party_kind, party_id, at)
         WHERE r.message_id = v.message_id AND r.party_kind = v.party_kind AND r.party_id = v.party_id
           AND r.pushed_at IS NULL",
    )
    .bind(messages)
    .bind(kinds)
    .bind(ids)
    .bind(ats)
    .execute(pool)
    .await
    .map_err(other)?;
    Ok(())
}
