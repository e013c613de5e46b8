//! The framework adapter examples (`async_openai_agent`, `genai_agent`, `rig_agent`), run as a
//! user runs them, against their local fake provider: each answers, streams, is refused by its
//! budget before a third request, and leaves its calls priced in the SQLite file it writes.

use agentrace_store::TraceReader;
use std::path::Path;
use std::time::Duration;

use agentrace_core::SpanKind;
use agentrace_integration::{example_binary, require};
use agentrace_sqlite::{SpanFilter, SpanQuery, SqliteStore};

/// Generous: a bound on a hung process, not a performance figure.
const PATIENCE: Duration = Duration::from_secs(120);

/// Runs `example` in `dir` with no provider configured (so on its fake); returns stdout.
async fn run(example: &Path, dir: &Path) -> String {
    let mut command = tokio::process::Command::new(example);
    command.current_dir(dir).kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") || key.starts_with("AGENTRACE_") || key.starts_with("OPENAI_") {
            command.env_remove(key);
        }
    }
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("the example finishes")
        .expect("the example starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} failed: {}\n{stdout}\n{}",
        example.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn check(name: &str, service: &str) {
    let Some(example) = example_binary(name) else {
        require(
            false,
            &format!("the {name} example (cargo build --examples --all-features)"),
        );
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let stdout = run(&example, dir.path()).await;
    assert!(
        stdout.contains("refused before sending: budget \"per-agent\""),
        "{name}: the budget stop\n{stdout}"
    );
    assert!(
        stdout.contains("requests the provider received: 2"),
        "{name}: two calls sent, the refused one not\n{stdout}"
    );

    let store = SqliteStore::open(dir.path().join(format!("agentrace-data/{service}.db")))
        .expect("the example's store opens");
    let spans = store
        .spans(&SpanQuery::new(SpanFilter::new()))
        .expect("the spans read")
        .spans;
    let priced: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Llm && s.cost.is_some())
        .collect();
    assert_eq!(
        priced.len(),
        2,
        "{name}: two priced model calls: {spans:#?}"
    );
    for call in &priced {
        assert_eq!(call.provider.as_deref(), Some("openai"), "{name}: provider");
        assert!(call.usage.input_tokens > 0, "{name}: usage recorded");
    }
    assert!(
        priced.iter().any(|s| s
            .attributes
            .get("gen_ai.response.time_to_first_chunk")
            .is_some()),
        "{name}: the streamed call's time to first chunk"
    );
    assert!(
        spans.iter().any(|s| s.kind == SpanKind::Agent),
        "{name}: an agent span"
    );
}

#[tokio::test]
async fn the_async_openai_example_traces_prices_and_stops() {
    check("async_openai_agent", "async-openai-agent").await;
}

#[tokio::test]
async fn the_genai_example_traces_prices_and_stops() {
    check("genai_agent", "genai-agent").await;
}

#[tokio::test]
async fn the_rig_example_traces_prices_and_stops() {
    check("rig_agent", "rig-agent").await;
}
