//! Starting the server and stopping it ([`server`]): every part of the walk and every job
//! wired together from a [`ServerConfig`](crate::ServerConfig); and the demo workload
//! (`--demo`), a client of the receivers like any other.

mod demo;
pub(crate) mod server;
