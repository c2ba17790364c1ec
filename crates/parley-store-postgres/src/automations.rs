//! R29: automations: the shared implementation over this backend's pools.

use crate::PgStore;

parley_store::impl_automation_store!(PgStore, reader: pool, writer: pool);
