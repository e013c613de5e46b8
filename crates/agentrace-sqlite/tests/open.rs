//! Opening files: creation, migration, reopening, and the files that must be refused.

mod common;

use agentrace_core::{EventKind, Level, TokenUsage};
use agentrace_sqlite::{
    EventFilter, EventQuery, OpenError, SCHEMA_VERSION, SpanFilter, SpanQuery, SqliteStore,
    TraceFilter,
};
use agentrace_store::RecordWriter;
use agentrace_store::TraceReader;
use common::{T0, TestResult, event, llm, sid, tid};

#[test]
fn a_new_file_gets_the_current_schema_in_wal_mode() -> TestResult {
    let (dir, store) = common::open()?;
    assert_eq!(store.schema_version()?, SCHEMA_VERSION);
    let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    let mode: String = raw.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    let app: i32 = raw.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    assert_eq!(app, 0x4147_5452);
    Ok(())
}

#[tokio::test]
async fn reopening_keeps_everything() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.db");
    let spans: Vec<_> = (0..50)
        .map(|i| {
            llm(
                tid(i % 5),
                sid(i),
                "gpt-4o",
                T0 + i,
                10,
                TokenUsage::new(3, 1),
                Some(7),
            )
        })
        .collect();
    let events: Vec<_> = (0..20)
        .map(|i| event(T0 + i, Level::Info, EventKind::ToolCall, &format!("e{i}")))
        .collect();
    {
        let store = SqliteStore::open(&path)?;
        store.write_spans(&spans)?;
        store.insert_events(&events)?;
        // Dropped without shutdown or flush: committed batches must survive anyway.
    }
    let store = SqliteStore::open(&path)?;
    assert_eq!(store.spans(&SpanQuery::default())?.spans.len(), 50);
    assert_eq!(
        store.events(&EventQuery::new(EventFilter::new()))?.events,
        events
    );
    let page = store.list_traces(&TraceFilter::new(), None, 100)?;
    assert_eq!(page.traces.len(), 5);
    assert!(
        page.traces
            .iter()
            .all(|t| t.span_count == 10 && t.usage.input_tokens == 30)
    );
    // And writing after reopening continues the same traces.
    let report = store.write_spans(&spans)?;
    assert_eq!((report.inserted, report.duplicates), (0, 50));
    Ok(())
}

#[test]
fn a_file_from_a_newer_version_is_refused_naming_both_versions() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.db");
    drop(SqliteStore::open(&path)?);
    let raw = rusqlite::Connection::open(&path)?;
    raw.pragma_update(None, "user_version", SCHEMA_VERSION + 41)?;
    drop(raw);
    let err = SqliteStore::open(&path)
        .err()
        .ok_or("opened a newer file")?;
    match &err {
        OpenError::TooNew {
            found, supported, ..
        } => {
            assert_eq!((*found, *supported), (SCHEMA_VERSION + 41, SCHEMA_VERSION));
        }
        other => return Err(format!("unexpected error: {other}").into()),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("version {}", SCHEMA_VERSION + 41)),
        "{message}"
    );
    assert!(
        message.contains(&format!("up to {SCHEMA_VERSION}")),
        "{message}"
    );
    assert!(message.contains("upgrade agentrace"), "{message}");
    // The file is left untouched.
    let raw = rusqlite::Connection::open(&path)?;
    let v: i64 = raw.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(v, SCHEMA_VERSION + 41);
    Ok(())
}

#[test]
fn a_garbage_file_gives_a_clear_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("garbage.db");
    std::fs::write(
        &path,
        "this is not a database, just some text that is long enough ".repeat(100),
    )?;
    let err = SqliteStore::open(&path)
        .err()
        .ok_or("opened a garbage file")?;
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is not an SQLite database"),
        "{err}"
    );
    assert!(err.to_string().contains("garbage.db"), "{err}");
    Ok(())
}

#[test]
fn another_applications_database_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("other.db");
    let raw = rusqlite::Connection::open(&path)?;
    raw.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")?;
    drop(raw);
    let err = SqliteStore::open(&path)
        .err()
        .ok_or("opened a foreign database")?;
    assert!(matches!(err, OpenError::Foreign { .. }), "{err:?}");
    assert!(err.to_string().contains("not an agentrace store"), "{err}");

    let path = dir.path().join("other-app.db");
    let raw = rusqlite::Connection::open(&path)?;
    raw.pragma_update(None, "application_id", 0x1234)?;
    raw.execute_batch("CREATE TABLE t (x)")?;
    drop(raw);
    let err = SqliteStore::open(&path)
        .err()
        .ok_or("opened a foreign database")?;
    assert!(err.to_string().contains("application_id 0x1234"), "{err}");
    Ok(())
}

#[test]
fn a_missing_directory_names_the_path() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir
        .path()
        .join("no")
        .join("such")
        .join("dir")
        .join("store.db");
    let err = SqliteStore::open(&path)
        .err()
        .ok_or("opened in a missing directory")?;
    assert!(matches!(err, OpenError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("store.db"), "{err}");
    Ok(())
}

#[test]
fn an_empty_file_becomes_a_store() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"")?;
    let store = SqliteStore::open(&path)?;
    assert_eq!(store.schema_version()?, SCHEMA_VERSION);
    assert!(
        store
            .spans(&SpanQuery::new(SpanFilter::new()))?
            .spans
            .is_empty()
    );
    Ok(())
}

/// Stores opening one fresh file at the same time (a server creating a project's file while
/// the CLI or a test opens it) all open it: one migrates, the others find it migrated.
#[test]
fn stores_opening_a_fresh_file_together_all_open_it() -> Result<(), Box<dyn std::error::Error>> {
    for round in 0..10 {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(format!("fresh-{round}.db"));
        let opened: Vec<Result<SqliteStore, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| SqliteStore::open(&path).map_err(|e| e.to_string())))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
                .collect()
        });
        for store in opened {
            store?;
        }
    }
    Ok(())
}
