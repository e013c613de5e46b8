//! # agentrace-sqlite
//!
//! The embedded store of [agentrace](https://example.invalid/agentrace): one SQLite file that
//! is both a **sink** of the core pipeline and the **query layer** the CLI and the server read
//! from. It depends on `agentrace-core` and `agentrace-store`: it implements core's [`Sink`],
//! [`SpanSink`] and [`EventSink`], and the store traits of `agentrace-store`, answering with
//! their serde-serializable types.
//!
//! ## The pieces
//!
//! | piece | what it is |
//! |---|---|
//! | [`SqliteStore::open`], [`open_with`](SqliteStore::open_with) | opens (creates, migrates) a store; WAL mode with a bounded log, one writer, pooled readers |
//! | [`RecordWriter`](agentrace_store::RecordWriter) | batched, transactional, idempotent writes; spans encoded on the caller's threads ([`EncodedSpans`]), so the writer only binds and steps |
//! | [`TraceReader`](agentrace_store::TraceReader) | a trace as a tree, the trace list with filters and stable cursors, sessions and users, spans and events a page at a time |
//! | [`Analytics`](agentrace_store::Analytics) | exact aggregates and the summary from the spans; rollups, the overview and tools from rollup tables kept by the writer: milliseconds at any size (percentiles within 3.2 %) |
//! | [`Retention`](agentrace_store::Retention), [`Repairs`](agentrace_store::Repairs) | retention of spans, events, metrics and scores in short chunks; re-attaching, repricing |
//! | [`Scores`](agentrace_store::Scores), [`AlertHistory`](agentrace_store::AlertHistory), [`EvaluatorRules`](agentrace_store::EvaluatorRules), [`Health`](agentrace_store::Health) | scores, alert history, evaluator rules, the store's health and its write-ahead log |
//!
//! Each trait is implemented once, in the module of what it does (`query/` for the reads,
//! `store.rs` for writes and health, `retention.rs`, `repairs.rs`, `scores.rs`, `alerts.rs`,
//! `evaluator_rules.rs`); there is no second, inherent API.
//!
//! The schema is documented in `docs/sql-schema.md`; its version is [`SCHEMA_VERSION`].
//! Costs stay integer nano-dollars ([`Usd`](agentrace_core::Usd)) down to the file, and an
//! unpriced call is stored as NULL, never as a silent zero.
//!
//! ## Concurrency
//!
//! [`SqliteStore`] is cheap to clone; clones share one writer connection (behind a mutex) and
//! a pool of read connections. Thanks to SQLite's write-ahead log, queries read the last
//! committed state while a batch is being written. A thread of the store checkpoints the log
//! every second, off the writer's commits, and the writer lets the log start over whenever it
//! passes a quarter of its ceiling ([`StoreOptions::wal_ceiling`], 256 MiB by default), so the
//! log stays bounded however fast it writes ([`Health::wal`](agentrace_store::Health::wal) reports it). Several stores (processes) may write one file: each
//! write is an `IMMEDIATE` transaction, and a trace is given one row whichever store writes it.
//! Every method blocks on file I/O: from async code, run queries in
//! `tokio::task::spawn_blocking`.
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//!
//! use agentrace_core::{Resource, SpanId, SpanKind, SpanRecord, SpanSink, TokenUsage, TraceId};
//! use agentrace_sqlite::{SqliteStore, TraceFilter};
//! use agentrace_store::TraceReader;
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("agentrace.db"))?;
//!
//! let trace_id = TraceId::random();
//! let resource = Arc::new(Resource::new("my-agent"));
//! let mut span = SpanRecord::new(trace_id, SpanId::random(), "chat gpt-4o", 1_000, 51_000, resource);
//! span.kind = SpanKind::Llm;
//! span.request_model = Some("gpt-4o".into());
//! span.usage = TokenUsage::new(120, 30);
//!
//! // The pipeline calls the sink; here we call it directly.
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! runtime.block_on(store.export_spans(std::slice::from_ref(&span)))?;
//!
//! let tree = store.trace(trace_id)?.ok_or("trace not stored")?;
//! assert_eq!(tree.nodes[0].span, span);
//!
//! let page = store.list_traces(&TraceFilter::new().model("gpt-4o"), None, 20)?;
//! assert_eq!(page.traces[0].usage.total_tokens(), 150);
//! assert_eq!(page.traces[0].cost, None); // not priced: unknown, not zero
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Sink`]: agentrace_core::Sink
//! [`SpanSink`]: agentrace_core::SpanSink
//! [`EventSink`]: agentrace_core::EventSink

mod alerts;
mod attribution;
mod checkpointer;
mod codec;
mod content;
mod deferred_index;
mod error;
mod evaluator_rules;
mod fnv;
mod id_filter;
mod metric_points;
mod organization;
mod past;
mod query;
mod repairs;
mod retention;
mod schema;
mod scores;
mod search;
mod span_rewrite;
mod span_rollups;
mod store;
mod trace_rollups;
mod trace_summaries;
mod wal;
mod words;
mod write;

pub use agentrace_store::{
    AggregateQuery, AggregateRow, AlertRecord, CostUpdate, Cursor, DiskUsage, EncodedSpans,
    ErrorCount, ErrorPattern, EventFilter, EventPage, EventQuery, GroupBy, GroupKey, InsertReport,
    LateAttribution, MetricInfo, MetricPoint, MetricQuery, MetricSeries, Order, Overview,
    OverviewQuery, Percentiles, QueryError, RecordKind, Repaired, RetentionError, RollupAnswer,
    RollupSource, SeriesPoint, SessionSort, SessionSummary, SpanFilter, SpanPage, SpanQuery,
    SpanRows, StatusFilter, SubtreeTotals, Summary, TimeRange, ToolPoint, ToolStats, ToolsAnswer,
    TraceFilter, TraceNode, TraceOrder, TracePage, TraceSort, TraceSummary, TraceTree, UserSummary,
    WalStatus, WriteError, restore_budgets,
};
pub use alerts::MAX_ALERT_RECORDS;
pub use attribution::{HORIZON as ATTRIBUTION_HORIZON, MAX_PENDING as MAX_AWAITING_PARENT};
pub use error::{DbError, OpenError};
pub use organization::{DEFAULT_MAX_OPEN_PROJECTS, OrganizationOptions, SqliteOrganization};
pub use schema::SCHEMA_VERSION;
pub use store::{SqliteStore, StoreOptions};
pub use wal::{DEFAULT_WAL_CEILING, MIN_WAL_CEILING};
