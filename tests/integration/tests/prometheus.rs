//! The Prometheus backend against a real Prometheus server.
//!
//! The `prometheus` example (a simulated support desk going through the real pipeline) serves
//! `/metrics` on a free port and prints every model call, tool call and agent run it makes. A
//! Prometheus server started here scrapes it every second; the test then asks Prometheus'
//! query API for token usage, cost, durations, errors, agent runs and tool calls and compares
//! them with what the example reported, costs priced with agentrace's built-in price table.
//!
//! Needs the Prometheus server (`AGENTRACE_PROMETHEUS_BIN`, else `prometheus` on `PATH`, else
//! `/usr/bin/prometheus`; `scripts/install-test-deps.sh` installs it) and the example binary
//! (`AGENTRACE_EXAMPLES_DIR`, else `target/debug/examples/`; built by
//! `cargo build --example prometheus --features prometheus`). Either missing: skipped loudly,
//! or a failure under `CI=true`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use agentrace_core::TokenUsage;
use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};
use agentrace_integration::prometheus::{Prometheus, Running, scrape_config};
use agentrace_integration::{example_binary, require};

/// How long to wait for a process or a condition before failing (not a performance bound).
const PATIENCE: Duration = Duration::from_secs(60);

/// What the example says it did.
#[derive(Debug, Default)]
struct Workload {
    metrics_addr: Option<SocketAddr>,
    calls: Vec<Call>,
    /// (tool, status) → count
    tools: BTreeMap<(String, String), u64>,
    /// (agent, status) → count
    agents: BTreeMap<(String, String), u64>,
}

#[derive(Debug)]
struct Call {
    provider: String,
    model: String,
    usage: TokenUsage,
    millis: u64,
    error: Option<String>,
}

/// `key=value` fields of a report line.
fn fields(line: &str) -> BTreeMap<&str, &str> {
    line.split(' ')
        .filter_map(|field| field.split_once('='))
        .collect()
}

fn number(fields: &BTreeMap<&str, &str>, key: &str, line: &str) -> u64 {
    match fields.get(key).and_then(|v| v.parse().ok()) {
        Some(n) => n,
        None => panic!("no number {key} in {line:?}"),
    }
}

impl Workload {
    /// Takes one stdout line; `true` at `ready`.
    fn read(&mut self, line: &str) -> bool {
        let f = fields(line);
        let text = |key: &str| match f.get(key) {
            Some(v) => (*v).to_owned(),
            None => panic!("no {key} in {line:?}"),
        };
        match line.split(' ').next() {
            Some("ready") => return true,
            Some("listening") => {
                let addr = line
                    .rsplit("http://")
                    .next()
                    .and_then(|rest| rest.strip_suffix("/metrics"))
                    .and_then(|addr| addr.parse().ok());
                assert!(addr.is_some(), "bad address line {line:?}");
                self.metrics_addr = addr;
            }
            Some("call") => self.calls.push(Call {
                provider: text("provider"),
                model: text("model"),
                usage: TokenUsage {
                    input_tokens: number(&f, "input", line),
                    output_tokens: number(&f, "output", line),
                    cache_read_tokens: number(&f, "cache_read", line),
                    ..TokenUsage::default()
                },
                millis: number(&f, "millis", line),
                error: Some(text("error")).filter(|e| e != "-"),
            }),
            Some("tool") => {
                *self
                    .tools
                    .entry((text("name"), text("status")))
                    .or_default() += 1
            }
            Some("agent") => {
                *self
                    .agents
                    .entry((text("name"), text("status")))
                    .or_default() += 1
            }
            _ => panic!("unexpected line from the example: {line:?}"),
        }
        false
    }

    /// Sums of `f` over the calls, by model.
    fn by_model(&self, f: impl Fn(&Call) -> Option<f64>) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for call in &self.calls {
            if let Some(v) = f(call) {
                *out.entry(call.model.clone()).or_default() += v;
            }
        }
        out
    }
}

/// Starts the example on a free port and reads its report up to `ready`. The returned stdin
/// keeps it serving; closing it stops the example.
fn start_example(bin: &Path) -> (Running, ChildStdin, Workload) {
    let child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut running = match child {
        Ok(child) => Running {
            name: "example",
            child,
        },
        Err(e) => panic!("cannot start {}: {e}", bin.display()),
    };
    let (Some(stdin), Some(stdout)) = (running.child.stdin.take(), running.child.stdout.take())
    else {
        panic!("the example's stdio was not piped");
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut workload = Workload::default();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                println!("example: {line}");
                if workload.read(&line) {
                    break;
                }
            }
            Err(e) => panic!(
                "the example did not report `ready` ({e}); exit status: {:?}",
                running.child.try_wait()
            ),
        }
    }
    assert!(workload.metrics_addr.is_some(), "no `listening on` line");
    assert!(!workload.calls.is_empty(), "no model calls reported");
    (running, stdin, workload)
}

fn per_model(result: BTreeMap<Vec<String>, f64>) -> BTreeMap<String, f64> {
    result.into_iter().map(|(k, v)| (k.concat(), v)).collect()
}

fn assert_close(got: &BTreeMap<String, f64>, want: &BTreeMap<String, f64>, what: &str) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: models"
    );
    for (model, w) in want {
        let g = got[model];
        assert!(
            (g - w).abs() <= 1e-9 * w.abs().max(1.0),
            "{what} of {model}: Prometheus has {g}, the workload makes {w}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_what_the_workload_produced() {
    let prometheus = agentrace_integration::prometheus::binary();
    if prometheus.is_none() {
        return;
    }
    let example = example_binary("prometheus");
    if !require(
        example.is_some(),
        "the `prometheus` example binary (AGENTRACE_EXAMPLES_DIR or target/debug/examples; \
         cargo build --example prometheus --features prometheus)",
    ) {
        return;
    }
    let (Some(prometheus), Some(example)) = (prometheus, example) else {
        return;
    };

    let (mut running, stdin, workload) = start_example(&example);
    let Some(target) = workload.metrics_addr else {
        return;
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let server = Prometheus::start(&prometheus, dir.path(), &scrape_config(target, "")).await;
    server.wait_target_up().await;

    let job = r#"job="agentrace""#;
    let model = ["gen_ai_request_model"];
    let ok_calls = |c: &Call| c.error.is_none();

    // Token usage, by model and type: sums and counts of the histogram.
    for (token_type, tokens) in [
        (
            "input",
            (|c: &Call| c.usage.input_tokens) as fn(&Call) -> u64,
        ),
        ("output", |c: &Call| c.usage.output_tokens),
    ] {
        let sums = server
            .query_nonempty(
                &format!(
                    r#"sum by (gen_ai_request_model) (gen_ai_client_token_usage_sum{{{job},gen_ai_token_type="{token_type}"}})"#
                ),
                &model,
            )
            .await;
        assert_close(
            &per_model(sums),
            &workload.by_model(|c| ok_calls(c).then(|| tokens(c) as f64)),
            &format!("{token_type} tokens"),
        );
        let counts = server
            .query(
                &format!(
                    r#"sum by (gen_ai_request_model) (gen_ai_client_token_usage_count{{{job},gen_ai_token_type="{token_type}"}})"#
                ),
                &model,
            )
            .await;
        assert_close(
            &per_model(counts),
            &workload.by_model(|c| ok_calls(c).then_some(1.0)),
            &format!("{token_type} token samples"),
        );
    }

    // Cost, by model: each call priced with the built-in table at the time of the run.
    let table = PriceTable::builtin();
    let now = agentrace_core::now_unix_nano();
    let want_cost = workload.by_model(|c| {
        ok_calls(c).then(|| match table.price(Some(&c.provider), &c.model, now) {
            Some(found) => compute_cost(&c.usage, found.price).total.dollars(),
            None => panic!("{} {} has no built-in price", c.provider, c.model),
        })
    });
    assert!(want_cost.values().all(|c| *c > 0.0), "{want_cost:?}");
    let cost = server
        .query(
            &format!("sum by (gen_ai_request_model) (agentrace_cost_usd_total{{{job}}})"),
            &model,
        )
        .await;
    assert_close(&per_model(cost), &want_cost, "cost in USD");

    // Durations, by model: every call counted (failed ones too), at least as long as it slept,
    // in the advised buckets.
    let counts = server
        .query(
            &format!(
                "sum by (gen_ai_request_model) (gen_ai_client_operation_duration_seconds_count{{{job}}})"
            ),
            &model,
        )
        .await;
    assert_close(
        &per_model(counts),
        &workload.by_model(|_| Some(1.0)),
        "operations",
    );
    let sums = per_model(
        server
            .query(
                &format!(
                    "sum by (gen_ai_request_model) (gen_ai_client_operation_duration_seconds_sum{{{job}}})"
                ),
                &model,
            )
            .await,
    );
    for (m, slept) in workload.by_model(|c| Some(c.millis as f64 / 1_000.0)) {
        let got = sums.get(&m).copied().unwrap_or_default();
        assert!(
            got >= slept,
            "{m}: {got} s recorded, the calls slept {slept} s"
        );
    }
    let buckets = server
        .query(
            &format!(r#"count by (le) (gen_ai_client_operation_duration_seconds_bucket{{{job}}})"#),
            &["le"],
        )
        .await;
    let mut bounds: Vec<f64> = buckets
        .keys()
        .filter_map(|k| k.concat().parse().ok())
        .collect();
    bounds.sort_by(f64::total_cmp);
    let mut advised = agentrace_core::metrics::DURATION_BUCKETS_SECONDS.to_vec();
    advised.push(f64::INFINITY);
    assert_eq!(bounds, advised, "duration buckets");

    // Failed calls, by error type.
    let mut want_errors = BTreeMap::new();
    for call in &workload.calls {
        if let Some(error) = &call.error {
            *want_errors.entry(vec![error.clone()]).or_insert(0.0) += 1.0;
        }
    }
    assert!(!want_errors.is_empty(), "the workload has a failing call");
    let errors = server
        .query(
            &format!("sum by (error_type) (agentrace_llm_errors_total{{{job}}})"),
            &["error_type"],
        )
        .await;
    assert_eq!(errors, want_errors, "LLM errors");

    // Agent runs and tool calls, by name and status.
    let as_query_result = |counts: &BTreeMap<(String, String), u64>| -> BTreeMap<Vec<String>, f64> {
        counts
            .iter()
            .map(|((name, status), n)| (vec![name.clone(), status.clone()], *n as f64))
            .collect()
    };
    let runs = server
        .query(
            &format!(
                "sum by (gen_ai_agent_name, agentrace_status) (agentrace_agent_runs_total{{{job}}})"
            ),
            &["gen_ai_agent_name", "agentrace_status"],
        )
        .await;
    assert_eq!(runs, as_query_result(&workload.agents), "agent runs");
    let tools = server
        .query(
            &format!(
                "sum by (gen_ai_tool_name, agentrace_status) (agentrace_tool_calls_total{{{job}}})"
            ),
            &["gen_ai_tool_name", "agentrace_status"],
        )
        .await;
    assert_eq!(tools, as_query_result(&workload.tools), "tool calls");

    // The resource, and nothing rejected on the way.
    let info = server
        .query(
            &format!("target_info{{{job}}}"),
            &["service_name", "telemetry_sdk_language"],
        )
        .await;
    assert_eq!(
        info,
        BTreeMap::from([(vec!["support-desk".to_owned(), "rust".to_owned()], 1.0)])
    );
    let rejected = server
        .query(&format!("agentrace_metrics_rejected_total{{{job}}}"), &[])
        .await;
    assert!(rejected.is_empty(), "rejected measurements: {rejected:?}");

    // Closing stdin stops the example cleanly.
    drop(stdin);
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        match running.child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("the example did not stop when stdin closed: {other:?}"),
        }
    };
    assert!(status.success(), "the example exited with {status}");
}
