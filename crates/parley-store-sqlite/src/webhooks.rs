//! §10: webhooks and their delivery queue: the shared implementation over this backend's pools.

use crate::SqliteStore;

parley_store::impl_webhook_store!(SqliteStore, reader: reader, writer: writer, skip_locked: "");

impl SqliteStore {
    /// What a webhook claim sets besides its lease: nothing, for one process holds the file and
    /// takes back everything claimed when it starts again.
    pub(crate) fn claim_owned(&self) -> String {
        String::new()
    }
}
