//! The tools page's answer, assembled the same way from any store's groups: calls, failures
//! and durations per tool (a tool named by its MCP server and its name: two servers' `search`
//! are two tools), its trend, and its most frequent error types and patterns; split, when
//! asked, by the value of an attribute (`group_by=attr:customer.id`: each tool once per
//! customer).

use std::cmp::Reverse;
use std::collections::HashMap;

use crate::model::{
    AggregateRow, AttributeKey, AttributeSplit, ErrorCount, ErrorPattern, GroupBy, GroupKey,
    ToolPoint, ToolStats, ToolsAnswer,
};
use crate::time_range::TimeRange;

/// One tool's failures: by error type, and by type and message pattern.
type Failures = (
    HashMap<Option<String>, i64>,
    HashMap<(Option<String>, Option<String>), i64>,
);

/// A tool: its MCP server (`None` for the agent's own) and its name.
pub type ToolId = (Option<String>, Option<String>);

/// The dimensions a store groups tool calls by for [`tools_answer`]'s `rows` (and, followed by
/// a time bucket, its `points`).
pub const TOOL_GROUPS: [GroupBy; 2] = [GroupBy::McpServer, GroupBy::Tool];

/// A row of the answer: a tool, and its split's value (`None`: unsplit, or no value).
type RowId = (ToolId, Option<String>);

/// Failed tool calls, counted by tool (and split value) as a store reads them.
#[derive(Debug, Default)]
pub struct ToolFailures(HashMap<RowId, Failures>);

impl ToolFailures {
    /// Adds `count` failures (possibly a negative delta) of `tool` with `error_type` and
    /// message `pattern`.
    pub fn add(
        &mut self,
        tool: ToolId,
        error_type: Option<String>,
        pattern: Option<String>,
        count: i64,
    ) {
        self.add_split(tool, None, error_type, pattern, count);
    }

    /// [`add`](Self::add) for a tool split by an attribute: the failures of `tool` whose
    /// attribute is `value`.
    pub fn add_split(
        &mut self,
        tool: ToolId,
        value: Option<String>,
        error_type: Option<String>,
        pattern: Option<String>,
        count: i64,
    ) {
        let (by_type, by_pattern) = self.0.entry((tool, value)).or_default();
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

fn value_of(key: Option<&GroupKey>) -> Option<String> {
    key.and_then(GroupKey::as_str).map(str::to_owned)
}

/// The dimensions tool calls are grouped by: [`TOOL_GROUPS`], then the split's attribute.
pub fn tool_groups(split: Option<AttributeKey>) -> Vec<GroupBy> {
    TOOL_GROUPS
        .into_iter()
        .chain(split.map(GroupBy::Attribute))
        .collect()
}

/// The tool and split value of a row grouped by [`tool_groups`] (and maybe more).
fn row_of(row: &AggregateRow, split: Option<AttributeKey>) -> RowId {
    let tool = (value_of(row.keys.first()), value_of(row.keys.get(1)));
    let value = split.and_then(|_| value_of(row.keys.get(TOOL_GROUPS.len())));
    (tool, value)
}

/// The answer over `range`: `rows` grouped by [`tool_groups`] of `split`, `points` by those
/// and a time bucket (the trends; empty without), `failures`, the `top` error types and
/// patterns of each; busiest tool first.
pub fn tools_answer(
    range: TimeRange,
    split: Option<AttributeKey>,
    rows: Vec<AggregateRow>,
    points: Vec<AggregateRow>,
    mut failures: ToolFailures,
    top_n: usize,
) -> ToolsAnswer {
    let bucket_at = TOOL_GROUPS.len() + usize::from(split.is_some());
    let mut trends: HashMap<RowId, Vec<ToolPoint>> = HashMap::new();
    for p in points {
        let Some(GroupKey::Bucket(start_unix_nano)) = p.keys.get(bucket_at) else {
            continue;
        };
        trends
            .entry(row_of(&p, split))
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
            let id = row_of(&row, split);
            let (by_type, by_pattern) = failures.0.remove(&id).unwrap_or_default();
            let mut trend = trends.remove(&id).unwrap_or_default();
            let ((mcp_server, tool), value) = id;
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
                mcp_server,
                attribute: split.map(|key| AttributeSplit {
                    key: key.as_str().to_owned(),
                    value,
                }),
            }
        })
        .collect();
    let order = |t: &ToolStats| {
        let value = t.attribute.as_ref().and_then(|a| a.value.clone());
        // Calls without the attribute after those with it.
        (
            Reverse(t.calls),
            t.tool.clone(),
            t.mcp_server.clone(),
            value.is_none(),
            value,
        )
    };
    tools.sort_by_cached_key(order);
    ToolsAnswer { range, tools }
}
