//! agentrace-ingest end to end: OTLP requests (JSON fixtures decoded with serde, as the server
//! does, and requests built in code) through an [`Ingestor`](agentrace_ingest::Ingestor).

mod billing;
mod common;
mod dialects;
mod logs;
mod metrics;
mod orphans;
mod precedence;
mod routes;
mod tokens;
mod validation;
