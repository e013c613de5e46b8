//! Projects on SQLite beyond the conformance suite: a store written before projects is the
//! `default` project, unchanged; project stores closed to stay under the open bound reopen
//! with everything they held.

use std::error::Error;

use agentrace_sqlite::{OrganizationOptions, SqliteOrganization, SqliteStore};
use agentrace_store::conformance::fixtures::{five_events, five_traces};
use agentrace_store::{
    AggregateQuery, GroupBy, Organization, OverviewQuery, ProjectName, RecordKind, RecordWriter,
    SpanFilter, Store, TraceFilter,
};

/// What a store answers to the dashboard's first calls.
fn answers(store: &dyn Store) -> Result<String, Box<dyn Error>> {
    Ok(format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{}/{}",
        store.list_traces(&TraceFilter::new(), None, 100)?,
        store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]))?,
        store.overview(&OverviewQuery::default())?.summary,
        store
            .aggregate(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Agent]))?
            .rows,
        store.count(RecordKind::Spans)?,
        store.count(RecordKind::Events)?,
    ))
}

#[test]
fn a_store_written_before_projects_is_the_default_project_unchanged() -> Result<(), Box<dyn Error>>
{
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("agentrace.db");
    let before = {
        // The previous release: one store, no registry.
        let store = SqliteStore::open(&path)?;
        store.write_spans(&five_traces())?;
        store.insert_events(&five_events())?;
        answers(&store)?
    };
    let organization = SqliteOrganization::open(&path)?;
    let projects = organization.projects()?;
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].name.as_str(), "default");
    let default = organization.store(projects[0].id)?;
    assert_eq!(answers(&*default)?, before);
    // The registry sits beside the file; the file itself is the project's.
    assert!(dir.path().join("agentrace.projects.db").exists());
    // Opened again, nothing changes.
    drop(default);
    drop(organization);
    let organization = SqliteOrganization::open(&path)?;
    assert_eq!(organization.projects()?, projects);
    assert_eq!(answers(&*organization.store(projects[0].id)?)?, before);
    Ok(())
}

#[test]
fn project_stores_closed_to_stay_under_the_bound_reopen_whole() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let organization = SqliteOrganization::open_with(
        dir.path().join("agentrace.db"),
        OrganizationOptions::default().max_open(1),
    )?;
    let mut written = Vec::new();
    for name in ["a", "b", "c"] {
        let project = organization.create_project(&ProjectName::new(name)?)?;
        let store = organization.store(project.id)?;
        store.write_spans(&five_traces())?;
        written.push((project.id, answers(&*store)?));
    }
    for (id, expected) in &written {
        assert_eq!(&answers(&*organization.store(*id)?)?, expected);
    }
    assert!(dir.path().join("agentrace.projects").read_dir()?.count() >= 3);
    Ok(())
}
