//! §10: webhooks and their delivery queue: the shared implementation over this backend's pools.

use crate::PgStore;

parley_store::impl_webhook_store!(PgStore, reader: pool, writer: pool, skip_locked: "FOR UPDATE SKIP LOCKED");
