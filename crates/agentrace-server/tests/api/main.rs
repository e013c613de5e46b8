//! The REST API and the live feed, over a real listener and a real SQLite file filled with
//! realistic traces: every endpoint's content and filters, pagination, errors, the OpenAPI
//! document (every route and parameter, every answer valid against its schemas), and the
//! WebSocket feed.

mod analytics;
mod budget_check;
mod documents;
mod guardrails;
mod isolation;
mod live;
mod projects;
mod records;
mod report;
mod scores;
mod support;
mod views;
