//! The ClickHouse backend against the real ClickHouse engine (chdb behind ClickHouse's HTTP
//! interface, `agentrace_clickhouse::testing`): the conformance suite every sink runs,
//! reading back through the store; its schema made once and kept when reopened; a database of
//! a newer agentrace refused; retention by age as TTLs that ClickHouse applies itself; the
//! cluster schema (`ON CLUSTER`, replicated and distributed tables) parsed by the engine;
//! spans awaiting their parent held in a node's spool and written once.

use std::sync::Arc;
use std::time::Duration;

use agentrace_clickhouse::testing::{ChdbServer, python};
use agentrace_clickhouse::{ClickHouseStore, OpenError, SCHEMA_VERSION};
use agentrace_core::testing::conformance::{self, Readback};
use agentrace_core::{BoxError, Event, Sink, SpanKind, SpanRecord, Usd, async_trait};
use agentrace_store::conformance::fixtures;
use agentrace_store::{
    EventFilter, EventQuery, Fleet, Health, RecordKind, RecordWriter, Repairs, Retention,
    SpanFilter, SpanQuery, TraceReader,
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
        let version = tokio::task::spawn_blocking(move || Health::health(&store))
            .await
            .expect("the task ends")
            .expect("a version")
            .schema_version;
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

/// A database of schema version 3, holding tool calls, is upgraded when opened: migration 4
/// adds the MCP server to the rollups' sorting key and to their view in place. The rollups of
/// the calls stored before stay exact (under no server); the calls stored after are under
/// their server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_3_database_gets_rollups_by_mcp_server_and_keeps_its_own() {
    use agentrace_core::semconv::agentrace::MCP_SERVER;
    use agentrace_store::{AggregateQuery, Analytics, GroupBy, GroupKey, TimeRange};
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, dir.path());
    let client = clickhouse::Client::default().with_url(server.url());
    let single = agentrace_clickhouse::Layout::Single;
    for sql in agentrace_clickhouse::schema::statements_until("old", &single, 3) {
        client
            .query(&sql)
            .execute()
            .await
            .expect("the version-3 schema");
    }
    client
        .query("INSERT INTO old.agentrace_migrations (version) VALUES (1), (2), (3)")
        .execute()
        .await
        .expect("its versions recorded");
    // A call stored by version 3: the server among its attributes only.
    client
        .query(&format!(
            "INSERT INTO old.spans (trace_id, span_id, name, kind, start, end, service_name, \
             tool_name, operation, attributes, version, sign) VALUES \
             (unhex('a0000000000000000000000000000001'), unhex('5a00000000000001'), \
             'tools/call search', 'tool', {at}, {at} + 1, 'agent', 'search', 'execute_tool', \
             map('{MCP_SERVER}', '\"docs\"'), 1, 1)",
            at = fixtures::T0 / 1_000_000_000,
        ))
        .execute()
        .await
        .expect("a span of version 3");
    let store = ClickHouseStore::open(server.url(), "old")
        .await
        .expect("the store opens and upgrades");
    let new = fixtures::span(2, 1, "tools/call search", fixtures::T0, fixtures::T0 + 1)
        .tool("search")
        .attribute(MCP_SERVER, "docs")
        .build();
    let rollup = tokio::task::spawn_blocking(move || {
        store.write_spans(&[new]).expect("a span of this version");
        Analytics::aggregate(
            &store,
            &AggregateQuery::new(
                SpanFilter::new().range(TimeRange::ALL),
                vec![GroupBy::McpServer, GroupBy::Tool],
            ),
        )
    })
    .await
    .expect("the task ends")
    .expect("the rollups");
    let got: Vec<_> = rollup
        .rows
        .iter()
        .map(|r| (r.keys.clone(), r.count))
        .collect();
    let search = GroupKey::Value("search".into());
    assert_eq!(
        got,
        vec![
            (vec![GroupKey::Value("docs".into()), search.clone()], 1),
            (vec![GroupKey::None, search], 1),
        ],
        "the call of version 3 kept, under no server; the new one under its server"
    );
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
        set(RecordKind::Spans, Some(day)).await,
        "ClickHouse expires spans itself"
    );
    assert!(set(RecordKind::Metrics, Some(2 * day)).await);
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
    assert!(set(RecordKind::Spans, Some(day)).await);
    assert!(set(RecordKind::Spans, None).await);
    assert!(!engine("spans").await.contains(" TTL "));
    assert!(
        set(RecordKind::Events, None).await,
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

/// Rows of `spans` (every version, cancelling rows apart) and cancelling rows of `trace`.
fn versions(store_url: &str, database: &str, trace: u8) -> (u64, u64) {
    let client = clickhouse::Client::default()
        .with_url(store_url)
        .with_database(database);
    let sql = format!(
        "SELECT countIf(sign = 1), countIf(sign = -1) FROM spans WHERE trace_id = unhex('{}')",
        fixtures::trace_id(trace)
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(client.query(&sql).fetch_one::<(u64, u64)>())
        .expect("the count")
}

/// The spans stored of `trace`, by id: (agent, session).
fn stored(store: &ClickHouseStore, trace: u8) -> Vec<(String, Option<String>, Option<String>)> {
    let mut query = SpanQuery::new(SpanFilter::new());
    query.filter.trace_id = Some(fixtures::trace_id(trace));
    let mut spans: Vec<_> = TraceReader::spans(store, &query)
        .expect("the spans")
        .spans
        .into_iter()
        .map(|s| {
            (
                s.span_id.to_string(),
                s.agent_name.as_deref().map(str::to_owned),
                s.session_id.as_deref().map(str::to_owned),
            )
        })
        .collect();
    spans.sort();
    spans
}

/// What [`stored`] reads of spans `ids` attributed to `agent` in `session`.
fn attributed(
    ids: &[u16],
    agent: &str,
    session: &str,
) -> Vec<(String, Option<String>, Option<String>)> {
    ids.iter()
        .map(|id| {
            (
                fixtures::span_id(*id).to_string(),
                Some(agent.to_owned()),
                Some(session.to_owned()),
            )
        })
        .collect()
}

/// A store that holds spans awaiting their parent (`serve`'s default): an agent's calls that
/// arrive before it are written once, with it, attributed (no rewrite: one version of each,
/// no cancelling row), and reported attributed late; a span whose parent never comes is
/// written when its hold ends; what a node held when it died, never to come back, is taken
/// over by another node and written with its parent, once; closing writes everything held.
#[test]
fn spans_awaiting_their_parent_are_held_and_written_once() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, &dir.path().join("engine"));
    let open = |hold: Duration| {
        let store =
            ClickHouseStore::open_blocking(clickhouse::Client::default(), server.url(), "held")
                .expect("the store opens");
        store.hold_awaiting(hold).expect("it holds");
        store
    };
    let store = open(Duration::from_secs(3600));

    // Trace 1: a call and its tool, then their agent.
    let agent = fixtures::span(1, 1, "invoke_agent planner", 1_000, 9_000)
        .kind(SpanKind::Agent)
        .agent("planner")
        .session("s-1")
        .build();
    let call = fixtures::span(1, 2, "chat gpt-4o", 2_000, 3_000)
        .parent(1)
        .llm("openai", "gpt-4o")
        .tokens(10, 5)
        .cost(3_000)
        .build();
    let tool = fixtures::span(1, 3, "execute_tool search", 4_000, 5_000)
        .parent(2)
        .tool("search")
        .build();
    let report = store
        .write_spans(&[call.clone(), tool.clone()])
        .expect("written");
    assert_eq!(report.inserted, 2, "accepted: held");
    assert_eq!(store.spans_awaiting_parent(), 2);
    assert_eq!(
        versions(server.url(), "held", 1),
        (0, 0),
        "nothing written yet"
    );
    assert_eq!(
        store
            .write_spans(std::slice::from_ref(&call))
            .expect("written")
            .duplicates,
        1,
        "a span held is stored: sent again, it is a duplicate"
    );
    let report = store.write_spans(&[agent]).expect("written");
    assert_eq!(store.spans_awaiting_parent(), 0);
    assert_eq!(
        versions(server.url(), "held", 1),
        (3, 0),
        "one version each"
    );
    assert_eq!(stored(&store, 1), attributed(&[1, 2, 3], "planner", "s-1"));
    let planner = Some("planner".to_owned());
    let mut late: Vec<_> = report
        .attributed
        .iter()
        .map(|l| {
            (
                l.span_id,
                l.after.agent_name.as_deref().map(str::to_owned),
                l.cost,
            )
        })
        .collect();
    late.sort();
    assert_eq!(
        late,
        [
            (call.span_id, planner.clone(), Some(Usd::from_nanos(3_000))),
            (tool.span_id, planner.clone(), None)
        ],
        "reported attributed late, for budgets"
    );

    // Trace 2: a call whose agent never comes, held until the node stops (it is closed).
    let orphan = fixtures::span(2, 1, "chat gpt-4o", 2_000, 3_000)
        .parent(9)
        .llm("openai", "gpt-4o")
        .build();
    store.write_spans(&[orphan]).expect("written");
    assert!(stored(&store, 2).is_empty(), "held");
    store.close().expect("closed");
    assert_eq!(stored(&store, 2).len(), 1, "closing wrote it");
    drop(store);

    // Trace 3: held by a node that dies and never comes back. Once it is gone from the
    // fleet, the leader takes it over (its beat: `adopt_held` with the nodes alive), holds
    // it for what is left of its hold, and writes it with its parent: once, attributed.
    let hour = Duration::from_secs(3600);
    let (dead, survivor) = (open(hour), open(hour));
    let now = agentrace_core::now_unix_nano();
    Fleet::heartbeat(&dead, now).expect("a heartbeat");
    Fleet::heartbeat(&survivor, now).expect("a heartbeat");
    let stray = fixtures::span(3, 2, "chat gpt-4o", 2_000, 3_000)
        .parent(1)
        .llm("openai", "gpt-4o")
        .build();
    dead.write_spans(&[stray]).expect("written");
    assert_eq!(dead.spans_awaiting_parent(), 1, "acknowledged: held");
    let alive = [survivor.node_id().to_owned()];
    // Killed: what it held in memory is gone with it.
    drop(dead);
    assert_eq!(stored(&survivor, 3).len(), 0, "not written yet");
    assert_eq!(survivor.spans_awaiting_parent(), 0);
    assert_eq!(Fleet::adopt_held(&survivor, &alive).expect("taken over"), 1);
    assert_eq!(
        survivor.spans_awaiting_parent(),
        1,
        "held on: its parent may come"
    );
    assert_eq!(
        Fleet::adopt_held(&survivor, &alive).expect("read"),
        0,
        "taken over once"
    );
    let parent = fixtures::span(3, 1, "invoke_agent planner", 1_000, 9_000)
        .kind(SpanKind::Agent)
        .agent("planner")
        .session("s-3")
        .build();
    survivor.write_spans(&[parent]).expect("written");
    assert_eq!(stored(&survivor, 3), attributed(&[1, 2], "planner", "s-3"));
    assert_eq!(
        versions(server.url(), "held", 3),
        (2, 0),
        "one version each"
    );
    let third = open(hour);
    Fleet::heartbeat(&third, now).expect("a heartbeat");
    let alive = [survivor.node_id().to_owned(), third.node_id().to_owned()];
    assert_eq!(
        Fleet::adopt_held(&third, &alive).expect("read"),
        0,
        "nothing left to take over"
    );
    drop((survivor, third));

    // Trace 4: held for a second, then written as it is.
    let store = open(Duration::from_secs(1));
    let late_one = fixtures::span(4, 2, "chat gpt-4o", 2_000, 3_000)
        .parent(1)
        .build();
    store.write_spans(&[late_one]).expect("written");
    wait_until("the hold ended, the span is written", || {
        !stored(&store, 4).is_empty()
    });
    assert_eq!(store.spans_awaiting_parent(), 0);
}

/// Spans held on one node whose parent reaches another are written by the first once its
/// lookup finds the stored parent, long before their hold ends: attributed, one version
/// each, no cancelling row.
#[test]
fn held_spans_whose_parent_another_node_stored_are_written_when_looked_up() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, &dir.path().join("engine"));
    let node = || {
        let store =
            ClickHouseStore::open_blocking(clickhouse::Client::default(), server.url(), "lookup")
                .expect("the store opens");
        store
            .hold_awaiting(Duration::from_secs(3600))
            .expect("it holds");
        store
    };
    let (a, b) = (node(), node());
    let call = fixtures::span(5, 2, "chat gpt-4o", 2_000, 3_000)
        .parent(1)
        .llm("openai", "gpt-4o")
        .build();
    a.write_spans(&[call]).expect("written");
    assert_eq!(a.spans_awaiting_parent(), 1);
    let agent = fixtures::span(5, 1, "invoke_agent planner", 1_000, 9_000)
        .kind(SpanKind::Agent)
        .agent("planner")
        .session("s-5")
        .build();
    b.write_spans(&[agent]).expect("written");
    assert_eq!(b.spans_awaiting_parent(), 0);
    wait_until("node a looks the trace up and writes its call", || {
        a.spans_awaiting_parent() == 0
    });
    assert_eq!(versions(server.url(), "lookup", 5), (2, 0));
    assert_eq!(stored(&a, 5), attributed(&[1, 2], "planner", "s-5"));
}

/// A span written as it is (its hold over) while another node writes its parent: each
/// write read what was stored before the other's insert, so neither completes the other.
/// The node that wrote the span looks its trace up again and completes it from the parent
/// stored since. (The other node's write is played by copying the parent's row in, as a
/// write that read before the span was stored leaves it.)
#[test]
fn a_parent_crossing_its_childs_write_completes_it_after() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, &dir.path().join("engine"));
    let open = |database: &str| {
        ClickHouseStore::open_blocking(clickhouse::Client::default(), server.url(), database)
            .expect("the store opens")
    };
    let (node, elsewhere) = (open("crossing"), open("elsewhere"));
    node.hold_awaiting(Duration::from_secs(4))
        .expect("it holds");
    let call = fixtures::span(6, 2, "chat gpt-4o", 2_000, 3_000)
        .parent(1)
        .llm("openai", "gpt-4o")
        .build();
    node.write_spans(&[call]).expect("written");
    wait_until("the hold ended, the call is written as it is", || {
        !stored(&node, 6).is_empty()
    });
    assert_eq!(
        stored(&node, 6),
        [(fixtures::span_id(2).to_string(), None, None)]
    );
    let agent = fixtures::span(6, 1, "invoke_agent planner", 1_000, 9_000)
        .kind(SpanKind::Agent)
        .agent("planner")
        .session("s-6")
        .build();
    elsewhere.write_spans(&[agent]).expect("written");
    let copy = format!(
        "INSERT INTO crossing.spans SELECT * FROM elsewhere.spans WHERE trace_id = unhex('{}')",
        fixtures::trace_id(6)
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(
            clickhouse::Client::default()
                .with_url(server.url())
                .query(&copy)
                .execute(),
        )
        .expect("the parent's row copied in");
    wait_until(
        "the node looks the trace up again and completes its call",
        || stored(&node, 6) == attributed(&[1, 2], "planner", "s-6"),
    );
}

/// Waits until `done`, looking every 100 ms.
///
/// # Panics
/// If it is not within [`PATIENCE`](agentrace_integration::PATIENCE), saying `what`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < agentrace_integration::PATIENCE,
            "not within the patience: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
