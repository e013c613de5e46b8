//! The facade with both default backends: one instrumented run lands identically in SQLite and
//! in JSONL, and the guard's shutdown loses nothing.

use agentrace::sqlite::{SpanFilter, SpanQuery, SqliteStore};
use agentrace::store::{ScoreFilter, ScoreQuery};
use agentrace::{Evaluation, ScoreSource, ScoreTarget, SpanKind, TokenUsage, events, spans};
use agentrace_store::Scores;
use agentrace_store::TraceReader;
use tracing_subscriber::prelude::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn one_run_lands_in_sqlite_and_jsonl() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("store/agentrace.db");
    let jsonl = dir.path().join("jsonl");
    let (layer, guard) = agentrace::init()
        .service_name("facade-test")
        .sqlite(&db)
        .jsonl(&jsonl)
        .build()?;
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for session in ["s-1", "s-2"] {
            let agent = spans::agent("researcher");
            spans::set_session(&agent, session);
            let _a = agent.enter();
            events::agent_start("researcher", "start");
            let llm = spans::llm("anthropic", "claude-haiku-4-5");
            spans::record_usage(&llm, &TokenUsage::new(300, 40));
            drop(llm);
            let tool = spans::tool("search");
            spans::set_error(&tool, "timeout", "search timed out");
        }
    });
    let stats = guard.stats();
    guard.shutdown()?;
    assert_eq!(stats.total_lost(), 0);

    let store = SqliteStore::open(&db)?;
    let mut stored = store
        .spans(&SpanQuery::new(SpanFilter::new()).limit(100))?
        .spans;
    let mut written = agentrace::file::read_spans(&jsonl)?;
    assert_eq!(stored.len(), 6);
    stored.sort_by_key(|s| (s.start_time_unix_nano, s.span_id));
    written.sort_by_key(|s| (s.start_time_unix_nano, s.span_id));
    assert_eq!(stored, written, "both backends hold the same records");
    let llm: Vec<_> = stored.iter().filter(|s| s.kind == SpanKind::Llm).collect();
    assert_eq!(llm.len(), 2);
    assert!(llm.iter().all(|s| s.usage.total_tokens() == 340 && s.agent_name.as_deref() == Some("researcher")));
    let sessions: Vec<_> = llm.iter().filter_map(|s| s.session_id.as_deref()).collect();
    assert_eq!(sessions, ["s-1", "s-2"]);
    assert_eq!(stored.iter().filter(|s| s.is_error()).count(), 2);
    assert!(
        stored
            .iter()
            .all(|s| s.resource.service_name == "facade-test")
    );
    let events = agentrace::file::read_events(&jsonl)?;
    assert_eq!(events.len(), 2);
    Ok(())
}

/// An agent scores its own call in one line (`events::evaluation`); the store used as the
/// library's sink keeps it as a score of that call, whatever the exporter's order.
#[test]
fn an_agent_scores_its_own_work_in_one_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("agentrace.db");
    let (layer, guard) = agentrace::init().sqlite(&db).build()?;
    let judged =
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let llm = spans::llm("openai", "gpt-4o");
            let _l = llm.enter();
            events::evaluation(&Evaluation::new("json_valid").value(1.0).label("pass"));
            agentrace::propagation::current().map(|cx| (cx.trace_id, cx.span_id))
        });
    guard.shutdown()?;
    let (trace_id, span_id) = judged.ok_or("inside a span")?;
    let store = SqliteStore::open(&db)?;
    let scores = store
        .scores(&ScoreQuery::new(ScoreFilter::new(), 10))?
        .scores;
    assert_eq!(scores.len(), 1, "{scores:?}");
    assert_eq!(
        scores[0].target,
        ScoreTarget::Span {
            span_id,
            trace_id: Some(trace_id)
        }
    );
    assert_eq!(
        (
            scores[0].value,
            scores[0].label.as_deref(),
            scores[0].source
        ),
        (Some(1.0), Some("pass"), ScoreSource::Eval)
    );
    Ok(())
}

#[test]
fn unusable_backend_paths_are_clear_init_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory")?;
    let err = agentrace::init()
        .jsonl(file.join("logs"))
        .build()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("jsonl"), "{err}");
    let err = agentrace::init()
        .sqlite(file.join("x.db"))
        .build()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("sqlite"), "{err}");
    Ok(())
}

#[test]
fn budget_spend_survives_a_restart_with_the_sqlite_store() -> TestResult {
    use std::sync::Arc;

    use agentrace::Usd;
    use agentrace::budget::{Budget, Budgets, CallContext, Period, Scope};

    let dir = tempfile::tempdir()?;
    let db = dir.path().join("agentrace.db");
    let daily = || {
        Arc::new(Budgets::new(vec![Budget::new(
            "daily",
            Scope::Global,
            Period::Day,
            Usd::from_dollars(0.01),
        )]))
    };
    let run = |budgets: Arc<Budgets>| -> TestResult {
        let (layer, guard) = agentrace::init().sqlite(&db).budgets(budgets).build()?;
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let llm = spans::llm("openai", "gpt-4o");
            // 1,000 × $2.50/M + 100 × $10/M = $0.0035
            spans::record_usage(&llm, &TokenUsage::new(1_000, 100));
        });
        guard.shutdown()?;
        Ok(())
    };
    let first = daily();
    run(first.clone())?;
    assert_eq!(first.status()[0].spent, Usd::from_nanos(3_500_000));

    let second = daily();
    run(second.clone())?;
    assert_eq!(
        second.status()[0].spent,
        Usd::from_nanos(7_000_000),
        "yesterday's process's spend was restored"
    );
    let refused = second.check(&CallContext::default(), Usd::from_dollars(0.005));
    assert!(refused.is_err_and(|e| e.spent == Usd::from_nanos(7_000_000)));
    Ok(())
}
