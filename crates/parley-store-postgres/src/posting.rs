//! Posts share transactions (group commit), as on SQLite. Every post changes the counts of the
//! people who see its conversation, and the rows of those counts are locked from the change to the
//! commit: posts of one team, each in a transaction of its own, would take turns on them, a commit
//! each. Instead each node stores the posts that arrive while it commits the previous ones in one
//! transaction, and acknowledges each only after the commit that holds it, so an acknowledged post
//! is as durable as before.
//!
//! A group's transaction is a series of statements, each a round trip: one writer alone would
//! leave the database idle between them. Each node runs a few writers, each for its share of the
//! conversations (by id, so posts to one conversation keep their order); their groups then run at
//! once. They meet only on the counters of the people they reach, which each transaction writes
//! last, just before it commits (`inbox::Tallies`).

use crate::bus::Bus;
use crate::conversations::insert_in;
use crate::errors::{other, retrying};
use crate::inbox::Tallies;
use parley_domain::Message;
use parley_store::{NewMessage, StoreError, StoreResult};
use sqlx::PgPool;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most posts one transaction holds.
const MAX_GROUP: usize = 64;
/// Posts waiting for one writer before callers wait to queue.
const QUEUE: usize = 1024;
/// Writers of one node, each with a connection of the pool while it writes a group.
const WRITERS: usize = 4;

struct Job {
    message: NewMessage,
    reply: oneshot::Sender<StoreResult<Message>>,
}

/// The queues of posts of this node, one per writer; the tasks that store them end with them.
pub(crate) struct Posts {
    queues: Vec<mpsc::Sender<Job>>,
}

impl Posts {
    pub(crate) fn start(pool: PgPool, bus: Arc<Bus>) -> Posts {
        let queues = (0..WRITERS)
            .map(|_| {
                let (queue, mut jobs) = mpsc::channel::<Job>(QUEUE);
                let (pool, bus) = (pool.clone(), bus.clone());
                tokio::spawn(async move {
                    // Waits for a post, then takes those that arrived with it.
                    let mut group = Vec::with_capacity(MAX_GROUP);
                    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
                        store_group(&pool, &bus, std::mem::take(&mut group)).await;
                    }
                });
                queue
            })
            .collect();
        Posts { queues }
    }

    /// Stores a message and answers once its transaction has committed.
    pub(crate) async fn post(&self, message: NewMessage) -> StoreResult<Message> {
        let closed = || StoreError::message("the store is shutting down");
        let (reply, answer) = oneshot::channel();
        let writer = message.conversation_id.0.rem_euclid(WRITERS as i64) as usize;
        self.queues[writer].send(Job { message, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// Stores a group in one transaction. A post refused as such (locked, or no such conversation)
/// wrote nothing and is answered alone; a group rolled back by a deadlock runs again; any other
/// failure rolls the group back, and its posts are then stored one transaction each, so that only
/// the one at fault fails.
async fn store_group(pool: &PgPool, bus: &Bus, mut group: Vec<Job>) {
    // Conversations are locked in id order, on every node: two groups never wait on each other in
    // a circle for them. The sort is stable: posts to one conversation keep their order.
    group.sort_by_key(|job| job.message.conversation_id);
    match retrying(|| try_group(pool, bus, &group)).await {
        Ok(results) => {
            for (job, result) in group.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(error) if group.len() == 1 => {
            if let Some(job) = group.into_iter().next() {
                let _ = job.reply.send(Err(error));
            }
        }
        Err(_) => {
            for job in group {
                let result = retrying(|| try_group(pool, bus, std::slice::from_ref(&job)))
                    .await
                    .and_then(|mut results| results.pop().unwrap_or(Err(StoreError::NotFound)));
                let _ = job.reply.send(result);
            }
        }
    }
}

async fn try_group(pool: &PgPool, bus: &Bus, group: &[Job]) -> StoreResult<Vec<StoreResult<Message>>> {
    let mut tx = pool.begin().await.map_err(other)?;
    let mut tallies = Tallies::default();
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        match insert_in(&mut tx, &job.message, &mut tallies).await {
            Err(refused @ (StoreError::Locked | StoreError::NotFound | StoreError::Conflict(_))) => {
                results.push(Err(refused))
            }
            Err(error) => return Err(error),
            Ok(message) => results.push(Ok(message)),
        }
    }
    crate::commit(tx, bus, tallies).await?;
    Ok(results)
}
