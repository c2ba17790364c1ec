//! The store's modules, written once: each backend crate compiles this tree as its own module
//! `shared` (`#[path]`) and brings its modules to its root (`use shared::*`), against its own
//! `crate::B` (a `parley_store_sql::Backend`) and `crate::SqlStore` (a `parley_store_sql::Engine`).

pub(crate) mod accounts;
pub(crate) mod attachments;
pub(crate) mod automations;
pub(crate) mod conversations;
pub(crate) mod delivery;
pub(crate) mod digest_reads;
pub(crate) mod errors;
pub(crate) mod inbox;
pub(crate) mod inbox_rebuild;
pub(crate) mod mail_in;
pub(crate) mod names;
pub(crate) mod people;
pub(crate) mod routing;
pub(crate) mod row_details;
pub(crate) mod rows;
pub(crate) mod saved_replies;
pub(crate) mod search_rows;
pub(crate) mod verification;
pub(crate) mod views;
pub(crate) mod webhooks;
pub(crate) mod work;
