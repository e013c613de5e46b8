//! What a scrape shows: the derived metrics through a real pipeline, names, labels, values,
//! buckets, HELP and TYPE lines, the resource, scope labels, custom registries and rejections.

mod common;

use std::time::Duration;

use agentrace_core::metrics::{DURATION_BUCKETS_SECONDS, MetricsProcessor, TOKEN_USAGE_BUCKETS};
use agentrace_core::testing::fixtures::llm_span;
use agentrace_core::{
    InstrumentKind, Measurement, MetricSink, Pipeline, Resource, SpanKind, SpanStatus, TraceId,
};
use agentrace_prometheus::{BuildError, PrometheusSink};
use common::{Sample, find, parse, value};

fn sink() -> PrometheusSink {
    match PrometheusSink::builder()
        .service_name("exposition-test")
        .build()
    {
        Ok(sink) => sink,
        Err(e) => panic!("build: {e}"),
    }
}

async fn export(sink: &PrometheusSink, measurements: &[Measurement]) {
    if let Err(e) = sink.export_measurements(measurements).await {
        panic!("export: {e}");
    }
}

/// Two LLM calls (one failing), an agent run and a failed tool call through the pipeline with
/// the metrics processor and pipeline health on.
fn run_pipeline(sink: &PrometheusSink) -> Vec<Sample> {
    let pipeline = Pipeline::builder()
        .with_processor(MetricsProcessor)
        .with_sink(sink.clone())
        .configure(|c| c.health_interval = Some(Duration::from_secs(3_600)))
        .build();
    let pipeline = match pipeline {
        Ok(p) => p,
        Err(e) => panic!("pipeline: {e}"),
    };
    let trace = TraceId::random();
    let ok_call = llm_span(trace, None, 1_700_000_000_000_000_000);
    let mut failed_call = llm_span(trace, None, 1_700_000_000_100_000_000);
    failed_call.status = SpanStatus::error("rate limited");
    failed_call.attributes.insert("error.type", "429");
    let mut agent = llm_span(trace, None, 1_700_000_000_200_000_000);
    agent.kind = SpanKind::Agent;
    let mut tool = llm_span(trace, None, 1_700_000_000_300_000_000);
    tool.kind = SpanKind::Tool;
    tool.tool_name = Some("web_search".into());
    tool.status = SpanStatus::error("timeout");
    for span in [ok_call, failed_call, agent, tool] {
        assert!(pipeline.submit_span(span));
    }
    // Health is reported at each flush, before that flush's batch goes out: the second one
    // reports what the first exported.
    for _ in 0..2 {
        if let Err(e) = pipeline.flush() {
            panic!("flush: {e}");
        }
    }
    let text = sink.render();
    if let Err(e) = pipeline.shutdown() {
        panic!("shutdown: {e}");
    }
    parse(&text)
}

#[test]
fn derived_metrics_are_exposed_with_prometheus_names_labels_and_values() {
    let sink = sink();
    let samples = run_pipeline(&sink);
    let fixture = llm_span(TraceId::random(), None, 0);
    let call = [
        ("gen_ai_operation_name", "chat"),
        ("gen_ai_provider_name", "openai"),
        ("gen_ai_request_model", "gpt-4o"),
        ("otel_scope_name", "agentrace"),
        ("otel_scope_version", env!("CARGO_PKG_VERSION")),
    ];

    // Token usage: one histogram series per token type, both calls in it.
    for (token_type, tokens) in [
        ("input", fixture.usage.input_tokens),
        ("output", fixture.usage.output_tokens),
    ] {
        let with: Vec<_> = call
            .iter()
            .copied()
            .chain([("gen_ai_token_type", token_type)])
            .collect();
        assert_eq!(
            value(&samples, "gen_ai_client_token_usage_sum", &with),
            2.0 * tokens as f64
        );
        assert_eq!(
            value(&samples, "gen_ai_client_token_usage_count", &with),
            2.0
        );
        let buckets = find(&samples, "gen_ai_client_token_usage_bucket", &with);
        let bounds: Vec<_> = buckets.iter().map(|b| b.labels["le"].as_str()).collect();
        let advised: Vec<_> = TOKEN_USAGE_BUCKETS
            .iter()
            .map(ToString::to_string)
            .chain(["+Inf".to_owned()])
            .collect();
        assert_eq!(bounds, advised);
        // Cumulative: nothing below the tokens, both calls from the first bound above.
        for b in buckets {
            let le: f64 = match b.labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap_or(f64::NAN),
            };
            let want = if le >= tokens as f64 { 2.0 } else { 0.0 };
            assert_eq!(b.value, want, "le={le} for {tokens} tokens");
        }
    }

    // Duration: one series per outcome, the failure labelled with its error type.
    let seconds = fixture.duration_ns() as f64 / 1e9;
    let ok: Vec<_> = find(
        &samples,
        "gen_ai_client_operation_duration_seconds_sum",
        &call,
    )
    .into_iter()
    .filter(|s| !s.labels.contains_key("error_type"))
    .collect();
    assert_eq!(ok.len(), 1);
    assert!((ok[0].value - seconds).abs() < 1e-12);
    let mut failed = call.to_vec();
    failed.push(("error_type", "429"));
    assert_eq!(
        value(
            &samples,
            "gen_ai_client_operation_duration_seconds_count",
            &failed
        ),
        1.0
    );
    let duration_bounds: Vec<_> = find(
        &samples,
        "gen_ai_client_operation_duration_seconds_bucket",
        &failed,
    )
    .iter()
    .map(|b| b.labels["le"].clone())
    .collect();
    assert_eq!(duration_bounds.len(), DURATION_BUCKETS_SECONDS.len() + 1);
    assert_eq!(duration_bounds[0], "0.01");

    // Cost: a counter in USD, summed over both calls.
    let cost = fixture.cost.map_or(0.0, |c| c.total.dollars());
    let got = value(
        &samples,
        "agentrace_cost_usd_total",
        &[
            ("gen_ai_provider_name", "openai"),
            ("gen_ai_request_model", "gpt-4o"),
            ("gen_ai_agent_name", "researcher"),
            ("agentrace_framework", "rig"),
        ],
    );
    assert!((got - 2.0 * cost).abs() < 1e-12, "{got} vs {}", 2.0 * cost);

    assert_eq!(
        value(
            &samples,
            "agentrace_llm_errors_total",
            &[("gen_ai_provider_name", "openai"), ("error_type", "429")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "agentrace_agent_runs_total",
            &[
                ("gen_ai_agent_name", "researcher"),
                ("agentrace_framework", "rig"),
                ("agentrace_status", "ok")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "agentrace_tool_calls_total",
            &[
                ("gen_ai_tool_name", "web_search"),
                ("agentrace_status", "error")
            ]
        ),
        1.0
    );
    // Pipeline health, reported at the second flush.
    // The four spans' measurements, 4 + 4 (LLM calls) + 1 (agent) + 1 (tool), and the first
    // flush's health: the queue depth, and this counter too if the spans went out before it.
    let exported = value(
        &samples,
        "agentrace_pipeline_sink_exported_total",
        &[("sink", "prometheus")],
    );
    assert!([11.0, 12.0].contains(&exported), "{exported}");
    assert_eq!(
        find(&samples, "agentrace_pipeline_queue_depth", &[]).len(),
        1
    );
    // The resource.
    assert_eq!(
        value(
            &samples,
            "target_info",
            &[
                ("service_name", "exposition-test"),
                ("telemetry_sdk_language", "rust")
            ]
        ),
        1.0
    );
    // No session, user or trace ids anywhere.
    for s in &samples {
        for v in s.labels.values() {
            assert!(
                !v.starts_with("session-") && !v.starts_with("user-"),
                "{s:?}"
            );
        }
    }
}

#[test]
fn help_and_type_lines_describe_each_family() {
    let sink = sink();
    let text = {
        run_pipeline(&sink);
        sink.render()
    };
    for line in [
        "# TYPE gen_ai_client_token_usage histogram",
        "# HELP gen_ai_client_token_usage Tokens used per GenAI operation, by token type.",
        "# TYPE gen_ai_client_operation_duration_seconds histogram",
        "# TYPE agentrace_cost_usd_total counter",
        "# HELP agentrace_cost_usd_total Cost of LLM calls, in US dollars.",
        "# TYPE agentrace_agent_runs_total counter",
        "# TYPE agentrace_pipeline_queue_depth gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
}

#[tokio::test]
async fn units_gauges_and_up_down_counters_follow_the_naming_rules() {
    let sink = sink();
    export(
        &sink,
        &[
            Measurement::new("agentrace.budget.spend_ratio", InstrumentKind::Gauge, 0.25)
                .with_unit("1")
                .with_label("budget", "daily"),
            Measurement::new("agentrace.budget.spend_ratio", InstrumentKind::Gauge, 0.5)
                .with_unit("1")
                .with_label("budget", "daily"),
            Measurement::new("queue.wait", InstrumentKind::Histogram, 0.002).with_unit("ms"),
            Measurement::new("jobs.active", InstrumentKind::UpDownCounter, 3.0),
            Measurement::new("jobs.active", InstrumentKind::UpDownCounter, -1.0),
            Measurement::new("payload", InstrumentKind::Counter, 512.0).with_unit("By"),
        ],
    )
    .await;
    let samples = parse(&sink.render());
    assert_eq!(
        value(
            &samples,
            "agentrace_budget_spend_ratio",
            &[("budget", "daily")]
        ),
        0.5
    );
    assert!(find(&samples, "agentrace_budget_spend_ratio_ratio", &[]).is_empty());
    assert_eq!(value(&samples, "queue_wait_milliseconds_count", &[]), 1.0);
    assert_eq!(value(&samples, "jobs_active", &[]), 2.0);
    assert_eq!(value(&samples, "payload_bytes_total", &[]), 512.0);
}

#[tokio::test]
async fn invalid_measurements_are_counted_and_the_rest_recorded() {
    let sink = sink();
    export(
        &sink,
        &[
            Measurement::new("calls", InstrumentKind::Counter, 1.0),
            Measurement::new("calls", InstrumentKind::Counter, f64::NAN),
            Measurement::new("calls", InstrumentKind::Counter, -2.0),
            Measurement::new("calls", InstrumentKind::Histogram, 1.0),
            Measurement::new("calls", InstrumentKind::Counter, 1.0).with_label("0bad", "x"),
            Measurement::new("calls", InstrumentKind::Counter, 1.0),
        ],
    )
    .await;
    let samples = parse(&sink.render());
    assert_eq!(value(&samples, "calls_total", &[]), 2.0);
    for (reason, n) in [
        ("not_finite", 1.0),
        ("negative", 1.0),
        ("conflict", 1.0),
        ("invalid_label", 1.0),
    ] {
        assert_eq!(
            value(
                &samples,
                "agentrace_metrics_rejected_total",
                &[("reason", reason)]
            ),
            n
        );
    }
    assert_eq!(sink.rejected().total(), 4);
}

#[tokio::test]
async fn scope_labels_can_be_turned_off_and_the_resource_set() {
    let mut resource = Resource::new("from-resource");
    resource
        .attributes
        .insert("deployment.environment.name", "staging");
    let sink = match PrometheusSink::builder()
        .resource(resource)
        .scope_info_enabled(false)
        .build()
    {
        Ok(sink) => sink,
        Err(e) => panic!("{e}"),
    };
    export(
        &sink,
        &[Measurement::new("calls", InstrumentKind::Counter, 1.0).with_label("k", "v")],
    )
    .await;
    let samples = parse(&sink.render());
    let calls = find(&samples, "calls_total", &[]);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].labels.keys().collect::<Vec<_>>(),
        ["k"],
        "no otel_scope_* labels"
    );
    assert_eq!(
        value(
            &samples,
            "target_info",
            &[
                ("service_name", "from-resource"),
                ("deployment_environment_name", "staging")
            ]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_user_registry_is_shared_and_takes_one_sink() {
    let registry = prometheus::Registry::new();
    let app_counter = match prometheus::IntCounter::new("app_requests_total", "Requests.") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert!(registry.register(Box::new(app_counter.clone())).is_ok());
    app_counter.inc_by(7);
    let sink = match PrometheusSink::builder().registry(registry.clone()).build() {
        Ok(sink) => sink,
        Err(e) => panic!("{e}"),
    };
    export(
        &sink,
        &[Measurement::new("calls", InstrumentKind::Counter, 1.0)],
    )
    .await;
    let samples = parse(&sink.render());
    assert_eq!(value(&samples, "app_requests_total", &[]), 7.0);
    assert_eq!(value(&samples, "calls_total", &[]), 1.0);

    let second = PrometheusSink::builder().registry(registry).build();
    assert!(matches!(second, Err(BuildError::Registry(_))), "{second:?}");
}

#[test]
fn histogram_boundaries_are_configurable_and_checked() {
    let sink = PrometheusSink::builder()
        .histogram_boundaries("gen_ai.client.token.usage", vec![100.0, 1_000.0])
        .build();
    let sink = match sink {
        Ok(sink) => sink,
        Err(e) => panic!("{e}"),
    };
    let samples = run_pipeline(&sink);
    let bounds: Vec<_> = find(
        &samples,
        "gen_ai_client_token_usage_bucket",
        &[("gen_ai_token_type", "input")],
    )
    .iter()
    .map(|b| b.labels["le"].clone())
    .collect();
    assert_eq!(bounds, ["100", "1000", "+Inf"]);

    let bad = PrometheusSink::builder()
        .histogram_boundaries("x", vec![2.0, 1.0])
        .build();
    assert!(matches!(bad, Err(BuildError::Boundaries(_))), "{bad:?}");
}
