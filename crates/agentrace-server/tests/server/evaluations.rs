//! `gen_ai.evaluation.result` events received over OTLP become scores when they are
//! acknowledged: as log records (of a span, of a trace, naming a response whose span comes
//! later) and as span events; the same result sent twice is one score; failed and invalid
//! results are counted, not scored.

use agentrace_store::Scores;
use std::time::Duration;

use agentrace_core::{ScoreSource, ScoreTarget, SpanId, TraceId};
use agentrace_store::{ScoreFilter, ScoreQuery};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event as SpanEvent;

use crate::common::*;

fn float(key: &str, value: f64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::DoubleValue(value)),
        }),
        ..KeyValue::default()
    }
}

/// A `gen_ai.evaluation.result` log record of the evaluation `name`, with `attributes`
/// besides its name, of span `span` of trace `trace` (either may be absent).
fn result(
    name: &str,
    trace: Option<u64>,
    span: Option<u64>,
    mut attributes: Vec<KeyValue>,
) -> LogRecord {
    attributes.push(text("gen_ai.evaluation.name", name));
    LogRecord {
        time_unix_nano: now() - 1_000_000_000,
        severity_number: 9,
        event_name: "gen_ai.evaluation.result".into(),
        trace_id: trace.map(trace_id).unwrap_or_default(),
        span_id: span.map(span_id).unwrap_or_default(),
        attributes,
        ..LogRecord::default()
    }
}

/// A logs request of `records` from the instrumentation scope `my-evals`.
fn results(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![text("service.name", "svc")],
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "my-evals".into(),
                    ..InstrumentationScope::default()
                }),
                log_records: records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

async fn send_logs(t: &TestServer, request: &ExportLogsServiceRequest) -> Result {
    let answer = post(&t.http_url("/v1/logs"), PROTOBUF, &[], protobuf(request)).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    Ok(())
}

fn scores_of(t: &TestServer, name: &str) -> Result<Vec<agentrace_core::Score>> {
    let mut filter = ScoreFilter::new();
    filter.name = Some(name.into());
    Ok(t.fresh_store()?
        .scores(&ScoreQuery::new(filter, 100))?
        .scores)
}

fn span_target(trace: u64, span: u64) -> Result<ScoreTarget> {
    Ok(ScoreTarget::Span {
        span_id: SpanId::from_bytes(span_id(span).try_into().map_err(|_| "8 bytes")?),
        trace_id: Some(TraceId::from_bytes(
            trace_id(trace).try_into().map_err(|_| "16 bytes")?,
        )),
    })
}

#[tokio::test]
async fn log_records_and_span_events_are_scores_once_acknowledged() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let judged = result(
        "relevance",
        Some(1),
        Some(1),
        vec![
            float("gen_ai.evaluation.score.value", 0.75),
            text("gen_ai.evaluation.score.label", "relevant"),
            text("gen_ai.evaluation.explanation", "on topic"),
            text("agentrace.evaluation.annotator_kind", "llm"),
        ],
    );
    let of_trace = result(
        "task_done",
        Some(2),
        None,
        vec![text("gen_ai.evaluation.score.label", "yes")],
    );
    let request = results(vec![judged.clone(), of_trace]);
    send_logs(&t, &request).await?;
    // Acknowledged means stored: the file, opened afresh, has the scores.
    let relevance = scores_of(&t, "relevance")?;
    assert_eq!(relevance.len(), 1, "{relevance:?}");
    let score = &relevance[0];
    assert_eq!(score.target, span_target(1, 1)?);
    assert_eq!(
        (
            score.value,
            score.label.as_deref(),
            score.explanation.as_deref()
        ),
        (Some(0.75), Some("relevant"), Some("on topic"))
    );
    assert_eq!(score.source, ScoreSource::Eval);
    assert_eq!(score.annotator, agentrace_core::AnnotatorKind::Llm);
    assert_eq!(score.author.as_deref(), Some("my-evals"));
    let done = scores_of(&t, "task_done")?;
    assert_eq!(
        done.iter().map(|s| &s.target).collect::<Vec<_>>(),
        [&ScoreTarget::Trace(TraceId::from_bytes(
            trace_id(2).try_into().map_err(|_| "16 bytes")?
        ))]
    );

    // Sent again (an exporter's retry): still one score.
    send_logs(&t, &request).await?;
    assert_eq!(scores_of(&t, "relevance")?.len(), 1);

    // A span event on the span it judges.
    let mut span = llm_span(3, 3, now() - 2_000_000_000);
    span.events.push(SpanEvent {
        time_unix_nano: now() - 1_000_000_000,
        name: "gen_ai.evaluation.result".into(),
        attributes: vec![
            text("gen_ai.evaluation.name", "groundedness"),
            float("gen_ai.evaluation.score.value", 0.5),
        ],
        ..SpanEvent::default()
    });
    t.export(&traces(vec![span])).await?;
    let grounded = scores_of(&t, "groundedness")?;
    assert_eq!(grounded.len(), 1);
    assert_eq!(grounded[0].target, span_target(3, 3)?);
    assert_eq!(grounded[0].value, Some(0.5));

    let status = get(&t.app_url("/api/v1/status"), &[]).await?.json()?;
    // The retry's two results counted again, their scores stored once.
    assert_eq!(status["evaluation_results"]["scored"], 5, "{status}");
    assert_eq!(status["store"]["scores"], 3, "{status}");
    Ok(())
}

#[tokio::test]
async fn a_result_naming_a_response_is_scored_when_its_span_comes() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let by_response = result(
        "faithfulness",
        None,
        None,
        vec![
            float("gen_ai.evaluation.score.value", 1.0),
            text("gen_ai.response.id", "chatcmpl-42"),
        ],
    );
    send_logs(&t, &results(vec![by_response])).await?;
    assert!(
        scores_of(&t, "faithfulness")?.is_empty(),
        "its span is not here yet"
    );
    let status = get(&t.app_url("/api/v1/status"), &[]).await?.json()?;
    assert_eq!(
        status["evaluation_results"]["awaiting_response"], 1,
        "{status}"
    );

    let mut span = llm_span(7, 7, now() - 3_000_000_000);
    span.attributes
        .push(text("gen_ai.response.id", "chatcmpl-42"));
    t.export(&traces(vec![span])).await?;
    let found = eventually(Duration::from_secs(10), || {
        Ok(!scores_of(&t, "faithfulness")?.is_empty())
    })
    .await?;
    assert!(found, "scored once its span came");
    let score = &scores_of(&t, "faithfulness")?[0];
    assert_eq!(score.target, span_target(7, 7)?);
    assert_eq!(
        score.metadata.get("gen_ai.response.id"),
        Some(&serde_json::json!("chatcmpl-42"))
    );
    let status = get(&t.app_url("/api/v1/status"), &[]).await?.json()?;
    let results = &status["evaluation_results"];
    assert_eq!(
        (&results["scored"], &results["awaiting_response"]),
        (&serde_json::json!(1), &serde_json::json!(0)),
        "{status}"
    );
    Ok(())
}

/// A result waits for its response in its own project: the response arriving in another
/// project scores nothing; arriving in its own, it is scored there.
#[tokio::test]
async fn a_result_waits_for_its_response_in_its_own_project() -> Result {
    let t = TestServer::start(|_| {}).await?;
    create_project(&t.app_url(""), "alpha").await?;
    let by_response = result(
        "faithfulness",
        None,
        None,
        vec![
            float("gen_ai.evaluation.score.value", 1.0),
            text("gen_ai.response.id", "chatcmpl-7"),
        ],
    );
    t.send_to("/v1/logs", "alpha", &results(vec![by_response]))
        .await?;
    let responding = |trace| {
        let mut span = llm_span(trace, trace, now() - 3_000_000_000);
        span.attributes
            .push(text("gen_ai.response.id", "chatcmpl-7"));
        traces(vec![span])
    };
    let scores_in = |project: &str| -> Result<Vec<agentrace_core::Score>> {
        let mut filter = ScoreFilter::new();
        filter.name = Some("faithfulness".into());
        Ok(t.project_store(project)?
            .scores(&ScoreQuery::new(filter, 100))?
            .scores)
    };
    t.send_to("/v1/traces", "default", &responding(8)).await?;
    // Three look-ups of the waiting results (one a second).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        scores_in("default")?.is_empty(),
        "default's span is not alpha's response"
    );
    assert!(scores_in("alpha")?.is_empty());
    let status = get(&t.app_url("/api/v1/status"), &[]).await?.json()?;
    assert_eq!(
        status["evaluation_results"]["awaiting_response"], 1,
        "{status}"
    );

    t.send_to("/v1/traces", "alpha", &responding(9)).await?;
    let found = eventually(Duration::from_secs(10), || {
        Ok(!scores_in("alpha")?.is_empty())
    })
    .await?;
    assert!(found, "scored once its span came to its project");
    assert_eq!(scores_in("alpha")?[0].target, span_target(9, 9)?);
    assert!(scores_in("default")?.is_empty());
    Ok(())
}

#[tokio::test]
async fn failed_and_invalid_results_are_counted_not_scored() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let failed = result(
        "toxicity",
        Some(1),
        Some(1),
        vec![text("error.type", "judge_timeout")],
    );
    let empty = result("toxicity", Some(1), Some(2), vec![]);
    let mut unnamed = result("x", Some(1), Some(3), vec![]);
    unnamed.attributes.clear();
    let lost = result(
        "toxicity",
        None,
        None,
        vec![float("gen_ai.evaluation.score.value", 1.0)],
    );
    send_logs(&t, &results(vec![failed, empty, unnamed, lost])).await?;
    assert!(scores_of(&t, "toxicity")?.is_empty());
    // The events themselves are stored, as any log record.
    assert_eq!(t.stored(agentrace_sqlite::RecordKind::Events)?, 4);
    let status = get(&t.app_url("/api/v1/status"), &[]).await?.json()?;
    let results = &status["evaluation_results"];
    assert_eq!(
        (&results["scored"], &results["failed"], &results["invalid"]),
        (
            &serde_json::json!(0),
            &serde_json::json!(1),
            &serde_json::json!(3)
        ),
        "{status}"
    );
    assert!(
        results["last_invalid"]
            .as_str()
            .is_some_and(|w| !w.is_empty()),
        "{status}"
    );
    let metrics = get(&t.app_url("/metrics"), &[]).await?.text();
    for line in [
        "agentrace_server_evaluation_results_total{outcome=\"failed\"} 1",
        "agentrace_server_evaluation_results_total{outcome=\"invalid\"} 3",
        "agentrace_server_evaluation_results_awaiting_response 0",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    Ok(())
}
