//! # agentrace-clickhouse
//!
//! The ClickHouse backend of agentrace: spans and events in a ClickHouse database, through the
//! official [`clickhouse`] crate (HTTP, RowBinary). It depends on `agentrace-core` only:
//! [`ClickHouseStore`] implements core's [`Sink`](agentrace_core::Sink),
//! [`SpanSink`](agentrace_core::SpanSink) and [`EventSink`](agentrace_core::EventSink), so it
//! plugs into a core [`Pipeline`](agentrace_core::Pipeline) like any other backend, and reads
//! back what it stored.
//!
//! | piece | what it is |
//! |---|---|
//! | [`ClickHouseStore::open`] | a database on a server, created if missing, its schema made current (versioned migrations, each once) |
//! | [`ClickHouseStore::spans`], [`ClickHouseStore::events`] | what is stored, the newest version of each span |
//! | [`schema`] | the tables and why they are shaped so |
//!
//! ## Example
//!
//! ```no_run
//! use agentrace_clickhouse::ClickHouseStore;
//! use agentrace_core::Pipeline;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = ClickHouseStore::open("http://127.0.0.1:8123", "agentrace").await?;
//! let pipeline = Pipeline::builder().with_sink(store.clone()).build()?;
//! // … instrument with `tracing`, the spans reach ClickHouse …
//! pipeline.flush()?;
//! let stored = store.spans().await?;
//! # let _ = stored;
//! # Ok(())
//! # }
//! ```
//!
//! It is tested against the real ClickHouse engine (chdb behind ClickHouse's HTTP interface) in
//! `cargo xtask integration`, with the conformance suite every sink runs.

mod analytics;
mod error;
mod fleet;
mod interface;
mod read;
mod rollups;
mod row;
pub mod schema;
mod sql;
mod store;
mod upkeep;
mod write;

pub use row::DecodeError;
pub use schema::SCHEMA_VERSION;
pub use store::{ClickHouseStore, OpenError};
