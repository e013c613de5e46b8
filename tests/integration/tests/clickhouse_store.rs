//! The ClickHouse backend against the real ClickHouse engine (chdb behind ClickHouse's HTTP
//! interface, `agentrace_integration::clickhouse`): the conformance suite every sink runs,
//! reading back through the store; its schema made once and kept when reopened; a database of
//! a newer agentrace refused; retention by age as TTLs that ClickHouse applies itself; the
//! cluster schema (`ON CLUSTER`, replicated and distributed tables) parsed by the engine.

use std::sync::Arc;

use agentrace_clickhouse::{ClickHouseStore, OpenError, SCHEMA_VERSION};
use agentrace_core::testing::conformance::{self, Readback};
use agentrace_core::{BoxError, Event, Sink, SpanRecord, async_trait};
use agentrace_integration::clickhouse::{ChdbServer, python};
use agentrace_store::{
    EventFilter, EventQuery, Health, Retention, Signal, SpanFilter, SpanQuery, TraceReader,
};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_by_age_is_a_ttl_per_data_type_that_clickhouse_applies() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, dir.path());
    let store = ClickHouseStore::open(server.url(), "ttl")
        .await
        .expect("the store opens");
    let client = clickhouse::Client::default()
        .with_url(server.url())
        .with_database("ttl");
    let engine = |table: &'static str| {
        let client = client.clone();
        async move {
            client
                .query("SELECT engine_full FROM system.tables WHERE database = 'ttl' AND name = ?")
                .bind(table)
                .fetch_one::<String>()
                .await
                .expect("the table's engine")
        }
    };
    let day = std::time::Duration::from_secs(86_400);
    let set = |signal, age| {
        let store = store.clone();
        async move {
            tokio::task::spawn_blocking(move || store.expire_after(signal, age))
                .await
                .expect("the task ends")
                .expect("the TTL is set")
        }
    };
    assert!(
        set(Signal::Spans, Some(day)).await,
        "ClickHouse expires spans itself"
    );
    assert!(set(Signal::Metrics, Some(2 * day)).await);
    for (table, ttl) in [
        ("spans", "TTL toDateTime(start) + toIntervalSecond(86400)"),
        (
            "trace_heads",
            "TTL toDateTime(start) + toIntervalSecond(86400)",
        ),
        (
            "metric_points",
            "TTL toDateTime(bucket) + toIntervalSecond(172860)",
        ),
        (
            "span_rollups",
            "TTL toDateTime(minute) + toIntervalSecond(172860)",
        ),
    ] {
        let engine = engine(table).await;
        assert!(engine.contains(ttl), "{table}: {engine}");
    }
    assert!(
        !engine("events").await.contains(" TTL "),
        "events keep no TTL unasked"
    );

    // A span of three days ago is dropped; one of now is kept.
    let now = agentrace_core::now_unix_nano();
    let span = |n: u8, start: u64| {
        SpanRecord::new(
            agentrace_core::TraceId::from_bytes([n; 16]),
            agentrace_core::SpanId::from_bytes([n; 8]),
            "step",
            start,
            start + 1_000,
            std::sync::Arc::default(),
        )
    };
    let spans = [span(1, now - 3 * 86_400_000_000_000), span(2, now)];
    let writer = store.clone();
    tokio::task::spawn_blocking(move || {
        agentrace_store::RecordWriter::write_spans(&writer, &spans)
    })
    .await
    .expect("the task ends")
    .expect("the spans are written");
    client
        .query("OPTIMIZE TABLE spans FINAL")
        .execute()
        .await
        .expect("a merge");
    let kept: Vec<u8> = client
        .query("SELECT reinterpretAsUInt8(substring(span_id, 1, 1)) FROM spans ORDER BY 1")
        .fetch_all()
        .await
        .expect("the spans left");
    assert_eq!(kept, [2]);

    // Same rule again: left alone; no rule: the TTL goes.
    assert!(set(Signal::Spans, Some(day)).await);
    assert!(set(Signal::Spans, None).await);
    assert!(!engine("spans").await.contains(" TTL "));
    assert!(
        set(Signal::Events, None).await,
        "nothing to remove is no error"
    );
}

/// No cluster runs here (chdb has no Keeper and no `remote_servers`), but the engine's own
/// parser checks every statement of the cluster schema, and reads it as the same statement
/// kinds, engines and `ON CLUSTER` clauses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_schema_is_valid_clickhouse_sql() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, dir.path());
    let client = clickhouse::Client::default().with_url(server.url());
    let layout = agentrace_clickhouse::Layout::Cluster("agentrace".into());
    let statements = agentrace_clickhouse::schema::create_statements("agentrace", &layout);
    assert!(statements.len() > 10);
    for sql in statements {
        let formatted: String = client
            .query("SELECT formatQuerySingleLine(?)")
            .bind(sql.as_str())
            .fetch_one()
            .await
            .unwrap_or_else(|e| panic!("ClickHouse parses {sql}: {e}"));
        assert!(formatted.contains("ON CLUSTER agentrace"), "{formatted}");
        if formatted.starts_with("CREATE TABLE") {
            assert!(
                formatted.contains("ENGINE = Replicated")
                    || formatted.contains("ENGINE = Distributed"),
                "{formatted}"
            );
        }
    }
}
