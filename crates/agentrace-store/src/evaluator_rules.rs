//! Evaluator rules given through the API (`PUT /api/v1/evaluators/{name}`): kept in the store,
//! so that they outlive a restart and every node of a fleet on one store runs the same ones.
//!
//! A store keeps each rule's definition as text under its name, without reading it: what a
//! rule says is the server's business (`agentrace-evaluators`), keeping it is the store's.

use crate::error::{QueryError, WriteError};

/// What a store keeps of evaluator rules.
///
/// # Contract (checked by the conformance suite)
/// A rule is kept under its name, its definition as given, unread: put again it replaces the
/// one stored, deleted it is gone; every node reads the same rules. All three are required.
pub trait EvaluatorRules {
    /// Every rule stored, by name.
    fn evaluator_rules(&self) -> Result<Vec<StoredRule>, QueryError>;

    /// Stores `rule`, replacing the one of its name.
    fn put_evaluator_rule(&self, rule: &StoredRule) -> Result<(), WriteError>;

    /// Deletes the rule `name`; whether one was stored.
    fn delete_evaluator_rule(&self, name: &str) -> Result<bool, WriteError>;
}

/// An evaluator rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredRule {
    /// Its name (the name of the scores it gives).
    pub name: String,
    /// Its definition, as the server wrote it (JSON).
    pub definition: String,
    /// When it was stored (a node that holds an older version takes this one).
    pub updated_unix_nano: u64,
}

impl StoredRule {
    /// The rule `name` defined by `definition`, stored at `updated_unix_nano`.
    pub fn new(
        name: impl Into<String>,
        definition: impl Into<String>,
        updated_unix_nano: u64,
    ) -> Self {
        Self {
            name: name.into(),
            definition: definition.into(),
            updated_unix_nano,
        }
    }
}
