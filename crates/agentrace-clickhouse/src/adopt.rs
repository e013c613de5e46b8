//! The journal of held spans (`held::journal`) as the store writes and reads it: a node's
//! releases of the held spans it wrote, and the fleet's leader taking over the held spans of
//! the nodes gone (`Fleet::adopt_held`).

use std::collections::HashSet;

use agentrace_core::{SpanId, TraceId, now_unix_nano};
use agentrace_store::{ProjectId, WriteError};

use crate::error;
use crate::held::Released;
use crate::held::journal::{self, JournalRow};
use crate::sql::{Param, Where};
use crate::store::ClickHouseStore;

/// The held spans of nodes gone one adoption takes over at most (the rest at the next).
const MAX_ADOPTED: usize = 4096;

/// How far back a node gone is looked for among the heartbeats (as long as they are kept).
const GONE_WITHIN_NS: u64 = 24 * 3600 * 1_000_000_000;

impl ClickHouseStore {
    /// Marks released the journal rows of the held spans written since the last write that
    /// did (what a write does with its own rows; called alone when the store stops).
    pub(crate) async fn release_journaled(&self) -> Result<(), WriteError> {
        let Some(held) = self.held_spans() else {
            return Ok(());
        };
        let released = held.take_released();
        let version = now_unix_nano();
        let rows: Vec<JournalRow> = released
            .iter()
            .map(|r| JournalRow::released(self.node_id(), r, version))
            .collect();
        let inserted = self.insert_rows("held_spans", rows.iter()).await;
        if inserted.is_err() {
            held.unrelease(released);
        }
        inserted
    }

    /// Takes over the held spans of the nodes gone from the fleet: those that sent a
    /// heartbeat within the last day but are not among `alive` (the nodes heard within the
    /// fleet's lease, this one included). What the fleet's leader does at each beat: one
    /// node at a time, so that no two nodes take the same spans. How many spans were taken
    /// over; a node found with none left is not looked at again by this node.
    ///
    /// # Errors
    /// When ClickHouse cannot be read or written: nothing is taken over, and the next beat
    /// tries again.
    pub(crate) async fn adopt_held(&self, alive: &[String]) -> Result<usize, WriteError> {
        let Some(held) = self.held_spans() else {
            return Ok(0);
        };
        let gone = self.nodes_gone(alive).await?;
        if gone.is_empty() {
            return Ok(0);
        }
        let mut w = Where::default();
        w.push(
            format!("node IN ({})", vec!["?"; gone.len()].join(", ")),
            gone.iter().map(|n| Param::Text(n.clone())),
        );
        w.push("released = 0", []);
        let rows: Vec<JournalRow> = w
            .bind(self.client().query(&format!(
                "SELECT ?fields FROM held_spans FINAL WHERE {} ORDER BY held_at LIMIT {MAX_ADOPTED}",
                w.sql()
            )))
            .fetch_all()
            .await
            .map_err(error::write)?;
        if rows.is_empty() {
            self.adopted_all_of(gone);
            return Ok(0);
        }
        // Writes are one at a time: the adopted spans join the held ones as a write would.
        let _writing = self.writing().await;
        let version = now_unix_nano();
        let mut journal = Vec::with_capacity(2 * rows.len());
        let mut adopted = Vec::with_capacity(rows.len());
        for row in rows {
            let released = Released {
                project: ProjectId(row.project),
                trace_id: TraceId::from_bytes(row.trace_id),
                span_id: SpanId::from_bytes(row.span_id),
                held_at: u64::try_from(row.held_at).unwrap_or(0),
            };
            journal.push(JournalRow::released(&row.node, &released, version));
            // A record that cannot be read is released with the others: nothing could ever
            // write it.
            let Some(span) = journal::decode(&row.record) else {
                continue;
            };
            let size = 2 * row.record.len();
            journal.push(JournalRow {
                node: self.node_id().to_owned(),
                version,
                ..row
            });
            adopted.push((released.project, span, released.held_at, size));
        }
        self.insert_rows("held_spans", journal.iter()).await?;
        Ok(held.adopt(adopted))
    }

    /// The nodes that sent a heartbeat within the last day, none of `alive` nor this one,
    /// nor found with nothing left to take over.
    async fn nodes_gone(&self, alive: &[String]) -> Result<Vec<String>, WriteError> {
        let since = now_unix_nano().saturating_sub(GONE_WITHIN_NS);
        let beating: Vec<String> = self
            .nodes_since(since)
            .await
            .map_err(|e| WriteError::Unavailable(Box::new(e)))?;
        let alive: HashSet<&str> = alive.iter().map(String::as_str).collect();
        // A node heard again (a partition healed) may hold spans again: looked at anew when
        // it is next gone.
        let done = self.nodes_adopted(&alive);
        Ok(beating
            .into_iter()
            .filter(|n| n != self.node_id() && !alive.contains(n.as_str()) && !done.contains(n))
            .collect())
    }
}
