//! The ClickHouse test fixture (`chdb_http.py`: the real engine behind ClickHouse's HTTP
//! interface) serves what the official `clickhouse` crate does with a server: DDL, inserts in
//! RowBinary checked against the table's schema (`RowBinaryWithNamesAndTypes`), LZ4-compressed
//! requests and answers with their checksums, bound and server-side parameters, settings, and
//! ClickHouse's errors. The ClickHouse store is tested through it; this test keeps the fixture
//! honest with the crate itself, each way of compressing.

use agentrace_clickhouse::testing::{ChdbServer, python};
use clickhouse::{Client, Compression, Row};
use serde::{Deserialize, Serialize};

/// A row with the column types a span table has: a 128-bit id, nanosecond times, a decimal
/// cost, a low-cardinality dimension, a nullable text, a map of attributes.
#[derive(Row, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Probe {
    trace_id: u128,
    start_ns: i64,
    model: String,
    cost_nanos: i64,
    session: Option<String>,
    attributes: Vec<(String, String)>,
}

fn probe(i: u64) -> Probe {
    Probe {
        trace_id: u128::from(i) << 64 | u128::from(i),
        start_ns: 1_795_000_000_000_000_000 + i64::try_from(i).unwrap_or(0),
        model: ["gpt-4o-mini", "claude-sonnet-4"][usize::from(i % 2 == 1)].to_owned(),
        cost_nanos: i64::try_from(i * 1_250).unwrap_or(0),
        session: i.is_multiple_of(3).then(|| format!("session-{}", i % 7)),
        attributes: vec![("gen_ai.agent.name".to_owned(), format!("agent-{}", i % 5))],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_serves_the_clickhouse_crate() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, dir.path());
    for compression in [Compression::None, Compression::Lz4] {
        let what = format!("{compression:?}");
        let client = Client::default()
            .with_url(server.url())
            .with_compression(compression)
            .with_validation(true);
        client
            .query("CREATE DATABASE IF NOT EXISTS probe")
            .execute()
            .await
            .unwrap_or_else(|e| panic!("{what}: create database: {e}"));
        let client = client.with_database("probe");
        client
            .query("DROP TABLE IF EXISTS probes")
            .execute()
            .await
            .unwrap_or_else(|e| panic!("{what}: drop: {e}"));
        client
            .query(
                "CREATE TABLE probes (trace_id UInt128, start_ns Int64, \
                 model LowCardinality(String), cost_nanos Int64, session Nullable(String), \
                 attributes Map(String, String)) ENGINE = MergeTree ORDER BY (start_ns, trace_id)",
            )
            .execute()
            .await
            .unwrap_or_else(|e| panic!("{what}: create table: {e}"));

        // More than one compressed block each way (the crate sends blocks of about 256 KiB).
        let rows: Vec<Probe> = (0..20_000).map(probe).collect();
        let mut insert = client
            .insert::<Probe>("probes")
            .await
            .unwrap_or_else(|e| panic!("{what}: insert: {e}"));
        for row in &rows {
            insert
                .write(row)
                .await
                .unwrap_or_else(|e| panic!("{what}: write: {e}"));
        }
        insert
            .end()
            .await
            .unwrap_or_else(|e| panic!("{what}: end: {e}"));

        let back: Vec<Probe> = client
            .query("SELECT ?fields FROM probes ORDER BY start_ns")
            .fetch_all()
            .await
            .unwrap_or_else(|e| panic!("{what}: select: {e}"));
        assert_eq!(back, rows, "{what}: every row as written");

        let bound: u64 = client
            .query("SELECT count() FROM probes WHERE model = ?")
            .bind("claude-sonnet-4")
            .fetch_one()
            .await
            .unwrap_or_else(|e| panic!("{what}: bound: {e}"));
        assert_eq!(bound, 10_000, "{what}");
        let cost: i64 = client
            .query("SELECT sum(cost_nanos) FROM probes WHERE session = {session:String}")
            .param("session", "session-0")
            .fetch_one()
            .await
            .unwrap_or_else(|e| panic!("{what}: parameter: {e}"));
        let want: i64 = rows
            .iter()
            .filter(|r| r.session.as_deref() == Some("session-0"))
            .map(|r| r.cost_nanos)
            .sum();
        assert_eq!(cost, want, "{what}");
        let threads: String = client
            .query("SELECT getSetting('max_threads')::String")
            .with_setting("max_threads", "1")
            .fetch_one()
            .await
            .unwrap_or_else(|e| panic!("{what}: setting: {e}"));
        assert_eq!(threads, "1", "{what}: a request's setting applies to it");

        // ClickHouse's errors, with their codes.
        for (sql, code) in [
            ("SELECT * FROM missing", "Code: 60."),
            ("SELEC 1", "Code: 62."),
        ] {
            let err = client
                .query(sql)
                .execute()
                .await
                .err()
                .unwrap_or_else(|| panic!("{what}: {sql} failed"));
            assert!(err.to_string().contains(code), "{what}: {sql}: {err}");
        }
        // A row that does not fit the table is refused by the crate's validation.
        let mismatch = client.insert::<(u64, String)>("probes").await;
        assert!(mismatch.is_err(), "{what}: validation against the schema");
    }
}
