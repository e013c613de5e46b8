//! Evaluator rules given through the API (table `evaluator_rules`, docs/sql-schema.md): one
//! row per name.

use agentrace_store::EvaluatorRules;
use agentrace_store::{QueryError, StoredRule, WriteError};
use rusqlite::params;

use crate::codec::{from_sql, to_sql};
use crate::error::Db;
use crate::store::SqliteStore;

impl EvaluatorRules for SqliteStore {
    /// Every stored evaluator rule, by name.
    fn evaluator_rules(&self) -> Result<Vec<StoredRule>, QueryError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT name, definition, updated_ns FROM evaluator_rules ORDER BY name",
                )
                .db()?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(StoredRule::new(
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        from_sql(r.get(2)?),
                    ))
                })
                .db()?;
            Ok(rows.collect::<Result<Vec<_>, _>>().db()?)
        })
    }

    /// Stores `rule`, replacing the one of its name.
    fn put_evaluator_rule(&self, rule: &StoredRule) -> Result<(), WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        self.writer()
            .conn()
            .execute(
                "INSERT OR REPLACE INTO evaluator_rules (name, definition, updated_ns) \
                 VALUES (?, ?, ?)",
                params![rule.name, rule.definition, to_sql(rule.updated_unix_nano)],
            )
            .db()?;
        Ok(())
    }

    /// Deletes the evaluator rule `name`; whether one was stored.
    fn delete_evaluator_rule(&self, name: &str) -> Result<bool, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        let deleted = self
            .writer()
            .conn()
            .execute("DELETE FROM evaluator_rules WHERE name = ?", [name])
            .db()?;
        Ok(deleted > 0)
    }
}
