//! §10: webhooks and their delivery queue: the shared implementation over this backend's pools.

use crate::SqliteStore;

parley_store::impl_webhook_store!(SqliteStore, reader: reader, writer: writer, skip_locked: "");
