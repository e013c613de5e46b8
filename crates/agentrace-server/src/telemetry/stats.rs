//! The server's counters ([`ServerStats`]), updated from every thread, and the snapshot of
//! them that `/status`, `/metrics` and [`RunningServer::stats`](crate::RunningServer::stats) show.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use agentrace_core::redact::Redactor;
use agentrace_core::{Pipeline, PipelineStats, Usd};
use agentrace_store::{HeldStatus, WalStatus};
use serde::Serialize;

use crate::telemetry::counters::{get, read_error};
use crate::telemetry::membership::{FleetSnapshot, Membership};
use crate::telemetry::score_metrics::ScoreMetrics;

/// What `/status` reads of the online evaluations: implemented by the evaluations
/// (`crate::jobs::online_evaluations`), which sit above the counters.
pub(crate) trait EvaluatorFigures: Send + Sync + std::fmt::Debug {
    /// Their figures now.
    fn figures(&self) -> OnlineStats;
}

/// Counters of one record type.
#[derive(Debug, Default)]
pub(crate) struct SignalCounters {
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) stored: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

impl SignalCounters {
    fn snapshot(&self) -> SignalStats {
        SignalStats {
            accepted: get(&self.accepted),
            rejected: get(&self.rejected),
            stored: get(&self.stored),
            duplicates: get(&self.duplicates),
            dropped: get(&self.dropped),
        }
    }
}

/// What became of the `gen_ai.evaluation.result` events received (counted by
/// `crate::ingest::evaluation_results`).
#[derive(Debug, Default)]
pub(crate) struct EvaluationResultCounters {
    pub(crate) scored: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) invalid: AtomicU64,
    pub(crate) unmatched: AtomicU64,
    /// Results waiting for their response's span now.
    pub(crate) awaiting: AtomicUsize,
    pub(crate) last_invalid: Mutex<Option<String>>,
}

impl EvaluationResultCounters {
    fn snapshot(&self) -> EvaluationResultStats {
        EvaluationResultStats {
            scored: get(&self.scored),
            failed: get(&self.failed),
            invalid: get(&self.invalid),
            unmatched: get(&self.unmatched),
            awaiting_response: self.awaiting.load(Ordering::Relaxed),
            last_invalid: read_error(&self.last_invalid),
        }
    }
}

/// The server's counters. Cheap to update from any thread; read them with
/// [`snapshot`](Self::snapshot).
#[derive(Debug)]
pub struct ServerStats {
    started_unix_nano: u64,
    pipeline: Option<Pipeline>,
    redactor: Option<Arc<Redactor>>,
    fleet: Arc<Membership>,
    online: Option<Arc<dyn EvaluatorFigures>>,
    pub(crate) requests: AtomicU64,
    pub(crate) requests_invalid: AtomicU64,
    pub(crate) requests_unauthorized: AtomicU64,
    pub(crate) requests_forbidden: AtomicU64,
    pub(crate) requests_overloaded: AtomicU64,
    pub(crate) requests_failed: AtomicU64,
    pub(crate) audit_failed: AtomicU64,
    pub(crate) spans: SignalCounters,
    pub(crate) events: SignalCounters,
    pub(crate) measurements: SignalCounters,
    pub(crate) writer_alive: AtomicBool,
    pub(crate) queued_requests: AtomicUsize,
    pub(crate) queued_records: AtomicUsize,
    pub(crate) queue_capacity_requests: AtomicUsize,
    pub(crate) queue_capacity_records: AtomicUsize,
    pub(crate) commits: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) groups_split: AtomicU64,
    pub(crate) processor_panics: AtomicU64,
    pub(crate) last_commit_unix_nano: AtomicU64,
    pub(crate) last_write_error: Mutex<Option<String>>,
    /// Since when every commit has failed for the store's sake (a full disk, an I/O error, a
    /// busy or read-only file); 0 while commits succeed.
    pub(crate) store_failing_since_unix_nano: AtomicU64,
    /// The store's write-ahead log as of the writer's last group.
    pub(crate) wal: Mutex<Option<WalStatus>>,
    pub(crate) retention_runs: AtomicU64,
    pub(crate) retention_spans_deleted: AtomicU64,
    pub(crate) retention_events_deleted: AtomicU64,
    pub(crate) retention_metrics_deleted: AtomicU64,
    pub(crate) retention_scores_deleted: AtomicU64,
    pub(crate) retention_last_run_unix_nano: AtomicU64,
    pub(crate) retention_last_error: Mutex<Option<String>>,
    pub(crate) repair_tracked: AtomicUsize,
    pub(crate) repair_forgotten: AtomicU64,
    pub(crate) repair_checked: AtomicU64,
    pub(crate) repair_aggregates: AtomicU64,
    pub(crate) repair_mcp_calls: AtomicU64,
    pub(crate) repair_orphans_marked: AtomicU64,
    pub(crate) repair_orphans_cleared: AtomicU64,
    pub(crate) repair_reattached: AtomicU64,
    pub(crate) repair_errors: AtomicU64,
    pub(crate) attributed_late: AtomicU64,
    pub(crate) awaiting_parent: AtomicUsize,
    /// The `gen_ai.evaluation.result` events received, made scores.
    pub(crate) evaluation_results: EvaluationResultCounters,
    /// The scores stored, for `/metrics`.
    pub(crate) scores: ScoreMetrics,
    /// The OTLP/HTTP, OTLP/gRPC and app listeners' connection counters.
    pub(crate) listeners: [Arc<ListenerStats>; 3],
}

impl ServerStats {
    /// Counters starting now; `pipeline` is the fan-out pipeline whose stats the snapshot
    /// includes.
    pub fn new(pipeline: Option<Pipeline>) -> Self {
        Self {
            started_unix_nano: agentrace_core::now_unix_nano(),
            pipeline,
            redactor: None,
            fleet: Arc::new(Membership::default()),
            online: None,
            requests: AtomicU64::new(0),
            requests_invalid: AtomicU64::new(0),
            requests_unauthorized: AtomicU64::new(0),
            requests_forbidden: AtomicU64::new(0),
            audit_failed: AtomicU64::new(0),
            requests_overloaded: AtomicU64::new(0),
            requests_failed: AtomicU64::new(0),
            spans: SignalCounters::default(),
            events: SignalCounters::default(),
            measurements: SignalCounters::default(),
            writer_alive: AtomicBool::new(false),
            queued_requests: AtomicUsize::new(0),
            queued_records: AtomicUsize::new(0),
            queue_capacity_requests: AtomicUsize::new(0),
            queue_capacity_records: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
            groups_split: AtomicU64::new(0),
            processor_panics: AtomicU64::new(0),
            last_commit_unix_nano: AtomicU64::new(0),
            last_write_error: Mutex::new(None),
            store_failing_since_unix_nano: AtomicU64::new(0),
            wal: Mutex::new(None),
            retention_runs: AtomicU64::new(0),
            retention_spans_deleted: AtomicU64::new(0),
            retention_events_deleted: AtomicU64::new(0),
            retention_metrics_deleted: AtomicU64::new(0),
            retention_scores_deleted: AtomicU64::new(0),
            retention_last_run_unix_nano: AtomicU64::new(0),
            retention_last_error: Mutex::new(None),
            repair_tracked: AtomicUsize::new(0),
            repair_forgotten: AtomicU64::new(0),
            repair_checked: AtomicU64::new(0),
            repair_aggregates: AtomicU64::new(0),
            repair_mcp_calls: AtomicU64::new(0),
            repair_orphans_marked: AtomicU64::new(0),
            repair_orphans_cleared: AtomicU64::new(0),
            repair_reattached: AtomicU64::new(0),
            repair_errors: AtomicU64::new(0),
            attributed_late: AtomicU64::new(0),
            awaiting_parent: AtomicUsize::new(0),
            evaluation_results: EvaluationResultCounters::default(),
            scores: ScoreMetrics::default(),
            listeners: Default::default(),
        }
    }

    /// Includes what `redactor` did in the snapshots.
    #[must_use]
    pub fn with_redactor(mut self, redactor: Option<Arc<Redactor>>) -> Self {
        self.redactor = redactor;
        self
    }

    /// Includes this node's membership of its fleet in the snapshots.
    #[must_use]
    pub fn with_fleet(mut self, fleet: Arc<Membership>) -> Self {
        self.fleet = fleet;
        self
    }

    /// Includes the online evaluations' figures in the snapshots.
    #[must_use]
    pub(crate) fn with_online(mut self, online: Option<Arc<dyn EvaluatorFigures>>) -> Self {
        self.online = online;
        self
    }

    /// Whether the writer thread is running (it answers every acknowledged request).
    pub fn writer_alive(&self) -> bool {
        self.writer_alive.load(Ordering::SeqCst)
    }

    /// A consistent-enough copy of every counter (each is read atomically, not all at once).
    pub fn snapshot(&self) -> StatsSnapshot {
        let nonzero = |c: &AtomicU64| Some(get(c)).filter(|&t| t > 0);
        StatsSnapshot {
            started_unix_nano: self.started_unix_nano,
            requests: RequestStats {
                received: get(&self.requests),
                invalid: get(&self.requests_invalid),
                unauthorized: get(&self.requests_unauthorized),
                forbidden: get(&self.requests_forbidden),
                overloaded: get(&self.requests_overloaded),
                failed: get(&self.requests_failed),
                audit_failed: get(&self.audit_failed),
            },
            spans: self.spans.snapshot(),
            events: self.events.snapshot(),
            measurements: self.measurements.snapshot(),
            writer: WriterStats {
                alive: self.writer_alive(),
                queued_requests: self.queued_requests.load(Ordering::Relaxed),
                queued_records: self.queued_records.load(Ordering::Relaxed),
                queue_capacity_requests: self.queue_capacity_requests.load(Ordering::Relaxed),
                queue_capacity_records: self.queue_capacity_records.load(Ordering::Relaxed),
                commits: get(&self.commits),
                errors: get(&self.write_errors),
                groups_split: get(&self.groups_split),
                processor_panics: get(&self.processor_panics),
                last_commit_unix_nano: nonzero(&self.last_commit_unix_nano),
                last_error: read_error(&self.last_write_error),
                failing_since_unix_nano: nonzero(&self.store_failing_since_unix_nano),
                wal: *self.wal.lock().unwrap_or_else(PoisonError::into_inner),
            },
            retention: RetentionStats {
                runs: get(&self.retention_runs),
                spans_deleted: get(&self.retention_spans_deleted),
                events_deleted: get(&self.retention_events_deleted),
                metrics_deleted: get(&self.retention_metrics_deleted),
                scores_deleted: get(&self.retention_scores_deleted),
                last_run_unix_nano: nonzero(&self.retention_last_run_unix_nano),
                last_error: read_error(&self.retention_last_error),
            },
            repairs: RepairStats {
                tracked: self.repair_tracked.load(Ordering::Relaxed),
                forgotten: get(&self.repair_forgotten),
                checked: get(&self.repair_checked),
                aggregates_marked: get(&self.repair_aggregates),
                mcp_calls_completed: get(&self.repair_mcp_calls),
                orphans_marked: get(&self.repair_orphans_marked),
                orphans_cleared: get(&self.repair_orphans_cleared),
                reattached: get(&self.repair_reattached),
                errors: get(&self.repair_errors),
                attributed_late: get(&self.attributed_late),
                awaiting_parent: self.awaiting_parent.load(Ordering::Relaxed),
            },
            listeners: {
                let [otlp_http, otlp_grpc, app] = &self.listeners;
                ListenersSnapshot {
                    otlp_http: otlp_http.snapshot(),
                    otlp_grpc: otlp_grpc.snapshot(),
                    app: app.snapshot(),
                }
            },
            fleet: self.fleet.snapshot(),
            evaluation_results: self.evaluation_results.snapshot(),
            evaluators: self.online.as_ref().map(|o| o.figures()),
            redaction: self.redactor.as_deref().map(RedactionSnapshot::of),
            pipeline: self.pipeline.as_ref().map(Pipeline::stats),
        }
    }
}

/// Requests: export requests over every transport, and refusals on every listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RequestStats {
    /// Requests received.
    pub received: u64,
    /// Refused as undecodable, of a wrong type or size, or with every record invalid (4xx,
    /// `INVALID_ARGUMENT`).
    pub invalid: u64,
    /// Refused for a missing or wrong API token (or a wrong token at the dashboard's login).
    pub unauthorized: u64,
    /// Refused for naming a host the server does not answer to, or for coming from a browser
    /// page of another origin (see `allowed_hosts`, `cors_origins`).
    pub forbidden: u64,
    /// Refused because the writer's queue was full (retryable).
    pub overloaded: u64,
    /// Failed while storing (retryable or not).
    pub failed: u64,
    /// API requests (and logins) whose audit entry could not be stored (the action was taken).
    pub audit_failed: u64,
}

/// What happened to the records of one type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SignalStats {
    /// Decoded and handed to the writer.
    pub accepted: u64,
    /// Invalid records the receivers refused (reported to the sender as a partial success).
    pub rejected: u64,
    /// Committed (spans and events: new rows; measurements: added to their series' minute).
    pub stored: u64,
    /// Already stored (same trace and span id, or an identical event): kept once.
    pub duplicates: u64,
    /// Dropped by a processor.
    pub dropped: u64,
}

/// The writer thread and its queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WriterStats {
    /// Whether it runs.
    pub alive: bool,
    /// Requests waiting for it.
    pub queued_requests: usize,
    /// Records waiting for it.
    pub queued_records: usize,
    /// The queue's bound in requests.
    pub queue_capacity_requests: usize,
    /// The queue's bound in records.
    pub queue_capacity_records: usize,
    /// Group commits done.
    pub commits: u64,
    /// Failed writes.
    pub errors: u64,
    /// Groups that could not be written together for a reason that will not pass (a
    /// statement the store refused), written one request at a time instead.
    pub groups_split: u64,
    /// Records dropped because a processor panicked on them.
    pub processor_panics: u64,
    /// When the last commit finished.
    pub last_commit_unix_nano: Option<u64>,
    /// The last write error.
    pub last_error: Option<String>,
    /// Since when commits have failed because the store cannot write (a full disk, an I/O
    /// error, a busy or read-only file); `None` while they succeed. `/readyz` fails meanwhile.
    pub failing_since_unix_nano: Option<u64>,
    /// The store's write-ahead log, if it keeps one (SQLite): its length, peak, file size and
    /// ceiling (`limits.wal_ceiling`), how often it started over, writes refused at the
    /// ceiling.
    pub wal: Option<WalStatus>,
}

/// Background retention.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetentionStats {
    /// Runs done.
    pub runs: u64,
    /// Spans deleted.
    pub spans_deleted: u64,
    /// Events deleted.
    pub events_deleted: u64,
    /// Span metric rows (rollups by minute and hour) deleted.
    pub metrics_deleted: u64,
    /// Scores deleted.
    pub scores_deleted: u64,
    /// When the last run finished.
    pub last_run_unix_nano: Option<u64>,
    /// The last error, cleared by a successful run.
    pub last_error: Option<String>,
}

/// Background repairs of traces that arrived in pieces (see `agentrace_ingest::orphans` and
/// `agentrace_ingest::billing`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RepairStats {
    /// Traces remembered now, waiting for their checks.
    pub tracked: usize,
    /// Suspect traces forgotten unchecked because too many were remembered.
    pub forgotten: u64,
    /// Traces read back and checked.
    pub checked: u64,
    /// LLM spans found to sum calls beneath them, marked and no longer billed.
    pub aggregates_marked: u64,
    /// Client sides of MCP calls completed from their server sides (the server's name, a
    /// tool's failure), and framework tool spans around them made steps.
    pub mcp_calls_completed: u64,
    /// Spans marked as orphans (their parent never arrived).
    pub orphans_marked: u64,
    /// Orphan marks removed (the parent arrived after all).
    pub orphans_cleared: u64,
    /// Detached roots re-attached to the span containing them.
    pub reattached: u64,
    /// Checks that failed.
    pub errors: u64,
    /// Stored spans whose session, user, agent or framework an ancestor arriving after them
    /// filled in.
    pub attributed_late: u64,
    /// Stored spans lacking some of those and awaiting their parent now.
    pub awaiting_parent: usize,
}

/// What redaction did (when `redact` is on).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RedactionSnapshot {
    /// String values in which something was masked.
    pub values_redacted: u64,
    /// Content attributes and content span events dropped (content capture off).
    pub content_removed: u64,
    /// Secrets and personal data masked, by kind (`api_key`, `card`, `email`, …).
    pub detections: std::collections::BTreeMap<String, u64>,
}

impl RedactionSnapshot {
    /// What `redactor` did so far.
    pub(crate) fn of(redactor: &Redactor) -> Self {
        let done = redactor.stats();
        Self {
            values_redacted: done.values_redacted,
            content_removed: done.content_removed,
            detections: done.detections,
        }
    }
}

/// A copy of the server's counters, for the API's pipeline-status endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// When the server started.
    pub started_unix_nano: u64,
    /// Export requests.
    pub requests: RequestStats,
    /// Spans.
    pub spans: SignalStats,
    /// Events (OTLP log records).
    pub events: SignalStats,
    /// Metric data points (OTLP metrics): stored and fanned out. (Measurements derived from
    /// spans are fanned out only: the span metrics are stored as rollups.)
    pub measurements: SignalStats,
    /// The writer.
    pub writer: WriterStats,
    /// Retention.
    pub retention: RetentionStats,
    /// Repairs of traces that arrived in pieces.
    pub repairs: RepairStats,
    /// Each listener's refusals of connections and requests over its limits.
    pub listeners: ListenersSnapshot,
    /// Redaction, when it is on.
    pub redaction: Option<RedactionSnapshot>,
    /// The fan-out pipeline (`/metrics`, the forwarder): per-sink exported, dropped, failed
    /// and last error.
    pub pipeline: Option<PipelineStats>,
    /// This node in its fleet (nodes sharing one store).
    pub fleet: FleetSnapshot,
    /// The `gen_ai.evaluation.result` events received: scores made, evaluations failed,
    /// results invalid, waiting for their response's span, unmatched.
    pub evaluation_results: EvaluationResultStats,
    /// The online evaluations, when an evaluators file is configured: the backlog, each
    /// rule's figures, the judges' calls and spend.
    pub evaluators: Option<OnlineStats>,
}

impl StatsSnapshot {
    /// With the spans awaiting their parent as `held` counts them now, for a store that holds
    /// them (a ClickHouse node): its timer writes held spans between commits, when the count
    /// taken at each commit would go stale.
    #[must_use]
    pub(crate) fn with_held(mut self, held: Option<HeldStatus>) -> Self {
        if let Some(held) = held {
            self.repairs.awaiting_parent = usize::try_from(held.spans).unwrap_or(usize::MAX);
        }
        self
    }
}

/// One listener's counters (see `crate::ingest::listen`).
#[derive(Debug, Default)]
pub(crate) struct ListenerStats {
    /// Connections closed at once because `limits.max_connections` were open.
    pub(crate) connections_refused: AtomicU64,
    /// Requests refused at once because `limits.max_in_flight` were being handled.
    pub(crate) requests_shed: AtomicU64,
}

impl ListenerStats {
    fn snapshot(&self) -> ListenerSnapshot {
        ListenerSnapshot {
            connections_refused: self.connections_refused.load(Ordering::Relaxed),
            requests_shed: self.requests_shed.load(Ordering::Relaxed),
        }
    }
}

/// One listener's refusals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ListenerSnapshot {
    /// Connections closed at once because `limits.max_connections` were open.
    pub connections_refused: u64,
    /// Requests refused at once (retryable) because `limits.max_in_flight` were in flight.
    pub requests_shed: u64,
}

/// The listeners' refusals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ListenersSnapshot {
    /// OTLP/HTTP.
    pub otlp_http: ListenerSnapshot,
    /// OTLP/gRPC.
    pub otlp_grpc: ListenerSnapshot,
    /// The app (API, dashboard, `/metrics`, health).
    pub app: ListenerSnapshot,
}

/// What became of the `gen_ai.evaluation.result` events received, on `/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EvaluationResultStats {
    /// Results that made a score (a result received twice counts twice; its score is stored
    /// once).
    pub scored: u64,
    /// Evaluations that failed (`error.type`): no score.
    pub failed: u64,
    /// Results that are no score: no name, no value or label, an attribute of another type
    /// than the convention's, attached to nothing and naming no response.
    pub invalid: u64,
    /// Results whose response's span was not found in time.
    pub unmatched: u64,
    /// Results waiting for their response's span now.
    pub awaiting_response: usize,
    /// Why the last invalid one was.
    pub last_invalid: Option<String>,
}

/// A rule's figures, on `/status` and `GET /evaluators`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RuleStats {
    /// The rule (the name of its scores).
    pub name: String,
    /// Where it comes from: `file` or `api`.
    pub origin: &'static str,
    /// Targets queued.
    pub queued: u64,
    /// Targets not queued: the queue was full.
    pub dropped: u64,
    /// Scores given.
    pub scored: u64,
    /// Of them, checks passed (a code check's 1; a judge's scores are not counted here).
    pub passed: u64,
    /// Targets without what the evaluator reads (no content captured, not priced).
    pub not_applicable: u64,
    /// Attempts made again after a judge was unavailable.
    pub retries: u64,
    /// Evaluation errors: malformed answers, refusals, budgets spent, the judge unavailable
    /// past its attempts, targets gone.
    pub errors: u64,
    /// The last error.
    pub last_error: Option<String>,
}

/// What the online evaluations did, on `/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OnlineStats {
    /// Evaluations waiting (due or not).
    pub backlog: usize,
    /// The queue's bound.
    pub capacity: usize,
    /// Each rule's figures.
    pub rules: Vec<RuleStats>,
    /// What the judges' calls cost since the start (US dollars).
    pub judge_spend: Usd,
    /// The judges' calls made, and failed.
    pub judge_calls: u64,
    /// Of them, failed (no answer, an error status).
    pub judge_call_errors: u64,
    /// Rules given through the API that this node could not load, with why.
    pub not_loaded: Vec<NotLoaded>,
}

/// A rule of the store that this node could not load (one naming a judge this node lacks, or
/// written by a newer version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotLoaded {
    /// The rule's name.
    pub name: String,
    /// Why.
    pub reason: String,
}
