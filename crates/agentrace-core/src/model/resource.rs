//! The emitting service (OpenTelemetry resource).

use serde::{Deserialize, Serialize};

use super::Attributes;

/// The service that produced records: `service.name` plus other resource attributes.
/// Shared by `Arc` between all records of one process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// `service.name`.
    pub service_name: String,
    /// Other resource attributes (`service.version`, `deployment.environment.name`, …).
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
}

impl Resource {
    /// A resource with a service name and no other attributes.
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            service_name: service_name.into(),
            attributes: Attributes::new(),
        }
    }
}
