//! agentrace-server end to end: a real server on free ports, real HTTP and gRPC clients, the
//! store opened afresh from its file to check what was acknowledged.

mod access;
mod admission;
mod aggregates;
mod alerts;
mod attribution;
mod browser;
mod budgets;
mod common;
mod compat;
mod connections;
mod evaluations;
mod ingest;
mod lifecycle;
mod online;
mod overload;
mod people;
mod repair;
mod retention;
mod routing;
mod security;
mod settings;
mod sso;
