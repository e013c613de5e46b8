//! The measures of a rollup row: counters, duration bounds and a duration histogram. The same
//! type is a writer's delta and a query's accumulator.

use agentrace_core::{TokenUsage, Usd};

use super::histogram::{self, Histogram};
use super::key::Facts;
use crate::codec::{self, bound, from_sql, to_sql};
use agentrace_store::series::DurationHistogram;
use agentrace_store::{AggregateRow, GroupKey, Percentiles};

/// The counter columns of `rollups`, in order (checked against the table by a test).
pub(crate) const COUNTERS: [&str; N] = [
    "spans",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "cost_total",
    "priced",
    "unpriced",
    "unpriced_input_tokens",
    "unpriced_output_tokens",
    "unpriced_cache_read_tokens",
    "unpriced_cache_write_tokens",
    "unpriced_cache_write_1h_tokens",
    "unpriced_reasoning_tokens",
];
pub(crate) const N: usize = 17;

pub(crate) const SPANS: usize = 0;
pub(crate) const ERRORS: usize = 1;
/// The six token counts start here (see [`tokens`]).
const TOKENS: usize = 2;
const COST: usize = 8;
const PRICED: usize = 9;
const UNPRICED: usize = 10;
const UNPRICED_TOKENS: usize = 11;

/// Token counts in counter order.
fn tokens(u: &TokenUsage) -> [u64; 6] {
    [
        u.input_tokens,
        u.output_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
        u.cache_write_1h_tokens,
        u.reasoning_or_zero(),
    ]
}

fn usage(c: &[i64]) -> TokenUsage {
    let t = |i: usize| c.get(i).copied().map_or(0, from_sql);
    TokenUsage {
        input_tokens: t(0),
        output_tokens: t(1),
        cache_read_tokens: t(2),
        cache_write_tokens: t(3),
        cache_write_1h_tokens: t(4),
        reasoning_tokens: codec::total_reasoning(t(5)),
    }
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Counters, the smallest and largest duration added, and the duration histogram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Measures {
    pub(crate) counters: [i64; N],
    pub(crate) min: i64,
    pub(crate) max: i64,
    pub(crate) hist: Histogram,
}

impl Default for Measures {
    fn default() -> Self {
        Self {
            counters: [0; N],
            min: i64::MAX,
            max: i64::MIN,
            hist: Histogram::default(),
        }
    }
}

impl Measures {
    /// Adds (`sign` 1) or removes (`sign` −1) a span. Removing leaves the duration bounds as
    /// they were: they only ever widen.
    pub(crate) fn add_span(&mut self, f: &Facts<'_>, sign: i64) {
        let mut delta = [0i64; N];
        delta[SPANS] = 1;
        delta[ERRORS] = i64::from(f.is_error);
        let unpriced = f.is_unpriced();
        for (i, t) in tokens(&f.usage).into_iter().enumerate() {
            delta[TOKENS + i] = to_sql(t);
            if unpriced {
                delta[UNPRICED_TOKENS + i] = to_sql(t);
            }
        }
        delta[COST] = f.cost.unwrap_or(0);
        delta[PRICED] = i64::from(f.cost.is_some());
        delta[UNPRICED] = i64::from(unpriced);
        for (c, d) in self.counters.iter_mut().zip(delta) {
            *c = c.wrapping_add(d.wrapping_mul(sign));
        }
        if sign > 0 {
            let d = bound(f.duration);
            self.min = self.min.min(d);
            self.max = self.max.max(d);
        }
        self.hist.add(histogram::bucket(f.duration), sign);
    }

    /// Adds the counters and bounds of `other`, and its histogram when `with_histogram`.
    pub(crate) fn merge(&mut self, other: &Self, with_histogram: bool) {
        for (c, o) in self.counters.iter_mut().zip(other.counters) {
            *c = c.wrapping_add(o);
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if with_histogram {
            self.hist.merge(&other.hist, 1);
        }
    }

    pub(crate) fn spans(&self) -> u64 {
        count(self.counters[SPANS])
    }

    pub(crate) fn errors(&self) -> u64 {
        count(self.counters[ERRORS])
    }

    pub(crate) fn usage(&self) -> TokenUsage {
        usage(&self.counters[TOKENS..TOKENS + 6])
    }

    /// Cost of the priced spans; `None` when none was priced.
    pub(crate) fn cost(&self) -> Option<Usd> {
        (self.counters[PRICED] > 0).then(|| Usd::from_nanos(self.counters[COST]))
    }

    pub(crate) fn unpriced(&self) -> u64 {
        count(self.counters[UNPRICED])
    }

    /// Duration percentiles from the histogram (see [`Histogram::percentiles`]).
    pub(crate) fn percentiles(&self) -> Percentiles {
        if self.spans() == 0 {
            return Percentiles::default();
        }
        let (min, max) = (from_sql(self.min.max(0)), from_sql(self.max.max(0)));
        self.hist.percentiles(min, max)
    }

    /// An aggregate row of these measures.
    pub(crate) fn row(&self, keys: Vec<GroupKey>) -> AggregateRow {
        AggregateRow {
            keys,
            count: self.spans(),
            errors: self.errors(),
            duration: self.percentiles(),
            durations: DurationHistogram::from_buckets(self.hist.iter()),
            usage: self.usage(),
            cost: self.cost(),
            priced: count(self.counters[PRICED]),
            unpriced: self.unpriced(),
            unpriced_usage: usage(&self.counters[UNPRICED_TOKENS..UNPRICED_TOKENS + 6]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rollup_table_has_the_counters_the_code_writes() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("store.db");
        crate::SqliteStore::open(&path)?;
        let conn = rusqlite::Connection::open(&path)?;
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('rollups')")?;
        let columns: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut expected = vec!["tier", "bucket_ns", "key_id"];
        expected.extend(COUNTERS);
        expected.extend(["duration_min", "duration_max", "histogram"]);
        assert_eq!(columns, expected);
        Ok(())
    }
}
