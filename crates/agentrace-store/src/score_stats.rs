//! Statistics of one score over a time range, split by what it judged: the count, mean, range
//! and distribution of its values (the share passed, for a boolean), the count of each label,
//! and its trend per time bucket — per model, agent, service, prompt or any attribute of the
//! span it judged (a trace: its root span), per source or annotator kind, or all together.
//!
//! Computed here once, for every store, from the store's scores ([`Scores::scores`]) and the
//! spans they judge ([`TraceReader::judged_spans`]). The newest [`MAX_STATS_SCORES`] of the range
//! are read; [`ScoreStats::sampled`] says when there were more.

use std::collections::{BTreeMap, HashMap};

use agentrace_core::semconv::{agentrace, langfuse, openinference};
use agentrace_core::{Score, ScoreKind, ScoreSource, ScoreTarget, SpanRecord};
use serde::{Deserialize, Serialize};

use crate::error::QueryError;
use crate::model::AttributeKey;
use crate::read::{MAX_TARGETS_A_LOOKUP, TraceReader};
use crate::scores::{ScoreFilter, ScoreQuery, Scores};
use crate::time_range::TimeRange;

/// Scores one statistics reads at most (the newest of the range).
pub const MAX_STATS_SCORES: usize = 20_000;

/// Bins of a numeric score's distribution.
const BINS: usize = 10;

/// Labels a group lists at most (the most frequent).
const MAX_LABELS: usize = 20;

/// What scores are split by; named as `group_by` names it (`model`, `attr:customer.id`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScoreDimension {
    /// All together.
    #[default]
    None,
    /// The judged span's model (responding, else requested).
    Model,
    /// Its agent.
    Agent,
    /// Its service.
    Service,
    /// Its prompt ([`prompt_of`]).
    Prompt,
    /// The score's source.
    Source,
    /// The score's annotator kind.
    Annotator,
    /// An attribute of the judged span (`attr:<key>`), else of its resource.
    Attribute(AttributeKey),
}

impl ScoreDimension {
    /// The dimensions with a name, by name.
    const NAMED: [(&'static str, Self); 7] = [
        ("none", Self::None),
        ("model", Self::Model),
        ("agent", Self::Agent),
        ("service", Self::Service),
        ("prompt", Self::Prompt),
        ("source", Self::Source),
        ("annotator", Self::Annotator),
    ];

    /// The prefix of an attribute dimension: `attr:customer.id`.
    pub const ATTRIBUTE_PREFIX: &'static str = "attr:";
}

impl std::fmt::Display for ScoreDimension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Attribute(key) => write!(f, "{}{key}", Self::ATTRIBUTE_PREFIX),
            named => {
                let name = Self::NAMED
                    .iter()
                    .find(|(_, d)| d == named)
                    .map_or("none", |(n, _)| n);
                f.write_str(name)
            }
        }
    }
}

impl std::str::FromStr for ScoreDimension {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(key) = s.strip_prefix(Self::ATTRIBUTE_PREFIX) {
            return AttributeKey::new(key).map(Self::Attribute);
        }
        Self::NAMED
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, d)| *d)
            .ok_or_else(|| {
                format!(
                    "{s:?} is not none, model, agent, service, prompt, source, annotator or attr:<key>"
                )
            })
    }
}

impl Serialize for ScoreDimension {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScoreDimension {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Which statistics.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScoreStatsQuery {
    /// The score's name.
    pub name: String,
    /// Given within this range.
    pub range: TimeRange,
    /// Only of this source.
    pub source: Option<ScoreSource>,
    /// Split by.
    pub group_by: ScoreDimension,
    /// The trend's bucket, in nanoseconds.
    pub bucket_ns: u64,
}

impl ScoreStatsQuery {
    /// The statistics of `name` in `range` per `bucket_ns`, all together.
    pub fn new(name: impl Into<String>, range: TimeRange, bucket_ns: u64) -> Self {
        Self {
            name: name.into(),
            range,
            source: None,
            group_by: ScoreDimension::None,
            bucket_ns: bucket_ns.max(1),
        }
    }
}

/// A bin of a numeric distribution: `[lower, upper)` (the last one closed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    /// Its lower bound.
    pub lower: f64,
    /// Its upper bound.
    pub upper: f64,
    /// Values in it.
    pub count: u64,
}

/// A label and how many scores gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelCount {
    /// The label.
    pub label: String,
    /// How many.
    pub count: u64,
}

/// One time bucket of a group's trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// The bucket's start.
    pub start_unix_nano: u64,
    /// Scores in it.
    pub count: u64,
    /// Their mean value (`None`: none has a value).
    pub mean: Option<f64>,
}

/// The statistics of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ScoreGroup {
    /// The group (`None`: the dimension is unknown for these, e.g. a session's scores by
    /// model; all scores when not split).
    pub key: Option<String>,
    /// Scores.
    pub count: u64,
    /// Their mean value (of those with one).
    pub mean: Option<f64>,
    /// The least value.
    pub min: Option<f64>,
    /// The greatest.
    pub max: Option<f64>,
    /// A boolean's share of passes (value 1).
    pub pass_rate: Option<f64>,
    /// A numeric score's distribution over bins shared by every group.
    pub histogram: Vec<Bin>,
    /// The most frequent labels (categorical and boolean scores), most frequent first.
    pub labels: Vec<LabelCount>,
    /// Per bucket of the range, oldest first (buckets without scores left out).
    pub trend: Vec<TrendPoint>,
}

/// The statistics of one score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ScoreStats {
    /// The score.
    pub name: String,
    /// Its kind (the newest score's), `None` without scores.
    pub kind: Option<ScoreKind>,
    /// Scores read.
    pub count: u64,
    /// Whether the range held more than [`MAX_STATS_SCORES`] (the newest were read).
    pub sampled: bool,
    /// Split by.
    pub group_by: ScoreDimension,
    /// The trend's bucket.
    pub bucket_ns: u64,
    /// The groups, largest first (the unknown group last).
    pub groups: Vec<ScoreGroup>,
}

/// The prompt a span used: `agentrace.prompt`, else Langfuse's prompt name (with its version:
/// `support-answer@3`), else OpenInference's template version.
pub fn prompt_of(span: &SpanRecord) -> Option<String> {
    let text = |key: &str| span.attributes.get(key).map(ToString::to_string);
    text(agentrace::PROMPT)
        .or_else(|| {
            text(langfuse::PROMPT_NAME).map(|name| match text(langfuse::PROMPT_VERSION) {
                Some(version) => format!("{name}@{version}"),
                None => name,
            })
        })
        .or_else(|| text(openinference::PROMPT_TEMPLATE_VERSION))
}

/// The value of `dimension` for a span.
fn of_span(dimension: ScoreDimension, span: &SpanRecord) -> Option<String> {
    match dimension {
        ScoreDimension::Model => span.model().map(str::to_owned),
        ScoreDimension::Agent => span.agent_name.as_deref().map(str::to_owned),
        ScoreDimension::Service => Some(span.resource.service_name.clone()),
        ScoreDimension::Prompt => prompt_of(span),
        ScoreDimension::Attribute(key) => span
            .attributes
            .get(key.as_str())
            .or_else(|| span.resource.attributes.get(key.as_str()))
            .map(ToString::to_string),
        ScoreDimension::None | ScoreDimension::Source | ScoreDimension::Annotator => None,
    }
}

/// The statistics `query` asks for, from `store`.
///
/// # Errors
/// What the store's reads fail with.
pub fn score_stats(
    store: &(impl Scores + TraceReader + ?Sized),
    query: &ScoreStatsQuery,
) -> Result<ScoreStats, QueryError> {
    let mut filter = ScoreFilter::new();
    filter.name = Some(query.name.clone());
    filter.range = query.range;
    filter.source = query.source;
    let mut page_query = ScoreQuery::new(filter, 5_000);
    let mut scores: Vec<Score> = Vec::new();
    let sampled = loop {
        let page = store.scores(&page_query)?;
        scores.extend(page.scores);
        match page.next_cursor {
            Some(_) if scores.len() >= MAX_STATS_SCORES => break true,
            Some(cursor) => page_query = page_query.after(Some(cursor)),
            None => break false,
        }
    };
    scores.truncate(MAX_STATS_SCORES);
    let keys = group_keys(store, &scores, query.group_by)?;
    Ok(aggregate(query, &scores, &keys, sampled))
}

/// Each score's group.
fn group_keys(
    store: &(impl Scores + TraceReader + ?Sized),
    scores: &[Score],
    dimension: ScoreDimension,
) -> Result<Vec<Option<String>>, QueryError> {
    match dimension {
        ScoreDimension::None => return Ok(vec![None; scores.len()]),
        ScoreDimension::Source => {
            return Ok(scores
                .iter()
                .map(|s| Some(s.source.as_str().to_owned()))
                .collect());
        }
        ScoreDimension::Annotator => {
            return Ok(scores
                .iter()
                .map(|s| Some(s.annotator.as_str().to_owned()))
                .collect());
        }
        _ => {}
    }
    let mut targets: Vec<ScoreTarget> = scores.iter().map(|s| s.target.clone()).collect();
    targets.sort_by_key(ScoreTarget::key);
    targets.dedup();
    let mut found: HashMap<String, Option<String>> = HashMap::new();
    for chunk in targets.chunks(MAX_TARGETS_A_LOOKUP) {
        for span in store.judged_spans(chunk)? {
            let value = of_span(dimension, &span);
            let span_key = ScoreTarget::Span {
                span_id: span.span_id,
                trace_id: Some(span.trace_id),
            }
            .key();
            found.insert(span_key, value.clone());
            if span.parent_span_id.is_none() {
                found
                    .entry(ScoreTarget::Trace(span.trace_id).key())
                    .or_insert(value);
            }
        }
    }
    Ok(scores
        .iter()
        .map(|s| found.get(&s.target.key()).cloned().flatten())
        .collect())
}

/// The statistics of `scores`, each in the group `keys` gives it.
fn aggregate(
    query: &ScoreStatsQuery,
    scores: &[Score],
    keys: &[Option<String>],
    sampled: bool,
) -> ScoreStats {
    let kind = scores.first().map(|s| s.kind);
    let values: Vec<f64> = scores.iter().filter_map(|s| s.value).collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut by_key: BTreeMap<Option<String>, Vec<&Score>> = BTreeMap::new();
    for (score, key) in scores.iter().zip(keys) {
        by_key.entry(key.clone()).or_default().push(score);
    }
    let mut groups: Vec<ScoreGroup> = by_key
        .into_iter()
        .map(|(key, members)| group(key, &members, kind, (lo, hi), query))
        .collect();
    groups.sort_by(|a, b| {
        (a.key.is_none(), std::cmp::Reverse(a.count), &a.key).cmp(&(
            b.key.is_none(),
            std::cmp::Reverse(b.count),
            &b.key,
        ))
    });
    ScoreStats {
        name: query.name.clone(),
        kind,
        count: scores.len() as u64,
        sampled,
        group_by: query.group_by,
        bucket_ns: query.bucket_ns,
        groups,
    }
}

fn group(
    key: Option<String>,
    members: &[&Score],
    kind: Option<ScoreKind>,
    (lo, hi): (f64, f64),
    query: &ScoreStatsQuery,
) -> ScoreGroup {
    let values: Vec<f64> = members.iter().filter_map(|s| s.value).collect();
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let histogram = match kind {
        Some(ScoreKind::Numeric) if lo.is_finite() && hi.is_finite() => {
            let width = if hi > lo {
                (hi - lo) / BINS as f64
            } else {
                1.0
            };
            let mut bins: Vec<Bin> = (0..BINS)
                .map(|i| Bin {
                    lower: lo + i as f64 * width,
                    upper: lo + (i + 1) as f64 * width,
                    count: 0,
                })
                .collect();
            for v in &values {
                // By the share of the range (with a hair of slack, so that 0.6 of [0, 1] is in
                // the bin starting at 0.6, not the one before).
                let share = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
                let i = ((share * BINS as f64 + 1e-9).floor() as usize).min(BINS - 1);
                bins[i].count += 1;
            }
            bins
        }
        _ => Vec::new(),
    };
    let labels = match kind {
        Some(ScoreKind::Categorical | ScoreKind::Boolean) => {
            let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
            for label in members.iter().filter_map(|s| s.label.as_deref()) {
                *counts.entry(label).or_default() += 1;
            }
            let mut labels: Vec<LabelCount> = counts
                .into_iter()
                .map(|(label, count)| LabelCount {
                    label: label.to_owned(),
                    count,
                })
                .collect();
            labels.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
            labels.truncate(MAX_LABELS);
            labels
        }
        _ => Vec::new(),
    };
    let mut buckets: BTreeMap<u64, Vec<Option<f64>>> = BTreeMap::new();
    for s in members {
        let start = s.time_unix_nano - s.time_unix_nano % query.bucket_ns;
        buckets.entry(start).or_default().push(s.value);
    }
    let trend = buckets
        .into_iter()
        .map(|(start_unix_nano, vs)| {
            let with: Vec<f64> = vs.iter().flatten().copied().collect();
            TrendPoint {
                start_unix_nano,
                count: vs.len() as u64,
                mean: mean(&with),
            }
        })
        .collect();
    ScoreGroup {
        key,
        count: members.len() as u64,
        mean: mean(&values),
        min: values.iter().copied().reduce(f64::min),
        max: values.iter().copied().reduce(f64::max),
        pass_rate: (kind == Some(ScoreKind::Boolean))
            .then(|| mean(&values))
            .flatten(),
        histogram,
        labels,
        trend,
    }
}
