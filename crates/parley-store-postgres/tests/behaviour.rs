//! The shared store behaviours on PostgreSQL, each on a fresh schema of the database named by
//! `PARLEY_TEST_POSTGRES_URL` (the local server by default).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_store_postgres::scratch::{scratch_store, test_database_url, ScratchSchema};
use parley_store_postgres::PgStore;

async fn fresh() -> (PgStore, ScratchSchema) {
    scratch_store(&test_database_url()).await.expect("PostgreSQL is reachable at PARLEY_TEST_POSTGRES_URL")
}

parley_store_conformance::store_behaviour_tests!(fresh);
