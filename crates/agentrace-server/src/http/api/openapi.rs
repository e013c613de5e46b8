//! `GET /openapi.json`: the OpenAPI 3.1 document of the API, kept beside this file
//! (`openapi.json`; the tests of [`super`] hold it to the routes and the error codes served).

use axum::http::header;
use axum::response::IntoResponse;

use super::params::Params;
use crate::http::api_base::ApiError;

/// The OpenAPI 3.1 document of the API.
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

/// `GET /openapi.json`.
pub(super) async fn openapi(p: Params) -> Result<impl IntoResponse, ApiError> {
    p.finish()?;
    Ok(([(header::CONTENT_TYPE, "application/json")], OPENAPI))
}
