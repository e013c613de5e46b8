//! # agentrace-clickhouse
//!
//! The ClickHouse backend of agentrace: spans, events, metrics and alert history in a
//! ClickHouse database, through the official [`clickhouse`] crate (HTTP, RowBinary). It depends
//! on `agentrace-core` and `agentrace-store` only. [`ClickHouseStore`] is
//!
//! - a **store** of `agentrace-store` (every trait: writes, the API's queries, rollups,
//!   alert history, retention, repairs, health, and a **fleet**: any number of
//!   `agentrace serve --store clickhouse://…` nodes share one database, docs/scale-out.md);
//! - a **sink** of the core pipeline ([`Sink`](agentrace_core::Sink),
//!   [`SpanSink`](agentrace_core::SpanSink), [`EventSink`](agentrace_core::EventSink)), so an
//!   application stores there directly, with the same writes.
//!
//! | piece | what it is |
//! |---|---|
//! | [`ClickHouseStore::open`], [`open_blocking`](ClickHouseStore::open_blocking) | a database on a server, created if missing, its schema made current (versioned migrations, each once) |
//! | [`schema`] | the tables and why they are shaped so: a wide `ReplacingMergeTree` of spans, rollups kept by a materialized view, nothing updated in place |
//! | [`ClickHouseStore::hold_awaiting`] | spans awaiting their parent held by the node, journaled in ClickHouse before the answer, and written once with it (what `serve` does); a node gone's taken over by the fleet's leader ([`Fleet::adopt_held`](agentrace_store::Fleet::adopt_held)) |
//! | [`ClickHouseOrganization`] | projects and keys (`agentrace_store::Organization`), and each project's store |
//! | the store traits | blocking calls, their I/O on a runtime of the store's own: call them off async threads |
//!
//! ## Projects
//!
//! One database serves many projects, none seeing another's data. They are kept apart by the
//! key, not by databases: every data table's sorting key begins with `project` (the views
//! carry it), so a project's queries read only its own granules however large the others
//! are, while the tables, views and parts stay as many as for one project (a database per
//! project would multiply them, each merged on its own). A [`ClickHouseStore`] is one
//! project's: every read begins `WHERE project = <id>`, every row it writes names it, the
//! spans it holds awaiting their parent are held under it (the same trace id in two projects
//! is two traces). Opened, it is the `default` project's (id 1), which holds everything a
//! database held before projects (an older database is rebuilt so when first opened:
//! [`schema`]); [`ClickHouseOrganization::open`] keeps the registry in the database every
//! node shares and hands out the other projects' stores, clones sharing the client, the
//! runtime and the held spans. What is a node's (the held spans' bound, their status, shutting down) or
//! a table's (the TTL of age retention, disk usage in health) is every project's.
//!
//! ## Example
//!
//! ```no_run
//! use agentrace_clickhouse::ClickHouseStore;
//! use agentrace_core::Pipeline;
//! use agentrace_store::{TraceFilter, TraceReader};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = ClickHouseStore::open("http://127.0.0.1:8123", "agentrace").await?;
//! let pipeline = Pipeline::builder().with_sink(store.clone()).build()?;
//! // … instrument with `tracing`, the spans reach ClickHouse …
//! pipeline.flush()?;
//! // The store's queries block: run them off the async threads.
//! let page = tokio::task::spawn_blocking(move || store.list_traces(&TraceFilter::new(), None, 20))
//!     .await??;
//! # let _ = page;
//! # Ok(())
//! # }
//! ```
//!
//! It is tested against the real ClickHouse engine (chdb behind ClickHouse's HTTP interface) in
//! `cargo xtask integration`: the sink conformance suite, the store conformance suite, the
//! server's API tests and the dashboard in a browser.

mod adopt;
mod analytics;
mod error;
mod evaluator_rules;
mod fleet;
mod held;
mod interface;
mod lock;
mod migrate;
mod organization;
mod past;
mod read;
mod retention;
mod rollups;
mod row;
pub mod schema;
mod scores;
mod sql;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod upkeep;
mod write;

pub use error::OpenError;
pub use held::SpoolError;
pub use organization::ClickHouseOrganization;
pub use row::DecodeError;
pub use schema::{Layout, SCHEMA_VERSION};
pub use store::{ClickHouseStore, DEFAULT_TIMEOUT, HoldError};
