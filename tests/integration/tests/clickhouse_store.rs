//! The ClickHouse backend against the real ClickHouse engine (chdb behind ClickHouse's HTTP
//! interface, `agentrace_integration::clickhouse`): the conformance suite every sink runs,
//! reading back through the store; its schema made once and kept when reopened; a database of
//! a newer agentrace refused.

use std::sync::Arc;

use agentrace_clickhouse::{ClickHouseStore, OpenError, SCHEMA_VERSION};
use agentrace_core::testing::conformance::{self, Readback};
use agentrace_core::{BoxError, Event, Sink, SpanRecord, async_trait};
use agentrace_integration::clickhouse::{ChdbServer, python};
use agentrace_store::{EventFilter, EventQuery, Health, SpanFilter, SpanQuery, TraceReader};

struct StoreReadback(ClickHouseStore);

#[async_trait]
impl Readback for StoreReadback {
    fn sink(&self) -> &dyn Sink {
        &self.0
    }

    async fn read_spans(&self) -> Result<Vec<SpanRecord>, BoxError> {
        let store = self.0.clone();
        let query = SpanQuery::new(SpanFilter::new());
        Ok(
            tokio::task::spawn_blocking(move || TraceReader::spans(&store, &query))
                .await??
                .spans,
        )
    }

    async fn read_events(&self) -> Result<Vec<Event>, BoxError> {
        let store = self.0.clone();
        let query = EventQuery::new(EventFilter::new());
        Ok(
            tokio::task::spawn_blocking(move || TraceReader::events(&store, &query))
                .await??
                .events,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clickhouse_store_passes_the_sink_conformance_suite() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, dir.path());
    let store = ClickHouseStore::open(server.url(), "agentrace")
        .await
        .expect("the store opens");
    conformance::run(Arc::new(StoreReadback(store))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_is_made_once_and_a_newer_one_is_refused() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, dir.path());
    for _ in 0..2 {
        let store = ClickHouseStore::open(server.url(), "twice")
            .await
            .expect("the store opens, and opens again");
        let version = tokio::task::spawn_blocking(move || Health::schema_version(&store))
            .await
            .expect("the task ends")
            .expect("a version");
        assert_eq!(version, i64::from(SCHEMA_VERSION));
    }
    let client = clickhouse::Client::default().with_url(server.url());
    client
        .query("INSERT INTO twice.agentrace_migrations (version) VALUES (?)")
        .bind(SCHEMA_VERSION + 1)
        .execute()
        .await
        .expect("a future version recorded");
    match ClickHouseStore::open(server.url(), "twice").await {
        Err(OpenError::TooNew {
            found, supported, ..
        }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("a newer schema is refused: {other:?}"),
    }
    assert!(matches!(
        ClickHouseStore::open(server.url(), "no; DROP").await,
        Err(OpenError::DatabaseName(_))
    ));
}
