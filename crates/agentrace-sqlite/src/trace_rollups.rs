//! Rollups of traces by session and end user: what makes the sessions and users lists, and the
//! overview's count of traces, read a few rows per bucket instead of every trace row.
//!
//! Every trace row is counted in one row of `trace_rollups` per **tier** (the minute and the
//! hour of the trace's start), the row of its (session, user) pair: traces, spans, errors,
//! tokens by type, cost (with how many traces are priced), unpriced calls, the earliest start
//! and the latest end. A missing session or user is stored as an empty blob (`X''`), which no
//! text id equals.
//!
//! Triggers on `traces` keep the rows exact in the writer's own statements, whichever path
//! changes a trace row (a batch adding spans, retention, repricing, re-attaching): an insert
//! adds the row's figures, a delete takes them out, an update that moves the trace to another
//! key (its session, user or start minute changed) takes them out of the old key and adds them
//! to the new one, and any other update adds the difference. Counts and sums move exactly;
//! the earliest start and the latest end cannot be taken back, so a row whose extreme trace
//! left or shrank is marked `stale`, and a reader answers that bucket from the trace rows
//! instead (see `query::people`).
//!
//! The triggers follow [`update_traces!`](crate::trace_summaries::update_traces)' rule (they run
//! inside its `UPDATE OR FAIL`): no call that may stop a statement halfway, so `CASE` for
//! minimum and maximum.

/// One trace row (`$row`: `new` or `old`) counted into (`$sign`: `1`) or out of (`-1`) its
/// key's rows of both tiers.
macro_rules! count_trace {
    ($row:literal, $sign:literal) => {
        concat!(
            "
    INSERT INTO trace_rollups (tier, bucket_ns, session_id, user_id, traces, spans, errors,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
        cost_total, costed, unpriced, first_ns, last_ns, stale)
    SELECT w.tier, r.start_ns - r.start_ns % (w.tier * 1000000000),
        coalesce(r.session_id, X''), coalesce(r.user_id, X''), r.sign,
        r.sign * r.span_count, r.sign * r.error_count, r.sign * r.input_tokens,
        r.sign * r.output_tokens, r.sign * r.cache_read_tokens, r.sign * r.cache_write_tokens,
        r.sign * r.reasoning_tokens, r.sign * coalesce(r.cost_total, 0),
        r.sign * (r.cost_total IS NOT NULL), r.sign * r.unpriced_count, r.start_ns, r.end_ns, 0
    FROM (SELECT ",
            $sign,
            " AS sign, ",
            $row,
            ".start_ns AS start_ns, ",
            $row,
            ".end_ns AS end_ns, ",
            $row,
            ".session_id AS session_id, ",
            $row,
            ".user_id AS user_id, ",
            $row,
            ".span_count AS span_count, ",
            $row,
            ".error_count AS error_count, ",
            $row,
            ".input_tokens AS input_tokens, ",
            $row,
            ".output_tokens AS output_tokens, ",
            $row,
            ".cache_read_tokens AS cache_read_tokens, ",
            $row,
            ".cache_write_tokens AS cache_write_tokens, ",
            $row,
            ".reasoning_tokens AS reasoning_tokens, ",
            $row,
            ".cost_total AS cost_total, ",
            $row,
            ".unpriced_count AS unpriced_count) AS r,
        (SELECT 60 AS tier UNION ALL SELECT 3600) AS w
    WHERE true
    ON CONFLICT DO UPDATE SET
        traces = traces + excluded.traces,
        spans = spans + excluded.spans,
        errors = errors + excluded.errors,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
        reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
        cost_total = cost_total + excluded.cost_total,
        costed = costed + excluded.costed,
        unpriced = unpriced + excluded.unpriced,
        first_ns = CASE WHEN excluded.traces > 0 AND excluded.first_ns < first_ns
                        THEN excluded.first_ns ELSE first_ns END,
        last_ns = CASE WHEN excluded.traces > 0 AND excluded.last_ns > last_ns
                       THEN excluded.last_ns ELSE last_ns END,
        stale = CASE WHEN excluded.traces < 0
                          AND (excluded.first_ns = first_ns OR excluded.last_ns = last_ns)
                     THEN 1 ELSE stale END;"
        )
    };
}

/// The rows of the key of trace row `$row` (`new` or `old`), in both tiers.
macro_rules! key_rows {
    ($row:literal) => {
        concat!(
            "session_id = coalesce(",
            $row,
            ".session_id, X'') AND user_id = coalesce(",
            $row,
            ".user_id, X'')
        AND tier IN (60, 3600)
        AND bucket_ns IN (",
            $row,
            ".start_ns - ",
            $row,
            ".start_ns % 60000000000, ",
            $row,
            ".start_ns - ",
            $row,
            ".start_ns % 3600000000000)
        AND bucket_ns = ",
            $row,
            ".start_ns - ",
            $row,
            ".start_ns % (tier * 1000000000)"
        )
    };
}

/// Schema version 15 → 16: the table, filled from the trace rows stored, and its triggers.
pub(crate) const MIGRATION: &str = concat!(
    "
CREATE TABLE trace_rollups (
    tier                INTEGER NOT NULL,
    bucket_ns           INTEGER NOT NULL,
    session_id          BLOB NOT NULL,
    user_id             BLOB NOT NULL,
    traces              INTEGER NOT NULL,
    spans               INTEGER NOT NULL,
    errors              INTEGER NOT NULL,
    input_tokens        INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    cache_read_tokens   INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    cost_total          INTEGER NOT NULL,
    costed              INTEGER NOT NULL,
    unpriced            INTEGER NOT NULL,
    first_ns            INTEGER NOT NULL,
    last_ns             INTEGER NOT NULL,
    stale               INTEGER NOT NULL,
    PRIMARY KEY (tier, bucket_ns, session_id, user_id)
) WITHOUT ROWID;
INSERT INTO trace_rollups
SELECT w.tier, t.start_ns - t.start_ns % (w.tier * 1000000000),
    coalesce(t.session_id, X''), coalesce(t.user_id, X''), count(*), sum(t.span_count),
    sum(t.error_count), sum(t.input_tokens), sum(t.output_tokens), sum(t.cache_read_tokens),
    sum(t.cache_write_tokens), sum(t.reasoning_tokens), sum(coalesce(t.cost_total, 0)),
    count(t.cost_total), sum(t.unpriced_count), min(t.start_ns), max(t.end_ns), 0
FROM traces AS t, (SELECT 60 AS tier UNION ALL SELECT 3600) AS w
GROUP BY 1, 2, 3, 4;
CREATE TRIGGER trace_rollups_add AFTER INSERT ON traces BEGIN",
    count_trace!("new", "1"),
    "
END;
CREATE TRIGGER trace_rollups_remove AFTER DELETE ON traces BEGIN",
    count_trace!("old", "-1"),
    "
    DELETE FROM trace_rollups WHERE traces <= 0 AND ",
    key_rows!("old"),
    ";
END;
CREATE TRIGGER trace_rollups_move AFTER UPDATE OF start_ns, session_id, user_id ON traces
    WHEN old.session_id IS NOT new.session_id OR old.user_id IS NOT new.user_id
        OR old.start_ns - old.start_ns % 60000000000
            <> new.start_ns - new.start_ns % 60000000000 BEGIN",
    count_trace!("old", "-1"),
    "
    DELETE FROM trace_rollups WHERE traces <= 0 AND ",
    key_rows!("old"),
    ";",
    count_trace!("new", "1"),
    "
END;
CREATE TRIGGER trace_rollups_change AFTER UPDATE OF start_ns, end_ns, span_count, error_count,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost_total, unpriced_count, session_id, user_id ON traces
    WHEN old.session_id IS new.session_id AND old.user_id IS new.user_id
        AND old.start_ns - old.start_ns % 60000000000
            = new.start_ns - new.start_ns % 60000000000 BEGIN
    UPDATE OR FAIL trace_rollups SET
        spans = spans + new.span_count - old.span_count,
        errors = errors + new.error_count - old.error_count,
        input_tokens = input_tokens + new.input_tokens - old.input_tokens,
        output_tokens = output_tokens + new.output_tokens - old.output_tokens,
        cache_read_tokens = cache_read_tokens + new.cache_read_tokens - old.cache_read_tokens,
        cache_write_tokens = cache_write_tokens + new.cache_write_tokens
            - old.cache_write_tokens,
        reasoning_tokens = reasoning_tokens + new.reasoning_tokens - old.reasoning_tokens,
        cost_total = cost_total + coalesce(new.cost_total, 0) - coalesce(old.cost_total, 0),
        costed = costed + (new.cost_total IS NOT NULL) - (old.cost_total IS NOT NULL),
        unpriced = unpriced + new.unpriced_count - old.unpriced_count,
        first_ns = CASE WHEN new.start_ns < first_ns THEN new.start_ns ELSE first_ns END,
        last_ns = CASE WHEN new.end_ns > last_ns THEN new.end_ns ELSE last_ns END,
        stale = CASE WHEN (new.start_ns > old.start_ns AND old.start_ns = first_ns)
                          OR (new.end_ns < old.end_ns AND old.end_ns = last_ns)
                     THEN 1 ELSE stale END
    WHERE ",
    key_rows!("new"),
    ";
END;
"
);
