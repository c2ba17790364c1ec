//! Throwaway stores for tests and benchmarks: each in its own schema of one database, dropped
//! when its guard is.

use crate::{errors, PgStore};
use parley_store::StoreResult;
use sqlx::Connection;

/// Where test runs find PostgreSQL: `PARLEY_TEST_POSTGRES_URL`, or the local server.
pub fn test_database_url() -> String {
    std::env::var("PARLEY_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A schema of its own in the database at `base`; dropped (with everything in it) on drop.
pub struct ScratchSchema {
    base: String,
    name: String,
}

impl ScratchSchema {
    /// Creates a schema with a fresh name.
    pub async fn create(base: &str) -> StoreResult<Self> {
        let name = format!("parley_scratch_{}_{}", std::process::id(), fresh_suffix());
        let mut conn = sqlx::PgConnection::connect(base).await.map_err(errors::other)?;
        sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&mut conn).await.map_err(errors::other)?;
        conn.close().await.map_err(errors::other)?;
        Ok(ScratchSchema { base: base.to_owned(), name })
    }

    /// The URL of the database with this schema first on the search path.
    pub fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        // Its connections carry the schema's name, so that dropping it can end them first.
        format!("{}{separator}options=-c%20search_path%3D{name}&application_name={name}", self.base, name = self.name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Drop runs outside any runtime it may use: the schema goes on a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&base).await.ok()?;
                // A store still open (a test that failed half-way, say) would hold the drop back.
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                    .bind(&name)
                    .execute(&mut conn)
                    .await
                    .ok()?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")).execute(&mut conn).await.ok()?;
                conn.close().await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// A fresh, migrated store in a schema of its own.
pub async fn scratch_store(base: &str) -> StoreResult<(PgStore, ScratchSchema)> {
    let schema = ScratchSchema::create(base).await?;
    let store = PgStore::open(&schema.url()).await?;
    Ok((store, schema))
}

fn fresh_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{}_{nanos}", NEXT.fetch_add(1, Ordering::Relaxed))
}
