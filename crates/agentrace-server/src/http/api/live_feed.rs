//! `/live`: the WebSocket live feed of committed spans and events, and summary numbers every
//! second.
//!
//! Each client has its own subscription to the broadcast of committed batches
//! ([`crate::ingest::committed`]). A client that reads too slowly falls behind in its own
//! subscription only: when the writer has moved more than the broadcast's capacity ahead, the
//! client is told how many batches it missed (`{"type": "lagged"}`) and continues from the
//! oldest batch still held; nobody else waits for it. A client that stops reading altogether
//! is disconnected after [`SEND_TIMEOUT`].

use std::time::{Duration, Instant};

use agentrace_alerts::Notification;
use agentrace_core::{
    Event, EventKind, Level, SpanId, SpanKind, SpanRecord, StatusCode, TokenUsage, TraceId, Usd,
    now_unix_nano,
};
use agentrace_store::LateAttribution;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Serialize;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::MissedTickBehavior;

use super::params::Params;
use crate::http::api_base::ApiError;
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::ingest::committed::{Committed, Published};
use agentrace_store::ProjectId;

/// How often a summary is sent.
const SUMMARY_EVERY: Duration = Duration::from_secs(1);
/// Records per message at most (a large committed batch is sent in several messages).
const CHUNK: usize = 500;
/// A client that does not take a message within this time is disconnected.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What a client asked to see.
#[derive(Debug, Default)]
struct LiveFilter {
    session: Option<String>,
    service: Option<String>,
    kind: Option<SpanKind>,
}

impl LiveFilter {
    fn span(&self, s: &SpanRecord) -> bool {
        self.session
            .as_deref()
            .is_none_or(|w| s.session_id.as_deref() == Some(w))
            && self
                .service
                .as_deref()
                .is_none_or(|w| s.resource.service_name == w)
            && self.kind.is_none_or(|k| s.kind == k)
    }

    fn event(&self, e: &Event) -> bool {
        self.kind.is_none()
            && self
                .session
                .as_deref()
                .is_none_or(|w| e.session_id.as_deref() == Some(w))
            && self
                .service
                .as_deref()
                .is_none_or(|w| e.resource.service_name == w)
    }
}

/// A span, compactly.
#[derive(Debug, Serialize)]
struct LiveSpan<'a> {
    trace_id: TraceId,
    span_id: SpanId,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<SpanId>,
    name: &'a str,
    kind: SpanKind,
    service: &'a str,
    start_unix_nano: u64,
    duration_ns: u64,
    status: StatusCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'a str>,
    #[serde(skip_serializing_if = "TokenUsage::is_empty")]
    usage: TokenUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<Usd>,
}

impl<'a> LiveSpan<'a> {
    fn of(s: &'a SpanRecord) -> Self {
        Self {
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_span_id: s.parent_span_id,
            name: &s.name,
            kind: s.kind,
            service: &s.resource.service_name,
            start_unix_nano: s.start_time_unix_nano,
            duration_ns: s.duration_ns(),
            status: s.status.code,
            error: s.status.message.as_deref(),
            model: s.response_model.as_deref().or(s.request_model.as_deref()),
            provider: s.provider.as_deref(),
            agent: s.agent_name.as_deref(),
            session: s.session_id.as_deref(),
            user: s.user_id.as_deref(),
            tool: s.tool_name.as_deref(),
            usage: s.usage,
            cost: s.cost.map(|c| c.total),
        }
    }
}

/// An event, compactly.
#[derive(Debug, Serialize)]
struct LiveEvent<'a> {
    time_unix_nano: u64,
    level: Level,
    #[serde(rename = "type")]
    kind: &'a EventKind,
    message: &'a str,
    service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<TraceId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span_id: Option<SpanId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<&'a str>,
}

impl<'a> LiveEvent<'a> {
    fn of(e: &'a Event) -> Self {
        Self {
            time_unix_nano: e.time_unix_nano,
            level: e.level,
            kind: &e.kind,
            message: &e.message,
            service: &e.resource.service_name,
            trace_id: e.trace_id,
            span_id: e.span_id,
            session: e.session_id.as_deref(),
            agent_id: e.agent_id.as_deref(),
        }
    }
}

/// A stored span's attribution as a late ancestor completed it.
#[derive(Debug, Serialize)]
struct LiveAttribution<'a> {
    trace_id: TraceId,
    span_id: SpanId,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    framework: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
}

impl<'a> LiveAttribution<'a> {
    fn of(l: &'a LateAttribution) -> Self {
        let a = &l.after;
        Self {
            trace_id: l.trace_id,
            span_id: l.span_id,
            agent: a.agent_name.as_deref(),
            agent_id: a.agent_id.as_deref(),
            session: a.session_id.as_deref(),
            user: a.user_id.as_deref(),
            framework: a.framework.as_deref(),
            correlation_id: a.correlation_id.as_deref(),
        }
    }
}

/// Spans, failures and cost seen by one client.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Counts {
    spans: u64,
    errors: u64,
    events: u64,
    cost: Usd,
}

impl Counts {
    fn add_span(&mut self, s: &SpanRecord) {
        self.spans += 1;
        self.errors += u64::from(s.status.code == StatusCode::Error);
        if let Some(c) = s.cost {
            self.cost += c.total;
        }
    }
}

/// A message of the feed.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum LiveMessage<'a> {
    /// Spans just committed (matching the client's filter).
    Spans { spans: Vec<LiveSpan<'a>> },
    /// Events just committed.
    Events { events: Vec<LiveEvent<'a>> },
    /// Spans committed before whose agent, session, user or framework an ancestor arriving
    /// later filled in: their values now (filtered by session only).
    Attributed { spans: Vec<LiveAttribution<'a>> },
    /// Every second: the last interval and the totals since the client connected.
    Summary {
        time_unix_nano: u64,
        interval_ms: u64,
        spans_per_second: f64,
        interval: Counts,
        since_connected: Counts,
    },
    /// The client fell behind: `missed` committed batches were skipped.
    Lagged { missed: u64 },
    /// Alert notifications just stored: changes of state, reminders, budget thresholds (to
    /// every client, whatever its filter).
    Alerts { alerts: &'a [Notification] },
}

fn encode(message: &LiveMessage<'_>) -> Option<Utf8Bytes> {
    match serde_json::to_string(message) {
        Ok(text) => Some(text.into()),
        Err(e) => {
            tracing::error!(error = %e, "encoding a live feed message failed");
            None
        }
    }
}

/// `GET /live`: upgrades to a WebSocket and streams the feed.
pub(super) async fn feed(
    State(state): State<AppState>,
    scope: Scope,
    mut p: Params,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let filter = LiveFilter {
        session: p.text("session")?,
        service: p.text("service")?,
        kind: p.parsed("kind")?,
    };
    p.finish()?;
    let upgrade = upgrade.map_err(|_| ApiError::UpgradeRequired)?;
    let subscription = state.live.subscribe();
    let project = scope.project.id;
    // Held while the socket streams: the fleet's beat reads the other nodes' records of a
    // watched project.
    let watcher = state.watching.watch(project);
    Ok(upgrade.on_upgrade(move |socket| async move {
        stream(socket, subscription, project, filter).await;
        drop(watcher);
    }))
}

/// The messages for one committed batch.
fn messages(
    batch: &Committed,
    filter: &LiveFilter,
    counts: &mut [&mut Counts; 2],
) -> Vec<Utf8Bytes> {
    match batch {
        Committed::Spans(spans) => {
            let mine: Vec<_> = spans.iter().filter(|s| filter.span(s)).collect();
            for s in &mine {
                counts.iter_mut().for_each(|c| c.add_span(s));
            }
            mine.chunks(CHUNK)
                .filter_map(|chunk| {
                    encode(&LiveMessage::Spans {
                        spans: chunk.iter().map(|s| LiveSpan::of(s)).collect(),
                    })
                })
                .collect()
        }
        Committed::Events(events) => {
            let mine: Vec<_> = events.iter().filter(|e| filter.event(e)).collect();
            for c in counts.iter_mut() {
                c.events += mine.len() as u64;
            }
            mine.chunks(CHUNK)
                .filter_map(|chunk| {
                    encode(&LiveMessage::Events {
                        events: chunk.iter().map(|e| LiveEvent::of(e)).collect(),
                    })
                })
                .collect()
        }
        Committed::Alerts(alerts) => encode(&LiveMessage::Alerts { alerts })
            .into_iter()
            .collect(),
        Committed::Attributed(late) => {
            let mine: Vec<_> = late
                .iter()
                .filter(|l| {
                    filter
                        .session
                        .as_deref()
                        .is_none_or(|w| l.after.session_id.as_deref() == Some(w))
                })
                .collect();
            mine.chunks(CHUNK)
                .filter_map(|chunk| {
                    encode(&LiveMessage::Attributed {
                        spans: chunk.iter().map(|l| LiveAttribution::of(l)).collect(),
                    })
                })
                .collect()
        }
    }
}

/// Streams what is committed in `project` that `filter` lets through, and the summaries.
async fn stream(
    mut socket: WebSocket,
    mut subscription: Receiver<Published>,
    project: ProjectId,
    filter: LiveFilter,
) {
    let mut tick = tokio::time::interval(SUMMARY_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.tick().await;
    let mut interval = Counts::default();
    let mut total = Counts::default();
    let mut interval_start = Instant::now();
    loop {
        let out: Vec<Utf8Bytes> = tokio::select! {
            received = subscription.recv() => match received {
                Ok(batch) if batch.project == project => {
                    messages(&batch.committed, &filter, &mut [&mut interval, &mut total])
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    encode(&LiveMessage::Lagged { missed }).into_iter().collect()
                }
                Err(RecvError::Closed) => break,
            },
            _ = tick.tick() => {
                let elapsed = interval_start.elapsed();
                interval_start = Instant::now();
                let message = LiveMessage::Summary {
                    time_unix_nano: now_unix_nano(),
                    interval_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                    spans_per_second: interval.spans as f64 / elapsed.as_secs_f64().max(1e-3),
                    interval: std::mem::take(&mut interval),
                    since_connected: total,
                };
                encode(&message).into_iter().collect()
            },
            incoming = socket.recv() => match incoming {
                // Pings are answered by the WebSocket layer; anything else the client sends
                // is ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => continue,
            },
        };
        for text in out {
            match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text))).await {
                Ok(Ok(())) => {}
                // The client left, or stopped reading.
                Ok(Err(_)) | Err(_) => return,
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
