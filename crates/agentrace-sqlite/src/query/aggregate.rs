//! Aggregates: grouped counts, error counts, duration percentiles, tokens and cost; the
//! overview summary; sessions.
//!
//! Spans are read in one pass and grouped here rather than in SQL: exact nearest-rank
//! percentiles need every duration of a group sorted, which SQLite's window functions do
//! several times slower than sorting integers in memory, and one pass can feed several
//! groupings at once (the summary needs four).

use std::collections::HashMap;

use agentrace_core::{SpanKind, TokenUsage, Usd};
use rusqlite::{Connection, Row, params_from_iter};

use super::filter::{self, MCP_SERVER_SQL, Where};
use crate::codec::{self, STATUS_ERROR, from_sql};
use crate::error::Db;
use agentrace_store::QueryError;
use agentrace_store::series::DurationHistogram;
use agentrace_store::{
    AggregateRow, GroupBy, GroupKey, Percentiles, SpanFilter, Summary, TimeRange,
};

/// The measures of a span, read from [`FACT_COLUMNS`].
struct Fact {
    kind: SpanKind,
    duration: u64,
    is_error: bool,
    usage: TokenUsage,
    cost: Option<i64>,
    aggregate: bool,
}

/// The columns [`fact`] reads, first in every aggregate query.
const FACT_COLUMNS: &str = "s.kind, s.duration_ns, s.status_code, s.input_tokens, \
     s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens, \
     s.cost_total, s.cache_write_1h_tokens, s.aggregate";
const FACTS: usize = 11;

fn fact(row: &Row<'_>) -> Result<Fact, QueryError> {
    let kind = match row.get_ref(0).db()?.as_str() {
        Ok(name) => name
            .parse()
            .map_err(|e| QueryError::decode("span kind", e))?,
        Err(e) => return Err(QueryError::decode("span kind", e)),
    };
    Ok(Fact {
        kind,
        duration: from_sql(codec::int(row, 1)?),
        is_error: codec::int(row, 2)? == STATUS_ERROR,
        usage: TokenUsage {
            input_tokens: from_sql(codec::int(row, 3)?),
            output_tokens: from_sql(codec::int(row, 4)?),
            cache_read_tokens: from_sql(codec::int(row, 5)?),
            cache_write_tokens: from_sql(codec::int(row, 6)?),
            cache_write_1h_tokens: from_sql(codec::int(row, 9)?),
            reasoning_tokens: codec::total_reasoning(from_sql(codec::int(row, 7)?)),
        },
        cost: codec::opt_int(row, 8)?,
        aggregate: codec::int(row, 10)? != 0,
    })
}

impl Fact {
    fn is_unpriced(&self) -> bool {
        codec::is_unpriced(self.kind, &self.usage, self.cost.is_some(), self.aggregate)
    }

    /// Priced, or billable without a price (see [`codec::is_unpriced`]).
    fn is_billable(&self) -> bool {
        self.cost.is_some() || self.is_unpriced()
    }
}

/// The running totals of one group.
#[derive(Debug, Default)]
struct Acc {
    count: u64,
    errors: u64,
    durations: Vec<u64>,
    usage: TokenUsage,
    cost: Option<i64>,
    priced: u64,
    unpriced: u64,
    unpriced_usage: TokenUsage,
}

impl Acc {
    fn add(&mut self, f: &Fact) {
        self.count += 1;
        self.errors += u64::from(f.is_error);
        self.durations.push(f.duration);
        self.usage += f.usage;
        if let Some(c) = f.cost {
            self.cost = Some(self.cost.unwrap_or(0).saturating_add(c));
            self.priced += 1;
        }
        if f.is_unpriced() {
            self.unpriced += 1;
            self.unpriced_usage += f.usage;
        }
    }

    /// Nearest-rank percentiles: the value at rank ⌈p·n/100⌉ (1-based) of the sorted values.
    fn percentiles(&mut self) -> Percentiles {
        self.durations.sort_unstable();
        let n = self.durations.len();
        let at = |p: usize| -> u64 {
            let rank = (p * n).div_ceil(100).max(1);
            self.durations.get(rank - 1).copied().unwrap_or(0)
        };
        Percentiles {
            p50_ns: at(50),
            p95_ns: at(95),
            p99_ns: at(99),
        }
    }

    fn row(mut self, keys: Vec<GroupKey>) -> AggregateRow {
        AggregateRow {
            keys,
            count: self.count,
            errors: self.errors,
            duration: self.percentiles(),
            durations: DurationHistogram::from_durations(self.durations.iter().copied()),
            usage: self.usage,
            cost: self.cost.map(Usd::from_nanos),
            priced: self.priced,
            unpriced: self.unpriced,
            unpriced_usage: self.unpriced_usage,
        }
    }
}

/// The column a dimension reads (a time bucket reads the start and is computed here).
fn group_column(g: GroupBy) -> Result<std::borrow::Cow<'static, str>, QueryError> {
    Ok(std::borrow::Cow::Borrowed(match g {
        GroupBy::Model => "coalesce(s.response_model, s.request_model)",
        GroupBy::Provider => "s.provider",
        GroupBy::Agent => "s.agent_name",
        GroupBy::Framework => "s.framework",
        GroupBy::Kind => "s.kind",
        GroupBy::Service => "s.service_name",
        GroupBy::Tool => "s.tool_name",
        GroupBy::Operation => "s.operation",
        GroupBy::McpServer => MCP_SERVER_SQL,
        GroupBy::Session => "s.session_id",
        GroupBy::User => "s.user_id",
        GroupBy::TimeBucket { width_ns: 0 } => {
            return Err(QueryError::Invalid(
                "a time bucket must be at least 1 ns wide".into(),
            ));
        }
        GroupBy::TimeBucket { .. } => "s.start_ns",
        // The key's characters need no quoting (`AttributeKey`).
        GroupBy::Attribute(key) => {
            return Ok(std::borrow::Cow::Owned(format!(
                "coalesce(CAST(json_extract(s.attributes, '$.\"{key}\"') AS TEXT), \
                 (SELECT CAST(json_extract(r.attributes, '$.\"{key}\"') AS TEXT) \
                  FROM resources AS r WHERE r.id = s.resource_id))"
            )));
        }
    }))
}

fn group_key(row: &Row<'_>, idx: usize, g: GroupBy) -> Result<GroupKey, QueryError> {
    Ok(match g {
        GroupBy::TimeBucket { width_ns } => {
            let start = from_sql(codec::int(row, idx)?);
            GroupKey::Bucket(start - start % width_ns.max(1))
        }
        _ => match codec::opt_text(row, idx)? {
            Some(v) => GroupKey::Value(v),
            None => GroupKey::None,
        },
    })
}

/// Spans matching `filter` grouped by `group_by`, read one by one.
pub(crate) fn aggregate(
    conn: &Connection,
    filter: &SpanFilter,
    group_by: &[GroupBy],
) -> Result<Vec<AggregateRow>, QueryError> {
    let mut w = Where::default();
    filter::spans(&mut w, filter);
    let mut columns = FACT_COLUMNS.to_owned();
    for g in group_by {
        columns.push_str(", ");
        columns.push_str(&group_column(*g)?);
    }
    let sql = format!("SELECT {columns} FROM spans AS s WHERE {}", w.sql());
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
    let mut groups: HashMap<Vec<GroupKey>, Acc> = HashMap::new();
    while let Some(row) = rows.next().db()? {
        let f = fact(row)?;
        let mut keys = Vec::with_capacity(group_by.len());
        for (i, g) in group_by.iter().enumerate() {
            keys.push(group_key(row, FACTS + i, *g)?);
        }
        groups.entry(keys).or_default().add(&f);
    }
    let mut out: Vec<_> = groups.into_iter().map(|(k, acc)| acc.row(k)).collect();
    out.sort_by(AggregateRow::key_order);
    Ok(out)
}

/// Groups by a text key without allocating for keys seen before.
#[derive(Default)]
struct ByText {
    groups: HashMap<String, Acc>,
    none: Acc,
}

impl ByText {
    fn add(&mut self, key: Option<&str>, f: &Fact) {
        let acc = match key {
            None => &mut self.none,
            Some(k) => {
                if !self.groups.contains_key(k) {
                    self.groups.insert(k.to_owned(), Acc::default());
                }
                match self.groups.get_mut(k) {
                    Some(acc) => acc,
                    None => return,
                }
            }
        };
        acc.add(f);
    }

    /// Rows, costliest first.
    fn rows(self) -> Vec<AggregateRow> {
        let mut rows: Vec<_> = self
            .groups
            .into_iter()
            .map(|(k, acc)| acc.row(vec![GroupKey::Value(k)]))
            .collect();
        if self.none.count > 0 {
            rows.push(self.none.row(vec![GroupKey::None]));
        }
        AggregateRow::sort_by_cost(&mut rows);
        rows
    }
}

/// Traces starting in `range`.
fn count_traces(conn: &Connection, range: TimeRange) -> Result<u64, QueryError> {
    let mut w = Where::default();
    w.range("t.start_ns", &range);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM traces AS t WHERE {}",
            w.sql()
        ))
        .db()?;
    let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
    match rows.next().db()? {
        Some(row) => codec::count(row, 0),
        None => Ok(0),
    }
}

pub(super) fn summary(conn: &Connection, range: TimeRange) -> Result<Summary, QueryError> {
    let mut w = Where::default();
    w.range("s.start_ns", &range);
    let sql = format!(
        "SELECT {FACT_COLUMNS}, coalesce(s.response_model, s.request_model), s.agent_name
         FROM spans AS s WHERE {}",
        w.sql()
    );
    let mut all = Acc::default();
    let mut llm = Acc::default();
    let mut by_model = ByText::default();
    let mut by_agent = ByText::default();
    {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
        while let Some(row) = rows.next().db()? {
            let f = fact(row)?;
            all.count += 1;
            all.errors += u64::from(f.is_error);
            all.usage += f.usage;
            if let Some(c) = f.cost {
                all.cost = Some(all.cost.unwrap_or(0).saturating_add(c));
                all.priced += 1;
            }
            if f.is_unpriced() {
                all.unpriced += 1;
                all.unpriced_usage += f.usage;
            }
            // An aggregate is a span, not a call (docs/conventions.md, "Aggregates").
            if f.kind == SpanKind::Llm && !f.aggregate {
                llm.add(&f);
            }
            if f.is_billable() {
                let text = |i| -> Result<Option<&str>, QueryError> {
                    match row.get_ref(i).db()? {
                        rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t)
                            .map(Some)
                            .map_err(|e| QueryError::decode("text column", e)),
                        _ => Ok(None),
                    }
                };
                if let Some(model) = text(FACTS)? {
                    by_model.add(Some(model), &f);
                }
                by_agent.add(text(FACTS + 1)?, &f);
            }
        }
    }
    let traces = count_traces(conn, range)?;
    let (requests, errors) = (llm.count, llm.errors);
    let latency = (requests > 0).then(|| llm.percentiles());
    Ok(Summary {
        range,
        traces,
        spans: all.count,
        span_errors: all.errors,
        requests,
        errors,
        error_rate: if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        },
        latency,
        usage: all.usage,
        cost: all.cost.map(Usd::from_nanos),
        priced: all.priced,
        unpriced: all.unpriced,
        unpriced_usage: all.unpriced_usage,
        by_model: by_model.rows(),
        by_agent: by_agent.rows(),
    })
}
