//! R29: automations: the shared implementation over this backend's pools.

use crate::SqliteStore;

parley_store::impl_automation_store!(SqliteStore, reader: reader, writer: writer);
