//! What runs beside the walk, in the background: retention (`retention`), repairs of traces
//! that arrived in pieces ([`repair`]), the alert rules and SLOs ([`alerting`], [`slos`]), the
//! scheduled and on-demand reports ([`report`], with [`tool_health`]), the online evaluations
//! (`online_evaluations`), the fleet's beat ([`fleet`]), the budgets file's reload
//! (`budget_reload`), the keys' last uses ([`key_uses`]) and each project's settings in force
//! (`projects`). Each reads the store and the counters; none holds up ingest.

pub mod alerting;
pub(crate) mod budget_reload;
pub mod fleet;
pub mod key_uses;
pub(crate) mod online_evaluations;
pub(crate) mod projects;
pub mod repair;
pub mod report;
pub(crate) mod retention;
pub mod slos;
pub mod tool_health;
