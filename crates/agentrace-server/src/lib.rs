//! # agentrace-server
//!
//! `agentrace serve` as a library: OTLP receivers (HTTP on 4318, gRPC on 4317), the same
//! processors as in-process records (normalize → price → budget → derive metrics), the SQLite
//! store written durably before a request is acknowledged, the REST API under `/api/v1` with
//! its OpenAPI document, a WebSocket live feed, `/metrics`, `/healthz` and `/readyz`.
//!
//! (Being written; see issue #5.)

pub mod api;
pub mod receive;
pub mod state;
