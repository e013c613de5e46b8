//! Evaluator rules given through the API (table `evaluator_rules`, a `ReplacingMergeTree` on
//! the rule's name): a rule stored again is a newer version of its row, a deleted one a newer
//! version marked `deleted`; reads take the newest version (`FINAL`) and skip the deleted.
//! Every node of a fleet reads them from here.

use agentrace_core::now_unix_nano;
use agentrace_store::{QueryError, StoredRule, WriteError};
use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::error;
use crate::store::ClickHouseStore;
use crate::write::ns;

/// A row of `evaluator_rules`.
#[derive(Debug, Row, Serialize, Deserialize)]
struct RuleRow {
    project: u32,
    name: String,
    definition: String,
    updated: i64,
    version: u64,
    deleted: u8,
}

impl ClickHouseStore {
    pub(crate) async fn evaluator_rules(&self) -> Result<Vec<StoredRule>, QueryError> {
        let rows: Vec<RuleRow> = self
            .client()
            .query(&format!(
                "SELECT ?fields FROM evaluator_rules FINAL WHERE {} AND deleted = 0 ORDER BY name",
                self.scope()
            ))
            .fetch_all()
            .await
            .map_err(error::query)?;
        Ok(rows
            .into_iter()
            .map(|r| StoredRule::new(r.name, r.definition, u64::try_from(r.updated).unwrap_or(0)))
            .collect())
    }

    pub(crate) async fn put_evaluator_rule(&self, rule: &StoredRule) -> Result<(), WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        let row = RuleRow {
            project: self.project().0,
            name: rule.name.clone(),
            definition: rule.definition.clone(),
            updated: ns(rule.updated_unix_nano),
            version: self.next_rule_version(&rule.name).await?,
            deleted: 0,
        };
        self.insert_rows("evaluator_rules", std::iter::once(&row))
            .await
    }

    pub(crate) async fn delete_evaluator_rule(&self, name: &str) -> Result<bool, WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        let rows: Vec<RuleRow> = self
            .client()
            .query(&format!(
                "SELECT ?fields FROM evaluator_rules FINAL WHERE {} AND name = ? AND deleted = 0",
                self.scope()
            ))
            .bind(name)
            .fetch_all()
            .await
            .map_err(error::write)?;
        let Some(mut row) = rows.into_iter().next() else {
            return Ok(false);
        };
        row.version = now_unix_nano().max(row.version.saturating_add(1));
        row.deleted = 1;
        self.insert_rows("evaluator_rules", std::iter::once(&row))
            .await?;
        Ok(true)
    }

    /// A version above every stored one of the rule `name`: now, or the newest plus one.
    async fn next_rule_version(&self, name: &str) -> Result<u64, WriteError> {
        let newest: u64 = self
            .client()
            .query(&format!(
                "SELECT max(version) FROM evaluator_rules WHERE {} AND name = ?",
                self.scope()
            ))
            .bind(name)
            .fetch_one()
            .await
            .map_err(error::write)?;
        Ok(now_unix_nano().max(newest.saturating_add(1)))
    }
}
