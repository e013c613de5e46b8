//! agentrace-otlp and agentrace-jaeger end to end, against a real OTLP receiver (tonic gRPC,
//! axum HTTP protobuf and JSON, gzip): what arrives is decoded and compared with the records
//! sent, field by field; a down or slow receiver is shown never to block the application, to
//! keep memory bounded, and to cost exactly the drops the pipeline counts.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use agentrace_core::normalize::SpanNormalizer;
use agentrace_core::propagation::{self, TraceContext};
use agentrace_core::testing::conformance::{self, Readback};
use agentrace_core::testing::fixtures::{self, llm_span, sample_events, sample_spans};
use agentrace_core::{
    AttributeValue, BoxError, Cost, Event, EventKind, InstrumentKind, Level, Measurement, Pipeline,
    PipelineStats, Resource, Sink, SinkStats, SpanEvent, SpanId, SpanRecord, SpanStatus,
    StatusCode, Telemetry, TokenUsage, TraceId, Usd, async_trait, spans,
};
use agentrace_integration::receiver::{
    Mode, OtlpReceiver, ReceivedLog, ReceivedMetric, ReceivedSpan, Transport,
};
use agentrace_otel::trace::{
    COST_CACHE_READ, COST_CACHE_WRITE, COST_INPUT, COST_OUTPUT, COST_TOTAL, DEFAULT_SCOPE,
};
use agentrace_otlp::{Compression, OtlpSink, Protocol, Signal};
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use tracing_subscriber::prelude::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// How long to wait for data to arrive: generous, it only matters when something is broken.
const ARRIVAL: Duration = Duration::from_secs(30);
const T0: u64 = 1_700_000_000_000_000_000;
const PROTOCOLS: [Protocol; 3] = [Protocol::Grpc, Protocol::HttpProtobuf, Protocol::HttpJson];

// ---------------------------------------------------------------------------------------------
// Decoding what the receiver got back into agentrace records.

fn value(v: Option<&AnyValue>) -> AttributeValue {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => AttributeValue::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => AttributeValue::Bool(*b),
        Some(any_value::Value::IntValue(i)) => AttributeValue::I64(*i),
        Some(any_value::Value::DoubleValue(d)) => AttributeValue::F64(*d),
        Some(any_value::Value::ArrayValue(a)) => {
            AttributeValue::Array(a.values.iter().map(|v| value(Some(v))).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => AttributeValue::Map(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), value(kv.value.as_ref())))
                .collect(),
        ),
        other => panic!("agentrace never sends {other:?}"),
    }
}

fn attributes(kvs: &[KeyValue]) -> impl Iterator<Item = (&str, AttributeValue)> {
    kvs.iter()
        .map(|kv| (kv.key.as_str(), value(kv.value.as_ref())))
}

fn trace_id(bytes: &[u8]) -> Option<TraceId> {
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(TraceId::from_bytes)
        .filter(|t| t.is_valid())
}

fn span_id(bytes: &[u8]) -> Option<SpanId> {
    <[u8; 8]>::try_from(bytes)
        .ok()
        .map(SpanId::from_bytes)
        .filter(|s| s.is_valid())
}

/// The record's resource: `service.name` and its attributes, without the SDK's
/// `telemetry.sdk.*`, in the fixture's order (OTLP resources are unordered).
fn resource(kvs: &[KeyValue]) -> Resource {
    let mut resource = Resource::new("");
    let mut attrs: Vec<(&str, AttributeValue)> = Vec::new();
    for (k, v) in attributes(kvs) {
        match k {
            "service.name" => resource.service_name = v.to_string(),
            k if k.starts_with("telemetry.sdk.") => {}
            k => attrs.push((k, v)),
        }
    }
    let order = fixtures::resource();
    let rank = |k: &str| order.attributes.iter().position(|(o, _)| o == k);
    attrs.sort_by_key(|(k, _)| rank(k).unwrap_or(usize::MAX));
    for (k, v) in attrs {
        resource.attributes.insert(k.to_owned(), v);
    }
    resource
}

fn scope(scope: Option<&InstrumentationScope>) -> Option<Cow<'static, str>> {
    scope
        .map(|s| s.name.clone())
        .filter(|name| name != DEFAULT_SCOPE)
        .map(Cow::Owned)
}

/// A received span read back as an OTLP ingest would: core's normalizer lifts the GenAI
/// attributes into the typed fields, the cost attributes make the cost.
fn span_record(received: &ReceivedSpan) -> SpanRecord {
    let s = &received.span;
    let mut record = SpanRecord::new(
        trace_id(&s.trace_id).unwrap_or_else(|| panic!("span {} has no trace id", s.name)),
        span_id(&s.span_id).unwrap_or_else(|| panic!("span {} has no span id", s.name)),
        s.name.clone(),
        s.start_time_unix_nano,
        s.end_time_unix_nano,
        Arc::new(resource(&received.resource)),
    );
    record.parent_span_id = span_id(&s.parent_span_id);
    record.status = match &s.status {
        Some(status) if status.code == 1 => SpanStatus {
            code: StatusCode::Ok,
            message: None,
        },
        Some(status) if status.code == 2 => SpanStatus::error(status.message.clone()),
        _ => SpanStatus::default(),
    };
    record.scope = scope(received.scope.as_ref());
    let mut cost: Option<Cost> = None;
    let mut normalizer = SpanNormalizer::new();
    for (key, v) in attributes(&s.attributes) {
        let usd = || Usd::from_dollars(v.as_f64().unwrap_or(f64::NAN));
        let part = match key {
            COST_TOTAL => Some(&mut cost.get_or_insert_default().total),
            COST_INPUT => Some(&mut cost.get_or_insert_default().input),
            COST_CACHE_READ => Some(&mut cost.get_or_insert_default().cache_read),
            COST_CACHE_WRITE => Some(&mut cost.get_or_insert_default().cache_write),
            COST_OUTPUT => Some(&mut cost.get_or_insert_default().output),
            _ => None,
        };
        match part {
            Some(part) => *part = usd(),
            None => {
                if !normalizer.offer_value(&mut record, key, &v) {
                    record.attributes.insert(key.to_owned(), v);
                }
            }
        }
    }
    normalizer.finish(&mut record);
    record.cost = cost;
    record.events = s
        .events
        .iter()
        .map(|e| SpanEvent {
            name: e.name.clone(),
            time_unix_nano: e.time_unix_nano,
            attributes: attributes(&e.attributes)
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        })
        .collect();
    record
}

fn event(received: &ReceivedLog) -> Event {
    let l = &received.log;
    let level: Level = l
        .severity_text
        .parse()
        .unwrap_or_else(|e| panic!("severity text: {e}"));
    assert_eq!(
        i32::from(level.severity_number()),
        l.severity_number,
        "severity number of {level}"
    );
    let message = match value(l.body.as_ref()) {
        AttributeValue::String(s) => s,
        other => panic!("the body is the message, got {other:?}"),
    };
    let mut e = Event::new(
        l.time_unix_nano,
        level,
        EventKind::from_name(&l.event_name),
        message,
        Arc::new(resource(&received.resource)),
    );
    e.trace_id = trace_id(&l.trace_id);
    e.span_id = span_id(&l.span_id);
    e.scope = scope(received.scope.as_ref());
    for (key, v) in attributes(&l.attributes) {
        let text = || Some(v.to_string().into());
        match key {
            "gen_ai.conversation.id" => e.session_id = text(),
            "agentrace.correlation_id" => e.correlation_id = text(),
            "gen_ai.agent.id" => e.agent_id = text(),
            "agentrace.framework" => e.framework = text(),
            _ => e.attributes.insert(key.to_owned(), v),
        }
    }
    e
}

fn by_span_id(mut spans: Vec<SpanRecord>) -> Vec<SpanRecord> {
    spans.sort_by_key(|s| s.span_id);
    spans
}

fn transport_of(protocol: Protocol) -> Transport {
    match protocol {
        Protocol::Grpc => Transport::Grpc,
        Protocol::HttpJson => Transport::HttpJson,
        _ => Transport::HttpProtobuf,
    }
}

fn endpoint(receiver: &OtlpReceiver, protocol: Protocol) -> String {
    match protocol {
        Protocol::Grpc => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    }
}

fn sink_stats<'a>(stats: &'a PipelineStats, name: &str) -> &'a SinkStats {
    stats
        .sinks
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sink {name} in {stats:?}"))
}

/// The latest value of a counter or gauge with `label`, as the receiver last got it.
fn latest_number(metrics: &[ReceivedMetric], name: &str, label: (&str, &str)) -> Option<f64> {
    metrics
        .iter()
        .rev()
        .filter(|m| m.metric.name == name)
        .find_map(|m| {
            let points = match m.metric.data.as_ref()? {
                metric::Data::Sum(sum) => &sum.data_points,
                metric::Data::Gauge(gauge) => &gauge.data_points,
                _ => return None,
            };
            points
                .iter()
                .find(|p| {
                    attributes(&p.attributes)
                        .any(|(k, v)| k == label.0 && v == AttributeValue::from(label.1))
                })
                .and_then(|p| match p.value? {
                    number_data_point::Value::AsDouble(d) => Some(d),
                    number_data_point::Value::AsInt(i) => Some(i as f64),
                })
        })
}

// ---------------------------------------------------------------------------------------------
// Every signal, every field, over every protocol, with and without gzip, with headers.

async fn delivers_every_field(protocol: Protocol, gzip: bool) -> TestResult {
    let receiver = OtlpReceiver::start().await?;
    let mut builder = OtlpSink::builder()
        .with_protocol(protocol)
        .with_endpoint(endpoint(&receiver, protocol))
        .with_header("x-agentrace-test", protocol.as_str())
        .with_timeout(Duration::from_secs(10));
    if gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    let sink = builder.build()?;
    let what = format!("{protocol} gzip={gzip}");

    let trace = TraceId::random();
    let sent = sample_spans(trace, T0);
    let (a, b) = sent.split_at(3);
    let span_sink = sink.as_span_sink().ok_or("takes spans")?;
    span_sink.export_spans(a).await?;
    span_sink.export_spans(b).await?;
    let sent_events = sample_events(trace, T0);
    sink.as_event_sink()
        .ok_or("takes events")?
        .export_events(&sent_events)
        .await?;
    let measurements = [
        Measurement::new(
            "gen_ai.client.token.usage",
            InstrumentKind::Histogram,
            1_200.0,
        )
        .with_unit("{token}")
        .with_label("gen_ai.token.type", "input")
        .with_label("gen_ai.provider.name", "openai"),
        Measurement::new(
            "gen_ai.client.token.usage",
            InstrumentKind::Histogram,
            300.0,
        )
        .with_unit("{token}")
        .with_label("gen_ai.token.type", "input")
        .with_label("gen_ai.provider.name", "openai"),
        Measurement::new("agentrace.cost", InstrumentKind::Counter, 0.5)
            .with_unit("USD")
            .with_label("gen_ai.request.model", "gpt-4o"),
        Measurement::new("agentrace.cost", InstrumentKind::Counter, 0.25)
            .with_unit("USD")
            .with_label("gen_ai.request.model", "gpt-4o"),
        Measurement::new("agentrace.pipeline.queue.depth", InstrumentKind::Gauge, 7.0)
            .with_unit("{record}"),
    ];
    sink.as_metric_sink()
        .ok_or("takes metrics")?
        .export_measurements(&measurements)
        .await?;
    sink.flush().await?;

    // Spans: every field of every kind of span, parentage included.
    assert_eq!(receiver.spans().len(), sent.len(), "{what}: span count");
    let got = by_span_id(receiver.spans().iter().map(span_record).collect());
    let expected = by_span_id(
        sent.iter()
            .map(agentrace_otel::trace::as_exported)
            .collect(),
    );
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e, "{what}: span {} did not arrive intact", e.name);
    }
    let root = &sent[0];
    assert_eq!(root.parent_span_id, None);
    for s in &sent[1..] {
        let arrived = got
            .iter()
            .find(|g| g.span_id == s.span_id)
            .ok_or("arrived")?;
        assert_eq!(arrived.trace_id, trace, "{what}");
        assert_eq!(
            arrived.parent_span_id,
            Some(root.span_id),
            "{what}: parent of {}",
            s.name
        );
    }

    // Events: as log records, every field, trace context included.
    let mut got_events: Vec<Event> = receiver.logs().iter().map(event).collect();
    got_events.sort_by_key(|e| e.time_unix_nano);
    assert_eq!(got_events, sent_events, "{what}: events");
    assert!(got_events.iter().all(|e| e.trace_id == Some(trace)));

    // Metrics: the histogram with the advised GenAI buckets, the counter's sum, the gauge.
    let metrics = receiver.metrics();
    let usage = metrics
        .iter()
        .rev()
        .find(|m| m.metric.name == "gen_ai.client.token.usage")
        .ok_or("the token usage histogram arrived")?;
    assert_eq!(usage.metric.unit, "{token}");
    let Some(metric::Data::Histogram(histogram)) = &usage.metric.data else {
        return Err(format!("{what}: not a histogram: {:?}", usage.metric).into());
    };
    let point = histogram.data_points.first().ok_or("a data point")?;
    assert_eq!(point.count, 2);
    assert_eq!(point.sum, Some(1_500.0));
    assert_eq!(
        point.explicit_bounds,
        agentrace_core::metrics::TOKEN_USAGE_BUCKETS.to_vec()
    );
    let labels: Vec<_> = attributes(&point.attributes).collect();
    assert!(
        labels.contains(&("gen_ai.token.type", "input".into())),
        "{labels:?}"
    );
    assert!(
        labels.contains(&("gen_ai.provider.name", "openai".into())),
        "{labels:?}"
    );
    assert_eq!(
        latest_number(
            &metrics,
            "agentrace.cost",
            ("gen_ai.request.model", "gpt-4o")
        ),
        Some(0.75),
        "{what}: counter"
    );
    let depth = metrics
        .iter()
        .rev()
        .find(|m| m.metric.name == "agentrace.pipeline.queue.depth")
        .ok_or("the gauge arrived")?;
    assert!(
        matches!(&depth.metric.data, Some(metric::Data::Gauge(g))
            if g.data_points.first().and_then(|p| p.value) == Some(number_data_point::Value::AsDouble(7.0))),
        "{what}: {:?}",
        depth.metric
    );
    let metric_resource = resource(&usage.resource);
    assert!(!metric_resource.service_name.is_empty());

    // Every request: the right transport, compression and header.
    let requests = receiver.requests();
    assert!(requests.len() >= 4, "{what}: {requests:?}");
    for r in &requests {
        assert_eq!(r.transport, transport_of(protocol), "{what}");
        assert_eq!(r.compressed, gzip, "{what}: {:?} request", r.signal);
        assert_eq!(
            r.header("x-agentrace-test"),
            Some(protocol.as_str()),
            "{what}: {:?}",
            r.headers
        );
    }
    sink.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_delivers_spans_events_and_metrics_intact() -> TestResult {
    delivers_every_field(Protocol::Grpc, false).await?;
    delivers_every_field(Protocol::Grpc, true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_delivers_spans_events_and_metrics_intact() -> TestResult {
    delivers_every_field(Protocol::HttpProtobuf, false).await?;
    delivers_every_field(Protocol::HttpProtobuf, true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_json_delivers_spans_events_and_metrics_intact() -> TestResult {
    delivers_every_field(Protocol::HttpJson, false).await?;
    delivers_every_field(Protocol::HttpJson, true).await
}

// ---------------------------------------------------------------------------------------------
// Core's conformance cases that apply (span fidelity is the test above: OTLP span attributes
// cannot hold maps, so those arrive as JSON and the exact-equality case does not apply).

struct ReceiverReadback {
    receiver: OtlpReceiver,
    sink: OtlpSink,
}

#[async_trait]
impl Readback for ReceiverReadback {
    fn sink(&self) -> &dyn Sink {
        &self.sink
    }
    async fn read_spans(&self) -> Result<Vec<SpanRecord>, BoxError> {
        Ok(self.receiver.spans().iter().map(span_record).collect())
    }
    async fn read_events(&self) -> Result<Vec<Event>, BoxError> {
        Ok(self.receiver.logs().iter().map(event).collect())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_cases_over_every_protocol() -> TestResult {
    for protocol in PROTOCOLS {
        let receiver = OtlpReceiver::start().await?;
        let sink = OtlpSink::builder()
            .with_protocol(protocol)
            .with_endpoint(endpoint(&receiver, protocol))
            .build()?;
        let r = Arc::new(ReceiverReadback { receiver, sink });
        conformance::empty_batches(&*r).await;
        conformance::large_batch(&*r).await;
        conformance::concurrent_exports(r.clone()).await;
        conformance::event_fidelity(&*r).await;
        conformance::flush_is_idempotent(&*r).await;
        conformance::shutdown(&*r).await;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Failures the pipeline retries, and failures it does not; metrics on the interval.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_is_retried_and_a_rejection_is_not() -> TestResult {
    let receiver = OtlpReceiver::start().await?;
    receiver.set_mode(Mode::Unavailable);
    let spans = [llm_span(TraceId::random(), None, T0)];
    for protocol in PROTOCOLS {
        let sink = OtlpSink::builder()
            .with_protocol(protocol)
            .with_endpoint(endpoint(&receiver, protocol))
            .build()?;
        let result = sink
            .as_span_sink()
            .ok_or("spans")?
            .export_spans(&spans)
            .await;
        assert!(
            matches!(result, Err(agentrace_core::ExportError::Transient(_))),
            "{protocol}: 503 / UNAVAILABLE is transient: {result:?}"
        );
    }
    receiver.set_mode(Mode::Accept);
    // No such path: the receiver answers 404, which retrying cannot fix.
    let sink = OtlpSink::builder()
        .with_signal_endpoint(
            Signal::Traces,
            format!("{}/v1/nowhere", receiver.http_endpoint()),
        )
        .build()?;
    let result = sink
        .as_span_sink()
        .ok_or("spans")?
        .export_spans(&spans)
        .await;
    assert!(
        matches!(result, Err(agentrace_core::ExportError::Permanent(_))),
        "{result:?}"
    );
    assert!(receiver.spans().is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_exported_on_the_interval_without_a_flush() -> TestResult {
    let receiver = OtlpReceiver::start().await?;
    let sink = OtlpSink::builder()
        .with_protocol(Protocol::Grpc)
        .with_endpoint(receiver.grpc_endpoint())
        .with_metric_export_interval(Duration::from_millis(100))
        .build()?;
    sink.as_metric_sink()
        .ok_or("metrics")?
        .export_measurements(&[Measurement::new(
            "agentrace.agent.runs",
            InstrumentKind::Counter,
            3.0,
        )
        .with_label("gen_ai.agent.name", "planner")])
        .await?;
    let exported = receiver
        .wait_until(
            |r| {
                latest_number(
                    &r.metrics(),
                    "agentrace.agent.runs",
                    ("gen_ai.agent.name", "planner"),
                ) == Some(3.0)
            },
            ARRIVAL,
        )
        .await;
    assert!(exported, "the periodic export delivered the counter");
    sink.shutdown().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Resource precedence: the builder over the record over the environment and SDK defaults.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_resource_values_win_over_the_records() -> TestResult {
    let receiver = OtlpReceiver::start().await?;
    let sink = OtlpSink::builder()
        .with_protocol(Protocol::HttpProtobuf)
        .with_endpoint(receiver.http_endpoint())
        .with_service_name("from-builder")
        .with_resource_attribute("deployment.environment.name", "prod")
        .build()?;
    let span = llm_span(TraceId::random(), None, T0);
    sink.as_span_sink()
        .ok_or("spans")?
        .export_spans(&[span])
        .await?;
    sink.as_metric_sink()
        .ok_or("metrics")?
        .export_measurements(&[Measurement::new(
            "agentrace.tool.calls",
            InstrumentKind::Counter,
            1.0,
        )])
        .await?;
    sink.flush().await?;
    let spans = receiver.spans();
    let got: Vec<_> = attributes(&spans.first().ok_or("a span")?.resource).collect();
    for expected in [
        ("service.name", AttributeValue::from("from-builder")),
        ("deployment.environment.name", "prod".into()),
        ("service.version", "1.2.3".into()), // the record's, not overridden
        ("telemetry.sdk.language", "rust".into()),
    ] {
        assert!(
            got.contains(&(expected.0, expected.1.clone())),
            "{expected:?} in {got:?}"
        );
    }
    let metrics = receiver.metrics();
    let metric_resource = resource(&metrics.first().ok_or("a metric")?.resource);
    assert_eq!(metric_resource.service_name, "from-builder");
    sink.shutdown().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A down receiver: the application never waits, memory stays bounded, every drop is counted,
// and the counts show in the pipeline's health metrics.

#[test]
fn a_down_receiver_costs_only_counted_drops() -> TestResult {
    let rt = tokio::runtime::Runtime::new()?;
    let receiver = rt.block_on(OtlpReceiver::start())?;
    let health = rt.block_on(OtlpReceiver::start())?;
    receiver.set_mode(Mode::Down);

    let traces = OtlpSink::builder()
        .with_name("otlp-traces")
        .with_protocol(Protocol::Grpc)
        .with_endpoint(receiver.grpc_endpoint())
        .with_signal(Signal::Logs, false)
        .with_signal(Signal::Metrics, false)
        .with_timeout(Duration::from_secs(2))
        .build()?;
    let health_sink = OtlpSink::builder()
        .with_name("otlp-health")
        .with_endpoint(health.http_endpoint())
        .with_signal(Signal::Traces, false)
        .with_signal(Signal::Logs, false)
        .build()?;
    let (max_batch, sink_batches) = (32, 2);
    let pipeline = Pipeline::builder()
        .with_sink(traces)
        .with_sink(health_sink)
        .configure(|c| {
            c.queue_capacity = 256;
            c.max_batch_size = max_batch;
            c.batch_timeout = Duration::from_millis(5);
            c.sink_queue_batches = sink_batches;
            c.retry.max_retries = 1;
            // Each failed batch holds the sink for at least this long, so it cannot keep up.
            c.retry.initial_backoff = Duration::from_millis(200);
            c.retry.max_backoff = Duration::from_millis(200);
            c.export_timeout = Duration::from_secs(5);
            // Reported at every flush only.
            c.health_interval = Some(Duration::from_secs(3_600));
        })
        .build()?;

    let trace = TraceId::random();
    let down_phase = 5_000u64;
    for i in 0..down_phase {
        // Never blocks: a full queue drops the record and says so.
        let _accepted = pipeline.submit_span(llm_span(trace, None, T0 + i));
        if i % 500 == 0 {
            let stats = pipeline.stats();
            let t = sink_stats(&stats, "otlp-traces");
            assert!(stats.queue_depth <= stats.queue_capacity, "{stats:?}");
            let held = t.accepted.saturating_sub(t.exported + t.failed);
            assert!(
                held <= ((sink_batches + 1) * max_batch) as u64,
                "the sink holds at most its queue and the batch in flight: {t:?}"
            );
        }
    }
    pipeline.flush()?;
    let stats = pipeline.stats();
    let t = sink_stats(&stats, "otlp-traces");
    assert!(
        t.dropped > 0,
        "a receiver that is down makes the pipeline drop, not wait: {t:?}"
    );
    assert!(t.failed > 0, "{t:?}");
    assert_eq!(t.exported, 0, "{t:?}");
    assert!(t.last_error.is_some(), "{t:?}");

    // The receiver comes back: what is submitted now is delivered.
    receiver.set_mode(Mode::Accept);
    let grpc_addr = receiver.grpc_endpoint().replace("http://", "");
    let listening = rt.block_on(receiver.wait_until(
        |_| std::net::TcpStream::connect(&grpc_addr).is_ok(),
        ARRIVAL,
    ));
    assert!(listening, "the receiver's port opens again");
    let up_phase = 50u64;
    for i in 0..up_phase {
        assert!(pipeline.submit_span(llm_span(trace, None, T0 + down_phase + i)));
    }
    pipeline.flush()?;
    pipeline.flush()?; // reports the settled counters to the health metrics

    let stats = pipeline.stats();
    let t = sink_stats(&stats, "otlp-traces");
    let submitted = down_phase + up_phase;
    assert_eq!(
        stats.received + stats.dropped_queue_full,
        submitted,
        "{stats:?}"
    );
    assert_eq!(
        stats.received,
        t.accepted + t.dropped,
        "every span reached the sink or was dropped at it: {stats:?}"
    );
    assert_eq!(t.accepted, t.exported + t.failed, "{t:?}");
    assert!(t.exported > 0, "{t:?}");
    assert_eq!(
        receiver.spans().len() as u64,
        t.exported,
        "the receiver holds exactly what was counted exported"
    );

    // The same counts, as the pipeline's health metrics, at the health receiver.
    let metrics = health.metrics();
    let label = ("sink", "otlp-traces");
    for (name, count) in [
        ("agentrace.pipeline.sink.dropped", t.dropped),
        ("agentrace.pipeline.sink.failed", t.failed),
        ("agentrace.pipeline.sink.exported", t.exported),
    ] {
        assert_eq!(
            latest_number(&metrics, name, label),
            Some(count as f64),
            "{name}"
        );
    }
    if stats.dropped_queue_full > 0 {
        assert_eq!(
            latest_number(
                &metrics,
                "agentrace.pipeline.dropped",
                ("reason", "queue_full")
            ),
            Some(stats.dropped_queue_full as f64)
        );
    }
    pipeline.shutdown()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A slow receiver, through the `tracing` layer: spans keep being recorded while no export
// can finish.

#[test]
fn a_slow_receiver_never_blocks_the_application() -> TestResult {
    let rt = tokio::runtime::Runtime::new()?;
    let receiver = rt.block_on(OtlpReceiver::start())?;
    // It answers each request after 60 s: longer than the sink waits.
    receiver.set_mode(Mode::Delay(Duration::from_secs(60)));
    let sink = OtlpSink::builder()
        .with_protocol(Protocol::HttpProtobuf)
        .with_endpoint(receiver.http_endpoint())
        .with_timeout(Duration::from_millis(500))
        .build()?;
    let (layer, guard) = Telemetry::builder()
        .with_service_name("slow-receiver")
        .with_sink(sink)
        .with_pipeline_config(|c| {
            c.queue_capacity = 1_024;
            c.max_batch_size = 64;
            c.batch_timeout = Duration::from_millis(5);
            c.sink_queue_batches = 2;
            c.retry.max_retries = 0;
            c.export_timeout = Duration::from_secs(5);
        })
        .build()?;
    let pipeline = guard.pipeline().clone();

    let calls = 2_000u64;
    let (done, finished) = std::sync::mpsc::channel();
    let app = std::thread::spawn(move || {
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            for _ in 0..calls {
                let llm = spans::llm("openai", "gpt-4o");
                spans::record_usage(&llm, &TokenUsage::new(1_200, 340));
            }
        });
        let _ = done.send(());
    });
    // A liveness guard, not a performance bound: an application stuck behind the receiver
    // would never get here.
    finished
        .recv_timeout(Duration::from_secs(300))
        .map_err(|_| "recording spans was blocked by the slow receiver")?;
    app.join().map_err(|_| "the application thread panicked")?;

    let stats = pipeline.stats();
    let s = sink_stats(&stats, "otlp");
    assert_eq!(
        stats.received + stats.dropped_queue_full,
        calls,
        "{stats:?}"
    );
    assert_eq!(
        s.exported, 0,
        "no export can finish against this receiver: {s:?}"
    );
    assert!(
        s.dropped > 0,
        "spans were dropped (and counted) rather than waited for: {s:?}"
    );
    // Shutting down takes at most the in-flight exports' timeouts, then everything is counted.
    let _ = guard.shutdown();
    let stats = pipeline.stats();
    let s = sink_stats(&stats, "otlp");
    assert_eq!(stats.received, s.accepted + s.dropped, "{stats:?}");
    assert_eq!(s.accepted, s.exported + s.failed, "{s:?}");
    assert!(
        s.failed > 0
            && s.last_error
                .as_deref()
                .is_some_and(|e| e.contains("timed out")),
        "exports were attempted and timed out: {s:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The Jaeger preset: its endpoints, and a W3C trace continued from an incoming `traceparent`.

#[test]
fn jaeger_preset_ports_and_w3c_propagation() -> TestResult {
    let rt = tokio::runtime::Runtime::new()?;
    let receiver = rt.block_on(OtlpReceiver::start())?;
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let parent = TraceContext::from_traceparent(incoming)?;

    assert_eq!(
        agentrace_jaeger::builder()
            .with_host("127.0.0.1")
            .build()?
            .endpoint(Signal::Traces),
        Some("http://127.0.0.1:4317")
    );

    for (protocol, base) in [
        (Protocol::Grpc, receiver.grpc_endpoint()),
        (Protocol::HttpProtobuf, receiver.http_endpoint()),
    ] {
        let sink = agentrace_jaeger::builder()
            .with_protocol(protocol)
            .with_endpoint(base.clone())
            .with_service_name("jaeger-it")
            .build()?;
        let expected_endpoint = match protocol {
            Protocol::Grpc => base.clone(),
            _ => format!("{base}/v1/traces"),
        };
        assert_eq!(
            sink.endpoint(Signal::Traces),
            Some(expected_endpoint.as_str())
        );
        assert!(sink.as_event_sink().is_none() && sink.as_metric_sink().is_none());
        assert_eq!(sink.name(), "jaeger");

        let before = receiver.spans().len();
        let (layer, guard) = Telemetry::builder()
            .with_service_name("records-service")
            .with_sink(sink)
            .build()?;
        let outgoing =
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
                let agent = spans::agent("planner");
                assert!(propagation::set_parent(&agent, parent));
                let _entered = agent.enter();
                let llm = spans::llm("openai", "gpt-4o");
                propagation::inject(&llm)
            })
            .ok_or("the layer gives the span a context")?;
        guard.flush()?;
        let arrived = rt.block_on(receiver.wait_until(|r| r.spans().len() >= before + 2, ARRIVAL));
        assert!(arrived, "{protocol}: spans arrived");

        let received = receiver.spans();
        let new = &received[before..];
        assert!(new.iter().all(|s| s.transport == transport_of(protocol)));
        let records: Vec<SpanRecord> = new.iter().map(span_record).collect();
        let agent = records
            .iter()
            .find(|r| r.agent_name.as_deref() == Some("planner") && r.request_model.is_none())
            .ok_or("the agent span")?;
        let llm = records
            .iter()
            .find(|r| r.request_model.as_deref() == Some("gpt-4o"))
            .ok_or("the llm span")?;
        assert_eq!(
            agent.trace_id, parent.trace_id,
            "{protocol}: joins the incoming trace"
        );
        assert_eq!(
            agent.parent_span_id,
            Some(parent.span_id),
            "{protocol}: under the remote parent"
        );
        assert_eq!(llm.trace_id, parent.trace_id);
        assert_eq!(llm.parent_span_id, Some(agent.span_id));
        assert_eq!(
            outgoing,
            format!("00-{}-{}-01", parent.trace_id, llm.span_id),
            "{protocol}: the traceparent passed on names the llm span"
        );
        assert_eq!(
            agent.resource.service_name, "jaeger-it",
            "the preset names the service"
        );
        guard.shutdown()?;
    }
    Ok(())
}
