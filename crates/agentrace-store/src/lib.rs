//! # agentrace-store
//!
//! What `agentrace serve` and the CLI need from a store, as traits, and the types they speak.
//! The server and the CLI depend on these traits only; a store is a crate that implements
//! them (`agentrace-sqlite`, the embedded default; `agentrace-clickhouse`, for a fleet of
//! stateless nodes). It depends on `agentrace-core` only.
//!
//! ## The traits, by concern
//!
//! | trait | what the server does with it |
//! |---|---|
//! | [`RecordWriter`] | its writer thread stores the batches the receivers decoded, and acknowledges them once stored |
//! | [`TraceReader`] | the API and the CLI read traces, spans, sessions, users and events |
//! | [`Analytics`] | the dashboard, the alerts and the CLI read grouped numbers |
//! | [`AlertHistory`] | the alert engine keeps its notifications and resumes from them |
//! | [`Retention`] | retention deletes by age and by size |
//! | [`Repairs`] | background repairs re-attach, re-mark and reprice stored spans |
//! | [`Health`] | `/readyz`, `/status` and `/metrics` report the store; shutdown closes it |
//! | [`Fleet`] | nodes sharing the store choose who evaluates alerts, and learn what the others stored |
//! | [`Scores`] | the API keeps and reads scores of traces, spans and sessions |
//! | [`EvaluatorRules`] | the API keeps evaluator rules, for every node and every restart |
//!
//! [`Store`] is all of them: the server holds an `Arc<dyn Store>`. The projects of a deployment
//! are an [`Organization`]: their stores, keys and settings, and its people ([`Accounts`]:
//! users, roles, sessions, invitations) and [`AuditLog`]. Budget spend is replayed
//! from any store by [`restore_budgets`]; the scores of `gen_ai.evaluation.result` events
//! are made for any store by [`evaluation_results`] and [`store_evaluations`].
//!
//! ## Writing a store
//!
//! Implement the ten traits: 25 required methods (writes; the span, event, trace-list, score,
//! alert, rule and metric reads; retention, repairs and health), everything else provided on
//! top of them (a store of one node keeps [`Fleet`]'s defaults); override a provided method
//! when the store answers it faster. The contract of each trait is in its documentation.
//! Every method blocks: an embedded store does its I/O on the calling thread, a networked one
//! waits for its server (its I/O on a runtime of its own), and the server calls them from its
//! blocking pool and its writer thread. Report failures in the neutral errors
//! ([`WriteError`], [`QueryError`], [`RetentionError`]), classified by what the caller can do:
//! retry ([`WriteError::Unavailable`]), wait for an operator ([`WriteError::Failed`]), drop
//! the records ([`WriteError::Rejected`]). Then run the conformance suite (`conformance`,
//! behind the `testing` feature) against it, and through `conformance::RequiredOnly` against
//! its required methods alone: each query's answer on fixed data, attribution whatever the
//! arrival order, exact rollups, duplicates stored once, retention, alert history and budget
//! replay.
//!
//! ## Example
//!
//! Code written against the traits works on any store:
//!
//! ```
//! use agentrace_core::{Resource, SpanId, SpanRecord, TraceId};
//! use agentrace_store::{EncodedSpans, RecordWriter, Store, TraceFilter, TraceReader};
//!
//! /// Stores one span and lists it back.
//! fn round_trip(store: &dyn Store) -> Result<usize, Box<dyn std::error::Error>> {
//!     let resource = std::sync::Arc::new(Resource::new("my-agent"));
//!     let span = SpanRecord::new(TraceId::random(), SpanId::random(), "plan", 1, 2, resource);
//!     let mut batch = EncodedSpans::new();
//!     batch.push(span)?;
//!     let report = store.insert_spans(batch.rows())?;
//!     assert_eq!(report.inserted, 1);
//!     Ok(store.list_traces(&TraceFilter::new(), None, 10)?.traces.len())
//! }
//! # let _ = round_trip;
//! ```

mod accounts;
mod analytics;
mod audit;
mod budgets;
mod changes;
#[cfg(feature = "testing")]
pub mod conformance;
pub mod content;
mod encoded;
mod error;
mod evaluations;
mod evaluator_rules;
mod fleet;
mod health;
mod model;
mod people;
mod picks;
mod projects;
mod read;
mod run_cost;
mod score_stats;
mod scores;
pub mod search;
pub mod series;
mod tally;
mod time_range;
mod tools;
mod tree;
mod unit_costs;
mod upkeep;
mod write;

pub use accounts::{
    AccountError, Accounts, Grant, Invitation, LoginSession, NewUser, OrgRole, ProjectRole,
    SecretHash, User, UserId,
};
pub use agentrace_core::cost::CostUnit;
pub use analytics::Analytics;
pub use audit::{Actor, AuditEntry, AuditError, AuditLog, AuditQuery, AuditScope};
pub use budgets::restore_budgets;
pub use changes::{AlertRecord, CostUpdate, LateAttribution, PAST, PastChanges, Repaired};
pub use encoded::{EncodedSpans, SpanJson, SpanRows, attributes_json, json};
pub use error::{BoxError, QueryError, RetentionError, WriteError};
pub use evaluations::{
    EvaluationReport, EvaluationResult, FoundEvaluations, Judged, LOOKUP_AFTER, LOOKUP_BEFORE,
    evaluation_results, store_evaluations,
};
pub use evaluator_rules::{EvaluatorRules, StoredRule};
pub use fleet::{Arrivals, Fleet, Wanted};
pub use health::{DiskUsage, HeldStatus, StoreHealth, WalStatus};
pub use model::{
    AggregateQuery, AggregateRow, AttributeKey, AttributeSplit, Cursor, ErrorCount, ErrorPattern,
    EventFilter, EventPage, EventQuery, GroupBy, GroupKey, InsertReport, MAX_METRIC_POINTS,
    MAX_METRIC_SERIES, MetricInfo, MetricPoint, MetricQuery, MetricSeries, Order, Overview,
    OverviewQuery, RecordKind, ResourceAttribute, RollupAnswer, RollupSource, SCORE_KEY_SCALE,
    ScoreCondition, SeriesPoint, SessionSort, SessionSummary, SpanFilter, SpanPage, SpanQuery,
    StatusFilter, SubtreeTotals, Summary, ToolPoint, ToolStats, ToolsAnswer, TraceDetail,
    TraceFilter, TraceNode, TraceOrder, TracePage, TraceSort, TraceSummary, TraceTree, UserSummary,
    is_unpriced,
};
pub use people::{People, TraceFigures};
pub use projects::{
    DEFAULT_PROJECT, InvalidProjectName, KeyHash, KeyId, KeyOwner, KeyScope, MAX_PROJECT_NAME,
    NewKey, Organization, PROJECT_NAME_RULE, Project, ProjectError, ProjectId, ProjectName,
    ProjectSetting, SettingVersion, StoredKey,
};
pub use read::{MAX_TARGETS_A_LOOKUP, TraceReader};
pub use run_cost::{AgentRunTallies, RunCost, RunCostSpan};
pub use score_stats::{
    Bin, LabelCount, MAX_STATS_SCORES, ScoreDimension, ScoreGroup, ScoreStats, ScoreStatsQuery,
    TrendPoint, prompt_of, score_stats,
};
pub use scores::{
    MAX_RESPONSES_A_LOOKUP, RespondingSpan, ScoreCursor, ScoreFilter, ScoreName, ScorePage,
    ScorePass, ScoreQuery, ScoreTally, Scores, StoredScore, with_score_ids,
};
pub use series::Percentiles;
pub use tally::{CostTally, CostTallyQuery, SessionCost, check_bucket_width, whole_tally};
pub use time_range::TimeRange;
pub use tools::{TOOL_GROUPS, ToolFailures, ToolId, tool_groups, tools_answer};
pub use tree::OUTLINE_ATTRIBUTES;
pub use upkeep::{AlertHistory, Health, Repairs, Retention};
pub use write::RecordWriter;

/// A whole store: everything the server needs, behind one `Arc<dyn Store>`. Implemented for
/// every type that implements the ten traits.
pub trait Store:
    RecordWriter
    + TraceReader
    + Analytics
    + AlertHistory
    + Retention
    + Repairs
    + Health
    + Fleet
    + Scores
    + EvaluatorRules
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: RecordWriter
        + TraceReader
        + Analytics
        + AlertHistory
        + Retention
        + Repairs
        + Health
        + Fleet
        + Scores
        + EvaluatorRules
        + std::fmt::Debug
        + Send
        + Sync
        + 'static
{
}
