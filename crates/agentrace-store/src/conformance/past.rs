//! Changes of the past (`Repairs::past_changes`): what writes of old data report to whoever
//! keeps counts of the past by the hour.

use crate::{CostUpdate, PastChanges, RecordKind, Store, with_score_ids};
use agentrace_core::{Score, ScoreTarget, ScoreValue};

use super::fixtures::{HOUR, MINUTE, SEC, T0, cost, five, five_traces, span, span_id, trace_id};
use super::{CheckResult, ensure, expect_eq};

/// `Ok` if the changes after `cursor` cover `from`..`to` (a store may report earlier changes
/// again, so more is fine), and the cursor to read after them.
fn expect_covered(
    store: &dyn Store,
    what: &str,
    cursor: u64,
    (from, to): (u64, u64),
) -> Result<u64, Box<dyn std::error::Error>> {
    let changes = store.past_changes(cursor)?;
    let Some((first, last)) = changes.range else {
        return Err(format!("{what}: no change reported").into());
    };
    ensure(
        first <= from && last >= to,
        format!("{what}: {first}..{last} covers {from}..{to}"),
    )?;
    ensure(
        changes.cursor >= cursor,
        format!("{what}: the cursor moves on"),
    )?;
    Ok(changes.cursor)
}

/// A write of the present changes nothing of the past; old spans report their time, a late
/// span of an old trace the trace's start, an old score its time — written, given again now,
/// deleted —, a new price the repriced trace's time, a purge what it purged.
pub fn past_changes_report_writes_to_the_past(store: &dyn Store) -> CheckResult {
    use five::*;
    let now = agentrace_core::now_unix_nano();
    store.write_spans(&[
        span(90, 1, "invoke_agent now", now - MINUTE, now).build(),
        span(90, 2, "chat gpt-4o", now - 50 * SEC, now - 40 * SEC)
            .parent(1)
            .build(),
    ])?;
    let present = store.past_changes(0)?;
    expect_eq(
        "what a write of the present changed of the past",
        &None,
        &present.range,
    )?;
    let cursor = present.cursor;
    store.write_spans(&five_traces())?;
    // The five traces start from T0 to T0 + 4 min; the last ends after T0 + 4 min.
    let cursor = expect_covered(store, "the five traces", cursor, (T0, T0 + 4 * MINUTE))?;
    // A late call of trace 2 (from T0 + 1 min), starting half an hour later.
    store.write_spans(
        &[span(2, 99, "chat late", T0 + 31 * MINUTE, T0 + 32 * MINUTE)
            .parent(R2)
            .build()],
    )?;
    let cursor = expect_covered(
        store,
        "a late call of trace 2",
        cursor,
        (T0 + MINUTE, T0 + 31 * MINUTE),
    )?;
    // Two scores given five and six hours after T0; the first given again now, the second
    // deleted.
    let scores = with_score_ids(
        [5, 6]
            .into_iter()
            .map(|hours| {
                let mut score = Score::new(
                    ScoreTarget::Trace(trace_id(1)),
                    "groundedness",
                    ScoreValue {
                        kind: None,
                        value: Some(0.5),
                        label: None,
                    },
                )?;
                score.time_unix_nano = T0 + hours * HOUR;
                Ok(score)
            })
            .collect::<Result<Vec<_>, agentrace_core::InvalidScore>>()?,
    );
    store.write_scores(&scores)?;
    let cursor = expect_covered(store, "old scores", cursor, (T0 + 5 * HOUR, T0 + 6 * HOUR))?;
    let mut again = scores[0].clone();
    again.time_unix_nano = now;
    store.write_scores(&[again])?;
    let cursor = expect_covered(
        store,
        "an old score given again now",
        cursor,
        (T0 + 5 * HOUR, T0 + 5 * HOUR),
    )?;
    let id = scores[1].id.clone().unwrap_or_default();
    expect_eq("deleted", &true, &store.delete_score(&id)?)?;
    let cursor = expect_covered(
        store,
        "an old score deleted",
        cursor,
        (T0 + 6 * HOUR, T0 + 6 * HOUR),
    )?;
    // Trace 4 (T0 + 3 min) repriced.
    let repriced = CostUpdate {
        trace_id: trace_id(4),
        span_id: span_id(L4),
        cost: Some(cost(7_000)),
    };
    expect_eq("costs changed", &1, &store.update_costs(&[repriced])?)?;
    let cursor = expect_covered(
        store,
        "trace 4 repriced",
        cursor,
        (T0 + 3 * MINUTE, T0 + 3 * MINUTE),
    )?;
    // A purge of the spans before T0 + 2 min: everything before may have changed.
    ensure(
        store.delete_before(RecordKind::Spans, T0 + 2 * MINUTE)? > 0,
        "the purge deletes spans",
    )?;
    expect_covered(store, "a purge", cursor, (T0, T0 + 2 * MINUTE))?;
    let changes: PastChanges = store.past_changes(0)?;
    ensure(
        changes.range.is_some_and(|(from, _)| from <= T0),
        "read from the start, every change is reported",
    )
}
