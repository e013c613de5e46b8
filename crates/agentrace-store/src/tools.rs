//! The tools page's answer, assembled the same way from any store's groups: calls, failures
//! and durations per tool, its trend, and its most frequent error types and patterns.

use std::cmp::Reverse;
use std::collections::HashMap;

use crate::model::{
    AggregateRow, ErrorCount, ErrorPattern, GroupKey, TimeRange, ToolPoint, ToolStats, ToolsAnswer,
};

/// One tool's failures: by error type, and by type and message pattern.
type Failures = (
    HashMap<Option<String>, i64>,
    HashMap<(Option<String>, Option<String>), i64>,
);

/// Failed tool calls, counted by tool as a store reads them.
#[derive(Debug, Default)]
pub struct ToolFailures(HashMap<Option<String>, Failures>);

impl ToolFailures {
    /// Adds `count` failures (possibly a negative delta) of `tool` with `error_type` and
    /// message `pattern`.
    pub fn add(
        &mut self,
        tool: Option<String>,
        error_type: Option<String>,
        pattern: Option<String>,
        count: i64,
    ) {
        let (by_type, by_pattern) = self.0.entry(tool).or_default();
        *by_type.entry(error_type.clone()).or_default() += count;
        *by_pattern.entry((error_type, pattern)).or_default() += count;
    }
}

/// The `top` most frequent of `counts` (positive only), most frequent first, ties by key.
fn top<T: Ord>(counts: HashMap<T, i64>, top: usize) -> Vec<(T, u64)> {
    let mut v: Vec<_> = counts
        .into_iter()
        .filter_map(|(k, n)| Some((k, u64::try_from(n).ok().filter(|n| *n > 0)?)))
        .collect();
    v.sort_by(|a, b| (Reverse(a.1), &a.0).cmp(&(Reverse(b.1), &b.0)));
    v.truncate(top);
    v
}

fn tool_of(key: Option<&GroupKey>) -> Option<String> {
    match key {
        Some(GroupKey::Value(v)) => Some(v.clone()),
        _ => None,
    }
}

/// The answer over `range`: `rows` grouped by tool, `points` by tool and time bucket (the
/// trends; empty without), `failures`, the `top` error types and patterns of each; busiest
/// tool first.
pub fn tools_answer(
    range: TimeRange,
    rows: Vec<AggregateRow>,
    points: Vec<AggregateRow>,
    mut failures: ToolFailures,
    top_n: usize,
) -> ToolsAnswer {
    let mut trends: HashMap<Option<String>, Vec<ToolPoint>> = HashMap::new();
    for p in points {
        let Some(GroupKey::Bucket(start_unix_nano)) = p.keys.get(1) else {
            continue;
        };
        trends
            .entry(tool_of(p.keys.first()))
            .or_default()
            .push(ToolPoint {
                start_unix_nano: *start_unix_nano,
                calls: p.count,
                errors: p.errors,
                duration: p.duration,
            });
    }
    let mut tools: Vec<ToolStats> = rows
        .into_iter()
        .map(|row| {
            let tool = tool_of(row.keys.first());
            let (by_type, by_pattern) = failures.0.remove(&tool).unwrap_or_default();
            let mut trend = trends.remove(&tool).unwrap_or_default();
            trend.sort_by_key(|p| p.start_unix_nano);
            ToolStats {
                trend,
                calls: row.count,
                errors: row.errors,
                success_rate: if row.count == 0 {
                    1.0
                } else {
                    1.0 - row.errors as f64 / row.count as f64
                },
                duration: row.duration,
                error_types: top(by_type, top_n)
                    .into_iter()
                    .map(|(error_type, count)| ErrorCount { error_type, count })
                    .collect(),
                top_errors: top(by_pattern, top_n)
                    .into_iter()
                    .map(|((error_type, pattern), count)| ErrorPattern {
                        error_type,
                        pattern,
                        count,
                    })
                    .collect(),
                tool,
            }
        })
        .collect();
    tools.sort_by(|a, b| (Reverse(a.calls), &a.tool).cmp(&(Reverse(b.calls), &b.tool)));
    ToolsAnswer { range, tools }
}
