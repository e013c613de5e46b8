//! The schema, its versions, and the connection settings (documented in `docs/sql-schema.md`).
//!
//! The schema version is `PRAGMA user_version`; `MIGRATIONS[i]` takes a file from version `i`
//! to `i + 1`. Opening a file applies the missing migrations in one transaction. A file is
//! marked as an agentrace store by `PRAGMA application_id`.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::error::{DbError, OpenError};
use crate::search;
use crate::span_rollups;
use crate::trace_rollups;
use agentrace_store::QueryError;

/// `PRAGMA application_id` of agentrace stores: "AGTR".
pub(crate) const APPLICATION_ID: i32 = 0x4147_5452;

/// How long a connection waits for a lock held by another before giving up with "busy".
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A step of a migration in Rust, run after its SQL in the same transaction.
type Step = fn(&Connection) -> Result<(), QueryError>;

/// A migration: SQL, then optionally a step in Rust (e.g. computing new tables from old ones).
struct Migration {
    sql: &'static str,
    then: Option<Step>,
}

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[Migration] = &[
    // 0 → 1: the initial schema.
    Migration {
        sql: r"
CREATE TABLE resources (
    id            INTEGER PRIMARY KEY,
    service_name  TEXT NOT NULL,
    attributes    TEXT NOT NULL,
    UNIQUE (service_name, attributes)
);

CREATE TABLE spans (
    trace_no           INTEGER NOT NULL,
    trace_id           BLOB NOT NULL,
    span_id            BLOB NOT NULL,
    parent_span_id     BLOB,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER NOT NULL,
    duration_ns        INTEGER NOT NULL,
    status_code        INTEGER NOT NULL,
    status_message     TEXT,
    resource_id        INTEGER NOT NULL REFERENCES resources (id),
    service_name       TEXT NOT NULL,
    scope              TEXT,
    operation          TEXT,
    provider           TEXT,
    request_model      TEXT,
    response_model     TEXT,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_input         INTEGER,
    cost_cache_read    INTEGER,
    cost_cache_write   INTEGER,
    cost_output        INTEGER,
    cost_total         INTEGER,
    session_id         TEXT,
    user_id            TEXT,
    correlation_id     TEXT,
    agent_name         TEXT,
    agent_id           TEXT,
    tool_name          TEXT,
    tool_call_id       TEXT,
    framework          TEXT,
    attributes         TEXT,
    events             TEXT,
    PRIMARY KEY (trace_no, span_id)
);
CREATE INDEX spans_start ON spans (start_ns);

CREATE TABLE traces (
    trace_no           INTEGER PRIMARY KEY,
    trace_id           BLOB NOT NULL UNIQUE,
    order_ns           INTEGER NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER NOT NULL,
    span_count         INTEGER NOT NULL,
    error_count        INTEGER NOT NULL,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_total         INTEGER,
    priced_count       INTEGER NOT NULL,
    unpriced_count     INTEGER NOT NULL,
    has_root           INTEGER NOT NULL,
    root_start_ns      INTEGER NOT NULL,
    root_span_id       BLOB NOT NULL,
    root_name          TEXT NOT NULL,
    service_name       TEXT NOT NULL,
    session_id         TEXT,
    agent_name         TEXT,
    user_id            TEXT
);
CREATE INDEX traces_order ON traces (order_ns);
CREATE INDEX traces_start ON traces (start_ns);
CREATE INDEX traces_session ON traces (session_id, start_ns) WHERE session_id IS NOT NULL;

CREATE TABLE events (
    time_ns         INTEGER NOT NULL,
    event_hash      INTEGER NOT NULL,
    level           INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    message         TEXT NOT NULL,
    resource_id     INTEGER NOT NULL REFERENCES resources (id),
    service_name    TEXT NOT NULL,
    trace_id        BLOB,
    span_id         BLOB,
    session_id      TEXT,
    correlation_id  TEXT,
    agent_id        TEXT,
    framework       TEXT,
    scope           TEXT,
    attributes      TEXT,
    PRIMARY KEY (time_ns, event_hash)
);
CREATE INDEX events_trace ON events (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX events_session ON events (session_id, time_ns) WHERE session_id IS NOT NULL;
",
        then: None,
    },
    // 1 → 2: one-hour cache writes, a subset of the cache writes (Anthropic).
    Migration {
        sql: r"ALTER TABLE spans ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;",
        then: None,
    },
    // 2 → 3: rollups of spans by minute and hour (see `span_rollups`), computed from the
    // spans already stored.
    Migration {
        sql: r"
CREATE TABLE rollup_keys (
    id              INTEGER PRIMARY KEY,
    key_hash        INTEGER NOT NULL,
    billable        INTEGER NOT NULL,
    kind            TEXT,
    provider        TEXT,
    request_model   TEXT,
    response_model  TEXT,
    agent_name      TEXT,
    framework       TEXT,
    service_name    TEXT,
    tool_name       TEXT,
    operation       TEXT
);
CREATE INDEX rollup_keys_hash ON rollup_keys (key_hash);

CREATE TABLE rollups (
    tier                            INTEGER NOT NULL,
    bucket_ns                       INTEGER NOT NULL,
    key_id                          INTEGER NOT NULL,
    spans                           INTEGER NOT NULL,
    errors                          INTEGER NOT NULL,
    input_tokens                    INTEGER NOT NULL,
    output_tokens                   INTEGER NOT NULL,
    cache_read_tokens               INTEGER NOT NULL,
    cache_write_tokens              INTEGER NOT NULL,
    cache_write_1h_tokens           INTEGER NOT NULL,
    reasoning_tokens                INTEGER NOT NULL,
    cost_total                      INTEGER NOT NULL,
    priced                          INTEGER NOT NULL,
    unpriced                        INTEGER NOT NULL,
    unpriced_input_tokens           INTEGER NOT NULL,
    unpriced_output_tokens          INTEGER NOT NULL,
    unpriced_cache_read_tokens      INTEGER NOT NULL,
    unpriced_cache_write_tokens     INTEGER NOT NULL,
    unpriced_cache_write_1h_tokens  INTEGER NOT NULL,
    unpriced_reasoning_tokens       INTEGER NOT NULL,
    duration_min                    INTEGER NOT NULL,
    duration_max                    INTEGER NOT NULL,
    histogram                       BLOB NOT NULL,
    PRIMARY KEY (tier, bucket_ns, key_id)
) WITHOUT ROWID;

CREATE TABLE rollup_errors (
    tier        INTEGER NOT NULL,
    bucket_ns   INTEGER NOT NULL,
    key_id      INTEGER NOT NULL,
    error_type  TEXT NOT NULL,
    pattern     TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (tier, bucket_ns, key_id, error_type, pattern)
) WITHOUT ROWID;
",
        then: Some(span_rollups::backfill),
    },
    // 3 → 4: the trace-id and session indexes are kept up to date in batches (see
    // `deferred_index`): `traces` is rebuilt without its UNIQUE constraint, with `indexed`
    // (1 for the rows already stored); received metrics are stored (`metric_points`).
    Migration {
        sql: r"
CREATE TABLE traces_v4 (
    trace_no           INTEGER PRIMARY KEY,
    trace_id           BLOB NOT NULL,
    order_ns           INTEGER NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER NOT NULL,
    span_count         INTEGER NOT NULL,
    error_count        INTEGER NOT NULL,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_total         INTEGER,
    priced_count       INTEGER NOT NULL,
    unpriced_count     INTEGER NOT NULL,
    has_root           INTEGER NOT NULL,
    root_start_ns      INTEGER NOT NULL,
    root_span_id       BLOB NOT NULL,
    root_name          TEXT NOT NULL,
    service_name       TEXT NOT NULL,
    session_id         TEXT,
    agent_name         TEXT,
    user_id            TEXT,
    indexed            INTEGER NOT NULL
);
INSERT INTO traces_v4 SELECT trace_no, trace_id, order_ns, start_ns, end_ns, span_count,
    error_count, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, cost_total, priced_count, unpriced_count, has_root, root_start_ns,
    root_span_id, root_name, service_name, session_id, agent_name, user_id, 1
    FROM traces;
DROP TABLE traces;
ALTER TABLE traces_v4 RENAME TO traces;
CREATE INDEX traces_id ON traces (trace_id) WHERE indexed = 1;
CREATE INDEX traces_order ON traces (order_ns);
CREATE INDEX traces_start ON traces (start_ns);
CREATE INDEX traces_session ON traces (session_id, start_ns)
    WHERE session_id IS NOT NULL AND indexed = 1;
CREATE INDEX traces_pending ON traces (trace_no) WHERE indexed = 0;

CREATE TABLE metric_series (
    id           INTEGER PRIMARY KEY,
    series_hash  INTEGER NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    unit         TEXT,
    labels       TEXT NOT NULL
);
CREATE INDEX metric_series_hash ON metric_series (series_hash);
CREATE INDEX metric_series_name ON metric_series (name);

CREATE TABLE metric_points (
    series_id  INTEGER NOT NULL,
    bucket_ns  INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    sum        REAL NOT NULL,
    min        REAL NOT NULL,
    max        REAL NOT NULL,
    last       REAL NOT NULL,
    last_ns    INTEGER NOT NULL,
    PRIMARY KEY (series_id, bucket_ns)
) WITHOUT ROWID;
CREATE INDEX metric_points_bucket ON metric_points (bucket_ns);
",
        then: None,
    },
    // 4 → 5: spans that lack attribution and whose parent has not arrived are flagged with
    // when they arrived, so that a late parent fills them in even after a restart (see
    // `attribution`).
    Migration {
        sql: r"
ALTER TABLE spans ADD COLUMN awaiting_parent_since INTEGER;
CREATE INDEX spans_awaiting_parent ON spans (awaiting_parent_since)
    WHERE awaiting_parent_since IS NOT NULL;
",
        then: None,
    },
    // 5 → 6: the history of alerts (see `alerts`).
    Migration {
        sql: r"
CREATE TABLE alert_notifications (
    id        INTEGER PRIMARY KEY,
    time_ns   INTEGER NOT NULL,
    alert     TEXT NOT NULL,
    rule      TEXT NOT NULL,
    state     TEXT NOT NULL,
    previous  TEXT NOT NULL,
    reason    TEXT NOT NULL,
    body      TEXT NOT NULL
);
CREATE INDEX alert_notifications_time ON alert_notifications (time_ns);
CREATE INDEX alert_notifications_alert ON alert_notifications (alert, time_ns);
",
        then: None,
    },
    // 6 → 7: the trace-id index becomes two levels, tables of their own merged in order of
    // trace id (see `deferred_index`); a trigger removes a deleted row's id from them.
    Migration {
        sql: r"
CREATE TABLE trace_ids (
    trace_id  BLOB PRIMARY KEY,
    trace_no  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE trace_ids_recent (
    trace_id  BLOB PRIMARY KEY,
    trace_no  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO trace_ids (trace_id, trace_no)
    SELECT trace_id, trace_no FROM traces WHERE indexed = 1 ORDER BY trace_id;
DROP INDEX traces_id;
CREATE TRIGGER traces_forget_id AFTER DELETE ON traces WHEN old.indexed = 1 BEGIN
    DELETE FROM trace_ids WHERE trace_id = old.trace_id AND trace_no = old.trace_no;
    DELETE FROM trace_ids_recent WHERE trace_id = old.trace_id AND trace_no = old.trace_no;
END;
",
        then: None,
    },
    // 7 → 8: pending rows are listed in a table of their own and the session index is a table,
    // so that indexing a row no longer rewrites it (see `deferred_index`). `traces.indexed` is
    // left unused: dropping it would rewrite every row.
    Migration {
        sql: r"
DROP TRIGGER traces_forget_id;
DROP INDEX traces_session;
DROP INDEX traces_pending;
CREATE TABLE pending_traces (
    trace_no  INTEGER PRIMARY KEY
);
INSERT INTO pending_traces (trace_no) SELECT trace_no FROM traces WHERE indexed = 0;
CREATE TABLE trace_sessions (
    session_id  TEXT NOT NULL,
    start_ns    INTEGER NOT NULL,
    trace_no    INTEGER NOT NULL,
    PRIMARY KEY (session_id, start_ns, trace_no)
) WITHOUT ROWID;
INSERT INTO trace_sessions (session_id, start_ns, trace_no)
    SELECT session_id, start_ns, trace_no FROM traces
    WHERE indexed = 1 AND session_id IS NOT NULL ORDER BY 1, 2, 3;
CREATE TRIGGER traces_forget AFTER DELETE ON traces BEGIN
    DELETE FROM pending_traces WHERE trace_no = old.trace_no;
    DELETE FROM trace_ids WHERE trace_id = old.trace_id AND trace_no = old.trace_no;
    DELETE FROM trace_ids_recent WHERE trace_id = old.trace_id AND trace_no = old.trace_no;
    DELETE FROM trace_sessions
        WHERE session_id = old.session_id AND start_ns = old.start_ns AND trace_no = old.trace_no;
END;
CREATE TRIGGER traces_session_moved AFTER UPDATE OF session_id, start_ns ON traces
    WHEN old.session_id IS NOT new.session_id OR old.start_ns IS NOT new.start_ns BEGIN
    DELETE FROM trace_sessions
        WHERE session_id = old.session_id AND start_ns = old.start_ns AND trace_no = old.trace_no;
    INSERT INTO trace_sessions (session_id, start_ns, trace_no)
        SELECT new.session_id, new.start_ns, new.trace_no
        WHERE new.session_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM pending_traces WHERE trace_no = new.trace_no);
END;
",
        then: None,
    },
    // 8 → 9: aggregates (spans repeating what is reported beneath them) are marked in a column
    // and count in no total; those marked before have their usage and cost moved out.
    Migration {
        sql: r"
ALTER TABLE spans ADD COLUMN aggregate INTEGER NOT NULL DEFAULT 0;
",
        then: Some(crate::span_rewrite::recount_marked_aggregates),
    },
    // 9 → 10: a reasoning count not reported is unknown, not zero. Before, zero stood for
    // both; a count above zero was reported.
    Migration {
        sql: r"
ALTER TABLE spans ADD COLUMN reasoning_reported INTEGER NOT NULL DEFAULT 0;
UPDATE spans SET reasoning_reported = 1 WHERE reasoning_tokens <> 0;
",
        then: None,
    },
    // 10 → 11: scores of traces, spans and sessions, one row per id.
    Migration {
        sql: r"
CREATE TABLE scores (
    id           TEXT PRIMARY KEY,
    time_ns      INTEGER NOT NULL,
    trace_id     BLOB,
    span_id      BLOB,
    session_id   TEXT,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    value        REAL,
    label        TEXT,
    explanation  TEXT,
    source       TEXT NOT NULL,
    annotator    TEXT NOT NULL,
    author       TEXT,
    metadata     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX scores_time ON scores (time_ns, id);
CREATE INDEX scores_trace ON scores (trace_id, time_ns) WHERE trace_id IS NOT NULL;
CREATE INDEX scores_span ON scores (span_id, time_ns) WHERE span_id IS NOT NULL;
CREATE INDEX scores_session ON scores (session_id, time_ns) WHERE session_id IS NOT NULL;
CREATE INDEX scores_name ON scores (name, time_ns);
",
        then: None,
    },
    // 11 → 12: scores of spans naming no trace (Phoenix's span annotations), by name: the
    // trace list's score filter looks them up span by span only where some exist. Evaluator
    // rules given through the API.
    Migration {
        sql: r"
CREATE INDEX scores_untraced ON scores (name, span_id)
    WHERE trace_id IS NULL AND span_id IS NOT NULL;
CREATE TABLE evaluator_rules (
    name        TEXT PRIMARY KEY,
    definition  TEXT NOT NULL,
    updated_ns  INTEGER NOT NULL
) WITHOUT ROWID;
",
        then: None,
    },
    // 12 → 13: rollups keyed by MCP server too; the tool calls and MCP operations stored
    // before move to their server's rows.
    Migration {
        sql: r"ALTER TABLE rollup_keys ADD COLUMN mcp_server TEXT;",
        then: Some(span_rollups::key_mcp_servers),
    },
    // 13 → 14: the changes of the past writes made (`past`): what counts kept by the hour
    // must read again.
    Migration {
        sql: r"
CREATE TABLE past_changes (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ns    INTEGER NOT NULL,
    from_ns  INTEGER NOT NULL,
    to_ns    INTEGER NOT NULL
);
",
        then: None,
    },
    // 14 → 15: content kept once (`content`): long content values leave `spans.attributes`
    // for chains of pieces stored once each; and the words of spans and pieces indexed for
    // search (`search`). Spans stored before keep their content inline, and are found by
    // search's scan only.
    Migration {
        sql: r"
CREATE TABLE content_pieces (
    id    INTEGER PRIMARY KEY,
    hash  BLOB NOT NULL UNIQUE,
    size  INTEGER NOT NULL,
    lz4   INTEGER NOT NULL,
    body  BLOB NOT NULL
);
CREATE TABLE content_nodes (
    id     INTEGER PRIMARY KEY,
    hash   BLOB NOT NULL UNIQUE,
    prev   INTEGER,
    piece  INTEGER NOT NULL
);
CREATE INDEX content_nodes_by_piece ON content_nodes (piece);
CREATE INDEX content_nodes_by_prev ON content_nodes (prev) WHERE prev IS NOT NULL;
CREATE TABLE content_refs (
    node  INTEGER NOT NULL,
    span  INTEGER NOT NULL,
    PRIMARY KEY (node, span)
) WITHOUT ROWID;
ALTER TABLE spans ADD COLUMN content TEXT;
CREATE VIRTUAL TABLE span_words USING fts5 (
    text, content = '', contentless_delete = 1, tokenize = 'trigram', detail = 'none'
);
CREATE VIRTUAL TABLE piece_words USING fts5 (
    text, content = '', contentless_delete = 1, tokenize = 'trigram', detail = 'none'
);
",
        then: Some(search::index_stored_spans),
    },
    // 15 → 16: traces counted by session and user, by the minute and the hour
    // (`trace_rollups`), kept by triggers on `traces`.
    Migration {
        sql: trace_rollups::MIGRATION,
        then: None,
    },
    // 16 → 17: lines of span text so frequent that the span words' index leaves them out of
    // later spans' entries (`words`).
    Migration {
        sql: "CREATE TABLE frequent_lines (text TEXT PRIMARY KEY);",
        then: None,
    },
    // 17 → 18: the span words of consecutive spans indexed as one entry (`words`), the rows
    // each entry covers.
    Migration {
        sql: "CREATE TABLE span_word_groups (first INTEGER PRIMARY KEY, last INTEGER NOT NULL);",
        then: None,
    },
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn open_error(path: &Path, e: rusqlite::Error) -> OpenError {
    let e = DbError(e);
    match e.code() {
        Some(ErrorCode::NotADatabase) => OpenError::NotADatabase {
            path: path.to_owned(),
        },
        _ => OpenError::Open {
            path: path.to_owned(),
            source: e,
        },
    }
}

/// Switches the file to write-ahead logging; returns the journal mode it is in. Another
/// connection switching a fresh file at the same moment makes SQLite answer busy at once
/// (its busy handler is not asked here): try again until [`BUSY_TIMEOUT`].
fn wal_mode(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)) {
            Err(e)
                if DbError::is_busy_code(e.sqlite_error_code())
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Opens the writer connection, configures it and migrates the file.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, OpenError> {
    let err = |e| open_error(path, e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // The first statement that reads the file finds out whether it is a database at all.
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(err)?;
    if application_id != 0 && application_id != APPLICATION_ID {
        return Err(OpenError::Foreign {
            path: path.to_owned(),
            reason: format!("application_id {application_id:#x}"),
        });
    }
    let mode = wal_mode(&conn).map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::Wal {
            path: path.to_owned(),
            mode,
        });
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32000;
         PRAGMA wal_autocheckpoint = 0;",
    )
    .map_err(err)?;
    conn.set_prepared_statement_cache_capacity(32);
    span_rollups::register_functions(&conn).map_err(err)?;
    let mut conn = conn;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Opens the connection of the checkpointing thread (see `checkpointer`).
pub(crate) fn open_checkpointer(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(DbError)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(DbError)?;
    Ok(conn)
}

/// Opens a read connection: `query_only`, so it can never write.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(DbError)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(DbError)?;
    conn.execute_batch(
        "PRAGMA query_only = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16000;",
    )
    .map_err(DbError)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), OpenError> {
    let err = |e| open_error(path, e);
    // IMMEDIATE: two processes opening a fresh file at once migrate it once.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    // Read again under the lock: another process may have migrated the file meanwhile.
    let application_id: i32 = tx
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(err)?;
    if version > SCHEMA_VERSION {
        return Err(OpenError::TooNew {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 0 || (version > 0 && application_id != APPLICATION_ID) {
        return Err(OpenError::Foreign {
            path: path.to_owned(),
            reason: format!("user_version {version} without the agentrace application_id"),
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if version == 0 {
        let tables: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        if tables > 0 {
            return Err(OpenError::Foreign {
                path: path.to_owned(),
                reason: format!("it already holds {tables} tables or indexes of its own"),
            });
        }
    }
    let from = version;
    let migration_error = |e| OpenError::Migration {
        path: path.to_owned(),
        from,
        to: SCHEMA_VERSION,
        source: DbError(e),
    };
    let first = usize::try_from(version).unwrap_or(0);
    let missing = MIGRATIONS.get(first..).unwrap_or_default();
    for migration in missing {
        tx.execute_batch(migration.sql).map_err(migration_error)?;
    }
    // The steps in Rust read and write through this build's code: they run once the schema
    // is current, in the order of their migrations.
    for then in missing.iter().filter_map(|m| m.then) {
        then(&tx).map_err(|source| OpenError::MigrationStep {
            path: path.to_owned(),
            from,
            to: SCHEMA_VERSION,
            source,
        })?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(migration_error)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(migration_error)?;
    tx.commit().map_err(migration_error)
}
