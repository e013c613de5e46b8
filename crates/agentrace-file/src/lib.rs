//! # agentrace-file
//!
//! The JSONL backend of [agentrace](https://example.invalid/agentrace): spans and events written
//! as JSON lines to rotating, retained files, and the reader the CLI uses to read them back.
//! It depends on `agentrace-core` only: [`JsonlSink`] implements core's
//! [`Sink`](agentrace_core::Sink), [`SpanSink`](agentrace_core::SpanSink) and
//! [`EventSink`](agentrace_core::EventSink), so it plugs into a core [`Pipeline`](agentrace_core::Pipeline) like any
//! other backend.
//!
//! | piece | what it is |
//! |---|---|
//! | [`JsonlSink`], [`JsonlSinkBuilder`] | the sink: buffered writes, `fsync` on flush, rotation, retention |
//! | [`Rotation`], `max_files`, `max_age` | when files start, and when old ones are deleted |
//! | [`Clock`] | where the sink reads the time (injectable for tests) |
//! | [`JsonlReader`], [`Record`] | reads a file, a directory or a stream; a bad line is an error naming file and line, then reading goes on |
//! | [`read_all`], [`read_spans`], [`read_events`] | read everything at once |
//!
//! ## The files
//!
//! Each line is one record: `{"v":1,"type":"span",…}` or `{"v":1,"type":"event",…}`, the
//! fields being those of [`SpanRecord`](agentrace_core::SpanRecord) and
//! [`Event`](agentrace_core::Event) (ids as hex, times as Unix nanoseconds,
//! money as decimal dollars). The schema, its version rule and the naming and rotation rules
//! are documented in [`docs/jsonl-schema.md`](https://example.invalid/agentrace/blob/main/docs/jsonl-schema.md).
//!
//! Files are named `{prefix}-{YYYY-MM-DD}-{seq:04}.jsonl` (UTC creation date, sequence number
//! within the day), so their names sort in writing order. Reopening a directory appends to its
//! newest file (never truncates) or continues its sequence.
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use agentrace_core::{Event, EventKind, Level, Pipeline, Resource};
//! use agentrace_file::{JsonlSink, Rotation, read_events};
//!
//! # let tmp = tempfile::tempdir()?;
//! let dir = tmp.path().join("telemetry");
//! let sink = JsonlSink::builder(&dir)
//!     .rotation(Rotation::daily().with_max_bytes(64 << 20))
//!     .max_files(30)
//!     .max_age(Duration::from_secs(14 * 86_400))
//!     .build()?;
//!
//! let pipeline = Pipeline::builder().with_sink(sink).build()?;
//! let resource = Arc::new(Resource::new("my-agent"));
//! pipeline.submit_event(Event::new(
//!     agentrace_core::now_unix_nano(),
//!     Level::Info,
//!     EventKind::AgentStart,
//!     "planner started",
//!     resource,
//! ));
//! pipeline.flush()?; // exported and fsync'd
//!
//! let events = read_events(&dir)?;
//! assert_eq!(events[0].kind, EventKind::AgentStart);
//! assert_eq!(events[0].message, "planner started");
//! # pipeline.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Performance
//!
//! Records are serialized with `serde_json` straight into a 1 MiB in-memory buffer (no string
//! per record) that is written out when full, at rotation and at flush; the writer sits behind a
//! mutex taken once per batch. Exports do blocking file I/O inline, as core's sink guide allows:
//! each sink runs on a pipeline thread of its own.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod config;
mod naming;
mod reader;
mod retention;
mod schema;
mod sink;
mod writer;

pub use clock::{Clock, SystemClock};
pub use config::{DEFAULT_BUFFER_SIZE, DEFAULT_PREFIX, OpenError, Rotation};
pub use reader::{
    DEFAULT_MAX_LINE_BYTES, JsonlReader, ReadAll, ReadError, Record, read_all, read_events,
    read_spans,
};
pub use retention::{RetentionError, RetentionReport};
pub use schema::{SCHEMA_VERSION, write_event_line, write_span_line};
pub use sink::{JsonlSink, JsonlSinkBuilder};
