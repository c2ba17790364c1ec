//! Due email work goes to the writer before the next group of posts. SQLite has one writer, and
//! posts can keep it busy; were the email worker to queue behind them like any other write, a
//! post rate near the writer's limit would leave due emails waiting ever longer (R14 promises
//! them within the delay). So while an email write waits for the writer or holds it, the next
//! group of posts waits (50 ms at most, so that a worker with a backlog cannot hold posts back),
//! and a group being stored ends early (after the post under way): under such load posts are
//! acknowledged more slowly, and due emails still go out on time.

use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

#[derive(Default)]
pub(crate) struct Urgent {
    waiting: AtomicUsize,
    clear: Notify,
}

/// An urgent write under way: posts wait until it is dropped.
pub struct UrgentWrite<'a>(&'a Urgent);

impl Urgent {
    pub(crate) fn enter(&self) -> UrgentWrite<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        UrgentWrite(self)
    }

    /// Whether an urgent write waits (or runs).
    pub(crate) fn is_waiting(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) > 0
    }

    /// Returns once no urgent write waits or runs.
    pub(crate) async fn until_clear(&self) {
        loop {
            let notified = self.clear.notified();
            tokio::pin!(notified);
            // Registered before the check, so a write that ends in between still wakes us.
            notified.as_mut().enable();
            if self.waiting.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for UrgentWrite<'_> {
    fn drop(&mut self) {
        if self.0.waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.clear.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Urgent;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn r14_posts_wait_while_an_email_write_is_under_way() {
        let urgent = Arc::new(Urgent::default());
        urgent.until_clear().await;
        let write = urgent.enter();
        let waiter = tokio::spawn({
            let urgent = urgent.clone();
            async move { urgent.until_clear().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "a post group waits for the email write");
        drop(write);
        tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("released").expect("joined");
    }
}
