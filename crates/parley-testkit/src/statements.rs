//! Every SQL statement the store sends while tests run is checked: one that mixes literal `$n`
//! parameters with builder binds (`?`) would bind the wrong values on SQLite without an error
//! (`parley_store_sql::placeholders`), and fails the test that next starts or stops a server.
//!
//! With `PARLEY_SQL_STATEMENTS=<file>`, every distinct statement is also appended to `<file>`,
//! one per line with its whitespace collapsed. `.ci/store-statements` turns the lines into the
//! normalised set a change to the store is compared by.

use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Statements that mixed the two kinds of parameter, since the process started.
static MIXED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Set by load generators: nothing is watched.
static UNWATCHED: AtomicBool = AtomicBool::new(false);

/// For load generators, called before the first server starts: statements go unwatched. Watching
/// has every statement logged and looked at, which is not part of what they measure.
pub fn leave_statements_unwatched() {
    UNWATCHED.store(true, Ordering::Relaxed);
}

/// Starts watching once per test process, and recording when asked to; panics if a statement
/// sent so far mixed parameters.
pub(crate) fn watch() {
    if UNWATCHED.load(Ordering::Relaxed) {
        return;
    }
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let file = std::env::var_os("PARLEY_SQL_STATEMENTS").map(|path| {
            Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(path).expect("statement log"))
        });
        let recorder = Recorder { seen: Mutex::new(HashSet::new()), file };
        let subscriber = tracing_subscriber::registry().with(recorder);
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber in tests");
    });
    let mixed = MIXED.lock().unwrap();
    assert!(mixed.is_empty(), "statements mixing $n parameters with builder binds: {mixed:#?}");
}

struct Recorder {
    seen: Mutex<HashSet<String>>,
    file: Option<Mutex<std::fs::File>>,
}

/// sqlx logs a statement's first words as `summary` and, when they are not all of it, the whole
/// text as `db.statement`.
#[derive(Default)]
struct Statement {
    summary: String,
    whole: String,
}

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.whole = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "summary" => self.summary = format!("{value:?}").trim_matches('"').to_owned(),
            "db.statement" => self.whole = format!("{value:?}").trim_matches('"').to_owned(),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.target() == "sqlx::query"
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut statement = Statement::default();
        event.record(&mut statement);
        let raw = if statement.whole.trim().is_empty() { statement.summary } else { statement.whole };
        let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || !self.seen.lock().unwrap().insert(text.clone()) {
            return;
        }
        if parley_store_sql::placeholders::mixed(&raw) {
            MIXED.lock().unwrap().push(text.clone());
        }
        if let Some(file) = &self.file {
            let _ = writeln!(file.lock().unwrap(), "{text}");
        }
    }
}
