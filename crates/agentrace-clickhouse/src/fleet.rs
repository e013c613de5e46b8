//! The fleet: nodes' heartbeats, and what the other nodes stored.

use agentrace_store::{Arrivals, QueryError, Wanted, WriteError};
use clickhouse::Row;
use serde::Serialize;

use crate::error;
use crate::row::{EventRow, SpanRow};
use crate::sql::{self, Param};
use crate::store::ClickHouseStore;
use crate::write::ns;

#[derive(Debug, Row, Serialize)]
struct Heartbeat {
    node: String,
    at: i64,
}

impl ClickHouseStore {
    pub(crate) async fn heartbeat(&self, at_unix_nano: u64) -> Result<(), WriteError> {
        let beat = Heartbeat {
            node: self.node_id().to_owned(),
            at: ns(at_unix_nano),
        };
        self.insert_rows("node_heartbeats", std::iter::once(&beat))
            .await
    }

    pub(crate) async fn nodes_since(
        &self,
        since_unix_nano: u64,
    ) -> Result<Vec<String>, QueryError> {
        self.client()
            .query(&format!(
                "SELECT DISTINCT node FROM node_heartbeats WHERE at >= {} ORDER BY node",
                sql::time(since_unix_nano)
            ))
            .fetch_all()
            .await
            .map_err(error::query)
    }

    pub(crate) async fn arrivals(
        &self,
        since_unix_nano: u64,
        wanted: Wanted,
        limit: usize,
    ) -> Result<Arrivals, QueryError> {
        let mut w = self.scoped();
        w.push(format!("arrived > {}", sql::time(since_unix_nano)), []);
        w.push("node <> ?", [Param::Text(self.node_id().to_owned())]);
        let mut spans_where = w.clone();
        if wanted == Wanted::Priced {
            spans_where.push("cost_total IS NOT NULL", []);
        }
        let spans: Vec<SpanRow> = spans_where
            .bind(self.client().query(&format!(
                "SELECT ?fields FROM spans FINAL WHERE {} ORDER BY arrived LIMIT {limit}",
                spans_where.sql()
            )))
            .fetch_all()
            .await
            .map_err(error::query)?;
        let events: Vec<EventRow> = if wanted == Wanted::Everything {
            w.bind(self.client().query(&format!(
                "SELECT ?fields FROM events FINAL WHERE {} ORDER BY arrived LIMIT {limit}",
                w.sql()
            )))
            .fetch_all()
            .await
            .map_err(error::query)?
        } else {
            Vec::new()
        };
        let until = spans
            .iter()
            .map(SpanRow::arrived)
            .chain(events.iter().map(EventRow::arrived))
            .max()
            .map_or(since_unix_nano, |t| {
                u64::try_from(t).unwrap_or(since_unix_nano)
            });
        Ok(Arrivals {
            spans: spans
                .into_iter()
                .map(|r| r.into_record().map_err(error::decode))
                .collect::<Result<_, _>>()?,
            events: events
                .into_iter()
                .map(|r| r.into_event().map_err(error::decode))
                .collect::<Result<_, _>>()?,
            until_unix_nano: until,
        })
    }
}
