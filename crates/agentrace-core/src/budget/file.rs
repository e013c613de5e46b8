//! Budget definitions from a TOML or JSON file.

use serde::Deserialize;

use super::{Budget, Period, Scope, Window};
use crate::model::Usd;

/// A budgets file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadBudgetsError {
    /// The file could not be read.
    #[error("cannot read budgets file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML or JSON of the expected shape.
    #[error("budgets file {path} is invalid: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    budget: Vec<BudgetIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetIn {
    name: String,
    scope: Scope,
    #[serde(default)]
    only: Option<String>,
    period: Period,
    #[serde(default)]
    window: Window,
    limit_usd: f64,
    #[serde(default)]
    thresholds: Option<Vec<u32>>,
}

/// Loads budgets from a file (`.toml`, else JSON):
///
/// ```toml
/// [[budget]]
/// name = "per-session daily"
/// scope = "session"          # global | session | agent | framework | model | user
/// period = "day"             # hour | day | week | month | total
/// window = "calendar"        # or "rolling" (default calendar)
/// limit_usd = 5.0
/// thresholds = [80, 90, 100] # percent (default 80, 90, 100)
/// # only = "researcher"      # one value of the scope only
/// ```
pub fn load_budgets(path: &std::path::Path) -> Result<Vec<Budget>, LoadBudgetsError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadBudgetsError::Io {
        path: shown.clone(),
        source,
    })?;
    let invalid = |reason: String| LoadBudgetsError::Invalid {
        path: shown.clone(),
        reason,
    };
    let value: serde_json::Value = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        toml::from_str(&text).map_err(|e| invalid(e.to_string()))?
    } else {
        serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?
    };
    budgets_from_value(value).map_err(invalid)
}

/// Budgets from a budgets document already parsed (the file's shape, `{"budget": [...]}`);
/// the error says what is wrong. What [`load_budgets`] and a server's stored settings read.
pub fn budgets_from_value(value: serde_json::Value) -> Result<Vec<Budget>, String> {
    let file: FileIn = serde_json::from_value(value).map_err(|e| e.to_string())?;
    file.budget
        .into_iter()
        .map(|b| {
            if !(b.limit_usd.is_finite() && b.limit_usd >= 0.0) {
                return Err(format!(
                    "budget {:?}: limit_usd must be a non-negative number",
                    b.name
                ));
            }
            let mut budget = Budget::new(b.name, b.scope, b.period, Usd::from_dollars(b.limit_usd));
            budget.only = b.only;
            budget.window = b.window;
            if let Some(t) = b.thresholds {
                budget = budget.thresholds(t);
            }
            Ok(budget)
        })
        .collect()
}
