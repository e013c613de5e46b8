//! The store conformance suite: the checks every implementation of [`Store`]
//! runs, as `object_store`'s `integration` module is for its stores (behind this crate's
//! `testing` feature; SQLite runs it in `cargo test -p agentrace-sqlite`, ClickHouse in the
//! integration suite against the real engine).
//!
//! Each check takes a fresh, empty store, writes fixed data through the traits only
//! ([`fixtures`]), and compares every answer with values computed by hand from those fixtures
//! (each expectation says how), never with "whatever SQLite answers". A new store that passes
//! them answers like the reference store (`agentrace-sqlite`), whatever it computes at write
//! time and whatever it computes at read time.
//!
//! ```text
//! #[test]
//! fn my_store_passes_the_store_conformance_suite() -> Result<(), Box<dyn Error>> {
//!     agentrace_store::conformance::run_all(&|| Ok(Arc::new(MyStore::open_fresh()?) as Arc<dyn Store>))
//! }
//! ```
//!
//! Run one check alone (while fixing a store) by calling it with a store:
//! `conformance::traces::trace_list_orders(&*store)`. The data they write is described
//! in [`fixtures`].
//!
//! The checks, by concern:
//!
//! - [`writes`]: batches counted, duplicates stored once, attribution whatever the arrival
//!   order;
//! - [`traces`]: the trace list (filters, orders, pages, cursors, summaries);
//! - [`people`]: sessions and end users;
//! - [`records`]: spans and events a page at a time;
//! - [`tree`]: one trace as a tree, its outline, single spans, a turn's spans;
//! - [`content`]: captured content given back byte for byte in every dialect, through
//!   retention;
//! - [`search`]: the spans matching a query of the filter syntax, newest first, paged, with
//!   snippets;
//! - [`analytics`]: exact aggregates and the summary, aggregate spans;
//! - [`tokens`]: cache, one-hour cache-write and reasoning counts, kept and summed;
//! - [`rollups`]: rollups, the overview and tools from them, received metrics;
//! - [`repairs`]: new costs, re-attached roots, aggregates marked late, budget replay;
//! - [`upkeep`]: alert history, retention (by the server, and by the store itself), an empty
//!   store, health, closing;
//! - [`fleet`]: a node alive from its heartbeat, its own writes never another's arrivals;
//! - [`scores`]: scores kept, found, replaced, deleted and expired; spans found by the
//!   response they gave; the spans scores judge, and a score's statistics by them; the trace
//!   list by score; evaluator rules.
//!
//! What the suite does not require: which store answers a rollup from what
//! ([`RollupSource`](crate::RollupSource)), the exact sizes a store reports, and that
//! a store learns of late attribution at the write (what it reports in
//! [`InsertReport::attributed`](crate::InsertReport::attributed) is checked only
//! when it reports something).

use std::error::Error;
use std::fmt::{Debug, Display};
use std::sync::Arc;

use crate::{
    AggregateRow, GroupKey, QueryError, SpanFilter, SpanQuery, Store, TimeRange, TracePage,
};
use agentrace_core::{SpanId, SpanRecord, TraceId};

pub mod accounts;
pub mod analytics;
pub mod content;
pub mod fixtures;
pub mod fleet;
pub mod past;
pub mod people;
pub mod projects;
pub mod records;
pub mod repairs;
mod required_only;
pub mod rollups;
pub mod scores;
pub mod search;
pub mod tokens;
pub mod traces;
pub mod tree;
pub mod upkeep;
pub mod writes;

pub use required_only::RequiredOnly;

/// Makes a fresh organization.
pub type NewOrganization<'a> =
    &'a dyn Fn() -> Result<std::sync::Arc<dyn crate::Organization>, Box<dyn Error>>;

/// Makes a fresh organization opened twice, as two nodes of a fleet open their shared store.
pub type NewFleet<'a> =
    &'a dyn Fn() -> Result<[std::sync::Arc<dyn crate::Organization>; 2], Box<dyn Error>>;

/// What a check returns: `Err` says what differed.
pub type CheckResult = Result<(), Box<dyn Error>>;

/// A check: it writes its fixtures into `store` (fresh and empty) and checks the answers.
pub type Check = fn(&dyn Store) -> CheckResult;

/// `[(name, check)]` of checks named by their functions.
macro_rules! checks {
    ($($module:ident::$check:ident),* $(,)?) => {
        &[$((stringify!($check), $module::$check as Check)),*]
    };
}

/// Every check, by name, in the order [`run_all`] runs them.
pub const CHECKS: &[(&str, Check)] = checks![
    // Writes.
    writes::writes_are_stored_and_counted,
    writes::duplicate_spans_are_stored_once,
    writes::duplicate_events_are_stored_once,
    writes::attribution_in_one_batch,
    writes::attribution_children_first,
    writes::attribution_grandchild_first,
    writes::attribution_across_many_traces,
    // The trace list.
    traces::trace_list_newest_first_with_summaries,
    traces::trace_list_filters,
    traces::cost_tallies_count_cheap_traces_and_sessions,
    traces::session_costs_by_bucket_sum_to_the_cost_of_sessions,
    traces::cost_tallies_count_agent_runs_with_what_is_beneath,
    traces::trace_list_orders,
    traces::trace_list_pages,
    traces::invalid_cursors_are_refused,
    // One trace.
    tree::trace_tree,
    tree::trace_outline_and_single_spans,
    tree::turn_spans_and_last_llm_call,
    // Captured content.
    content::content_round_trips_in_every_dialect,
    content::retention_keeps_the_content_of_the_spans_left,
    // Search.
    search::search_finds_words_wherever_they_are,
    // Sessions and users.
    people::sessions,
    people::one_session,
    people::users,
    // Records.
    records::span_pages,
    records::span_filters,
    records::spans_by_resource_attribute,
    records::spans_with_equal_starts,
    records::event_pages_and_filters,
    // Exact analytics.
    analytics::aggregate_by_model,
    analytics::aggregate_by_agent_kind_and_minute,
    analytics::aggregate_spans_count_as_spans_only,
    analytics::aggregate_spans_are_not_calls,
    analytics::summary,
    analytics::latency_within,
    analytics::aggregate_by_an_attribute_of_the_span_or_its_resource,
    // Token detail.
    tokens::token_details_are_summed,
    tokens::trace_summaries_keep_one_hour_cache_writes_per_span,
    // Rollups and metrics.
    rollups::rollup_matches_aggregate,
    rollups::overview,
    rollups::tools,
    rollups::tools_of_mcp_servers,
    rollups::tools_by_attribute,
    rollups::metrics,
    // Repairs.
    repairs::update_costs,
    repairs::repair_reattaches_a_detached_root,
    repairs::repair_marks_an_aggregate,
    repairs::repair_completes_an_mcp_call,
    repairs::repair_reaches_the_tools_failures,
    repairs::budget_replay,
    // Changes of the past.
    past::past_changes_report_writes_to_the_past,
    // Upkeep.
    upkeep::alert_history,
    upkeep::latest_alert_is_newest_by_time,
    upkeep::retention_counts_and_ranks,
    upkeep::retention_deletes_spans_and_events,
    upkeep::retention_deletes_metric_points,
    upkeep::empty_store,
    upkeep::health,
    upkeep::closing_keeps_what_was_written,
    upkeep::expiry_by_the_store_keeps_what_is_young,
    // The fleet.
    fleet::a_node_is_alive_from_its_heartbeat_and_never_its_own_arrival,
    // Scores.
    scores::scores_are_kept_and_found,
    scores::scores_are_replaced_under_their_id_and_deleted,
    scores::a_large_batch_of_scores_is_written_and_replaced,
    scores::retention_deletes_scores,
    scores::responding_spans_are_found_by_response_id,
    scores::span_scores_are_found_by_their_stored_trace,
    scores::score_statistics_by_what_they_judged,
    scores::score_tallies_count_what_passes,
    scores::traces_filtered_and_ordered_by_score,
    scores::evaluator_rules_are_kept_replaced_and_deleted,
];

/// Runs every check of [`CHECKS`], each on a fresh store made by `new_store` (dropped once its
/// check is done). Every check runs, whatever the others did; the error ([`Failures`]) names
/// each failing check, one per line (`attribution_children_first: the span records: …`).
pub fn run_all(
    new_store: &dyn Fn() -> Result<Arc<dyn Store>, Box<dyn Error>>,
) -> Result<(), Box<dyn Error>> {
    run_all_but(new_store, &[])
}

/// [`run_all`] but the checks named in `exempt` (`(check, why)`: a store whose documented
/// behaviour differs there, checked by a test of its own). A name that is no check fails.
pub fn run_all_but(
    new_store: &dyn Fn() -> Result<Arc<dyn Store>, Box<dyn Error>>,
    exempt: &[(&str, &str)],
) -> Result<(), Box<dyn Error>> {
    if let Some((unknown, _)) = exempt
        .iter()
        .find(|(name, _)| !CHECKS.iter().any(|(check, _)| check == name))
    {
        return Err(format!("{unknown:?} is no check of the suite").into());
    }
    let mut failed = Vec::new();
    for (name, check) in CHECKS
        .iter()
        .filter(|(name, _)| !exempt.iter().any(|(e, _)| e == name))
    {
        let outcome = new_store()
            .map_err(|e| format!("opening a fresh store failed: {e}").into())
            .and_then(|store| check(&*store));
        if let Err(e) = outcome {
            failed.push(format!("{name}: {e}"));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Box::new(Failures {
            failed,
            checks: CHECKS.len(),
        }))
    }
}

/// The checks [`run_all`] saw fail: `check: what differed`, one per failing check. Its
/// `Debug` is its `Display`, so that a test returning it prints one failure a line.
#[derive(Clone, PartialEq, Eq)]
pub struct Failures {
    /// One line per failing check.
    pub failed: Vec<String>,
    /// How many checks ran.
    pub checks: usize,
}

impl Display for Failures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} of {} store checks failed:",
            self.failed.len(),
            self.checks
        )?;
        for line in &self.failed {
            writeln!(f, "- {line}")?;
        }
        Ok(())
    }
}

impl Debug for Failures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Display::fmt(self, f)
    }
}

impl Error for Failures {}

/// `Ok` if `got` is `expected`, else an error saying `what` differed and how.
pub fn expect_eq<T: PartialEq + Debug + ?Sized>(
    what: impl Display,
    expected: &T,
    got: &T,
) -> CheckResult {
    if expected == got {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {got:?}").into())
    }
}

/// `Ok` if a tally by bucket of `width` over `range` (`by_bucket`, a store's answer) is, oldest
/// first, the tally of each bucket's part of the range on its own (`tally`), with the buckets
/// that hold nothing (`T::default()`) left out.
pub fn expect_buckets<T: PartialEq + Debug + Default>(
    what: impl Display,
    range: TimeRange,
    width: u64,
    by_bucket: &[(u64, T)],
    tally: impl Fn(TimeRange) -> Result<T, QueryError>,
) -> CheckResult {
    let (start, end) = (
        range.start_unix_nano.unwrap_or(0),
        range.end_unix_nano.unwrap_or(u64::MAX),
    );
    let mut expected = Vec::new();
    let mut bucket = start / width * width;
    while bucket < end {
        let part = tally(TimeRange::new(bucket.max(start), (bucket + width).min(end)))?;
        if part != T::default() {
            expected.push((bucket, part));
        }
        bucket += width;
    }
    ensure(
        !expected.is_empty(),
        format!("{what}: the check reads a bucket"),
    )?;
    expect_eq(what, expected.as_slice(), by_bucket)
}

/// `Ok` if `condition` holds, else an error saying `what` failed.
pub fn ensure(condition: bool, what: impl Display) -> CheckResult {
    if condition {
        Ok(())
    } else {
        Err(what.to_string().into())
    }
}

/// Every span matching `filter`, oldest first, in one page.
pub fn all_spans(
    store: &dyn Store,
    filter: SpanFilter,
) -> Result<Vec<SpanRecord>, Box<dyn std::error::Error>> {
    let page = store.spans(&SpanQuery::new(filter))?;
    ensure(
        page.next_cursor.is_none(),
        "a span query without a limit returned a next cursor",
    )?;
    Ok(page.spans)
}

/// The ids of `spans`, in order.
pub fn ids_of(spans: &[SpanRecord]) -> Vec<SpanId> {
    spans.iter().map(|s| s.span_id).collect()
}

/// The keys and span counts of aggregate rows.
pub fn keyed_counts(rows: &[AggregateRow]) -> Vec<(Vec<GroupKey>, u64)> {
    rows.iter().map(|r| (r.keys.clone(), r.count)).collect()
}

/// A text group key.
pub fn key(value: &str) -> GroupKey {
    GroupKey::Value(value.to_owned())
}

/// The trace ids of a page of the trace list, in order.
pub fn listed(page: &TracePage) -> Vec<TraceId> {
    page.traces.iter().map(|t| t.trace_id).collect()
}

/// `Ok` if `result` is [`QueryError::InvalidCursor`], else an error saying what `what` gave.
pub fn expect_invalid_cursor<T: Debug>(
    what: impl Display,
    result: Result<T, QueryError>,
) -> CheckResult {
    match result {
        Err(QueryError::InvalidCursor(_)) => Ok(()),
        other => Err(format!("{what}: expected QueryError::InvalidCursor, got {other:?}").into()),
    }
}
