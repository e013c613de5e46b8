//! The rules the evaluations run: those of the evaluators file, fixed at start, and those
//! given through the API, kept in the store and read back by every node.
//!
//! A rule given through the API is checked whole (its check compiled, its judge among the
//! file's) before it is stored; then the node that took it runs it at once, and every node
//! (this one too, after a restart) loads the store's rules at start and every
//! [`SYNC_INTERVAL`]. A rule replaced or removed is retired: its queued evaluations are
//! dropped when they come due. Its figures stay with its name while it exists.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use agentrace_evaluators::{JudgeClient, Rule, RuleSpec};
use agentrace_store::StoredRule;
use serde::Serialize;

use super::RuleCounters;
use crate::telemetry::stats::NotLoaded;

/// How often a node reads the rules given through the API from the store.
pub(crate) const SYNC_INTERVAL: Duration = Duration::from_secs(5);

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "origin")]
pub(crate) enum Origin {
    /// The evaluators file (changed by editing it and restarting).
    File,
    /// The API (`PUT /api/v1/evaluators/{name}`), stored at this time.
    Api {
        /// When it was stored.
        updated_unix_nano: u64,
    },
}

/// A rule being run: what it is, where it comes from, its figures.
#[derive(Debug)]
pub(crate) struct ActiveRule {
    pub(crate) rule: Rule,
    pub(crate) origin: Origin,
    pub(crate) counters: Arc<RuleCounters>,
    retired: AtomicBool,
}

impl ActiveRule {
    pub(crate) fn new(rule: Rule, origin: Origin, counters: Arc<RuleCounters>) -> Self {
        Self {
            rule,
            origin,
            counters,
            retired: AtomicBool::new(false),
        }
    }

    /// The rule's name (the name of its scores).
    pub(crate) fn name(&self) -> &str {
        &self.rule.spec.name
    }

    /// Whether it was replaced or removed since it was queued.
    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Relaxed)
    }

    fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
    }
}

/// Why a rule given through the API is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RuleError {
    /// It does not make a rule.
    #[error("{0}")]
    Invalid(String),
    /// A rule of the evaluators file has its name: the file's rules are changed in the file.
    #[error("{0:?} is a rule of the evaluators file: change it there")]
    OfTheFile(String),
}

/// The rules of one node.
#[derive(Debug)]
pub(crate) struct RuleSet {
    judges: BTreeMap<String, JudgeClient>,
    active: RwLock<Arc<Vec<Arc<ActiveRule>>>>,
    not_loaded: RwLock<Vec<NotLoaded>>,
}

impl RuleSet {
    /// The rules of the evaluators file, asking `judges`.
    pub(crate) fn new(judges: BTreeMap<String, JudgeClient>, file: Vec<Rule>) -> Self {
        let active = file
            .into_iter()
            .map(|rule| {
                Arc::new(ActiveRule::new(
                    rule,
                    Origin::File,
                    Arc::new(RuleCounters::default()),
                ))
            })
            .collect();
        Self {
            judges,
            active: RwLock::new(Arc::new(active)),
            not_loaded: RwLock::new(Vec::new()),
        }
    }

    /// The judges.
    pub(crate) fn judges(&self) -> &BTreeMap<String, JudgeClient> {
        &self.judges
    }

    /// The rules now: the file's, then the API's by name.
    pub(crate) fn active(&self) -> Arc<Vec<Arc<ActiveRule>>> {
        self.active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The rule `name`, if it runs.
    pub(crate) fn find(&self, name: &str) -> Option<Arc<ActiveRule>> {
        self.active().iter().find(|r| r.name() == name).cloned()
    }

    /// The store's rules this node could not load.
    pub(crate) fn not_loaded(&self) -> Vec<NotLoaded> {
        self.not_loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `spec` as a rule given through the API, checked whole: its definition to store.
    ///
    /// # Errors
    /// See [`RuleError`].
    pub(crate) fn prepare(&self, spec: RuleSpec) -> Result<(Rule, String), RuleError> {
        if self
            .active()
            .iter()
            .any(|r| r.origin == Origin::File && r.name() == spec.name)
        {
            return Err(RuleError::OfTheFile(spec.name));
        }
        let definition = serde_json::to_string(&spec)
            .map_err(|e| RuleError::Invalid(format!("the rule cannot be written: {e}")))?;
        let rule = Rule::new(spec, &self.judges).map_err(RuleError::Invalid)?;
        Ok((rule, definition))
    }

    /// Runs `rule`, given through the API and stored at `updated_unix_nano`, in place of the
    /// one of its name (retired); whether one was replaced.
    pub(crate) fn put(&self, rule: Rule, updated_unix_nano: u64) -> bool {
        let mut active = self.active.write().unwrap_or_else(PoisonError::into_inner);
        let mut rules: Vec<Arc<ActiveRule>> = active.iter().cloned().collect();
        let old = rules.iter().position(|r| r.name() == rule.spec.name);
        let counters = old.map_or_else(Arc::default, |i| rules[i].counters.clone());
        let new = Arc::new(ActiveRule::new(
            rule,
            Origin::Api { updated_unix_nano },
            counters,
        ));
        match old {
            Some(i) => {
                rules[i].retire();
                rules[i] = new;
            }
            None => rules.push(new),
        }
        sort_api_rules(&mut rules);
        *active = Arc::new(rules);
        old.is_some()
    }

    /// Stops the rule `name` given through the API (retired); whether it ran.
    ///
    /// # Errors
    /// [`RuleError::OfTheFile`] for a rule of the evaluators file.
    pub(crate) fn remove(&self, name: &str) -> Result<bool, RuleError> {
        let mut active = self.active.write().unwrap_or_else(PoisonError::into_inner);
        let Some(found) = active.iter().find(|r| r.name() == name) else {
            return Ok(false);
        };
        if found.origin == Origin::File {
            return Err(RuleError::OfTheFile(name.to_owned()));
        }
        found.retire();
        let rules = active
            .iter()
            .filter(|r| r.name() != name)
            .cloned()
            .collect();
        *active = Arc::new(rules);
        Ok(true)
    }

    /// Makes the rules given through the API those `stored` in the store: new and changed ones
    /// loaded, those no longer stored retired; a stored rule this node cannot load is kept
    /// out, with its reason ([`not_loaded`](Self::not_loaded)).
    pub(crate) fn sync(&self, stored: &[StoredRule]) {
        let current = self.active();
        let mut not_loaded = Vec::new();
        let mut loaded = Vec::new();
        for row in stored {
            let unchanged = current.iter().find(|r| {
                r.name() == row.name
                    && r.origin
                        == Origin::Api {
                            updated_unix_nano: row.updated_unix_nano,
                        }
            });
            if let Some(rule) = unchanged {
                loaded.push(rule.clone());
                continue;
            }
            let spec = serde_json::from_str::<RuleSpec>(&row.definition)
                .map_err(|e| RuleError::Invalid(format!("its definition cannot be read: {e}")))
                .and_then(|spec| {
                    if spec.name == row.name {
                        self.prepare(spec)
                    } else {
                        Err(RuleError::Invalid(format!(
                            "its definition names another rule, {:?}",
                            spec.name
                        )))
                    }
                });
            match spec {
                Ok((rule, _)) => {
                    let counters = current
                        .iter()
                        .find(|r| r.name() == row.name)
                        .map_or_else(Arc::default, |r| r.counters.clone());
                    loaded.push(Arc::new(ActiveRule::new(
                        rule,
                        Origin::Api {
                            updated_unix_nano: row.updated_unix_nano,
                        },
                        counters,
                    )));
                }
                Err(e) => not_loaded.push(NotLoaded {
                    name: row.name.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        let mut active = self.active.write().unwrap_or_else(PoisonError::into_inner);
        // What changed while the store was read (a rule put or removed here) wins: it is in the
        // store too, and the next sync agrees.
        if !Arc::ptr_eq(&active, &current) {
            return;
        }
        for old in active.iter() {
            if old.origin != Origin::File && !loaded.iter().any(|r| Arc::ptr_eq(r, old)) {
                old.retire();
            }
        }
        let mut rules: Vec<Arc<ActiveRule>> = active
            .iter()
            .filter(|r| r.origin == Origin::File)
            .cloned()
            .chain(loaded)
            .collect();
        sort_api_rules(&mut rules);
        *active = Arc::new(rules);
        *self
            .not_loaded
            .write()
            .unwrap_or_else(PoisonError::into_inner) = not_loaded;
    }
}

/// The file's rules first, in the file's order, then the API's by name.
fn sort_api_rules(rules: &mut [Arc<ActiveRule>]) {
    rules.sort_by(|a, b| match (a.origin, b.origin) {
        (Origin::File, Origin::File) => std::cmp::Ordering::Equal,
        (Origin::File, Origin::Api { .. }) => std::cmp::Ordering::Less,
        (Origin::Api { .. }, Origin::File) => std::cmp::Ordering::Greater,
        (Origin::Api { .. }, Origin::Api { .. }) => a.name().cmp(b.name()),
    });
}
