//! OTLP resources and instrumentation scopes.

use std::borrow::Cow;
use std::sync::Arc;

use agentrace_core::Resource;
use agentrace_core::semconv::otel;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;

use crate::Limits;
use crate::reject::Rejection;
use crate::value::Converter;

/// The service name of a resource that names none (OpenTelemetry's default).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// A resource, shared by every record of its `Resource*` group: `service.name` (or
/// [`UNKNOWN_SERVICE`]) and its other attributes.
pub(crate) fn resource(
    resource: Option<ProtoResource>,
    limits: &Limits,
) -> Result<Arc<Resource>, Rejection> {
    let mut converter = Converter::new(limits);
    let mut attributes = converter
        .attributes(
            resource.map(|r| r.attributes).unwrap_or_default(),
            "resource",
        )
        .map_err(|e| Rejection::Resource(Box::new(e)))?;
    let service_name = attributes
        .remove(otel::SERVICE_NAME)
        .map_or_else(|| UNKNOWN_SERVICE.to_owned(), |v| v.to_string());
    Ok(Arc::new(Resource {
        service_name,
        attributes,
    }))
}

/// An instrumentation scope's name (none when empty) and version (none when empty), and the
/// framework its name names (found once per scope, not per record).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) version: Option<String>,
    pub(crate) framework: Option<&'static str>,
}

impl Scope {
    pub(crate) fn new(scope: Option<InstrumentationScope>, limits: &Limits) -> Self {
        let Some(scope) = scope else {
            return Self::default();
        };
        let mut converter = Converter::new(limits);
        let name = converter.string(scope.name);
        let version = converter.string(scope.version);
        let name = (!name.is_empty()).then_some(Cow::Owned(name));
        Self {
            framework: agentrace_core::normalize::dialect::framework_of_scope(name.as_deref()),
            name,
            version: (!version.is_empty()).then_some(version),
        }
    }
}
