//! Starting the server and stopping it: [`server`] holds [`Server::start`](crate::Server::start),
//! every part of the walk and every job wired together from a
//! [`ServerConfig`](crate::ServerConfig), one step a function; `listeners` binds and serves
//! the three listeners; [`running`] is the started server and its graceful stop; [`error`] says
//! why either failed. And the demo workload (`--demo`), a client of the receivers like any
//! other.

mod demo;
pub(crate) mod error;
mod listeners;
mod people;
pub(crate) mod running;
pub(crate) mod server;
