//! Projects on ClickHouse beyond the conformance suite: a database written by the release
//! before projects (schema version 5) is rebuilt when this build opens it, everything it
//! held in the `default` project, nothing lost, nothing twice — also when two nodes open it
//! together. On the chdb fixture (skipped without it, failed under `CI=true`).

use std::error::Error;
use std::thread;

use agentrace_clickhouse::testing::{ChdbServer, python};
use agentrace_clickhouse::{ClickHouseOrganization, ClickHouseStore, Layout, schema};
use agentrace_core::{InstrumentKind, Score, ScoreTarget, ScoreValue};
use agentrace_store::conformance::fixtures::{
    SEC, T0, five_events, five_traces, measurement, trace_id,
};
use agentrace_store::{
    AggregateQuery, AlertRecord, GroupBy, Organization, OverviewQuery, ProjectName, RecordKind,
    ScoreFilter, ScoreQuery, SessionSort, SpanFilter, Store, StoredRule, TimeRange, TraceDetail,
    TraceFilter,
};
use clickhouse::Client;

/// The tables of projects' data, each rebuilt by version 6.
const DATA_TABLES: [&str; 9] = [
    "spans",
    "events",
    "trace_heads",
    "metric_points",
    "span_rollups",
    "alert_notifications",
    "scores",
    "evaluator_rules",
    "past_changes",
];

/// A runtime of the test's own for the raw client (the store blocks on its own).
fn run<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// Writes a bit of everything, as a deployment does: spans children first (their attribution
/// completed by a later batch: rewritten rows and cancelling rows), events, scores, a rule,
/// metrics, an alert.
fn write_everything(store: &dyn Store) -> Result<(), Box<dyn Error>> {
    let mut spans = five_traces();
    spans.reverse();
    let (children, rest) = spans.split_at(spans.len() / 2);
    store.write_spans(children)?;
    store.write_spans(rest)?;
    store.insert_events(&five_events())?;
    let mut scores = Vec::new();
    for (n, value) in [(1u8, 0.9), (2, 0.4)] {
        let mut score = Score::new(
            ScoreTarget::Trace(trace_id(n)),
            "helpful",
            ScoreValue {
                kind: None,
                value: Some(value),
                label: None,
            },
        )?;
        score.time_unix_nano = T0 + u64::from(n) * SEC;
        scores.push(score);
    }
    store.write_scores(&agentrace_store::with_score_ids(scores))?;
    store.put_evaluator_rule(&StoredRule::new("helpful", "{}", T0))?;
    store.insert_measurements(&[
        measurement(
            "tokens",
            InstrumentKind::Counter,
            None,
            &[("model", "m")],
            3.0,
            T0,
        ),
        measurement(
            "tokens",
            InstrumentKind::Counter,
            None,
            &[("model", "m")],
            4.0,
            T0 + SEC,
        ),
    ])?;
    store.insert_alert_records(&[AlertRecord::new(
        T0,
        "cost",
        "cost",
        "firing",
        "ok",
        "over budget",
        "{}",
    )])?;
    Ok(())
}

/// What a store answers, of everything written.
fn answers(store: &dyn Store) -> Result<String, Box<dyn Error>> {
    let all = TimeRange::ALL;
    Ok(format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store.list_traces(&TraceFilter::new(), None, 100)?,
        store.trace_tree(trace_id(1), TraceDetail::Full)?,
        store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]))?,
        store.overview(&OverviewQuery::default())?.summary,
        store
            .aggregate(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Agent]))?
            .rows,
        store.sessions_by(all, SessionSort::Recent, 10)?,
        store.events(&agentrace_store::EventQuery::new(
            agentrace_store::EventFilter::new()
        ))?,
        store.scores(&ScoreQuery::new(ScoreFilter::default(), 10))?,
        store.evaluator_rules()?,
        store.metric_names(all)?,
        store.alert_records(None, None, 10)?,
        [
            RecordKind::Spans,
            RecordKind::Events,
            RecordKind::Scores,
            RecordKind::Metrics
        ]
        .map(|kind| store.count(kind).ok()),
    ))
}

/// Fails on the first answer of `got` that is not `expected`'s, naming it.
fn assert_same(got: &str, expected: &str, context: &str) {
    for (n, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
        assert!(g == e, "{context}: answer {n} differs:\n{g}\n---\n{e}");
    }
    assert_eq!(got.lines().count(), expected.lines().count(), "{context}");
}

/// The rows of each of `tables` in `database`, every version and cancelling row counted.
fn rows(client: &Client, database: &str, tables: &[&str]) -> Vec<(String, u64)> {
    tables
        .iter()
        .map(|table| {
            let n: u64 = run(client
                .query(&format!("SELECT count() FROM {database}.{table}"))
                .fetch_one())
            .unwrap_or_else(|e| panic!("the rows of {database}.{table}: {e}"));
            ((*table).to_owned(), n)
        })
        .collect()
}

/// Makes `old`, a database of the release before projects (the migrations of versions 1 to
/// 5 as they ran), holding what `current` (written by this build into its `default` project)
/// holds, row for row: every table copied as it is on disk (a span's older versions and the
/// rollups' cancelled rows with it), the views made after, as they were.
fn database_of_the_release_before(client: &Client, current: &str, old: &str) {
    let statements = schema::statements_until(old, &Layout::Single, 5);
    let (views, tables): (Vec<&String>, Vec<&String>) = statements
        .iter()
        .partition(|s| s.contains("MATERIALIZED VIEW") || s.contains("MODIFY QUERY"));
    for sql in tables {
        run(client.query(sql).execute()).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    run(client
        .query(&format!(
            "INSERT INTO {old}.agentrace_migrations (version) VALUES (1), (2), (3), (4), (5)"
        ))
        .execute())
    .expect("its versions recorded");
    for table in DATA_TABLES {
        let columns: Vec<String> = run(client
            .query("SELECT name FROM system.columns WHERE database = ? AND table = ? ORDER BY position")
            .bind(old)
            .bind(table)
            .fetch_all())
        .expect("the old columns");
        let columns = columns.join(", ");
        run(client
            .query(&format!(
                "INSERT INTO {old}.{table} ({columns}) SELECT {columns} FROM {current}.{table} \
                 SETTINGS optimize_on_insert = 0"
            ))
            .execute())
        .unwrap_or_else(|e| panic!("copying {table}: {e}"));
    }
    for sql in views {
        run(client.query(sql).execute()).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

fn open(server: &ChdbServer, database: &str) -> Result<ClickHouseStore, Box<dyn Error>> {
    Ok(ClickHouseStore::open_blocking(
        Client::default(),
        server.url(),
        database,
    )?)
}

/// The tables of `database` that are not the schema's (a rebuild's leftovers, a lock).
fn strays(client: &Client, database: &str) -> Vec<String> {
    run(client
        .query(
            "SELECT name FROM system.tables WHERE database = ? \
             AND (name LIKE '%\\_\\_v6\\_%' OR name LIKE 'agentrace\\_%lock%' \
             OR name = 'agentrace_migrating')",
        )
        .bind(database)
        .fetch_all())
    .expect("the tables")
}

#[test]
fn a_database_of_the_release_before_projects_is_the_default_project_whole()
-> Result<(), Box<dyn Error>> {
    let Some(python) = python() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let server = ChdbServer::start(&python, dir.path());
    let client = Client::default().with_url(server.url());
    let current = open(&server, "current")?;
    write_everything(&current)?;
    let expected = answers(&current)?;
    database_of_the_release_before(&client, "current", "old");
    let before = rows(&client, "old", &DATA_TABLES);
    assert!(
        before.iter().all(|(_, n)| *n > 0),
        "every table holds rows: {before:?}"
    );
    assert_eq!(before, rows(&client, "current", &DATA_TABLES));

    let upgraded = open(&server, "old")?;
    assert_eq!(
        rows(&client, "old", &DATA_TABLES),
        before,
        "every row kept, once"
    );
    let projects: Vec<u32> = run(client
        .query("SELECT DISTINCT project FROM old.spans")
        .fetch_all())?;
    assert_eq!(projects, [1], "every span in the default project");
    assert_eq!(answers(&upgraded)?, expected);
    assert!(
        strays(&client, "old").is_empty(),
        "{:?}",
        strays(&client, "old")
    );

    let organization = ClickHouseOrganization::open(upgraded.clone())?;
    let listed = organization.projects()?;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id.0, listed[0].name.as_str()), (1, "default"));
    assert_same(
        &answers(&*organization.store(listed[0].id)?)?,
        &expected,
        "the default project's store",
    );
    // A project of its own beside it, empty; the default one written to as before.
    let other = organization.store(organization.create_project(&ProjectName::new("other")?)?.id)?;
    assert_eq!(other.count(RecordKind::Spans)?, 0);
    other.write_spans(&five_traces())?;
    assert_eq!(
        answers(&upgraded)?,
        expected,
        "the default project untouched"
    );

    // Opened again, nothing changes.
    drop(organization);
    drop(upgraded);
    assert_same(&answers(&open(&server, "old")?)?, &expected, "opened again");
    Ok(())
}

#[test]
fn nodes_opening_a_database_of_the_release_before_together_rebuild_it_once()
-> Result<(), Box<dyn Error>> {
    let Some(python) = python() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let server = ChdbServer::start(&python, dir.path());
    let client = Client::default().with_url(server.url());
    let current = open(&server, "current")?;
    write_everything(&current)?;
    let expected = answers(&current)?;
    database_of_the_release_before(&client, "current", "old");
    let before = rows(&client, "old", &DATA_TABLES);

    let stores: Vec<ClickHouseStore> = thread::scope(|scope| {
        let nodes: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| open(&server, "old").map_err(|e| e.to_string())))
            .collect();
        nodes
            .into_iter()
            .map(|node| node.join().expect("the node's thread"))
            .collect::<Result<_, _>>()
    })?;
    assert_eq!(
        rows(&client, "old", &DATA_TABLES),
        before,
        "every row kept, once"
    );
    for store in &stores {
        assert_same(&answers(store)?, &expected, "upgraded together");
    }
    let versions: Vec<u32> = run(client
        .query("SELECT version FROM old.agentrace_migrations WHERE version = 6")
        .fetch_all())?;
    assert!(!versions.is_empty());
    assert!(
        strays(&client, "old").is_empty(),
        "{:?}",
        strays(&client, "old")
    );
    Ok(())
}
