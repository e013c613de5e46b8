//! Score configurations: what a score named so may be.

use serde::{Deserialize, Serialize};

use super::{InvalidScore, Score, ScoreKind};

/// What a score named so may be: its kind, a numeric range, categorical labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ScoreConfigJson")]
#[non_exhaustive]
pub struct ScoreConfig {
    /// The scores' name.
    pub name: String,
    /// Their kind.
    pub kind: ScoreKind,
    /// The least value of a numeric score, if bounded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The greatest value of a numeric score, if bounded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The labels a categorical score may take.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// What it measures, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A score configuration is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidScoreConfig {
    /// An empty name, or over [`Score::MAX_NAME_CHARS`].
    #[error("a score configuration needs a name of 1 to {max} characters", max = Score::MAX_NAME_CHARS)]
    Name,
    /// A range with `min` over `max`, or not finite.
    #[error("{0}: min and max are finite numbers, min at most max")]
    Range(String),
    /// A range on a score that is not numeric.
    #[error("{0}: only a numeric score has a range")]
    RangeNotNumeric(String),
    /// A categorical score without categories, or categories on another kind.
    #[error("{0}: a categorical score lists its categories (distinct, non-empty), and only it")]
    Categories(String),
    /// Two configurations of one name.
    #[error("{0}: configured twice")]
    Duplicate(String),
}

impl ScoreConfig {
    /// A numeric score named `name`, within `[min, max]` where given.
    ///
    /// # Errors
    /// [`InvalidScoreConfig`] for an empty name or a range whose `min` exceeds its `max`.
    pub fn numeric(
        name: impl Into<String>,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<Self, InvalidScoreConfig> {
        Self::made(name, ScoreKind::Numeric, min, max, Vec::new())
    }

    /// A categorical score named `name` taking one of `categories`.
    ///
    /// # Errors
    /// [`InvalidScoreConfig`] for an empty name or no categories.
    pub fn categorical(
        name: impl Into<String>,
        categories: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, InvalidScoreConfig> {
        let categories = categories.into_iter().map(Into::into).collect();
        Self::made(name, ScoreKind::Categorical, None, None, categories)
    }

    /// A boolean or text score named `name` (`kind`), or a numeric or categorical one without
    /// bounds.
    ///
    /// # Errors
    /// [`InvalidScoreConfig::Name`] for an empty name, [`InvalidScoreConfig::Categories`]
    /// for a categorical kind (use [`categorical`](Self::categorical)).
    pub fn of_kind(name: impl Into<String>, kind: ScoreKind) -> Result<Self, InvalidScoreConfig> {
        Self::made(name, kind, None, None, Vec::new())
    }

    fn made(
        name: impl Into<String>,
        kind: ScoreKind,
        min: Option<f64>,
        max: Option<f64>,
        categories: Vec<String>,
    ) -> Result<Self, InvalidScoreConfig> {
        let config = Self {
            name: name.into(),
            kind,
            min,
            max,
            categories,
            description: None,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the configuration itself.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn validate(&self) -> Result<(), InvalidScoreConfig> {
        let n = self.name.chars().count();
        if self.name.trim().is_empty() || n > Score::MAX_NAME_CHARS {
            return Err(InvalidScoreConfig::Name);
        }
        let name = || self.name.clone();
        if self.kind != ScoreKind::Numeric && (self.min.is_some() || self.max.is_some()) {
            return Err(InvalidScoreConfig::RangeNotNumeric(name()));
        }
        let finite = [self.min, self.max].iter().flatten().all(|x| x.is_finite());
        if !finite || matches!((self.min, self.max), (Some(a), Some(b)) if a > b) {
            return Err(InvalidScoreConfig::Range(name()));
        }
        let categorical = self.kind == ScoreKind::Categorical;
        let mut distinct = self.categories.clone();
        distinct.sort();
        distinct.dedup();
        let listed = !self.categories.is_empty()
            && distinct.len() == self.categories.len()
            && self.categories.iter().all(|c| !c.is_empty());
        if categorical != listed && (categorical || !self.categories.is_empty()) {
            return Err(InvalidScoreConfig::Categories(name()));
        }
        Ok(())
    }

    /// Whether `score` (of this configuration's name) fits it: its kind, its range, its
    /// categories.
    ///
    /// # Errors
    /// [`InvalidScore::KindMismatch`], [`InvalidScore::OutOfRange`] or
    /// [`InvalidScore::UnknownCategory`].
    pub fn check(&self, score: &Score) -> Result<(), InvalidScore> {
        if score.kind != self.kind {
            return Err(InvalidScore::KindMismatch {
                name: self.name.clone(),
                configured: self.kind,
                given: score.kind,
            });
        }
        if let Some(value) = score.value.filter(|_| self.kind == ScoreKind::Numeric) {
            let below = self.min.is_some_and(|min| value < min);
            let above = self.max.is_some_and(|max| value > max);
            if below || above {
                let bound = |b: Option<f64>| b.map_or_else(|| "∞".to_owned(), |x| x.to_string());
                return Err(InvalidScore::OutOfRange {
                    name: self.name.clone(),
                    value,
                    range: format!(
                        "[{}, {}]",
                        bound(self.min).replace('∞', "-∞"),
                        bound(self.max)
                    ),
                });
            }
        }
        if self.kind == ScoreKind::Categorical {
            let label = score.label.clone().unwrap_or_default();
            if !self.categories.contains(&label) {
                return Err(InvalidScore::UnknownCategory {
                    name: self.name.clone(),
                    label,
                    categories: self.categories.clone(),
                });
            }
        }
        Ok(())
    }
}

/// [`ScoreConfig`] as JSON or TOML gives it, checked when made.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreConfigJson {
    name: String,
    #[serde(alias = "data_type")]
    kind: ScoreKind,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

impl TryFrom<ScoreConfigJson> for ScoreConfig {
    type Error = InvalidScoreConfig;

    fn try_from(j: ScoreConfigJson) -> Result<Self, Self::Error> {
        let mut config = Self::made(j.name, j.kind, j.min, j.max, j.categories)?;
        config.description = j.description;
        Ok(config)
    }
}

/// The score configurations in force, by name: what a score of a configured name must fit
/// ([`ScoreConfigs::check`]); a score of another name is taken as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreConfigs(std::collections::BTreeMap<String, ScoreConfig>);

/// A score configurations file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadScoreConfigsError {
    /// It could not be read.
    #[error("cannot read the score configurations {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// It is not a list of score configurations.
    #[error("invalid score configurations {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A score configurations file: `[[score]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreConfigsFile {
    #[serde(default)]
    score: Vec<ScoreConfig>,
}

impl ScoreConfigs {
    /// `configs`, each name once.
    ///
    /// # Errors
    /// [`InvalidScoreConfig::Duplicate`] for a name given twice.
    pub fn new(configs: impl IntoIterator<Item = ScoreConfig>) -> Result<Self, InvalidScoreConfig> {
        let mut by_name = std::collections::BTreeMap::new();
        for config in configs {
            let name = config.name.clone();
            if by_name.insert(name.clone(), config).is_some() {
                return Err(InvalidScoreConfig::Duplicate(name));
            }
        }
        Ok(Self(by_name))
    }

    /// Loads a TOML file of `[[score]]` tables:
    ///
    /// ```toml
    /// [[score]]
    /// name = "helpfulness"
    /// kind = "numeric"          # numeric | categorical | boolean | text
    /// min = 0.0                 # numeric: the range, each bound optional
    /// max = 1.0
    /// description = "How well the answer helps, by an LLM judge"
    ///
    /// [[score]]
    /// name = "verdict"
    /// kind = "categorical"
    /// categories = ["correct", "partly", "wrong"]
    /// ```
    ///
    /// # Errors
    /// [`LoadScoreConfigsError`] when it cannot be read or holds what is not a configuration
    /// (a name twice, a range on a categorical score, …).
    pub fn load(path: &std::path::Path) -> Result<Self, LoadScoreConfigsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LoadScoreConfigsError::Io {
            path: shown.clone(),
            source,
        })?;
        let invalid = |reason: String| LoadScoreConfigsError::Invalid {
            path: shown.clone(),
            reason,
        };
        let file: ScoreConfigsFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        Self::new(file.score).map_err(|e| invalid(e.to_string()))
    }

    /// Score configurations from a document already parsed (the file's shape as JSON,
    /// `{"score": [...]}`, e.g. a project's stored setting); the error says what is wrong.
    ///
    /// # Errors
    /// It is not a list of score configurations, or one is invalid.
    pub fn from_value(value: serde_json::Value) -> Result<Self, String> {
        let file: ScoreConfigsFile = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Self::new(file.score).map_err(|e| e.to_string())
    }

    /// The configuration of scores named `name`.
    pub fn get(&self, name: &str) -> Option<&ScoreConfig> {
        self.0.get(name)
    }

    /// Every configuration, by name.
    pub fn iter(&self) -> impl Iterator<Item = &ScoreConfig> {
        self.0.values()
    }

    /// Whether `score` fits the configuration of its name (any score fits when none is).
    ///
    /// # Errors
    /// What [`ScoreConfig::check`] says.
    pub fn check(&self, score: &Score) -> Result<(), InvalidScore> {
        self.get(&score.name).map_or(Ok(()), |c| c.check(score))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    fn parse(v: Value) -> Result<Score, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn a_configuration_checks_kind_range_and_categories() -> Result<(), Box<dyn std::error::Error>>
    {
        let score = |v: Value| -> Result<Score, String> {
            let mut base = json!({"trace_id": TRACE, "name": "q"});
            if let (Some(o), Some(e)) = (base.as_object_mut(), v.as_object()) {
                o.extend(e.clone());
            }
            parse(base)
        };
        let unit = ScoreConfig::numeric("q", Some(0.0), Some(1.0))?;
        unit.check(&score(json!({"value": 0}))?)?;
        unit.check(&score(json!({"value": 1}))?)?;
        let e = unit
            .check(&score(json!({"value": 1.5}))?)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("q: 1.5 is outside its configured range [0, 1]")
        );
        let at_least = ScoreConfig::numeric("q", Some(0.0), None)?;
        at_least.check(&score(json!({"value": 1e9}))?)?;
        assert!(at_least.check(&score(json!({"value": -1}))?).is_err());
        let e = unit
            .check(&score(json!({"label": "good"}))?)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("q is configured as a numeric score, not categorical")
        );

        let verdict = ScoreConfig::categorical("q", ["good", "bad"])?;
        verdict.check(&score(json!({"label": "good"}))?)?;
        assert!(matches!(
            verdict.check(&score(json!({"label": "fine"}))?),
            Err(InvalidScore::UnknownCategory { .. })
        ));
        ScoreConfig::of_kind("q", ScoreKind::Boolean)?.check(&score(json!({"value": false}))?)?;
        Ok(())
    }

    #[test]
    fn a_configuration_that_cannot_hold_is_refused() {
        assert_eq!(
            ScoreConfig::numeric("", None, None),
            Err(InvalidScoreConfig::Name)
        );
        assert!(matches!(
            ScoreConfig::numeric("q", Some(2.0), Some(1.0)),
            Err(InvalidScoreConfig::Range(_))
        ));
        assert!(matches!(
            ScoreConfig::numeric("q", Some(f64::NAN), None),
            Err(InvalidScoreConfig::Range(_))
        ));
        let none: [&str; 0] = [];
        for categories in [&none[..], &["a", "a"], &["a", ""]] {
            assert!(
                matches!(
                    ScoreConfig::categorical("q", categories.iter().copied()),
                    Err(InvalidScoreConfig::Categories(_))
                ),
                "{categories:?}"
            );
        }
        assert!(matches!(
            ScoreConfig::of_kind("q", ScoreKind::Categorical),
            Err(InvalidScoreConfig::Categories(_))
        ));
        let toml: Result<ScoreConfig, _> =
            toml::from_str("name = \"q\"\nkind = \"boolean\"\nmin = 0.0");
        assert!(
            toml.err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("only a numeric")
        );
        let toml: Result<ScoreConfig, _> = toml::from_str(
            "name = \"tone\"\nkind = \"categorical\"\ncategories = [\"warm\", \"cold\"]",
        );
        assert_eq!(toml.map(|c| c.categories.len()), Ok(2));
    }

    #[test]
    fn a_file_of_configurations_is_loaded_each_name_once() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir =
            std::env::temp_dir().join(format!("agentrace-score-configs-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("scores.toml");
        std::fs::write(
            &path,
            "[[score]]\nname = \"q\"\nkind = \"numeric\"\nmin = 0.0\nmax = 1.0\n\n\
             [[score]]\nname = \"verdict\"\nkind = \"categorical\"\ncategories = [\"ok\"]\n",
        )?;
        let configs = ScoreConfigs::load(&path)?;
        assert_eq!(configs.iter().count(), 2);
        assert!(
            configs
                .check(&parse(json!({"trace_id": TRACE, "name": "q", "value": 2}))?)
                .is_err()
        );
        configs.check(&parse(
            json!({"trace_id": TRACE, "name": "other", "value": 2}),
        )?)?;
        std::fs::write(
            &path,
            "[[score]]\nname = \"q\"\nkind = \"text\"\n[[score]]\nname = \"q\"\nkind = \"text\"\n",
        )?;
        let e = ScoreConfigs::load(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("q: configured twice"), "{e}");
        std::fs::write(
            &path,
            "[[score]]\nname = \"q\"\nkind = \"boolean\"\nmin = 1.0\n",
        )?;
        assert!(ScoreConfigs::load(&path).is_err());
        assert!(matches!(
            ScoreConfigs::load(&dir.join("missing.toml")),
            Err(LoadScoreConfigsError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
