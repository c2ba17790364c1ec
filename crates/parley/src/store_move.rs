//! `parley migrate-store`: moves a single-node install from SQLite to PostgreSQL, keeping every
//! row and its id — conversations, messages, delivery records, pending email jobs, sessions — so
//! that the nodes started on PostgreSQL carry on where the single node stopped.
//!
//! The copy is driven by PostgreSQL's schema, not by a list kept here: every table the
//! PostgreSQL migrations create is filled from the SQLite table of the same name, column by
//! column. A column or table that exists on one side only stops the move before anything is
//! written, so a later migration that forgets its twin cannot lose data silently. Everything is
//! written in one transaction: a move that fails leaves the target as empty as it was.

use anyhow::{bail, Context};
use futures_util::TryStreamExt;
use parley_store::Store;
use parley_store_sqlite::Durability;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Connection, Row, SqliteConnection, TypeInfo, ValueRef};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// Rows sent to PostgreSQL per statement.
const BATCH: usize = 1_000;

/// Tables the PostgreSQL migrations fill themselves; the copy replaces their rows.
const SEEDED: &[&str] = &["inbox_built", "routing"];

/// SQLite tables with no PostgreSQL twin because PostgreSQL derives them: the full-text indexes
/// (a generated `tsvector` column and GIN indexes there) and their shadow tables.
fn derived_on_sqlite(table: &str) -> bool {
    table.contains("_fts")
}

/// Whether a PostgreSQL column has no SQLite twin by design: which node holds a claim (R44) means
/// something only where several nodes share the database. A moved store starts with none.
fn only_on_postgres(column: &str) -> bool {
    matches!(column, "claim_owner" | "owner_claimed_until")
}

/// What a move copied: rows per table, in the order they were written.
#[derive(Debug, Default)]
pub struct Moved {
    pub tables: Vec<(String, u64)>,
    /// Emails the sent journal showed as accepted by the SMTP server, recorded as sent first.
    pub journal_recovered: usize,
}

/// Moves the SQLite database at `from` (a `sqlite:` URL or a file) into the empty PostgreSQL
/// database at `to`. `journal` is the single node's sent journal, if it kept one: emails it
/// names were accepted by the SMTP server before the node stopped, and are recorded as sent
/// before the copy so that no node sends them again.
pub async fn move_to_postgres(from: &str, journal: Option<&Path>, to: &str) -> anyhow::Result<Moved> {
    let source_options = sqlite_options(from)?;
    // Opening the store brings an older install's schema up to date, as `serve` would.
    let store: Arc<dyn Store> = Arc::new(
        parley_store_sqlite::SqliteStore::open_durable(source_options.get_filename(), Durability::Full)
            .await
            .context("opening the SQLite database")?,
    );
    let journal_recovered = match journal {
        Some(path) if path.exists() => recover_journal(store.clone(), path).await?,
        _ => 0,
    };
    drop(store);

    // Opening the target runs its migrations; the copy then uses a plain connection.
    drop(parley_store_postgres::PgStore::open(to).await.context("opening the PostgreSQL database")?);
    let target = PgPoolOptions::new().max_connections(1).connect(to).await.context("connecting to PostgreSQL")?;
    let mut source = SqliteConnection::connect_with(&source_options.read_only(true))
        .await
        .context("opening the SQLite database to read")?;

    let plan = Plan::read(&target, &mut source).await?;
    let mut tables = Vec::new();
    let mut tx = target.begin().await?;
    // Readers see one moment of the source, even if something were still writing to it.
    sqlx::query("BEGIN").execute(&mut source).await?;
    for table in SEEDED {
        sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
    }
    for table in &plan.order {
        let columns = &plan.columns[table];
        let copied = copy_table(&mut source, &mut tx, table, columns).await?;
        tables.push((table.clone(), copied));
    }
    for (table, column) in &plan.identities {
        // Ids are kept, so the next id handed out must follow the largest copied one.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), COALESCE(MAX({column}), 1), MAX({column}) IS NOT NULL) FROM {table}"
        );
        sqlx::query(&sql).execute(&mut *tx).await?;
    }
    tx.commit().await.context("committing the copy")?;
    sqlx::query("COMMIT").execute(&mut source).await?;
    Ok(Moved { tables, journal_recovered })
}

/// Records as sent the emails the node's sent journal names, as the node would on its next
/// start, and empties the journal.
async fn recover_journal(store: Arc<dyn Store>, journal: &Path) -> anyhow::Result<usize> {
    let config = parley_app::AppConfig { sent_journal: Some(journal.to_path_buf()), ..Default::default() };
    let unused_outbox = std::env::temp_dir().join("parley-migrate-store-outbox");
    let mailer = Arc::new(parley_mail::FileOutbox::new(unused_outbox, "Parley <parley@parley.localhost>".parse()?));
    let app = parley_app::App::new(store, Arc::new(parley_app::SystemClock), config, mailer);
    app.recover_sent_journal().await.map_err(|e| anyhow::anyhow!("reading the sent journal: {e}"))
}

/// The tables to copy, parents before children; their columns with PostgreSQL's types; the
/// identity columns whose sequences follow the copied ids.
struct Plan {
    order: Vec<String>,
    columns: BTreeMap<String, Vec<Column>>,
    identities: Vec<(String, String)>,
}

struct Column {
    name: String,
    /// PostgreSQL's name of the type, e.g. `bigint`, `text`, `boolean`, `bytea`.
    pg_type: String,
}

impl Plan {
    async fn read(target: &PgPool, source: &mut SqliteConnection) -> anyhow::Result<Plan> {
        let rows: Vec<(String, String, String, bool, bool)> = sqlx::query_as(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                    a.attgenerated <> '', a.attidentity <> '' \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' \
               AND a.attnum > 0 AND NOT a.attisdropped AND c.relname NOT LIKE '\\_sqlx%' \
             ORDER BY c.relname, a.attnum",
        )
        .fetch_all(target)
        .await?;
        let mut columns: BTreeMap<String, Vec<Column>> = BTreeMap::new();
        let mut identities = Vec::new();
        for (table, name, pg_type, generated, identity) in rows {
            let entry = columns.entry(table.clone()).or_default();
            if identity {
                identities.push((table.clone(), name.clone()));
            }
            // Generated columns (the search vectors) are PostgreSQL's own to compute.
            if !generated && !only_on_postgres(&name) {
                entry.push(Column { name, pg_type });
            }
        }
        for table in columns.keys() {
            let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(target).await?;
            if count > 0 && !SEEDED.contains(&table.as_str()) {
                bail!("the PostgreSQL database already holds data ({table} has {count} rows): move into an empty database");
            }
        }

        let source_tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' ORDER BY name",
        )
        .fetch_all(&mut *source)
        .await?;
        for table in &source_tables {
            if !columns.contains_key(table) && !derived_on_sqlite(table) {
                bail!("the SQLite table {table} has no PostgreSQL twin: its rows would be lost");
            }
        }
        for (table, wanted) in &columns {
            if !source_tables.contains(table) {
                bail!("the PostgreSQL table {table} has no SQLite twin: is the SQLite database from a newer Parley?");
            }
            let have: BTreeSet<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
                .bind(table)
                .fetch_all(&mut *source)
                .await?
                .into_iter()
                .collect();
            let want: BTreeSet<String> = wanted.iter().map(|c| c.name.clone()).collect();
            if let Some(missing) = want.difference(&have).next() {
                bail!("{table}.{missing} is missing in the SQLite database");
            }
            if let Some(extra) = have.difference(&want).next() {
                bail!("{table}.{extra} of the SQLite database has no PostgreSQL column: its values would be lost");
            }
        }

        let links: Vec<(String, String)> = sqlx::query_as(
            "SELECT child.relname::text, parent.relname::text FROM pg_constraint k \
             JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid \
             WHERE k.contype = 'f' AND child.relnamespace = current_schema()::regnamespace",
        )
        .fetch_all(target)
        .await?;
        let order = parents_first(columns.keys().cloned().collect(), &links)?;
        Ok(Plan { order, columns, identities })
    }
}

/// The tables ordered so that every table comes after the tables it refers to. A table's rows
/// referring to its own rows are copied in id order instead.
fn parents_first(tables: Vec<String>, links: &[(String, String)]) -> anyhow::Result<Vec<String>> {
    let mut left: BTreeSet<String> = tables.into_iter().collect();
    let mut order = Vec::new();
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|t| !links.iter().any(|(child, parent)| child == *t && parent != *t && left.contains(parent)))
            .cloned()
            .collect();
        if ready.is_empty() {
            bail!("the tables {left:?} refer to each other in a circle");
        }
        for table in ready {
            left.remove(&table);
            order.push(table);
        }
    }
    Ok(order)
}

/// One column's values of a batch, in the shape PostgreSQL takes as an array parameter.
enum Values {
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Bytes(Vec<Option<Vec<u8>>>),
    Text(Vec<Option<String>>),
}

impl Values {
    fn for_type(pg_type: &str) -> Values {
        match pg_type {
            "bigint" | "integer" | "smallint" => Values::Int(Vec::new()),
            "boolean" => Values::Bool(Vec::new()),
            "bytea" => Values::Bytes(Vec::new()),
            _ => Values::Text(Vec::new()),
        }
    }

    /// The array type the parameter is sent as.
    fn array_type(&self) -> &'static str {
        match self {
            Values::Int(_) => "bigint[]",
            Values::Bool(_) => "boolean[]",
            Values::Bytes(_) => "bytea[]",
            Values::Text(_) => "text[]",
        }
    }

    /// Adds column `i` of a SQLite row, checking its value fits.
    fn push(&mut self, row: &SqliteRow, i: usize) -> Result<(), String> {
        let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
        let stored = if raw.is_null() { "NULL".to_string() } else { raw.type_info().name().to_string() };
        let wrong = |want: &str| Err(format!("holds a {stored} value where {want} belongs"));
        match (self, stored.as_str()) {
            (Values::Int(v), "NULL") => v.push(None),
            (Values::Bool(v), "NULL") => v.push(None),
            (Values::Bytes(v), "NULL") => v.push(None),
            (Values::Text(v), "NULL") => v.push(None),
            (Values::Int(v), "INTEGER") => v.push(Some(row.try_get(i).map_err(|e| e.to_string())?)),
            (Values::Int(_), _) => return wrong("an integer"),
            (Values::Bool(v), "INTEGER") => match row.try_get::<i64, _>(i).map_err(|e| e.to_string())? {
                0 => v.push(Some(false)),
                1 => v.push(Some(true)),
                other => return Err(format!("holds {other} where a boolean (0 or 1) belongs")),
            },
            (Values::Bool(_), _) => return wrong("a boolean"),
            (Values::Bytes(v), "BLOB" | "TEXT") => v.push(Some(row.try_get(i).map_err(|e| e.to_string())?)),
            (Values::Bytes(_), _) => return wrong("bytes"),
            (Values::Text(v), "TEXT") => v.push(Some(row.try_get(i).map_err(|e| e.to_string())?)),
            (Values::Text(_), _) => return wrong("text"),
        }
        Ok(())
    }

    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        match self {
            Values::Int(v) => query.bind(v),
            Values::Bool(v) => query.bind(v),
            Values::Bytes(v) => query.bind(v),
            Values::Text(v) => query.bind(v),
        }
    }
}

/// Copies one table in batches; answers how many rows it copied.
async fn copy_table(
    source: &mut SqliteConnection,
    target: &mut sqlx::PgConnection,
    table: &str,
    columns: &[Column],
) -> anyhow::Result<u64> {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let listed = names.join(", ");
    let ordered = if names.contains(&"id") { " ORDER BY id" } else { "" };
    let select = format!("SELECT {listed} FROM {table}{ordered}");
    let fresh = || columns.iter().map(|c| Values::for_type(&c.pg_type)).collect::<Vec<_>>();
    let insert = {
        let arrays: Vec<String> =
            fresh().iter().enumerate().map(|(i, v)| format!("${}::{}", i + 1, v.array_type())).collect();
        let casts: Vec<String> = columns.iter().map(|c| format!("{}::{}", c.name, c.pg_type)).collect();
        format!(
            "INSERT INTO {table} ({listed}) SELECT {} FROM unnest({}) AS copied ({listed})",
            casts.join(", "),
            arrays.join(", ")
        )
    };
    let mut batch = fresh();
    let mut in_batch = 0;
    let mut copied = 0u64;
    let mut rows = sqlx::query(&select).fetch(&mut *source);
    while let Some(row) = rows.try_next().await.with_context(|| format!("reading {table}"))? {
        for (i, values) in batch.iter_mut().enumerate() {
            values.push(&row, i).map_err(|e| anyhow::anyhow!("{table}.{} {e}", columns[i].name))?;
        }
        in_batch += 1;
        if in_batch == BATCH {
            write_batch(&mut *target, &insert, std::mem::replace(&mut batch, fresh()), table).await?;
            copied += in_batch as u64;
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        write_batch(&mut *target, &insert, batch, table).await?;
        copied += in_batch as u64;
    }
    Ok(copied)
}

async fn write_batch(
    target: &mut sqlx::PgConnection,
    insert: &str,
    batch: Vec<Values>,
    table: &str,
) -> anyhow::Result<()> {
    let mut query = sqlx::query(insert);
    for values in batch {
        query = values.bind(query);
    }
    query.execute(target).await.with_context(|| format!("writing {table}"))?;
    Ok(())
}

/// `--from`: a `sqlite:` URL or a path to the database file, which must exist.
fn sqlite_options(from: &str) -> anyhow::Result<SqliteConnectOptions> {
    let options = if from.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(from).with_context(|| format!("--from {from}"))?
    } else {
        SqliteConnectOptions::new().filename(from)
    };
    let path = options.get_filename();
    if !path.exists() {
        bail!("there is no SQLite database at {}", path.display());
    }
    Ok(options.create_if_missing(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_the_tables_that_refer_to_them() {
        let tables = ["messages", "conversations", "items", "projects"].map(String::from).to_vec();
        let links = [
            ("messages", "conversations"),
            ("conversations", "items"),
            ("items", "projects"),
            ("messages", "messages"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()));
        let order = parents_first(tables, &links).unwrap_or_default();
        assert_eq!(order, ["projects", "items", "conversations", "messages"]);
        let circle = [("a", "b"), ("b", "a")].map(|(a, b)| (a.to_string(), b.to_string()));
        assert!(parents_first(vec!["a".into(), "b".into()], &circle).is_err());
    }
}
