//! The names the shared modules are written against, taken from this backend's [`Backend`]
//! (`crate::B`).

use parley_store_sql::Backend;

pub(crate) type Db = <crate::B as Backend>::Db;
pub(crate) type DbRow = <Db as sqlx::Database>::Row;
pub(crate) type DbConnection = <Db as sqlx::Database>::Connection;
