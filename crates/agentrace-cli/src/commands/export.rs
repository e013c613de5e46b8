//! `agentrace export`: spans or events of a range, as JSON lines or CSV, page by page.

use agentrace_core::civil::{Precision, rfc3339};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::SystemTime;

use agentrace_core::{Event, SpanRecord};
use agentrace_store::{EventFilter, EventQuery, Order, SpanFilter, SpanQuery, Store, TimeRange};

use crate::args::{ExportArgs, ExportTo, Format, FromAlertsArgs, StoreArgs, What};
use crate::error::CliError;
use crate::progress::Progress;
use crate::time::range;

/// The alerts file's rules (if any) as a Prometheus rules file; rules with no Prometheus form
/// are named on standard error.
fn prometheus_rules(args: &FromAlertsArgs) -> Result<(), CliError> {
    let config = match &args.alerts {
        Some(path) => agentrace_alerts::load_alerts(path)?,
        None => agentrace_alerts::AlertsConfig::default(),
    };
    let export = agentrace_alerts::promql::prometheus_rules(&config);
    for (rule, why) in &export.skipped {
        eprintln!("agentrace: rule {rule:?} left out: {why}");
    }
    super::write_text(&args.output, &export.yaml)
}

/// The Grafana dashboard, with a row for the alerts file's SLOs (if any); SLOs with no
/// Prometheus form are named on standard error.
fn grafana_dashboard(args: &FromAlertsArgs) -> Result<(), CliError> {
    let slos = match &args.alerts {
        Some(path) => agentrace_alerts::load_alerts(path)?.slos,
        None => Vec::new(),
    };
    let (dashboard, skipped) = super::grafana::dashboard(&slos);
    for (slo, why) in &skipped {
        eprintln!("agentrace: SLO {slo:?} left out of the dashboard: {why}");
    }
    super::write_text(&args.output, &serde_json::to_string_pretty(&dashboard)?)
}

/// Records fetched per query.
const PAGE: usize = 5_000;

const SPAN_COLUMNS: &[&str] = &[
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "start",
    "end",
    "duration_ms",
    "status",
    "status_message",
    "service",
    "scope",
    "operation",
    "provider",
    "request_model",
    "response_model",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "session_id",
    "user_id",
    "correlation_id",
    "agent_name",
    "agent_id",
    "tool_name",
    "tool_call_id",
    "framework",
    "attributes",
];

const EVENT_COLUMNS: &[&str] = &[
    "time",
    "level",
    "kind",
    "message",
    "service",
    "trace_id",
    "span_id",
    "session_id",
    "correlation_id",
    "agent_id",
    "framework",
    "scope",
    "attributes",
];

fn opt<T: AsRef<str>>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map(|v| v.as_ref().to_owned())
        .unwrap_or_default()
}

fn span_row(s: &SpanRecord) -> Result<Vec<String>, CliError> {
    Ok(vec![
        s.trace_id.to_string(),
        s.span_id.to_string(),
        s.parent_span_id.map(|p| p.to_string()).unwrap_or_default(),
        s.name.to_string(),
        s.kind.to_string(),
        rfc3339(s.start_time_unix_nano, Precision::Nanos),
        rfc3339(s.end_time_unix_nano, Precision::Nanos),
        format!("{:.3}", s.duration_ns() as f64 / 1e6),
        serde_json::to_value(s.status.code)?
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        opt(&s.status.message),
        s.resource.service_name.clone(),
        s.scope.as_deref().unwrap_or_default().to_owned(),
        opt(&s.operation),
        opt(&s.provider),
        opt(&s.request_model),
        opt(&s.response_model),
        s.usage.input_tokens.to_string(),
        s.usage.output_tokens.to_string(),
        s.usage.cache_read_tokens.to_string(),
        s.usage.cache_write_tokens.to_string(),
        // Empty when not reported, as the cost when unpriced.
        s.usage
            .reasoning_tokens
            .map(|n| n.to_string())
            .unwrap_or_default(),
        // Empty when unpriced: an unknown cost is not zero.
        s.cost
            .map(|c| format!("{:.9}", c.total.dollars()))
            .unwrap_or_default(),
        opt(&s.session_id),
        opt(&s.user_id),
        opt(&s.correlation_id),
        opt(&s.agent_name),
        opt(&s.agent_id),
        opt(&s.tool_name),
        opt(&s.tool_call_id),
        opt(&s.framework),
        serde_json::to_string(&s.attributes)?,
    ])
}

fn event_row(e: &Event) -> Result<Vec<String>, CliError> {
    Ok(vec![
        rfc3339(e.time_unix_nano, Precision::Nanos),
        e.level.to_string(),
        e.kind.to_string(),
        e.message.clone(),
        e.resource.service_name.clone(),
        e.trace_id.map(|t| t.to_string()).unwrap_or_default(),
        e.span_id.map(|s| s.to_string()).unwrap_or_default(),
        opt(&e.session_id),
        opt(&e.correlation_id),
        opt(&e.agent_id),
        opt(&e.framework),
        e.scope.as_deref().unwrap_or_default().to_owned(),
        serde_json::to_string(&e.attributes)?,
    ])
}

/// Where records go, in the chosen format.
enum Output<W: Write> {
    Jsonl(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Output<W> {
    fn new(format: Format, writer: W, columns: &[&str]) -> Result<Self, CliError> {
        Ok(match format {
            Format::Jsonl => Self::Jsonl(writer),
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(writer);
                csv.write_record(columns)?;
                Self::Csv(Box::new(csv))
            }
        })
    }

    fn span(&mut self, span: &SpanRecord) -> Result<(), CliError> {
        match self {
            Self::Jsonl(w) => agentrace_file::write_span_line(w, span)?,
            Self::Csv(w) => w.write_record(span_row(span)?)?,
        }
        Ok(())
    }

    fn event(&mut self, event: &Event) -> Result<(), CliError> {
        match self {
            Self::Jsonl(w) => agentrace_file::write_event_line(w, event)?,
            Self::Csv(w) => w.write_record(event_row(event)?)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<(), CliError> {
        match self {
            Self::Jsonl(mut w) => w.flush()?,
            Self::Csv(mut w) => w.flush()?,
        }
        Ok(())
    }
}

pub(crate) fn run(store: &StoreArgs, args: &ExportArgs) -> Result<(), CliError> {
    match &args.to {
        Some(ExportTo::PrometheusRules(a)) => return prometheus_rules(a),
        Some(ExportTo::GrafanaDashboard(a)) => return grafana_dashboard(a),
        None => {}
    }
    let audited = super::open_audited(store, "cli export")?;
    let range = range(&args.range, SystemTime::now())?;
    let target = format!(
        "{:?} as {:?} to {}",
        args.what,
        args.format,
        args.output
            .as_ref()
            .map_or_else(|| "standard output".to_owned(), |p| p.display().to_string())
    )
    .to_lowercase();
    let outcome = records(&*audited.store.clone(), args, range);
    audited.finish(&target, outcome)
}

/// Writes the records of `range` as `args` asks.
fn records(db: &dyn Store, args: &ExportArgs, range: TimeRange) -> Result<(), CliError> {
    let writer: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(File::create(path)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let columns = match args.what {
        What::Spans => SPAN_COLUMNS,
        What::Events => EVENT_COLUMNS,
    };
    let mut out = Output::new(args.format, writer, columns)?;
    let mut written = 0usize;
    match args.what {
        What::Spans => {
            let mut query = SpanQuery::new(SpanFilter::new().range(range))
                .order(Order::Asc)
                .limit(PAGE);
            let progress = Progress::new("exporting spans", super::span_count(db, &query.filter)?);
            loop {
                let page = db.spans(&query)?;
                for span in &page.spans {
                    out.span(span)?;
                }
                written += page.spans.len();
                progress.advance(page.spans.len() as u64);
                if page.next_cursor.is_none() {
                    progress.finish();
                    break;
                }
                match page.next_cursor {
                    Some(next) => query = query.cursor(Some(next)),
                    None => break,
                }
            }
        }
        What::Events => {
            let mut query = EventQuery::new(EventFilter::new().range(range))
                .order(Order::Asc)
                .limit(PAGE);
            let progress = Progress::new("exporting events", None);
            loop {
                let page = db.events(&query)?;
                for event in &page.events {
                    out.event(event)?;
                }
                written += page.events.len();
                progress.advance(page.events.len() as u64);
                if page.next_cursor.is_none() {
                    progress.finish();
                    break;
                }
                match page.next_cursor {
                    Some(next) => query = query.cursor(Some(next)),
                    None => break,
                }
            }
        }
    }
    out.finish()?;
    if let Some(path) = &args.output {
        eprintln!("wrote {written} records to {}", path.display());
    }
    Ok(())
}
