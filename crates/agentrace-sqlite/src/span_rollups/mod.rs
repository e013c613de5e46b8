//! Rollups of spans by time bucket: what makes the overview, cost and tool queries fast.
//!
//! Every stored span is counted in one row of `rollups` per **tier** (the minute and the hour
//! of its start), the row of its **key**: its low-cardinality dimensions (kind, billable,
//! provider, requested and responding model, agent, framework, service, tool, operation, MCP
//! server),
//! interned in `rollup_keys`. Sessions and users are not dimensions: there are as many as
//! traces, and keeping them would cost a row per span. A row holds counters (spans, errors,
//! tokens by type, cost, priced, unpriced and their tokens), the duration bounds and a duration
//! histogram (see [`histogram`]). Failed spans are also counted in `rollup_errors` by key, error
//! type and message pattern.
//!
//! The writer keeps rows exact in the same transaction as the spans: inserts add the new spans
//! (not the duplicates), repricing moves a span's old contribution out and its new one in.
//! Span retention leaves the rows alone: they have a retention of their own (that of metrics,
//! `RecordKind::Metrics`), by the end of their bucket. A query over a range widened to whole minutes reads
//! whole hours from the hour tier and the edges from the minute tier, so it reads a few
//! thousand rows whatever the number of spans; counts, tokens and costs are exact and
//! percentiles within 3.2 %.

mod histogram;
pub(crate) mod key;
pub(crate) mod measures;
mod write;

pub(crate) use histogram::register as register_functions;
pub(crate) use key::{AGENT, FACT_COLUMNS, FRAMEWORK, Facts, MCP_SERVER, OwnedFacts};
pub(crate) use write::{Batch, KeyIds};

use rusqlite::Connection;

use crate::error::Db;
use agentrace_store::QueryError;

/// A tier of rollups: the width of its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Tier {
    Minute,
    Hour,
}

pub(crate) use agentrace_store::series::{HOUR_NS, MINUTE_NS, ceil, floor};

impl Tier {
    pub(crate) const fn width_ns(self) -> u64 {
        match self {
            Self::Minute => MINUTE_NS,
            Self::Hour => HOUR_NS,
        }
    }

    /// The `tier` column: the width in seconds.
    pub(crate) const fn to_sql(self) -> i64 {
        match self {
            Self::Minute => 60,
            Self::Hour => 3_600,
        }
    }
}

/// Spans read per step of [`backfill`].
const BACKFILL_CHUNK: i64 = 50_000;

/// Counts every stored span into the rollups (migration 2 → 3, on a file that has spans but
/// no rollups yet).
pub(crate) fn backfill(conn: &Connection) -> Result<(), QueryError> {
    let mut ids = KeyIds::default();
    let mut after = i64::MIN;
    loop {
        let mut facts = Vec::new();
        {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT rowid, {FACT_COLUMNS} FROM spans WHERE rowid > ?1 \
                     ORDER BY rowid LIMIT ?2"
                ))
                .db()?;
            let mut rows = stmt.query([after, BACKFILL_CHUNK]).db()?;
            while let Some(row) = rows.next().db()? {
                after = row.get(0).db()?;
                facts.push(OwnedFacts::read(row, 1)?);
            }
        }
        if facts.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::default();
        for f in &facts {
            batch.add(&f.facts(), 1);
        }
        batch.apply(conn, &mut ids)?;
    }
}

/// Moves the spans that name an MCP server (`agentrace.mcp.server`) from the rows keyed without
/// one to their server's (migration 12 → 13, when the key gained the server). Nothing to move
/// when some key has a server already: the rollups were computed by this build in the same
/// opening ([`backfill`], from a file older than 3).
pub(crate) fn key_mcp_servers(conn: &Connection) -> Result<(), QueryError> {
    let keyed: i64 = conn
        .query_row(
            "SELECT count(*) FROM rollup_keys WHERE mcp_server IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .db()?;
    if keyed > 0 {
        return Ok(());
    }
    let mut facts = Vec::new();
    {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {FACT_COLUMNS} FROM spans \
                 WHERE json_type(attributes, '$.\"agentrace.mcp.server\"') = 'text'"
            ))
            .db()?;
        let mut rows = stmt.query([]).db()?;
        while let Some(row) = rows.next().db()? {
            facts.push(OwnedFacts::read(row, 0)?);
        }
    }
    let unkeyed: Vec<OwnedFacts> = facts
        .iter()
        .map(|keyed| {
            let mut f = keyed.clone();
            f.set_dim(MCP_SERVER, None);
            f
        })
        .collect();
    let mut batch = Batch::default();
    for (keyed, unkeyed) in facts.iter().zip(&unkeyed) {
        batch.add(&unkeyed.facts(), -1);
        batch.add(&keyed.facts(), 1);
    }
    Ok(batch.apply(conn, &mut KeyIds::default())?)
}
