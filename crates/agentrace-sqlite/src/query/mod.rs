//! The query API: records, traces, aggregates. Every query runs on a read connection of its
//! own and sees the last committed state, even while a write is in progress.

mod aggregate;
mod cost;
mod filter;
mod metric_points;
mod people;
mod records;
mod rollups;
mod traces;

pub(crate) use aggregate::{aggregate as exact_aggregate, count_traces};
