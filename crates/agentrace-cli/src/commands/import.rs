//! `agentrace import`: spans and events from JSON lines (what `agentrace export` writes, or the
//! JSONL sink's files) into the store, through the same writes as the server's, in batches. A
//! record already stored is skipped, so an interrupted import is simply run again; the first
//! bad line stops it with its file and line, and what was imported before it stays.
//!
//! Moving a SQLite store to ClickHouse (docs/scale-out.md):
//!
//! ```text
//! agentrace export --what spans --from 2000-01-01 -o spans.jsonl
//! agentrace export --what events --from 2000-01-01 -o events.jsonl
//! agentrace --store clickhouse://ch.internal/agentrace import spans.jsonl events.jsonl
//! ```

use agentrace_core::{Event, SpanRecord};
use agentrace_file::{JsonlReader, Record};
use agentrace_server::SharedStore;
use agentrace_store::{InsertReport, Store};

use crate::args::{ImportArgs, StoreArgs};
use crate::error::CliError;

/// Records written in one batch.
const BATCH: usize = 5_000;

/// What an import did.
#[derive(Debug, Default)]
struct Imported {
    spans: usize,
    span_duplicates: usize,
    events: usize,
    event_duplicates: usize,
}

/// Batches of records on their way to the store.
struct Batches<'a> {
    store: &'a dyn Store,
    spans: Vec<SpanRecord>,
    events: Vec<Event>,
    done: Imported,
}

impl Batches<'_> {
    fn push(&mut self, record: Record) -> Result<(), CliError> {
        match record {
            Record::Span(span) => self.spans.push(span),
            Record::Event(event) => self.events.push(event),
            _ => {}
        }
        if self.spans.len() >= BATCH || self.events.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), CliError> {
        if !self.spans.is_empty() {
            let report: InsertReport = self.store.write_spans(&self.spans)?;
            self.done.spans += report.inserted;
            self.done.span_duplicates += report.duplicates;
            self.spans.clear();
        }
        if !self.events.is_empty() {
            let report = self.store.insert_events(&self.events)?;
            self.done.events += report.inserted;
            self.done.event_duplicates += report.duplicates;
            self.events.clear();
        }
        Ok(())
    }
}

/// Imports every file of `args` (`-`: standard input) into the store.
pub(crate) fn run(store: &StoreArgs, args: &ImportArgs) -> Result<(), CliError> {
    let audited = super::open_audited(store, "cli import")?;
    let files: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    let outcome = import(&audited.store, args);
    audited.finish(&files.join(", "), outcome)
}

/// Imports `args`'s files into `store`.
fn import(store: &SharedStore, args: &ImportArgs) -> Result<(), CliError> {
    let mut batches = Batches {
        store: &**store,
        spans: Vec::with_capacity(BATCH),
        events: Vec::new(),
        done: Imported::default(),
    };
    let outcome = (|| {
        for path in &args.files {
            let reader = if path.as_os_str() == "-" {
                JsonlReader::from_reader("standard input", std::io::stdin())
            } else {
                JsonlReader::open(path)?
            };
            for record in reader {
                batches.push(record?)?;
            }
        }
        Ok(())
    })();
    // What was read before a bad line is stored all the same.
    let outcome = outcome.and(batches.flush());
    let done = &batches.done;
    eprintln!(
        "agentrace: imported {} spans ({} already stored) and {} events ({} already stored) into {}",
        done.spans,
        done.span_duplicates,
        done.events,
        done.event_duplicates,
        store.describe()
    );
    outcome
}
