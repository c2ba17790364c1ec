//! Password links, system email switches and project invitations: the shared implementation
//! over this backend's pools.

use crate::PgStore;

parley_store::impl_account_store!(PgStore, reader: pool, writer: pool);
