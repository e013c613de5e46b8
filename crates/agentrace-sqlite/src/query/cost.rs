//! A cost objective's counts: the traces (or sessions) of a range, those at most a threshold
//! and those whose cost is unknown, from the per-trace summaries (`traces`) alone.

use agentrace_store::{CostTally, CostTallyQuery, CostUnit, QueryError};
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::filter::Where;
use crate::codec;
use crate::error::Db;
use crate::store::SqliteStore;

impl SqliteStore {
    /// How many traces (or sessions) `q` selects, how many cost at most its threshold and how
    /// many have an unpriced call: one pass over the summaries of the traces starting in its
    /// range (the `traces_start` index), a session's traces summed first.
    pub fn cost_tally(&self, q: &CostTallyQuery) -> Result<CostTally, QueryError> {
        let mut w = Where::default();
        w.range("start_ns", &q.range);
        for (column, value) in [
            ("service_name", &q.service),
            ("agent_name", &q.agent),
            ("user_id", &q.user),
        ] {
            if let Some(v) = value {
                w.push(format!("{column} = ?"), [Value::Text(v.clone())]);
            }
        }
        let units = match q.of {
            CostUnit::Sessions => {
                w.push("session_id IS NOT NULL", []);
                format!(
                    "SELECT sum(coalesce(cost_total, 0)) AS cost, sum(unpriced_count) AS unpriced \
                     FROM traces WHERE {} GROUP BY session_id",
                    w.sql()
                )
            }
            _ => format!(
                "SELECT coalesce(cost_total, 0) AS cost, unpriced_count AS unpriced \
                 FROM traces WHERE {}",
                w.sql()
            ),
        };
        let sql = format!(
            "SELECT count(*), coalesce(sum(unpriced = 0 AND cost <= {}), 0), \
             coalesce(sum(unpriced > 0), 0) FROM ({units})",
            q.threshold.nanos()
        );
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql).db()?;
            let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
            match rows.next().db()? {
                Some(row) => Ok(CostTally::new(
                    codec::count(row, 0)?,
                    codec::count(row, 1)?,
                    codec::count(row, 2)?,
                )),
                None => Ok(CostTally::default()),
            }
        })
    }
}
