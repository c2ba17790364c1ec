//! Posts share commits (group commit). SQLite has one writer; while it commits one group of
//! posts, the next posts queue, and the writer then stores all of them in one transaction. Each
//! post is acknowledged only after the commit that holds it, so an acknowledged post is as
//! durable as before; what the group shares is the commit and the pages several posts change
//! (a conversation's, its inbox rows', its people's index entries), written to the log once.

use crate::conversations::insert_in;
use crate::errors::other;
use crate::inbox::Tallies;
use crate::urgent::Urgent;
use crate::Announcer;
use parley_domain::Message;
use parley_store::{NewMessage, StoreError, StoreResult};
use sqlx::SqlitePool;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most posts one transaction holds.
const MAX_GROUP: usize = 64;
/// How long the next group of posts lets due email work go first, at most.
const URGENT_FIRST_AT_MOST: std::time::Duration = std::time::Duration::from_millis(50);
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
    pub(crate) fn start(writer: SqlitePool, announcer: Arc<Announcer>, urgent: Arc<Urgent>) -> Posts {
        let (queue, mut jobs) = mpsc::channel::<Job>(QUEUE);
        tokio::spawn(async move {
            let mut waiting: VecDeque<Job> = VecDeque::new();
            loop {
                if waiting.is_empty() {
                    match jobs.recv().await {
                        Some(job) => waiting.push_back(job),
                        None => break,
                    }
                }
                while waiting.len() < MAX_GROUP {
                    match jobs.try_recv() {
                        Ok(job) => waiting.push_back(job),
                        Err(_) => break,
                    }
                }
                // Due email work first (urgent.rs), but not for ever: with a backlog, the worker's
                // writes can follow each other without a gap, and posts still get their turn.
                let _ = tokio::time::timeout(URGENT_FIRST_AT_MOST, urgent.until_clear()).await;
                let group: Vec<Job> = waiting.drain(..waiting.len().min(MAX_GROUP)).collect();
                let cut_off = store_group(&writer, &announcer, &urgent, group).await;
                for job in cut_off.into_iter().rev() {
                    waiting.push_front(job);
                }
            }
        });
        Posts { queue }
    }

    /// Stores a message and answers once its transaction has committed.
    pub(crate) async fn post(&self, message: NewMessage) -> StoreResult<Message> {
        let closed = || StoreError::message("the store is shutting down");
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job { message, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// Stores a group in one transaction, or as much of it as was stored when email work came to
/// wait for the writer (the rest is returned, to go first in the next group). A post refused as
/// such (locked, or no such conversation) wrote nothing and is answered alone; any other failure
/// rolls the group back, and its posts are then stored one transaction each, so that only the one
/// at fault fails.
async fn store_group(writer: &SqlitePool, announcer: &Announcer, urgent: &Urgent, mut group: Vec<Job>) -> Vec<Job> {
    match try_group(writer, announcer, Some(urgent), &group).await {
        Ok(results) => {
            let cut_off = group.split_off(results.len());
            for (job, result) in group.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
            cut_off
        }
        Err(error) if group.len() == 1 => {
            if let Some(job) = group.into_iter().next() {
                let _ = job.reply.send(Err(error));
            }
            Vec::new()
        }
        Err(_) => {
            for job in group {
                let result = try_group(writer, announcer, None, std::slice::from_ref(&job))
                    .await
                    .and_then(|mut results| results.pop().unwrap_or(Err(StoreError::NotFound)));
                let _ = job.reply.send(result);
            }
            Vec::new()
        }
    }
}

/// Stores the group's posts in one transaction, stopping early (after at least one) once urgent
/// email work waits for the writer; answers the results of those it stored.
async fn try_group(
    writer: &SqlitePool,
    announcer: &Announcer,
    urgent: Option<&Urgent>,
    group: &[Job],
) -> StoreResult<Vec<StoreResult<Message>>> {
    let mut tx = writer.begin().await.map_err(other)?;
    let mut tallies = Tallies::default();
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        if !results.is_empty() && urgent.is_some_and(Urgent::is_waiting) {
            break;
        }
        match insert_in(&mut tx, &job.message, &mut tallies).await {
            Err(refused @ (StoreError::Locked | StoreError::NotFound | StoreError::Conflict(_))) => {
                results.push(Err(refused))
            }
            Err(error) => return Err(error),
            Ok(message) => results.push(Ok(message)),
        }
    }
    announcer.commit(tx, tallies).await?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::SqliteStore;
    use parley_domain::{Author, Visibility};
    use parley_store::ConversationStore;
    use parley_store_conformance::{new_message, World, T0};

    /// R14 under load: a group of posts being stored ends after the post under way once email work
    /// waits for the writer; the rest is handed back, stored by the next group, numbered in order.
    #[tokio::test]
    async fn r14_a_group_of_posts_ends_early_for_waiting_email_work() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("cut.db")).await.unwrap();
        let w = World::new(&store).await;
        let c = w.conversation(&store, Visibility::Public, None, vec![]).await;
        let jobs = |n: i64| -> (Vec<Job>, Vec<oneshot::Receiver<StoreResult<Message>>>) {
            (0..n)
                .map(|i| {
                    let (reply, answer) = oneshot::channel();
                    (Job { message: new_message(&c, Author::User(w.admin.id), &[], T0 + i), reply }, answer)
                })
                .unzip()
        };
        let urgent = Urgent::default();
        let (group, answers) = jobs(3);
        let waiting = urgent.enter();
        let cut_off = store_group(&store.writer, &store.tallies, &urgent, group).await;
        assert_eq!(cut_off.len(), 2, "one post stored, two handed back");
        drop(waiting);
        assert!(store_group(&store.writer, &store.tallies, &urgent, cut_off).await.is_empty());
        let mut numbers = Vec::new();
        for answer in answers {
            numbers.push(answer.await.unwrap().unwrap().number);
        }
        assert_eq!(numbers, vec![1, 2, 3]);
        assert_eq!(store.conversation(c.header.id).await.unwrap().header.message_count, 3);
    }

    /// R14 without starving posts: email work that never pauses holds posts back only briefly.
    #[tokio::test]
    async fn r14_posts_go_on_while_email_work_keeps_coming() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("turns.db")).await.unwrap();
        let w = World::new(&store).await;
        let c = w.conversation(&store, Visibility::Public, None, vec![]).await;
        let _endless = store.urgent.enter();
        let post = store.insert_message(new_message(&c, Author::User(w.admin.id), &[], T0));
        let stored = tokio::time::timeout(std::time::Duration::from_secs(10), post).await;
        assert_eq!(stored.expect("the post got its turn").unwrap().number, 1);
    }
}
