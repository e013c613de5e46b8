//! The `agentrace` binary against a real SQLite store with known contents.

use agentrace_store::RecordWriter;
use std::path::Path;
use std::process::{Command, Output};

use agentrace_core::testing::fixtures::sample_spans;
use agentrace_core::{Cost, SpanRecord, TraceId, Usd};
use agentrace_sqlite::SqliteStore;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Recent enough for `--since 1h`.
fn now_ns() -> u64 {
    agentrace_core::now_unix_nano() - 60_000_000_000
}

fn agentrace(db: &Path, args: &[&str]) -> Result<Output, std::io::Error> {
    Command::new(env!("CARGO_BIN_EXE_agentrace"))
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Two traces of the sample shape; the LLM spans of the first are priced at known costs.
fn store(dir: &Path) -> Result<(std::path::PathBuf, Vec<SpanRecord>), Box<dyn std::error::Error>> {
    let db = dir.join("agentrace.db");
    let store = SqliteStore::open(&db)?;
    let mut spans = sample_spans(TraceId::random(), now_ns());
    spans.extend(sample_spans(TraceId::random(), now_ns() + 1_000_000));
    for s in spans.iter_mut().filter(|s| s.cost.is_some()) {
        s.cost = Some(Cost::from_parts(
            Usd::from_nanos(1_000_000),
            Usd::ZERO,
            Usd::ZERO,
            Usd::from_nanos(2_000_000),
        ));
    }
    store.write_spans(&spans)?;
    Ok((db, spans))
}

#[test]
fn summary_shows_counts_tokens_and_cost() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (db, spans) = store(dir.path())?;
    let out = agentrace(&db, &["summary", "--since", "1h"])?;
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let llm = spans
        .iter()
        .filter(|s| s.kind == agentrace_core::SpanKind::Llm)
        .count();
    let priced = spans.iter().filter(|s| s.cost.is_some()).count();
    assert!(text.contains(&format!("LLM requests  {llm}")), "{text}");
    assert!(
        text.contains(&format!("spans         {} (", spans.len())),
        "{text}"
    );
    // Each priced span costs $0.003.
    let total = Usd::from_nanos(3_000_000 * priced as i64);
    assert!(
        text.contains(&format!("cost          {total} ({priced} priced")),
        "{text}"
    );
    assert!(
        text.contains("by model") && text.contains("gpt-4o-2024-08-06"),
        "{text}"
    );
    assert!(
        text.contains("by agent") && text.contains("researcher"),
        "{text}"
    );

    let json = agentrace(&db, &["summary", "--json"])?;
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(parsed["spans"].as_u64(), Some(spans.len() as u64));
    Ok(())
}

#[test]
fn traces_list_and_show_tree() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (db, spans) = store(dir.path())?;
    let list = stdout(&agentrace(&db, &["traces", "list"])?);
    let trace_id = spans[0].trace_id.to_string();
    assert!(list.contains(&trace_id), "{list}");
    assert_eq!(list.lines().count(), 3, "header and two traces: {list}");

    let errors_only = stdout(&agentrace(
        &db,
        &["traces", "list", "--errors", "--limit", "1"],
    )?);
    assert!(
        errors_only.contains("more: agentrace traces list --cursor"),
        "{errors_only}"
    );

    let show = agentrace(&db, &["traces", "show", &trace_id])?;
    assert!(show.status.success());
    let tree = stdout(&show);
    let root = tree.lines().nth(1).unwrap_or_default();
    assert!(root.starts_with("invoke_agent planner  [agent]"), "{tree}");
    assert!(
        tree.contains("├─ chat gpt-4o  [llm openai/gpt-4o-2024-08-06]"),
        "{tree}"
    );
    assert!(tree.contains("ERROR: timeout after 30s"), "{tree}");
    assert_eq!(tree.lines().count(), 1 + spans.len() / 2, "{tree}");
    Ok(())
}

#[test]
fn search_finds_spans_and_their_traces_and_points_at_a_bad_query() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (db, spans) = store(dir.path())?;
    let found = stdout(&agentrace(
        &db,
        &["search", "timeout kind:tool", "--since", "7d"],
    )?);
    let failed = spans
        .iter()
        .filter(|s| {
            s.status
                .message
                .as_deref()
                .is_some_and(|m| m.contains("timeout"))
        })
        .count();
    assert!(failed > 0);
    assert_eq!(found.matches("\n  trace ").count(), failed, "{found}");
    assert!(found.contains("status: [[timeout]] after 30s"), "{found}");
    let traces = stdout(&agentrace(&db, &["search", "timeout", "--traces"])?);
    assert!(traces.starts_with("trace "), "{traces}");
    let json = agentrace(&db, &["search", "kind:tool", "--json", "--limit", "1"])?;
    let page: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(page["hits"].as_array().map(Vec::len), Some(1));
    assert!(page["next_cursor"].is_string());
    let bad = agentrace(&db, &["search", "kind:robot timeout"])?;
    assert!(!bad.status.success());
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.contains("kind:robot timeout\n     ^^^^^"),
        "{message}"
    );
    Ok(())
}

#[test]
fn export_csv_and_jsonl_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (db, spans) = store(dir.path())?;
    let csv_path = dir.path().join("spans.csv");
    let out = agentrace(
        &db,
        &[
            "export",
            "--what",
            "spans",
            "--format",
            "csv",
            "--output",
            csv_path.to_str().unwrap_or(""),
        ],
    )?;
    assert!(out.status.success(), "{out:?}");
    let mut reader = csv::Reader::from_path(&csv_path)?;
    let headers = reader.headers()?.clone();
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), spans.len());
    let cost_col = headers
        .iter()
        .position(|h| h == "cost_usd")
        .unwrap_or(usize::MAX);
    let unpriced = rows.iter().filter(|r| r.get(cost_col) == Some("")).count();
    assert_eq!(
        unpriced,
        spans.iter().filter(|s| s.cost.is_none()).count(),
        "unknown cost exported empty, not 0"
    );

    let jsonl = dir.path().join("spans.jsonl");
    let out = agentrace(
        &db,
        &[
            "export",
            "--format",
            "jsonl",
            "--output",
            jsonl.to_str().unwrap_or(""),
        ],
    )?;
    assert!(out.status.success(), "{out:?}");
    let mut back = agentrace_file::read_spans(&jsonl)?;
    let mut sent = spans.clone();
    back.sort_by_key(|s| (s.trace_id, s.span_id));
    sent.sort_by_key(|s| (s.trace_id, s.span_id));
    assert_eq!(
        back, sent,
        "JSONL export reads back identical through agentrace-file"
    );
    Ok(())
}

#[test]
fn import_brings_an_export_into_another_store_once_and_keeps_what_preceded_a_bad_line() -> TestResult
{
    let dir = tempfile::tempdir()?;
    let (db, spans) = store(dir.path())?;
    let jsonl = dir.path().join("spans.jsonl");
    let out = agentrace(
        &db,
        &[
            "export",
            "--since",
            "1h",
            "-o",
            jsonl.to_str().unwrap_or(""),
        ],
    )?;
    assert!(out.status.success(), "{out:?}");

    let other = dir.path().join("other.db");
    drop(SqliteStore::open(&other)?);
    let out = agentrace(&other, &["import", jsonl.to_str().unwrap_or("")])?;
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!(
            "imported {} spans (0 already stored)",
            spans.len()
        )),
        "{said}"
    );
    let store = SqliteStore::open(&other)?;
    let mut stored = agentrace_store::TraceReader::spans(
        &store,
        &agentrace_store::SpanQuery::new(agentrace_store::SpanFilter::new()).limit(1_000),
    )?
    .spans;
    let mut sent = spans.clone();
    stored.sort_by_key(|s| (s.trace_id, s.span_id));
    sent.sort_by_key(|s| (s.trace_id, s.span_id));
    assert_eq!(stored, sent, "the same spans, as exported");

    // Again: every span already stored.
    let out = agentrace(&other, &["import", jsonl.to_str().unwrap_or("")])?;
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!(
            "imported 0 spans ({} already stored)",
            spans.len()
        )),
        "{said}"
    );

    // A bad line stops the import with its place; the line before it is stored.
    let text = std::fs::read_to_string(&jsonl)?;
    let first = text.lines().next().unwrap_or_default();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, format!("{first}\n{{\"v\":1,\"type\":\"span\"}}\n"))?;
    let fresh = dir.path().join("fresh.db");
    drop(SqliteStore::open(&fresh)?);
    let out = agentrace(&fresh, &["import", bad.to_str().unwrap_or("")])?;
    assert!(!out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("bad.jsonl:2"), "{said}");
    assert!(
        said.contains("imported 1 spans (0 already stored)"),
        "{said}"
    );
    Ok(())
}

#[test]
fn clear_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = agentrace(&dir.path().join("missing.db"), &["summary"])?;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no agentrace store at"));
    assert!(
        !dir.path().join("missing.db").exists(),
        "a missing store is not created"
    );

    let (db, _) = store(dir.path())?;
    for (args, expected) in [
        (&["traces", "show", "xyz"][..], "invalid trace id"),
        (
            &["traces", "show", "4bf92f3577b34da6a3ce929d0e0e4736"][..],
            "no trace 4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        (&["summary", "--since", "yesterday"][..], "invalid duration"),
        (
            &["traces", "list", "--kind", "robot"][..],
            "unknown span kind",
        ),
        (
            &["export", "--from", "2026-11-22", "--to", "2026-11-21"][..],
            "the range is empty",
        ),
    ] {
        let out = agentrace(&db, args)?;
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let garbage = dir.path().join("garbage.db");
    std::fs::write(
        &garbage,
        b"this is not a database, just text that is long enough to have a header",
    )?;
    let out = agentrace(&garbage, &["summary"])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open the store"));
    Ok(())
}

#[test]
fn prices_show_estimate_and_user_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("unused.db");
    let show = agentrace(
        &db,
        &[
            "prices",
            "show",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ],
    )?;
    assert!(show.status.success(), "{show:?}");
    let text = stdout(&show);
    assert!(
        text.contains("is priced as claude-sonnet-4-5 (anthropic"),
        "{text}"
    );
    assert!(text.contains("above 200k input"), "{text}");

    let estimate = stdout(&agentrace(
        &db,
        &[
            "prices",
            "estimate",
            "gpt-4o",
            "--text",
            "Hi there",
            "--output-tokens",
            "100",
        ],
    )?);
    // "Hi there" is 2 o200k tokens: 2 × $2.50/M + 100 × $10/M = $0.001005.
    assert!(
        estimate.contains("input   2 tokens (o200k_base)"),
        "{estimate}"
    );
    assert!(estimate.contains("cost    $0.001005"), "{estimate}");

    let unknown = agentrace(&db, &["prices", "show", "house-model"])?;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("cost unknown, not zero"));

    let file = dir.path().join("mine.toml");
    std::fs::write(
        &file,
        "format = \"agentrace.prices/1\"\n[[models]]\nprovider = \"internal\"\nmodel = \"house-model\"\nprices = [{ since = \"2025-01-01\", input = 1.0, output = 2.0 }]\n",
    )?;
    let with_file = agentrace(
        &db,
        &[
            "prices",
            "show",
            "house-model",
            "--prices",
            file.to_str().unwrap_or(""),
        ],
    )?;
    assert!(with_file.status.success(), "{with_file:?}");
    let listed = stdout(&agentrace(
        &db,
        &[
            "prices",
            "list",
            "--provider",
            "internal",
            "--prices",
            file.to_str().unwrap_or(""),
        ],
    )?);
    assert!(
        listed.contains("house-model") && listed.contains("file"),
        "{listed}"
    );
    Ok(())
}

#[test]
fn reprice_recomputes_stored_costs_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (db, spans) = store(dir.path())?;
    let gpt4o = spans
        .iter()
        .filter(|s| s.response_model.as_deref() == Some("gpt-4o-2024-08-06"))
        .count();
    let dry = stdout(&agentrace(&db, &["prices", "reprice", "--dry-run"])?);
    assert!(
        dry.contains(&format!("would change the cost of {gpt4o}")),
        "{dry}"
    );
    let out = agentrace(&db, &["prices", "reprice"])?;
    assert!(out.status.success(), "{out:?}");
    // Each fixture call: 200 uncached × $2.50/M + 1,000 cached × $1.25/M + 340 × $10/M = $0.00515.
    let summary: serde_json::Value =
        serde_json::from_slice(&agentrace(&db, &["summary", "--json"])?.stdout)?;
    assert_eq!(summary["cost"].as_f64(), Some(0.00515 * gpt4o as f64));
    let again = stdout(&agentrace(&db, &["prices", "reprice"])?);
    assert!(again.contains("changed the cost of 0"), "{again}");
    Ok(())
}

#[test]
fn cost_by_model_and_budget_status() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (db, spans) = store(dir.path())?;
    let priced = spans.iter().filter(|s| s.cost.is_some()).count();
    let unpriced = spans
        .iter()
        .filter(|s| s.kind == agentrace_core::SpanKind::Llm && s.cost.is_none())
        .count();
    let by_model = stdout(&agentrace(&db, &["cost", "--by", "model"])?);
    let total = Usd::from_nanos(3_000_000 * priced as i64);
    assert!(
        by_model
            .lines()
            .any(|l| l.starts_with("total") && l.contains(&total.to_string())),
        "{by_model}"
    );
    assert!(
        by_model.contains(&format!("{unpriced} calls (")) && by_model.contains("unpriced tok"),
        "{by_model}"
    );
    let rows: serde_json::Value =
        serde_json::from_slice(&agentrace(&db, &["cost", "--by", "agent", "--json"])?.stdout)?;
    assert!(rows.as_array().is_some_and(|r| !r.is_empty()));
    // By an attribute no fixture span carries: every call in the one group without a value.
    let rows: serde_json::Value = serde_json::from_slice(
        &agentrace(&db, &["cost", "--by", "attr:customer.id", "--json"])?.stdout,
    )?;
    assert_eq!(
        rows.as_array().map(|r| (r.len(), r[0]["keys"][0].clone())),
        Some((1, serde_json::json!("none"))),
        "{rows}"
    );
    assert_eq!(rows[0]["count"].as_u64(), Some((priced + unpriced) as u64));
    let refused = agentrace(&db, &["cost", "--by", "attr:customer id"])?;
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(message.contains("not an attribute key"), "{message}");

    let budgets = dir.path().join("budgets.toml");
    std::fs::write(
        &budgets,
        "[[budget]]\nname = \"per-session\"\nscope = \"session\"\nperiod = \"day\"\nlimit_usd = 0.01\n",
    )?;
    let status = stdout(&agentrace(
        &db,
        &[
            "budget",
            "status",
            "--budgets",
            budgets.to_str().unwrap_or(""),
        ],
    )?);
    // Every priced fixture span is in session-1: $0.003 each against $0.01.
    assert!(
        status.contains("per-session")
            && status.contains("session-1")
            && status.contains(&total.to_string()),
        "{status}"
    );

    std::fs::write(
        &budgets,
        "[[budget]]\nname = \"x\"\nscope = \"galaxy\"\nperiod = \"day\"\nlimit_usd = 1\n",
    )?;
    let bad = agentrace(
        &db,
        &[
            "budget",
            "status",
            "--budgets",
            budgets.to_str().unwrap_or(""),
        ],
    )?;
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("is invalid"),
        "{bad:?}"
    );
    Ok(())
}

#[test]
fn prices_import_converts_a_litellm_map_for_use_with_prices() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("unused.db");
    let map = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agentrace-core/tests/data/litellm_model_prices.json");
    let converted = dir.path().join("litellm-prices.json");
    let out = agentrace(
        &db,
        &[
            "prices",
            "import",
            map.to_str().unwrap_or(""),
            "--output",
            converted.to_str().unwrap_or(""),
        ],
    )?;
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).starts_with("imported "), "{}", stdout(&out));
    let shown = stdout(&agentrace(
        &db,
        &[
            "prices",
            "show",
            "vertex_ai/claude-opus-4-5",
            "--prices",
            converted.to_str().unwrap_or(""),
        ],
    )?);
    assert!(
        shown.contains("is priced as vertex_ai/claude-opus-4-5 (gcp.vertex_ai"),
        "{shown}"
    );
    Ok(())
}

/// Without `--db`, the commands read `agentrace serve`'s store in the per-user data dir (when
/// no `agentrace-data/agentrace.db` is in the working directory), and say where they looked
/// when there is none.
#[test]
fn without_db_the_servers_store_is_read() -> TestResult {
    let home = tempfile::tempdir()?;
    let elsewhere = tempfile::tempdir()?;
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_agentrace"))
            .args(["summary", "--since", "1h"])
            .current_dir(elsewhere.path())
            .env("HOME", home.path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("AGENTRACE_SQLITE_PATH")
            .output()
    };
    let missing = run()?;
    assert!(!missing.status.success());
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(
        message.contains("agentrace-data/agentrace.db")
            && message.contains(".local/share/agentrace"),
        "{message}"
    );

    let data_dir = home.path().join(".local/share/agentrace");
    std::fs::create_dir_all(&data_dir)?;
    store(&data_dir)?;
    let found = run()?;
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    assert!(stdout(&found).contains(&data_dir.join("agentrace.db").display().to_string()));
    Ok(())
}

#[test]
fn tools_show_health_and_recommendations() -> TestResult {
    use agentrace_core::semconv::gen_ai;
    use agentrace_core::{Resource, SpanId, SpanKind, SpanStatus};

    let dir = tempfile::tempdir()?;
    let db = dir.path().join("agentrace.db");
    let store = SqliteStore::open(&db)?;
    let resource = std::sync::Arc::new(Resource::new("tools"));
    // 30 calls of fetch_url in the last half hour: 10 timeouts and 2 server errors.
    let start = agentrace_core::now_unix_nano() - 30 * 60_000_000_000;
    let spans: Vec<SpanRecord> = (0..30u64)
        .map(|i| {
            let t = start + i * 60_000_000_000;
            let mut s = SpanRecord::new(
                TraceId::random(),
                SpanId::random(),
                "execute_tool fetch_url",
                t,
                t + 200_000_000,
                resource.clone(),
            );
            s.kind = SpanKind::Tool;
            s.tool_name = Some("fetch_url".into());
            // Two calls of a `fetch_url` on an MCP server: another tool.
            if i >= 28 {
                s.attributes
                    .insert(agentrace_core::semconv::agentrace::MCP_SERVER, "web-mcp");
            }
            if i % 5 < 2 && i < 28 {
                s.status = SpanStatus::error("failed");
                s.attributes.insert(
                    gen_ai::ERROR_TYPE,
                    if i < 25 { "timeout" } else { "http_500" },
                );
            }
            s
        })
        .collect();
    store.write_spans(&spans)?;
    let out = agentrace(&db, &["tools", "--since", "1h"])?;
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.starts_with("fetch_url") && l.contains(" local "))
        .ok_or(text.clone())?;
    assert!(
        row.contains("28")
            && row.contains("57.1 %")
            && row.ends_with(|c: char| c.is_ascii_digit() || c == 's'),
        "{row}"
    );
    assert!(row.contains("unhealthy"), "{row}");
    assert!(
        text.contains("  - timeout is 83.3 % of failures (10 of 12)"),
        "{text}"
    );
    let served = text
        .lines()
        .find(|l| l.starts_with("fetch_url") && l.contains(" web-mcp "))
        .ok_or(text.clone())?;
    assert!(
        served.contains(" 2 ") && served.contains("100.0 %"),
        "{served}"
    );
    assert!(text.contains("  - no baseline yet"), "{text}");
    let json = agentrace(&db, &["tools", "--since", "1h", "--json"])?;
    let report: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(report["tools"][0]["tool"], "fetch_url");
    assert_eq!(report["tools"][0]["health"]["grade"], "unhealthy");
    Ok(())
}

#[test]
fn slos_go_out_as_openslo_and_come_back_and_openslos_own_examples_are_explained() -> TestResult {
    let dir = tempfile::tempdir()?;
    let alerts = dir.path().join("alerts.toml");
    std::fs::write(
        &alerts,
        r#"
[[slos]]
name = "support runs succeed"
description = "nine support conversations in ten end without an error"
objective = 0.9
window = "28d"
indicator = { type = "success", of = "agent_runs" }
scope = { service = "support-bot" }

[[slos]]
name = "research runs finish within a minute"
objective = 0.95
window = "28d"
indicator = { type = "latency", of = "agent_runs", threshold = "60s" }
scope = { agent = "researcher" }
"#,
    )?;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_agentrace"))
            .args(args)
            .output()
    };
    let yaml = dir.path().join("slos.yaml");
    let out = run(&[
        "slo",
        "export",
        "--alerts",
        &alerts.to_string_lossy(),
        "-o",
        &yaml.to_string_lossy(),
    ])?;
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&yaml)?;
    assert_eq!(text.matches("kind: SLO").count(), 2, "{text}");
    assert!(text.contains("type: agentrace"), "{text}");

    // Back in: the same SLOs, which the alerts file takes as they are.
    let out = run(&["slo", "import", &yaml.to_string_lossy()])?;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "nothing left out");
    let again = dir.path().join("again.toml");
    std::fs::write(&again, &out.stdout)?;
    let reread = run(&["slo", "export", "--alerts", &again.to_string_lossy()])?;
    assert!(reread.status.success(), "{reread:?}");
    assert_eq!(stdout(&reread), text, "the round trip changes nothing");

    // OpenSLO's own examples measure with `type: Any` sources: each is explained, none taken.
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/openslo");
    for entry in std::fs::read_dir(&examples)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let out = run(&["slo", "import", &path.to_string_lossy()])?;
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: {said}", path.display());
        assert!(said.contains("left out"), "{}: {said}", path.display());
        assert!(
            said.contains("no SLO agentrace can judge"),
            "{}: {said}",
            path.display()
        );
        assert!(
            said.contains("of type \"Any\"")
                || said.contains("budgetingMethod")
                || said.contains("calendar-aligned"),
            "{}: says why: {said}",
            path.display()
        );
    }
    let garbage = dir.path().join("garbage.yaml");
    std::fs::write(&garbage, "kind: [unclosed")?;
    let out = run(&["slo", "import", &garbage.to_string_lossy()])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an OpenSLO file"));
    Ok(())
}
