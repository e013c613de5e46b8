//! Tallies: how many units a query counts, how many are within a threshold, how many could not
//! be judged; what cost objectives (and, by score, quality objectives) are made of.

use agentrace_core::Usd;
use agentrace_core::cost::CostUnit;

use crate::error::QueryError;
use crate::time_range::TimeRange;

/// The tally of a read in one bucket (a store's plain tally, read as its tally by bucket
/// with every row in one): that bucket's, nothing counted without one.
pub fn whole_tally<T: Default>(buckets: Vec<(u64, T)>) -> T {
    buckets
        .into_iter()
        .next()
        .map_or_else(T::default, |(_, tally)| tally)
}

/// Refuses a bucket width of 0, for a store's
/// [`cost_tally_by_bucket`](crate::Analytics::cost_tally_by_bucket) and
/// [`score_tally_by_bucket`](crate::Scores::score_tally_by_bucket).
///
/// # Errors
/// [`QueryError::Invalid`] for 0.
pub fn check_bucket_width(width_ns: u64) -> Result<u64, QueryError> {
    if width_ns == 0 {
        return Err(QueryError::Invalid("a bucket width of 0".into()));
    }
    Ok(width_ns)
}

/// The traces, sessions or agent runs a [`Analytics::cost_tally`](crate::Analytics::cost_tally) counts: those starting in
/// `range` (a session: its traces that do), whose trace head (root, else earliest span) is of
/// `service`, `agent` and `user` where given — as the trace list names them; an agent run (an
/// agent span) by its own service, agent and user (attributed: a sub-agent's user is its
/// caller's).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CostTallyQuery {
    /// Traces or sessions.
    pub of: CostUnit,
    /// Traces starting within it.
    pub range: TimeRange,
    /// The head's service.
    pub service: Option<String>,
    /// The trace's agent.
    pub agent: Option<String>,
    /// The trace's user.
    pub user: Option<String>,
    /// The most a cheap one costs (included).
    pub threshold: Usd,
}

impl CostTallyQuery {
    /// Every trace or session of `range`, cheap at `threshold` or less.
    pub fn new(of: CostUnit, range: TimeRange, threshold: Usd) -> Self {
        Self {
            of,
            range,
            service: None,
            agent: None,
            user: None,
            threshold,
        }
    }
}

/// What a [`Analytics::cost_tally`](crate::Analytics::cost_tally) found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CostTally {
    /// Traces or sessions selected.
    pub counted: u64,
    /// Of them, priced in full and at most the threshold (no cost at all is $0).
    pub within: u64,
    /// Of them, with an unpriced billable call: their cost is not known.
    pub unpriced: u64,
}

impl CostTally {
    /// `within` and `unpriced` of `counted`.
    pub const fn new(counted: u64, within: u64, unpriced: u64) -> Self {
        Self {
            counted,
            within,
            unpriced,
        }
    }

    /// Counts one trace, session or run of `cost`: of unknown cost if `unpriced` (it holds an
    /// unpriced call), else within at `threshold` or less.
    pub fn count(&mut self, cost: Usd, unpriced: bool, threshold: Usd) {
        self.counted += 1;
        if unpriced {
            self.unpriced += 1;
        } else if cost <= threshold {
            self.within += 1;
        }
    }

    /// Takes back a [`count`](Self::count) of the same `cost`, `unpriced` and `threshold`
    /// (to count the unit again, judged on more of it).
    pub fn uncount(&mut self, cost: Usd, unpriced: bool, threshold: Usd) {
        self.counted = self.counted.saturating_sub(1);
        if unpriced {
            self.unpriced = self.unpriced.saturating_sub(1);
        } else if cost <= threshold {
            self.within = self.within.saturating_sub(1);
        }
    }
}

/// A session's part of one bucket, as [`Analytics::session_costs_by_bucket`](crate::Analytics::session_costs_by_bucket) gives it: the
/// cost of its traces starting in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionCost {
    /// The bucket's start.
    pub bucket: u64,
    /// The session.
    pub session_id: String,
    /// The summed cost of its priced calls.
    pub cost: Usd,
    /// How many unpriced billable calls they hold.
    pub unpriced: u64,
}

impl SessionCost {
    /// `session_id`'s part of the bucket starting at `bucket`.
    pub fn new(bucket: u64, session_id: impl Into<String>, cost: Usd, unpriced: u64) -> Self {
        Self {
            bucket,
            session_id: session_id.into(),
            cost,
            unpriced,
        }
    }
}
