//! Password links, system email switches and project invitations: the shared implementation
//! over this backend's pools.

use crate::SqliteStore;

parley_store::impl_account_store!(SqliteStore, reader: reader, writer: writer);
