//! agentrace [`Resource`] → OpenTelemetry SDK [`Resource`](SdkResource).
//!
//! `service.name` comes from [`Resource::service_name`] (omitted when empty, so that a default
//! beneath it shows through when merging), every other attribute from
//! [`Resource::attributes`], typed as [`trace::value`](crate::trace::value) types span
//! attributes.
//!
//! ```
//! use agentrace_core::Resource;
//! use opentelemetry::{Key, Value};
//!
//! let mut resource = Resource::new("planner");
//! resource.attributes.insert("service.version", "1.2.3");
//! let sdk = agentrace_otel::resource::to_sdk(&resource);
//! assert_eq!(sdk.get(&Key::from_static_str("service.name")), Some(Value::from("planner")));
//! assert_eq!(sdk.len(), 2);
//! ```

use agentrace_core::Resource;
use agentrace_core::semconv::otel::SERVICE_NAME;
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource as SdkResource;

use crate::trace::key_value;

/// The resource's attributes as OpenTelemetry key-values: `service.name` first (unless empty),
/// then the others in order. An attribute named `service.name` is overridden by the field.
pub fn key_values(resource: &Resource) -> Vec<KeyValue> {
    let has_name = !resource.service_name.is_empty();
    let mut out = Vec::with_capacity(resource.attributes.len() + 1);
    if has_name {
        out.push(KeyValue::new(SERVICE_NAME, resource.service_name.clone()));
    }
    out.extend(
        resource
            .attributes
            .iter()
            .filter(|(k, _)| !(has_name && *k == SERVICE_NAME))
            .map(|(k, v)| key_value(k, v)),
    );
    out
}

/// The SDK resource holding exactly this resource's attributes (no detectors, no defaults).
pub fn to_sdk(resource: &Resource) -> SdkResource {
    SdkResource::builder_empty()
        .with_attributes(key_values(resource))
        .build()
}

#[cfg(test)]
mod tests {
    use agentrace_core::testing::fixtures;
    use opentelemetry::{Key, Value};

    use super::*;

    #[test]
    fn every_attribute_and_the_service_name_survive() {
        let resource = fixtures::resource();
        let sdk = to_sdk(&resource);
        assert_eq!(sdk.len(), resource.attributes.len() + 1);
        assert_eq!(
            sdk.get(&Key::from_static_str(SERVICE_NAME)),
            Some(Value::from(resource.service_name.clone()))
        );
        for (k, v) in resource.attributes.iter() {
            assert_eq!(
                sdk.get(&Key::from(k.to_owned())),
                Some(crate::trace::value(v)),
                "{k}"
            );
        }
    }

    #[test]
    fn the_field_wins_over_an_attribute_and_an_empty_name_is_left_out() {
        let mut resource = Resource::new("field");
        resource.attributes.insert(SERVICE_NAME, "attribute");
        let kvs = key_values(&resource);
        assert_eq!(kvs, vec![KeyValue::new(SERVICE_NAME, "field")]);

        let mut unnamed = Resource::new("");
        unnamed.attributes.insert("host.name", "h");
        let sdk = to_sdk(&unnamed);
        assert_eq!(sdk.get(&Key::from_static_str(SERVICE_NAME)), None);
        assert_eq!(sdk.len(), 1);
    }
}
