//! Posts share commits (group commit). SQLite has one writer; while it commits one group of
//! posts, the next posts queue, and the writer then stores all of them in one transaction. Each
//! post is acknowledged only after the commit that holds it, so an acknowledged post is as
//! durable as before; what the group shares is the commit and the pages several posts change
//! (a conversation's, its inbox rows', its people's index entries), written to the log once.

use crate::conversations::insert_in;
use crate::errors::other;
use crate::inbox::Tallies;
use crate::Announcer;
use parley_domain::Message;
use parley_store::{NewMessage, StoreError, StoreResult};
use sqlx::SqlitePool;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most posts one transaction holds.
const MAX_GROUP: usize = 64;
/// Posts waiting for the writer before callers wait to queue.
const QUEUE: usize = 1024;

struct Job {
    message: NewMessage,
    reply: oneshot::Sender<StoreResult<Message>>,
}

/// The queue of posts in front of the writer; the task that stores them ends with it.
pub(crate) struct Posts {
    queue: mpsc::Sender<Job>,
}

impl Posts {
    pub(crate) fn start(writer: SqlitePool, announcer: Arc<Announcer>) -> Posts {
        let (queue, mut jobs) = mpsc::channel::<Job>(QUEUE);
        tokio::spawn(async move {
            while let Some(first) = jobs.recv().await {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match jobs.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                store_group(&writer, &announcer, group).await;
            }
        });
        Posts { queue }
    }

    /// Stores a message and answers once its transaction has committed.
    pub(crate) async fn post(&self, message: NewMessage) -> StoreResult<Message> {
        let closed = || StoreError::Other("the store is shutting down".into());
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job { message, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// Stores a group in one transaction. A post refused as such (locked, or no such conversation)
/// wrote nothing and is answered alone; any other failure rolls the group back, and its posts are
/// then stored one transaction each, so that only the one at fault fails.
async fn store_group(writer: &SqlitePool, announcer: &Announcer, group: Vec<Job>) {
    match try_group(writer, announcer, &group).await {
        Ok(results) => {
            for (job, result) in group.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(error) if group.len() == 1 => {
            let _ = group.into_iter().next().map(|job| job.reply.send(Err(error)));
        }
        Err(_) => {
            for job in group {
                let result = try_group(writer, announcer, std::slice::from_ref(&job))
                    .await
                    .and_then(|mut results| results.pop().unwrap_or(Err(StoreError::NotFound)));
                let _ = job.reply.send(result);
            }
        }
    }
}

async fn try_group(
    writer: &SqlitePool,
    announcer: &Announcer,
    group: &[Job],
) -> StoreResult<Vec<StoreResult<Message>>> {
    let mut tx = writer.begin().await.map_err(other)?;
    let mut tallies = Tallies::default();
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        match insert_in(&mut tx, &job.message, &mut tallies).await {
            Err(refused @ (StoreError::Locked | StoreError::NotFound)) => results.push(Err(refused)),
            Err(error) => return Err(error),
            Ok(message) => results.push(Ok(message)),
        }
    }
    announcer.commit(tx, tallies).await?;
    Ok(results)
}
