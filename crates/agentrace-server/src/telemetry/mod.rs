//! The server's own telemetry, beneath every step of the walk: the counters each step updates
//! ([`stats`]), this node's place in its fleet ([`membership`]), and what shows them — the
//! snapshot of `/api/v1/status` and [`RunningServer::stats`](crate::RunningServer::stats), the
//! Prometheus text of `/metrics` (the server's health, the scores stored), and the redaction
//! counts kept as a received metric.

pub(crate) mod counters;
mod exposition;
pub mod membership;
pub(crate) mod redaction_series;
mod score_metrics;
pub(crate) mod self_metrics;
pub mod stats;
