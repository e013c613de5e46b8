//! The end of the walk, where the stored data is read: the app port — the REST API and its
//! live feed ([`api`]), the dashboard, the APIs of other products agentrace speaks, `/metrics`
//! and the health checks (`app`) — and what guards every HTTP listener: the `Host` and
//! `Origin` checks (`guard`) and the API tokens (`auth`). [`state`] is what the routes
//! share.

pub mod api;
mod api_base;
pub(crate) mod app;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod compat;
pub(crate) mod dashboard;
pub(crate) mod guard;
pub mod scope;
pub mod state;
