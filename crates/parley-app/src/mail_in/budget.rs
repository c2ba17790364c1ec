//! R45: the incoming log's byte budget. Every mail is logged with its raw bytes for 72 hours
//! (R32); a flood of large mails must not fill the disk with them. Past the budget, a new mail is
//! still handled, but the log keeps its headers only.

use super::INCOMING_LOG_MS;
use parley_store::{Store, StoreResult};
use std::sync::Mutex;

/// How long a reading of the log's size is trusted: other nodes add to the log, and the pruning
/// takes from it.
const REREAD_MS: i64 = 10_000;

pub(crate) struct LogBudget {
    max_bytes: i64,
    known: Mutex<Option<Known>>,
}

#[derive(Clone, Copy)]
struct Known {
    read_at: i64,
    bytes: i64,
}

impl LogBudget {
    pub(crate) fn new(max_bytes: u64) -> Self {
        LogBudget { max_bytes: i64::try_from(max_bytes).unwrap_or(i64::MAX), known: Mutex::new(None) }
    }

    /// Whether `more` bytes fit in the log now; when they do, they are counted as kept.
    pub(crate) async fn fits(&self, store: &dyn Store, now: i64, more: usize) -> StoreResult<bool> {
        let more = i64::try_from(more).unwrap_or(i64::MAX);
        let fresh = *self.known.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = match fresh.filter(|k| now.saturating_sub(k.read_at) < REREAD_MS) {
            Some(known) => known.bytes,
            None => {
                let bytes = store.incoming_log_bytes(now - INCOMING_LOG_MS).await?;
                *self.known.lock().unwrap_or_else(|p| p.into_inner()) = Some(Known { read_at: now, bytes });
                bytes
            }
        };
        let fits = bytes.saturating_add(more) <= self.max_bytes;
        if fits {
            if let Some(known) = self.known.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                known.bytes = known.bytes.saturating_add(more);
            }
        }
        Ok(fits)
    }
}
