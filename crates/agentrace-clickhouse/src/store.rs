//! [`ClickHouseStore`]: a database on a ClickHouse server, its schema made current when opened,
//! written as a sink and read back.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use agentrace_core::{
    Event, EventSink, ExportError, ShutdownError, Sink, SpanRecord, SpanSink, async_trait,
    now_unix_nano,
};
use clickhouse::Client;

use crate::row::{DecodeError, EventRow, SpanRow};
use crate::schema::{MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION};

/// Opening a store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The server did not answer, or refused a statement of the schema.
    #[error("ClickHouse at {url}: {source}")]
    Server {
        /// The server's URL.
        url: String,
        /// What the client or the server said.
        #[source]
        source: clickhouse::error::Error,
    },
    /// The database was made by a newer agentrace.
    #[error(
        "the ClickHouse database {database} has schema version {found}; this build knows up to {supported}: upgrade agentrace"
    )]
    TooNew {
        /// The database.
        database: String,
        /// Its schema version.
        found: u32,
        /// The newest this build knows.
        supported: u32,
    },
    /// The database name is not a plain identifier.
    #[error("{0:?} is not a ClickHouse database name agentrace uses (letters, digits, _)")]
    DatabaseName(String),
}

/// Reading from a store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The query failed.
    #[error("ClickHouse: {0}")]
    Server(#[from] clickhouse::error::Error),
    /// A stored row does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Spans and events in a ClickHouse database.
///
/// A sink: each [`SpanSink::export_spans`] and [`EventSink::export_events`] is one `INSERT`,
/// answered when ClickHouse has the rows; [`Sink::flush`] has nothing left to write. A failed
/// insert is [`ExportError::Transient`] (the pipeline retries it): a span written again is
/// stored once (the newest version wins), an event written again once (its hash is its key).
#[derive(Clone)]
pub struct ClickHouseStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    url: String,
    database: String,
    shut_down: AtomicBool,
}

impl fmt::Debug for ClickHouseStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClickHouseStore")
            .field("url", &self.inner.url)
            .field("database", &self.inner.database)
            .finish_non_exhaustive()
    }
}

impl ClickHouseStore {
    /// Opens the database `database` of the server at `url` (its HTTP interface, e.g.
    /// `http://127.0.0.1:8123`), creating it and bringing its schema to this build's version.
    ///
    /// # Errors
    /// [`OpenError::Server`] when the server does not answer or refuses a statement,
    /// [`OpenError::TooNew`] for a database of a newer agentrace, [`OpenError::DatabaseName`]
    /// for a name that is not a plain identifier.
    pub async fn open(url: &str, database: &str) -> Result<Self, OpenError> {
        Self::open_with(Client::default().with_url(url), url, database).await
    }

    /// Opens as [`open`](Self::open) through `client` (credentials, compression, settings),
    /// pointed at `url`.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub async fn open_with(client: Client, url: &str, database: &str) -> Result<Self, OpenError> {
        if database.is_empty()
            || !database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(OpenError::DatabaseName(database.to_owned()));
        }
        let server = |source| OpenError::Server {
            url: url.to_owned(),
            source,
        };
        let client = client.with_url(url);
        let run = |sql: &str| client.query(&sql.replace("{db}", database)).execute();
        run("CREATE DATABASE IF NOT EXISTS {db}")
            .await
            .map_err(server)?;
        run(MIGRATIONS_TABLE).await.map_err(server)?;
        let found: u32 = client
            .query(&format!(
                "SELECT max(version) FROM {database}.agentrace_migrations"
            ))
            .fetch_one()
            .await
            .map_err(server)?;
        if found > SCHEMA_VERSION {
            return Err(OpenError::TooNew {
                database: database.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
            for statement in migration.statements {
                run(statement).await.map_err(server)?;
            }
            client
                .query(&format!(
                    "INSERT INTO {database}.agentrace_migrations (version) VALUES (?)"
                ))
                .bind(migration.version)
                .execute()
                .await
                .map_err(server)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                client: client.with_database(database),
                url: url.to_owned(),
                database: database.to_owned(),
                shut_down: AtomicBool::new(false),
            }),
        })
    }

    /// The database's schema version.
    ///
    /// # Errors
    /// When the query fails.
    pub async fn schema_version(&self) -> Result<u32, ReadError> {
        Ok(self
            .inner
            .client
            .query("SELECT max(version) FROM agentrace_migrations")
            .fetch_one()
            .await?)
    }

    /// Every span stored, the newest version of each, by start time.
    ///
    /// # Errors
    /// When the query fails or a row does not decode.
    pub async fn spans(&self) -> Result<Vec<SpanRecord>, ReadError> {
        self.read(
            "SELECT ?fields FROM spans FINAL ORDER BY start, trace_id, span_id",
            SpanRow::into_record,
        )
        .await
    }

    /// Every event stored, by time.
    ///
    /// # Errors
    /// When the query fails or a row does not decode.
    pub async fn events(&self) -> Result<Vec<Event>, ReadError> {
        self.read(
            "SELECT ?fields FROM events FINAL ORDER BY time, event_hash",
            EventRow::into_event,
        )
        .await
    }

    /// The rows `sql` selects, each decoded.
    async fn read<R, T>(
        &self,
        sql: &str,
        decode: fn(R) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, ReadError>
    where
        R: clickhouse::RowOwned + clickhouse::RowRead,
    {
        let rows: Vec<R> = self.inner.client.query(sql).fetch_all().await?;
        Ok(rows.into_iter().map(decode).collect::<Result<_, _>>()?)
    }

    fn check_open(&self) -> Result<(), ExportError> {
        if self.inner.shut_down.load(Ordering::Acquire) {
            Err(ExportError::ShutDown)
        } else {
            Ok(())
        }
    }

    /// Inserts `rows` into `table` in one `INSERT`.
    async fn insert<R>(&self, table: &str, rows: impl Iterator<Item = R>) -> Result<(), ExportError>
    where
        R: clickhouse::Row + serde::Serialize + Send + Sync,
        for<'a> R: clickhouse::RowWrite<Value<'a> = R>,
    {
        let mut insert = self
            .inner
            .client
            .insert::<R>(table)
            .await
            .map_err(ExportError::transient)?;
        for row in rows {
            insert.write(&row).await.map_err(ExportError::transient)?;
        }
        insert.end().await.map_err(ExportError::transient)
    }
}

#[async_trait]
impl Sink for ClickHouseStore {
    fn name(&self) -> &str {
        "clickhouse"
    }

    fn as_span_sink(&self) -> Option<&dyn SpanSink> {
        Some(self)
    }

    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        Some(self)
    }

    async fn shutdown(&self) -> Result<(), ShutdownError> {
        self.inner.shut_down.store(true, Ordering::Release);
        Ok(())
    }
}

#[async_trait]
impl SpanSink for ClickHouseStore {
    async fn export_spans(&self, spans: &[SpanRecord]) -> Result<(), ExportError> {
        self.check_open()?;
        if spans.is_empty() {
            return Ok(());
        }
        let version = now_unix_nano();
        self.insert("spans", spans.iter().map(|s| SpanRow::new(s, version)))
            .await
    }
}

#[async_trait]
impl EventSink for ClickHouseStore {
    async fn export_events(&self, events: &[Event]) -> Result<(), ExportError> {
        self.check_open()?;
        if events.is_empty() {
            return Ok(());
        }
        self.insert("events", events.iter().map(EventRow::new))
            .await
    }
}
