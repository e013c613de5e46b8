//! The evaluators file: the judges, and the rules that say what each evaluator judges.
//!
//! ```toml
//! [[judge]]
//! name = "mini"
//! endpoint = "https://api.openai.com/v1"
//! model = "gpt-4o-mini"
//! api_key_env = "OPENAI_API_KEY"
//! daily_budget_usd = 2.0
//!
//! [[evaluator]]
//! name = "answer_is_json"            # the score's name
//! target = "span"                    # span (default) or trace
//! sample = 0.25                      # a quarter of the matching spans, chosen by their id
//! filter = { kind = "llm", model = "gpt-4o" }
//! check = { type = "json_valid" }
//!
//! [[evaluator]]
//! name = "helpfulness"
//! target = "trace"
//! delay = "30s"                      # after the trace's root arrives, so its spans are in
//! filter = { agent = "support" }
//! check = { type = "llm_judge", judge = "mini", prompt = "How helpful is {{output}} for {{input}}?" }
//! ```
//!
//! docs/scores.md lists every check and field.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentrace_core::search::Query;
use agentrace_core::{AttributeValue, Score, SpanKind, SpanRecord};
use serde::{Deserialize, Serialize};

use crate::Evaluator;
use crate::code::{CheckSpec, CodeCheck};
use crate::judge::{JudgeClient, JudgeSpec, LlmJudge};

/// The service name of the spans a judge's calls make: rules never judge them (the loop
/// guard), and their spend is the cost of quality, apart from the application's.
pub const JUDGE_SERVICE: &str = "agentrace-judge";

/// Everything the evaluators file says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EvaluatorsConfig {
    /// The judges (OpenAI-compatible endpoints).
    #[serde(default, rename = "judge")]
    pub judges: Vec<JudgeSpec>,
    /// The rules.
    #[serde(default, rename = "evaluator")]
    pub rules: Vec<RuleSpec>,
}

/// What a rule judges: each matching span, or each trace whose root matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Each span.
    #[default]
    Span,
    /// Each trace, judged once its root span has arrived (and the rule's delay passed).
    Trace,
}

/// Which spans a rule looks at (every field given must match; a trace rule: its root span).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SpanMatch {
    /// The span's kind (`llm`, `agent`, `tool`, …).
    #[serde(default)]
    pub kind: Option<SpanKind>,
    /// Its model (the responding or the requested one).
    #[serde(default)]
    pub model: Option<String>,
    /// Its agent.
    #[serde(default)]
    pub agent: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its service.
    #[serde(default)]
    pub service: Option<String>,
    /// Tags: attributes of the span or its resource with these values (an array attribute,
    /// such as `langfuse.trace.tags`, matches when it holds the value).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// A query in agentrace's filter syntax (docs/search.md) the span must match as well:
    /// `kind:llm cost:>0.05 -agent:tester`, `"refund" attr.customer.tier:gold`. Scores are
    /// not known when a span arrives: a query naming one is refused.
    #[serde(default)]
    pub query: Option<String>,
}

impl SpanMatch {
    /// Whether `span` matches.
    pub fn matches(&self, span: &SpanRecord) -> bool {
        let same = |want: &Option<String>, got: Option<&str>| {
            want.as_deref().is_none_or(|w| got == Some(w))
        };
        self.kind.is_none_or(|k| span.kind == k)
            && (self.model.is_none()
                || same(&self.model, span.response_model.as_deref())
                || same(&self.model, span.request_model.as_deref()))
            && same(&self.agent, span.agent_name.as_deref())
            && same(&self.name, Some(&span.name))
            && same(&self.service, Some(&span.resource.service_name))
            && self.tags.iter().all(|(key, want)| {
                [span.attributes.get(key), span.resource.attributes.get(key)]
                    .into_iter()
                    .flatten()
                    .any(|v| holds(v, want))
            })
    }
}

fn holds(value: &AttributeValue, want: &str) -> bool {
    match value {
        AttributeValue::Array(items) => items.iter().any(|i| holds(i, want)),
        AttributeValue::String(s) => s == want,
        other => other.to_string() == want,
    }
}

/// A rule as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleSpec {
    /// The rule's name: the name of the scores it gives.
    pub name: String,
    /// Spans or traces.
    #[serde(default)]
    pub target: TargetKind,
    /// Which.
    #[serde(default)]
    pub filter: SpanMatch,
    /// The share judged, from 0 to 1 (default 1), chosen by a hash of the target's id: the
    /// same target is always in or out, on every node.
    #[serde(default = "all")]
    pub sample: f64,
    /// How long after the span (a trace: its root) arrives it is judged (default 0; give a
    /// trace's late spans time to arrive).
    #[serde(default, with = "agentrace_core::serde_duration::option")]
    pub delay: Option<Duration>,
    /// What judges.
    pub check: CheckSpec,
}

const fn all() -> f64 {
    1.0
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct Rule {
    /// As configured.
    pub spec: RuleSpec,
    /// Its evaluator.
    pub evaluator: Arc<dyn Evaluator>,
    /// The judge it asks, if any (its name).
    pub judge: Option<String>,
    /// Its filter's query, read.
    query: Option<Query>,
}

impl Rule {
    /// Prepares the rule `spec`, its judge (if it asks one) among `judges`.
    ///
    /// # Errors
    /// What is wrong, naming the rule: a name empty or too long, a sample outside [0, 1], a
    /// judge that is not there, a check that does not compile.
    pub fn new(spec: RuleSpec, judges: &BTreeMap<String, JudgeClient>) -> Result<Self, String> {
        let what = format!("evaluator {:?}", spec.name);
        if spec.name.trim().is_empty() || spec.name.chars().count() > Score::MAX_NAME_CHARS {
            return Err(format!(
                "{what}: a name of 1 to {} characters",
                Score::MAX_NAME_CHARS
            ));
        }
        if !(0.0..=1.0).contains(&spec.sample) {
            return Err(format!("{what}: sample {} is not from 0 to 1", spec.sample));
        }
        let query = match &spec.filter.query {
            Some(text) => {
                let query = Query::parse(text)
                    .and_then(|q| q.check_in_memory(text).map(|()| q))
                    .map_err(|e| format!("{what}: filter.query: {}", e.pointer(text)))?;
                Some(query)
            }
            None => None,
        };
        let (evaluator, judge): (Arc<dyn Evaluator>, _) = match &spec.check {
            CheckSpec::LlmJudge(check) => {
                let client = judges
                    .get(&check.judge)
                    .ok_or_else(|| format!("{what}: no judge is named {:?}", check.judge))?;
                (
                    Arc::new(
                        LlmJudge::new(client.clone(), check).map_err(|e| format!("{what}: {e}"))?,
                    ),
                    Some(check.judge.clone()),
                )
            }
            check => (
                Arc::new(CodeCheck::new(check).map_err(|e| format!("{what}: {e}"))?),
                None,
            ),
        };
        Ok(Self {
            spec,
            evaluator,
            judge,
            query,
        })
    }

    /// Whether `span` is a target of this rule: a span it matches (a trace rule: a root span
    /// it matches), never a judge's, and within the sample.
    pub fn wants(&self, span: &SpanRecord) -> bool {
        if span.resource.service_name == JUDGE_SERVICE {
            return false;
        }
        if self.spec.target == TargetKind::Trace && span.parent_span_id.is_some() {
            return false;
        }
        if !self.spec.filter.matches(span) || self.query.as_ref().is_some_and(|q| !q.matches(span))
        {
            return false;
        }
        let id = match self.spec.target {
            TargetKind::Span => span.span_id.to_string(),
            TargetKind::Trace => span.trace_id.to_string(),
        };
        sampled(&self.spec.name, &id, self.spec.sample)
    }

    /// The delay before judging.
    pub fn delay(&self) -> Duration {
        self.spec.delay.unwrap_or_default()
    }
}

/// Whether the target `id` is in a rule's sample of `rate`: a hash of the rule's name and the
/// id, the same on every node and at every run.
pub fn sampled(rule: &str, id: &str, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    let hashed = Score::stable_id("", &[rule.as_bytes(), id.as_bytes()]);
    let bits = u64::from_str_radix(hashed.trim_start_matches('-'), 16).unwrap_or(0);
    (bits >> 11) as f64 / (1u64 << 53) as f64 <= rate && rate > 0.0
}

/// The judges and rules of a file, ready.
#[derive(Debug, Clone, Default)]
pub struct Evaluators {
    /// The judges, by name.
    pub judges: BTreeMap<String, JudgeClient>,
    /// The rules, in the file's order.
    pub rules: Vec<Rule>,
}

/// The evaluators file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadEvaluatorsError {
    /// It could not be read.
    #[error("cannot read the evaluators file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not valid TOML of the expected shape.
    #[error("evaluators file {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A judge or rule cannot be used.
    #[error("evaluators file {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the judge or rule.
        reason: String,
    },
}

impl Evaluators {
    /// Reads and prepares the evaluators file at `path`, the judges' keys read with `env`.
    ///
    /// # Errors
    /// See [`LoadEvaluatorsError`].
    pub fn load(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, LoadEvaluatorsError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadEvaluatorsError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: EvaluatorsConfig =
            toml::from_str(&text).map_err(|e| LoadEvaluatorsError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        Self::new(config, env).map_err(|reason| LoadEvaluatorsError::Invalid {
            path: path.to_owned(),
            reason,
        })
    }

    /// Prepares `config`: every judge's client, every rule's evaluator.
    ///
    /// # Errors
    /// What is wrong, naming the judge or rule: a name given twice, a rule naming a judge
    /// that is not there, a sample outside [0, 1], a check that does not compile.
    pub fn new(
        config: EvaluatorsConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut judges = BTreeMap::new();
        for spec in config.judges {
            let name = spec.name.clone();
            if judges
                .insert(name.clone(), JudgeClient::new(spec, env)?)
                .is_some()
            {
                return Err(format!("two judges are named {name:?}"));
            }
        }
        let mut names = HashSet::new();
        let mut rules = Vec::new();
        for spec in config.rules {
            if !names.insert(spec.name.clone()) {
                return Err(format!("two evaluators are named {:?}", spec.name));
            }
            rules.push(Rule::new(spec, &judges)?);
        }
        Ok(Self { judges, rules })
    }
}

#[cfg(test)]
mod tests {
    use agentrace_core::TraceId;
    use agentrace_core::testing::fixtures::llm_span;

    use super::*;

    const FILE: &str = r#"
[[judge]]
name = "mini"
endpoint = "http://127.0.0.1:9/v1"
model = "gpt-4o-mini"
daily_budget_usd = 2.0

[[evaluator]]
name = "answer_is_json"
sample = 0.5
filter = { kind = "llm", model = "gpt-4o", tags = { "deployment.environment.name" = "test" } }
check = { type = "json_valid" }

[[evaluator]]
name = "helpfulness"
target = "trace"
delay = "30s"
check = { type = "llm_judge", judge = "mini", prompt = "Rate {{output}}", max = 5 }
"#;

    #[test]
    fn a_rule_written_as_json_reads_back_the_same() -> Result<(), Box<dyn std::error::Error>> {
        // What a rule given through the API is stored as.
        let config: EvaluatorsConfig = toml::from_str(FILE)?;
        for spec in config.rules {
            let written = serde_json::to_string(&spec)?;
            assert_eq!(
                serde_json::from_str::<RuleSpec>(&written)?,
                spec,
                "{written}"
            );
        }
        Ok(())
    }

    fn load(text: &str) -> Result<Evaluators, String> {
        let config: EvaluatorsConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        Evaluators::new(config, &|_| None)
    }

    #[test]
    fn the_file_makes_judges_and_rules() -> Result<(), String> {
        let e = load(FILE)?;
        assert_eq!(e.judges.len(), 1);
        let [json, helpful] = &e.rules[..] else {
            return Err(format!("{:?}", e.rules));
        };
        assert_eq!(
            (json.judge.as_deref(), helpful.judge.as_deref()),
            (None, Some("mini"))
        );
        assert_eq!(helpful.delay(), Duration::from_secs(30));
        assert_eq!(
            helpful.evaluator.annotator(),
            agentrace_core::AnnotatorKind::Llm
        );
        let trace = TraceId::from_bytes([3; 16]);
        let root = llm_span(trace, None, 0);
        let child = llm_span(trace, Some(root.span_id), 0);
        assert!(
            helpful.wants(&root) && !helpful.wants(&child),
            "a trace rule: roots"
        );
        let mut judges = root.clone();
        judges.resource = Arc::new(agentrace_core::Resource::new(JUDGE_SERVICE));
        assert!(
            !helpful.wants(&judges),
            "a judge's own calls are never judged"
        );
        let mut other = root.clone();
        other.request_model = Some("claude".into());
        other.response_model = None;
        assert!(!json.spec.filter.matches(&other));
        assert!(
            json.spec.filter.matches(&root),
            "model and tag of its resource"
        );
        Ok(())
    }

    #[test]
    fn what_cannot_run_is_refused_by_name() {
        for (text, why) in [
            (
                "[[evaluator]]\nname = \"x\"\ncheck = { type = \"llm_judge\", judge = \"none\", prompt = \"{{output}}\" }",
                "no judge is named \"none\"",
            ),
            (
                "[[evaluator]]\nname = \"x\"\nsample = 2.0\ncheck = { type = \"tool_error\" }",
                "sample 2",
            ),
            (
                "[[evaluator]]\nname = \"x\"\ncheck = { type = \"tool_error\" }\n[[evaluator]]\nname = \"x\"\ncheck = { type = \"tool_error\" }",
                "two evaluators",
            ),
            (
                "[[evaluator]]\nname = \"x\"\ncheck = { type = \"regex\", pattern = \"(\" }",
                "evaluator \"x\": pattern",
            ),
        ] {
            let got = load(text).err().unwrap_or_default();
            assert!(got.contains(why), "{text}: {got}");
        }
        let unknown: Result<EvaluatorsConfig, _> =
            toml::from_str("[[evaluator]]\nname = \"x\"\ncheck = { type = \"vibes\" }");
        assert!(unknown.is_err());
        let typo: Result<EvaluatorsConfig, _> = toml::from_str(
            "[[evaluator]]\nname = \"x\"\ncheck = { type = \"regex\", patern = \"a\" }",
        );
        assert!(typo.is_err(), "unknown fields are refused");
    }

    #[test]
    fn a_rules_query_narrows_its_targets_and_a_bad_one_points_at_its_token() -> Result<(), String> {
        let e = load(
            "[[evaluator]]\nname = \"dear\"\nfilter = { kind = \"llm\", query = \"model:gpt-4o* -agent:tester\" }\ncheck = { type = \"tool_error\" }",
        )?;
        let rule = &e.rules[0];
        let trace = TraceId::from_bytes([5; 16]);
        let mut span = llm_span(trace, None, 0);
        span.response_model = Some("gpt-4o-2024-08-06".into());
        assert!(rule.wants(&span));
        span.agent_name = Some("tester".into());
        assert!(!rule.wants(&span), "the query's negation");
        for (query, says) in [
            ("model:gpt-4o* modle:x", "`modle` is not a field"),
            ("score.helpful:<0.5", "before any score is given"),
        ] {
            let text = format!(
                "[[evaluator]]\nname = \"x\"\nfilter = {{ query = \"{query}\" }}\ncheck = {{ type = \"tool_error\" }}"
            );
            let got = load(&text).err().unwrap_or_default();
            assert!(
                got.starts_with("evaluator \"x\": filter.query: ")
                    && got.contains(says)
                    && got.contains('^'),
                "{got}"
            );
        }
        Ok(())
    }

    #[test]
    fn sampling_is_by_the_targets_id_and_near_its_rate() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("{i:016x}")).collect();
        let kept = ids.iter().filter(|id| sampled("r", id, 0.25)).count();
        assert!((2_200..2_800).contains(&kept), "{kept}");
        assert!(
            ids.iter()
                .all(|id| sampled("r", id, 0.25) == sampled("r", id, 0.25))
        );
        assert!(!ids.iter().any(|id| sampled("r", id, 0.0)));
        assert!(ids.iter().all(|id| sampled("r", id, 1.0)));
    }
}
