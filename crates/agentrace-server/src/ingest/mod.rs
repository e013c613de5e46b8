//! The data's walk from a connection to the store and beyond, in its order:
//!
//! 1. **receive**: a connection let in by its listener's limits ([`listen`]), an OTLP request
//!    admitted, decoded and normalized ([`receive`], with `agentrace-ingest`);
//! 2. **process**: OpenLIT's tool spans recognized ([`requested_tools`]), the processors run
//!    (mask, price, budget, derive metrics) and each span's row encoded ([`processors`]), on the
//!    receiving thread;
//! 3. **write**: the writer thread's group commit ([`writer`]), the scores of evaluation results
//!    made in the same group ([`evaluation_results`]); then the answer;
//! 4. **publish**: what was committed, on the publisher thread ([`publish`]): to the commit's
//!    watchers, the spans whose attribution it completed to the budgets ([`late_attribution`]),
//!    the records to the live feed ([`committed`]) and the fan-out pipeline (`/metrics`, the
//!    forwarder).

pub(crate) mod committed;
pub(crate) mod evaluation_results;
pub(crate) mod late_attribution;
pub(crate) mod listen;
pub(crate) mod processors;
pub(crate) mod publish;
pub(crate) mod receive;
mod requested_tools;
pub(crate) mod route;
pub(crate) mod writer;
