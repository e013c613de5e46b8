//! The scores this server stored, as Prometheus series on `/metrics`, for quality in
//! Prometheus (the alert rules' export reads them: `score_mean`, `score_pass_rate`):
//!
//! | series | type | labels |
//! |---|---|---|
//! | `agentrace_scores_total` | counter | `score_name`, `score_source` |
//! | `agentrace_score_value_sum`, `agentrace_score_value_count` | summary of the values | the same |
//! | `agentrace_score_passed_total` | counter (boolean scores that passed) | the same |
//!
//! Low in cardinality: a score's name (the evaluators', the annotations', the judges' — a
//! few) and its source (three); past [`MAX_NAMES`] names, the others count as `other`. Each
//! node counts what it stored since it started (Prometheus sums the nodes); a score written
//! again under its id counts again.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use agentrace_core::{Score, ScoreKind};

/// Score names kept apart at most.
pub(crate) const MAX_NAMES: usize = 100;

/// What the series count of one name and source.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    scores: u64,
    values: u64,
    sum: f64,
    passed: u64,
}

/// A series family: its name, type, help, and its value of each name and source.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Counts) -> String,
);

/// The counts by name and source.
#[derive(Debug, Default)]
pub(crate) struct ScoreMetrics {
    by: Mutex<BTreeMap<(String, &'static str), Counts>>,
}

impl ScoreMetrics {
    /// Counts `scores`, just stored.
    pub(crate) fn record(&self, scores: &[Score]) {
        let mut by = self.by.lock().unwrap_or_else(PoisonError::into_inner);
        for score in scores {
            let known = by.keys().any(|(n, _)| *n == score.name);
            let names = by
                .keys()
                .map(|(n, _)| n)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            let name = if known || names < MAX_NAMES {
                score.name.clone()
            } else {
                "other".to_owned()
            };
            let counts = by.entry((name, score.source.as_str())).or_default();
            counts.scores += 1;
            if let Some(v) = score.value {
                counts.values += 1;
                counts.sum += v;
                if score.kind == ScoreKind::Boolean && v >= 1.0 {
                    counts.passed += 1;
                }
            }
        }
    }

    /// The series in the Prometheus text format (nothing before the first score).
    pub(crate) fn render(&self) -> String {
        let by = self.by.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        if by.is_empty() {
            return out;
        }
        let families: [Family; 4] = [
            (
                "agentrace_scores_total",
                "counter",
                "Scores stored, by name and source.",
                |c| c.scores.to_string(),
            ),
            (
                "agentrace_score_value_sum",
                "counter",
                "The sum of the stored scores' values (with agentrace_score_value_count: their mean).",
                |c| c.sum.to_string(),
            ),
            (
                "agentrace_score_value_count",
                "counter",
                "Stored scores with a value.",
                |c| c.values.to_string(),
            ),
            (
                "agentrace_score_passed_total",
                "counter",
                "Boolean scores stored that passed (value 1).",
                |c| c.passed.to_string(),
            ),
        ];
        for (name, kind, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((score, source), counts) in by.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{score_name=\"{}\",score_source=\"{source}\"}} {}",
                    crate::telemetry::exposition::escape(score),
                    value(counts)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use agentrace_core::{ScoreTarget, ScoreValue, TraceId};

    use super::*;

    fn score(name: &str, kind: ScoreKind, value: f64) -> Score {
        Score::new(
            ScoreTarget::Trace(TraceId::from_bytes([1; 16])),
            name,
            ScoreValue {
                kind: Some(kind),
                value: Some(value),
                label: None,
            },
        )
        .expect("a score")
    }

    #[test]
    fn scores_are_counted_by_name_and_source_with_few_names() {
        let m = ScoreMetrics::default();
        assert_eq!(m.render(), "");
        m.record(&[
            score("helpfulness", ScoreKind::Numeric, 0.5),
            score("helpfulness", ScoreKind::Numeric, 1.0),
            score("json \"ok\"", ScoreKind::Boolean, 1.0),
            score("json \"ok\"", ScoreKind::Boolean, 0.0),
        ]);
        let text = m.render();
        for line in [
            "agentrace_scores_total{score_name=\"helpfulness\",score_source=\"api\"} 2",
            "agentrace_score_value_sum{score_name=\"helpfulness\",score_source=\"api\"} 1.5",
            "agentrace_score_value_count{score_name=\"helpfulness\",score_source=\"api\"} 2",
            "agentrace_score_passed_total{score_name=\"json \\\"ok\\\"\",score_source=\"api\"} 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        let many: Vec<Score> = (0..MAX_NAMES + 5)
            .map(|i| score(&format!("s{i}"), ScoreKind::Numeric, 1.0))
            .collect();
        m.record(&many);
        let text = m.render();
        assert!(
            text.contains("agentrace_scores_total{score_name=\"other\",score_source=\"api\"} 7"),
            "{text}"
        );
    }
}
