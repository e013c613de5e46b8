//! The APIs of other products that agentrace speaks, on the app port, so that their own
//! client packages work with agentrace unchanged (docs/scores.md says what each covers):
//!
//! - [`phoenix`]: Arize Phoenix's annotations and span reads (`arize-phoenix-client`);
//! - [`langfuse`]: Langfuse's OpenTelemetry endpoint, scores and ingestion (the `langfuse`
//!   SDK), and Langfuse's 404 for the rest (docs/migrating.md).
//!
//! They need the API token as the API does (Langfuse's Basic credentials carry it as their
//! secret key), and turn what they receive into agentrace's own records: spans through the
//! OTLP receiver, scores through the API's store of scores.

mod langfuse;
mod phoenix;

use axum::Router;

use crate::config::ReceiveLimits;
use crate::http::auth::Auth;
use crate::http::auth::{ingesting, scoped};
use crate::http::state::AppState;
use crate::ingest::receive::Receiver;

/// Where Langfuse's SDK sends its OpenTelemetry spans (it appends `/v1/traces`).
pub(crate) const LANGFUSE_OTEL: &str = "/api/public/otel";

/// Every route of the products agentrace speaks, behind `auth`.
pub(crate) fn router(
    state: AppState,
    receiver: Receiver,
    limits: &ReceiveLimits,
    auth: Auth,
) -> Router {
    let langfuse = scoped(langfuse::router(state.clone()), auth.clone()).nest(
        LANGFUSE_OTEL,
        ingesting(
            crate::ingest::receive::http::router(receiver, limits),
            auth.clone(),
        ),
    );
    scoped(phoenix::router(state), auth)
        .merge(langfuse.layer(axum::middleware::from_fn(langfuse::basic_as_bearer)))
}
