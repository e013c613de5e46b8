//! Which project received records go to: the sender's key's project; for a credential of the
//! organization (one collector serving many teams), the project each resource names
//! ([`PROJECT_ATTRIBUTE`]), else the one the request names (`x-agentrace-project`), else
//! `default`.
//!
//! A resource naming a project the sender may not write to, or one that does not exist, is
//! refused with its records — counted in the answer's partial success with a message naming
//! the project — and the request's other records are stored.
//!
//! Phoenix's project attribute ([`PHOENIX_PROJECT_ATTRIBUTE`], which OpenInference
//! instrumentations set) names an agentrace project when one of that name exists; otherwise
//! it stays an attribute of the records, which Phoenix's API compatibility reads its projects
//! from, and the records go where they would without it.

use std::collections::BTreeMap;

use agentrace_core::{Event, Measurement, SpanRecord};
use agentrace_store::Project;

use crate::ingest::processors::Records;
use crate::store::SharedStore;
use crate::store::directory::{Directory, Principal, ProjectRefusal};

/// The resource attribute that names the project of a resource's records.
pub(crate) const PROJECT_ATTRIBUTE: &str = "agentrace.project";

/// Phoenix's project attribute: a project of agentrace when one has its name.
pub(crate) const PHOENIX_PROJECT_ATTRIBUTE: &str = "openinference.project.name";

/// A project a resource names: with agentrace's attribute (it `must` exist), or Phoenix's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Named {
    name: String,
    must: bool,
}

/// Who sent an export request, and the project its header names.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    /// Who sent it.
    pub(crate) principal: Principal,
    /// The project the request's `x-agentrace-project` header names.
    pub(crate) asked: Option<String>,
}

impl Sender {
    /// The server itself, sending to the project named `project` (`None`: `default`).
    pub(crate) fn server(project: Option<&str>) -> Self {
        Self {
            principal: Principal::organization(agentrace_store::KeyScope::Admin),
            asked: project.map(str::to_owned),
        }
    }
}

/// What resolves who sends a request from its headers (HTTP headers, gRPC metadata) — the
/// credentials' check of `crate::http::auth` — for the gRPC services, which resolve it
/// before a message is decoded. (OTLP/HTTP's routes are layered with it instead.)
pub(crate) trait SenderCheck: Send + Sync + 'static {
    /// The sender of a request with `headers`, or the gRPC status refusing it (counted).
    fn sender<'a>(
        &'a self,
        headers: &'a axum::http::HeaderMap,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Sender, tonic::Status>> + Send + 'a>>;
}

/// One project's share of a request.
pub(crate) struct Part {
    pub(crate) project: Project,
    pub(crate) store: SharedStore,
    pub(crate) records: Records,
}

/// A request's records by project, and those refused.
pub(crate) struct Routed {
    pub(crate) parts: Vec<Part>,
    /// Records refused for their project.
    pub(crate) refused: u64,
    /// Why, one clause per project refused.
    pub(crate) message: String,
}

/// The project a record's resource names.
fn named(attributes: &agentrace_core::Attributes) -> Option<Named> {
    let of = |key: &str, must: bool| {
        attributes.get(key)?.as_str().map(|name| Named {
            name: name.to_owned(),
            must,
        })
    };
    of(PROJECT_ATTRIBUTE, true).or_else(|| of(PHOENIX_PROJECT_ATTRIBUTE, false))
}

/// The project a received metric point's labels name.
fn named_by_labels(measurement: &Measurement) -> Option<Named> {
    let of = |key: &str, must: bool| {
        measurement
            .labels
            .iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, value)| Named {
                name: value.to_string(),
                must,
            })
    };
    of(PROJECT_ATTRIBUTE, true).or_else(|| of(PHOENIX_PROJECT_ATTRIBUTE, false))
}

/// Records grouped by the project their resource names (`None`: none).
fn group<T>(
    records: Vec<T>,
    name: impl Fn(&T) -> Option<Named>,
) -> BTreeMap<Option<Named>, Vec<T>> {
    let mut groups: BTreeMap<Option<Named>, Vec<T>> = BTreeMap::new();
    for record in records {
        groups.entry(name(&record)).or_default().push(record);
    }
    groups
}

/// Splits `records` by project for `sender` (see the module's documentation). Fails (to be
/// retried) only when the projects or a project's store cannot be read.
pub(crate) async fn route(
    directory: &Directory,
    sender: &Sender,
    records: Records,
) -> Result<Routed, String> {
    let groups: Vec<(Option<Named>, Records)> = match records {
        Records::Spans(spans) => group(spans, |s: &SpanRecord| named(&s.resource.attributes))
            .into_iter()
            .map(|(k, v)| (k, Records::Spans(v)))
            .collect(),
        Records::Events(events) => group(events, |e: &Event| named(&e.resource.attributes))
            .into_iter()
            .map(|(k, v)| (k, Records::Events(v)))
            .collect(),
        Records::Measurements(points) => group(points, named_by_labels)
            .into_iter()
            .map(|(k, v)| (k, Records::Measurements(v)))
            .collect(),
    };
    let mut routed = Routed {
        parts: Vec::new(),
        refused: 0,
        message: String::new(),
    };
    let existing = directory
        .projects()
        .await
        .map_err(|e| format!("the projects: {e}"))?;
    for (named, records) in groups {
        // Phoenix's name counts where such a project exists.
        let named = named.filter(|n| n.must || existing.iter().any(|p| p.name.as_str() == n.name));
        let asked = named
            .as_ref()
            .map(|n| n.name.as_str())
            .or(sender.asked.as_deref());
        let found = match directory.project_for(&sender.principal, asked).await {
            Ok(project) => directory
                .store(project.id)
                .await
                .map(|store| (project, store))
                .map_err(|e| ProjectRefusal::Store(e.to_string())),
            Err(refusal) => Err(refusal),
        };
        match found {
            Ok((project, store)) => routed.parts.push(Part {
                project,
                store,
                records,
            }),
            Err(ProjectRefusal::Store(e)) => return Err(format!("the projects: {e}")),
            Err(refusal) => {
                routed.refused += records.len() as u64;
                if !routed.message.is_empty() {
                    routed.message.push_str("; ");
                }
                routed
                    .message
                    .push_str(&format!("{} refused: {refusal}", records.len()));
            }
        }
    }
    Ok(routed)
}
