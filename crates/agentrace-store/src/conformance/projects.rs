//! Projects and keys ([`Organization`]): the registry's rules, keys found by their digest
//! until revoked, and isolation — two projects' stores share nothing, whatever order their
//! writes arrive in.
//!
//! Each check takes a fresh organization (its `default` project only); the isolation
//! property takes a factory, to compare with projects written alone.

use std::error::Error;
use std::sync::Arc;

use crate::{
    AggregateQuery, EventFilter, EventQuery, GroupBy, KeyHash, KeyId, KeyOwner, KeyScope, NewKey,
    Organization, OverviewQuery, ProjectError, ProjectId, ProjectName, RecordKind, SettingVersion,
    SpanFilter, Store, StoredRule, TraceFilter,
};
use agentrace_core::SpanRecord;

use super::fixtures::{SEC, T0, five_events, five_traces, five_traces_attributed, trace_ids};
use super::{CheckResult, all_spans, ensure, expect_eq, listed};

pub use super::{NewFleet, NewOrganization};

/// The two projects of an interleaving: for each, the store its writes go through and the one
/// its answers are read from.
type Interleaved = [(Arc<dyn Store>, Arc<dyn Store>); 2];

/// A check of one fresh organization.
pub type OrganizationCheck = fn(&dyn Organization) -> CheckResult;

/// Every check of a single organization, by name.
pub const CHECKS: &[(&str, OrganizationCheck)] = &[
    (
        "a_fresh_organization_holds_the_default_project",
        a_fresh_organization_holds_the_default_project,
    ),
    (
        "projects_are_created_renamed_and_deleted",
        projects_are_created_renamed_and_deleted,
    ),
    ("projects_share_nothing", projects_share_nothing),
    (
        "deleting_a_project_deletes_its_data_and_keys",
        deleting_a_project_deletes_its_data_and_keys,
    ),
    (
        "keys_are_found_by_their_digest_until_revoked",
        keys_are_found_by_their_digest_until_revoked,
    ),
    (
        "settings_are_a_document_a_kind_whose_revision_grows",
        settings_are_a_document_a_kind_whose_revision_grows,
    ),
    (
        "users_are_unique_and_found_every_way",
        super::accounts::users_are_unique_and_found_every_way,
    ),
    (
        "roles_in_projects_replace_each_other_and_go_with_their_owner",
        super::accounts::roles_in_projects_replace_each_other_and_go_with_their_owner,
    ),
    (
        "sessions_are_found_by_digest_and_go_with_their_user",
        super::accounts::sessions_are_found_by_digest_and_go_with_their_user,
    ),
    (
        "invitations_are_taken_once_while_live",
        super::accounts::invitations_are_taken_once_while_live,
    ),
    (
        "the_audit_log_lists_newest_first_and_expires_by_age",
        super::accounts::the_audit_log_lists_newest_first_and_expires_by_age,
    ),
];

/// Runs every check of [`CHECKS`] on a fresh organization each, then
/// [`interleaved_writes_answer_as_written_alone`]; the error names each failing check.
pub fn run_all(new_organization: NewOrganization<'_>) -> Result<(), Box<dyn Error>> {
    let mut failed = Vec::new();
    for (name, check) in CHECKS {
        let outcome = new_organization().and_then(|organization| check(&*organization));
        if let Err(e) = outcome {
            failed.push(format!("{name}: {e}"));
        }
    }
    if let Err(e) = interleaved_writes_answer_as_written_alone(new_organization) {
        failed.push(format!("interleaved_writes_answer_as_written_alone: {e}"));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Box::new(super::Failures {
            failed,
            checks: CHECKS.len() + 1,
        }))
    }
}

fn name(name: &str) -> Result<ProjectName, Box<dyn Error>> {
    Ok(ProjectName::new(name)?)
}

fn digest(n: u8) -> KeyHash {
    KeyHash([n; 32])
}

/// A fresh organization has one project, `default`, whose store is empty.
pub fn a_fresh_organization_holds_the_default_project(org: &dyn Organization) -> CheckResult {
    let projects = org.projects()?;
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    expect_eq(
        "the projects of a fresh organization",
        &["default"][..],
        &names,
    )?;
    let default = org
        .project_named("default")?
        .ok_or("`default` is not found by its name")?;
    expect_eq("the project found by name", &projects[0], &default)?;
    expect_eq(
        "spans in the default project",
        &0,
        &org.store(default.id)?.count(RecordKind::Spans)?,
    )?;
    expect_eq(
        "organization keys",
        &0,
        &org.keys(KeyOwner::Organization)?.len(),
    )?;
    Ok(())
}

/// Names are unique (`NameTaken`), a renamed project keeps its id, an unknown id is
/// `NoProject`, the last project is never deleted (`LastProject`), and a deleted project's id
/// is not given again.
pub fn projects_are_created_renamed_and_deleted(org: &dyn Organization) -> CheckResult {
    let alpha = org.create_project(&name("alpha")?)?;
    expect_eq("the created project's name", &"alpha", &alpha.name.as_str())?;
    ensure(
        matches!(
            org.create_project(&name("alpha")?),
            Err(ProjectError::NameTaken(_))
        ),
        "a second project named alpha was not refused as NameTaken",
    )?;
    ensure(
        matches!(
            org.rename_project(alpha.id, &name("default")?),
            Err(ProjectError::NameTaken(_))
        ),
        "renaming alpha to default was not refused as NameTaken",
    )?;
    let renamed = org.rename_project(alpha.id, &name("alpha-2")?)?;
    expect_eq("the renamed project's id", &alpha.id, &renamed.id)?;
    expect_eq(
        "the renamed project found by its new name",
        &Some(alpha.id),
        &org.project_named("alpha-2")?.map(|p| p.id),
    )?;
    ensure(
        org.project_named("alpha")?.is_none(),
        "the old name still finds the project",
    )?;
    let unknown = ProjectId(alpha.id.0 + 1000);
    ensure(
        matches!(org.delete_project(unknown), Err(ProjectError::NoProject(_))),
        "deleting an unknown project was not NoProject",
    )?;
    ensure(
        matches!(
            org.rename_project(unknown, &name("x")?),
            Err(ProjectError::NoProject(_))
        ),
        "renaming an unknown project was not NoProject",
    )?;
    let default = org.project_named("default")?.ok_or("no default project")?;
    org.delete_project(default.id)?;
    ensure(
        matches!(
            org.delete_project(alpha.id),
            Err(ProjectError::LastProject(_))
        ),
        "deleting the last project was not refused as LastProject",
    )?;
    let beta = org.create_project(&name("beta")?)?;
    ensure(
        beta.id != default.id && beta.id != alpha.id,
        format!("a deleted project's id was given again: {:?}", beta.id),
    )?;
    let projects = org.projects()?;
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    expect_eq("the projects, by id", &vec!["alpha-2", "beta"], &names)?;
    Ok(())
}

/// What is written to `alpha` is never read from `beta`: spans, traces, events, aggregates,
/// the overview, scores' rules; the same trace ids written to both are two traces each;
/// retention of one leaves the other whole.
pub fn projects_share_nothing(org: &dyn Organization) -> CheckResult {
    let alpha = org.store(org.create_project(&name("alpha")?)?.id)?;
    let beta = org.store(org.create_project(&name("beta")?)?.id)?;
    alpha.write_spans(&five_traces())?;
    alpha.insert_events(&five_events())?;
    alpha.put_evaluator_rule(&StoredRule::new("helpful", "{}", T0))?;

    expect_eq("spans of beta", &0, &beta.count(RecordKind::Spans)?)?;
    expect_eq("events of beta", &0, &beta.count(RecordKind::Events)?)?;
    expect_eq(
        "traces of beta",
        &0,
        &beta
            .list_traces(&TraceFilter::new(), None, 10)?
            .traces
            .len(),
    )?;
    expect_eq(
        "events read from beta",
        &0,
        &beta
            .events(&EventQuery::new(EventFilter::new()))?
            .events
            .len(),
    )?;
    expect_eq(
        "aggregate rows of beta",
        &0,
        &beta
            .aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]))?
            .len(),
    )?;
    expect_eq(
        "calls in beta's overview",
        &0,
        &beta.overview(&OverviewQuery::default())?.summary.spans,
    )?;
    expect_eq(
        "evaluator rules of beta",
        &0,
        &beta.evaluator_rules()?.len(),
    )?;

    // The same traces in beta, renamed: two projects, two traces each, nothing merged.
    let renamed: Vec<SpanRecord> = five_traces()
        .into_iter()
        .map(|mut s| {
            s.name = format!("beta {}", s.name).into();
            s
        })
        .collect();
    beta.write_spans(&renamed)?;
    expect_eq(
        "alpha's spans after beta wrote the same ids",
        &five_traces_attributed(),
        &all_spans(&*alpha, SpanFilter::new())?,
    )?;
    let beta_names: Vec<String> = all_spans(&*beta, SpanFilter::new())?
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    ensure(
        beta_names.len() == 15 && beta_names.iter().all(|n| n.starts_with("beta ")),
        format!("beta's spans are not its own 15: {beta_names:?}"),
    )?;
    expect_eq(
        "beta's trace list",
        &trace_ids(&[5, 4, 3, 2, 1]),
        &listed(&beta.list_traces(&TraceFilter::new(), None, 10)?),
    )?;

    // Retention of alpha leaves beta whole.
    alpha.delete_before(RecordKind::Spans, T0 + 3600 * SEC)?;
    expect_eq(
        "alpha's spans after retention",
        &0,
        &alpha.count(RecordKind::Spans)?,
    )?;
    expect_eq(
        "beta's spans after alpha's retention",
        &15,
        &beta.count(RecordKind::Spans)?,
    )?;
    Ok(())
}

/// Deleting a project deletes its keys and its data: a project created again under its name
/// is a new, empty one.
pub fn deleting_a_project_deletes_its_data_and_keys(org: &dyn Organization) -> CheckResult {
    let alpha = org.create_project(&name("alpha")?)?;
    org.store(alpha.id)?.write_spans(&five_traces())?;
    org.insert_key(&NewKey::new(
        Some(alpha.id),
        KeyScope::Ingest,
        "app",
        "test",
        digest(1),
        T0,
    ))?;
    org.delete_project(alpha.id)?;
    ensure(
        org.key_by_hash(&digest(1))?.is_none(),
        "the key of a deleted project is still found",
    )?;
    ensure(
        matches!(org.store(alpha.id), Err(ProjectError::NoProject(_))),
        "the store of a deleted project is still handed out",
    )?;
    let again = org.create_project(&name("alpha")?)?;
    expect_eq(
        "spans of a project created again under a deleted one's name",
        &0,
        &org.store(again.id)?.count(RecordKind::Spans)?,
    )?;
    ensure(
        matches!(
            org.insert_key(&NewKey::new(
                Some(alpha.id),
                KeyScope::Read,
                "late",
                "test",
                digest(2),
                T0
            )),
            Err(ProjectError::NoProject(_))
        ),
        "a key of a deleted project was stored",
    )?;
    Ok(())
}

/// A setting is one document per project and kind: written, read back as written, replaced
/// with a revision that only grows (even at an earlier clock), listed by version for every
/// project, deleted alone, and gone with its project; another project's setting of the same
/// kind is its own.
pub fn settings_are_a_document_a_kind_whose_revision_grows(org: &dyn Organization) -> CheckResult {
    let default = org
        .project_named("default")?
        .ok_or("no default project")?
        .id;
    let alpha = org.create_project(&name("alpha")?)?.id;
    expect_eq(
        "a fresh organization's settings",
        &0,
        &org.setting_versions()?.len(),
    )?;
    expect_eq(
        "an unwritten setting",
        &None,
        &org.setting(alpha, "budgets")?,
    )?;
    // Text as given: quotes, new lines, non-ASCII.
    let document = "[[budget]]\nname = \"team's \\\"Ω\\\"\"\nlimit = 5\n";
    let first = org.put_setting(alpha, "budgets", document, "ci", T0)?;
    expect_eq("the written revision", &T0, &first.revision)?;
    expect_eq(
        "the setting read back",
        &Some(first.clone()),
        &org.setting(alpha, "budgets")?,
    )?;
    org.put_setting(default, "budgets", "{}", "ci", T0 + 5)?;
    // Written again at a clock behind the first write: the revision still grows.
    let second = org.put_setting(alpha, "budgets", "[[budget]]", "admin", T0 - SEC)?;
    ensure(
        second.revision > first.revision,
        format!(
            "a rewrite's revision {} is not above {}",
            second.revision, first.revision
        ),
    )?;
    expect_eq(
        "the rewritten document",
        &"[[budget]]",
        &org.setting(alpha, "budgets")?
            .ok_or("the rewritten setting is gone")?
            .document
            .as_str(),
    )?;
    org.put_setting(
        alpha,
        "retention",
        "spans_max_age = \"7d\"",
        "admin",
        T0 + 9,
    )?;
    let versions = |org: &dyn Organization| -> Result<Vec<SettingVersion>, ProjectError> {
        let mut v = org.setting_versions()?;
        v.sort();
        Ok(v)
    };
    let mut expected = vec![
        SettingVersion {
            project: default,
            kind: "budgets".into(),
            revision: T0 + 5,
        },
        SettingVersion {
            project: alpha,
            kind: "budgets".into(),
            revision: second.revision,
        },
        SettingVersion {
            project: alpha,
            kind: "retention".into(),
            revision: T0 + 9,
        },
    ];
    expected.sort();
    expect_eq("every setting's version", &expected, &versions(org)?)?;
    ensure(
        org.delete_setting(alpha, "retention")?,
        "deleting a setting said it had none",
    )?;
    ensure(
        !org.delete_setting(alpha, "retention")?,
        "deleting it again said it had one",
    )?;
    expect_eq(
        "a deleted setting",
        &None,
        &org.setting(alpha, "retention")?,
    )?;
    org.delete_project(alpha)?;
    expect_eq(
        "the versions once alpha is deleted",
        &vec![SettingVersion {
            project: default,
            kind: "budgets".into(),
            revision: T0 + 5,
        }],
        &versions(org)?,
    )?;
    ensure(
        matches!(
            org.put_setting(alpha, "budgets", "{}", "ci", T0),
            Err(ProjectError::NoProject(_))
        ),
        "a setting of a deleted project was stored",
    )?;
    Ok(())
}

/// Keys are listed by owner, found by digest with what they may do, noted as used (a later
/// use only), and found no more once revoked (revoking again is `NoKey`).
pub fn keys_are_found_by_their_digest_until_revoked(org: &dyn Organization) -> CheckResult {
    let alpha = org.create_project(&name("alpha")?)?;
    let automation = org.insert_key(&NewKey::new(
        None,
        KeyScope::Admin,
        "automation",
        "ops",
        digest(1),
        T0,
    ))?;
    let app = org.insert_key(
        &NewKey::new(
            Some(alpha.id),
            KeyScope::Ingest,
            "app",
            "alice",
            digest(2),
            T0 + SEC,
        )
        .expiring(T0 + 3600 * SEC),
    )?;
    expect_eq(
        "organization keys",
        &vec![automation.clone()],
        &org.keys(KeyOwner::Organization)?,
    )?;
    expect_eq(
        "alpha's keys",
        &vec![app.clone()],
        &org.keys(KeyOwner::Project(alpha.id))?,
    )?;
    let found = org
        .key_by_hash(&digest(2))?
        .ok_or("the app key is not found")?;
    expect_eq("the key found by digest", &app, &found)?;
    ensure(
        found.is_live(T0 + 2 * SEC),
        "the key is not live before expiry",
    )?;
    ensure(
        !found.is_live(T0 + 3600 * SEC),
        "the key is live at its expiry",
    )?;
    ensure(
        org.key_by_hash(&digest(3))?.is_none(),
        "an unknown digest found a key",
    )?;

    org.note_key_uses(&[(app.id, T0 + 10 * SEC), (KeyId(u64::MAX >> 2), T0)])?;
    org.note_key_uses(&[(app.id, T0 + 5 * SEC)])?;
    expect_eq(
        "the app key's last use",
        &Some(T0 + 10 * SEC),
        &org.key_by_hash(&digest(2))?
            .and_then(|k| k.last_used_unix_nano),
    )?;

    org.revoke_key(app.id)?;
    ensure(
        org.key_by_hash(&digest(2))?.is_none(),
        "a revoked key is still found",
    )?;
    ensure(
        matches!(org.revoke_key(app.id), Err(ProjectError::NoKey(_))),
        "revoking a revoked key was not NoKey",
    )?;
    expect_eq(
        "the organization key after alpha's was revoked",
        &Some(automation.id),
        &org.key_by_hash(&digest(1))?.map(|k| k.id),
    )?;
    Ok(())
}

/// What a project answers: its spans, trace list, events, aggregate by model and overview.
fn answers(store: &dyn Store) -> Result<String, Box<dyn Error>> {
    let spans = all_spans(store, SpanFilter::new())?;
    let traces = store.list_traces(&TraceFilter::new(), None, 100)?;
    let events = store.events(&EventQuery::new(EventFilter::new()))?;
    let by_model =
        store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]))?;
    let overview = store.overview(&OverviewQuery::default())?;
    Ok(format!(
        "{spans:?}\n{traces:?}\n{events:?}\n{by_model:?}\n{:?}",
        overview.summary
    ))
}

/// A small deterministic generator (xorshift), so that a failing order can be replayed.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One write: a span or an event, of project 0 or 1.
enum Write {
    Span(Box<SpanRecord>),
    Event(Box<agentrace_core::Event>),
}

fn write(store: &dyn Store, writes: &[Write]) -> CheckResult {
    for w in writes {
        match w {
            Write::Span(s) => {
                store.write_spans(std::slice::from_ref(s))?;
            }
            Write::Event(e) => {
                store.insert_events(std::slice::from_ref(e))?;
            }
        }
    }
    Ok(())
}

/// Each project's writes: the five traces and events, the second project's spans renamed and
/// moved by a minute (same trace and span ids: the ids collide on purpose).
fn project_writes() -> [Vec<Write>; 2] {
    let of = |prefix: &str, shift: u64| -> Vec<Write> {
        let spans = five_traces().into_iter().map(|mut s| {
            s.name = format!("{prefix}{}", s.name).into();
            s.start_time_unix_nano += shift;
            s.end_time_unix_nano += shift;
            Write::Span(Box::new(s))
        });
        let events = five_events().into_iter().map(|mut e| {
            e.time_unix_nano += shift;
            Write::Event(Box::new(e))
        });
        spans.chain(events).collect()
    };
    [of("", 0), of("other ", 60 * SEC)]
}

/// The property: two projects' writes (spans and events, one at a time, trace ids colliding)
/// interleaved in a random order, for eight orders, leave each project answering exactly as
/// when written alone into a fresh organization.
pub fn interleaved_writes_answer_as_written_alone(
    new_organization: NewOrganization<'_>,
) -> CheckResult {
    interleaving(new_organization, &|| {
        let org = new_organization()?;
        let p0 = org.store(org.create_project(&name("p0")?)?.id)?;
        let p1 = org.store(org.create_project(&name("p1")?)?.id)?;
        Ok([(p0.clone(), p0), (p1.clone(), p1)])
    })
}

/// The same property across two nodes of a fleet: project `p0` created and written through
/// one node, `p1` through the other, each read back through the node that did not write it.
pub fn interleaved_writes_across_two_nodes(
    new_organization: NewOrganization<'_>,
    new_fleet: NewFleet<'_>,
) -> CheckResult {
    interleaving(new_organization, &|| {
        let [one, two] = new_fleet()?;
        let p0 = one.create_project(&name("p0")?)?.id;
        let p1 = two.create_project(&name("p1")?)?.id;
        Ok([
            (one.store(p0)?, two.store(p0)?),
            (two.store(p1)?, one.store(p1)?),
        ])
    })
}

/// Each project written alone into a fresh organization, then, for eight seeds, both
/// projects' writes interleaved into the stores `interleaved` gives: each answers as alone.
fn interleaving(
    new_organization: NewOrganization<'_>,
    interleaved: &dyn Fn() -> Result<Interleaved, Box<dyn Error>>,
) -> CheckResult {
    let alone = {
        let org = new_organization()?;
        let mut alone = Vec::new();
        for (i, writes) in project_writes().iter().enumerate() {
            let store = org.store(org.create_project(&name(&format!("p{i}"))?)?.id)?;
            write(&*store, writes)?;
            alone.push(answers(&*store)?);
        }
        alone
    };
    for seed in 1..=8_u64 {
        let stores = interleaved()?;
        let mut queues = project_writes().map(|w| w.into_iter().rev().collect::<Vec<_>>());
        let mut shuffle = Shuffle(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        while !queues[0].is_empty() || !queues[1].is_empty() {
            let pick = if queues[0].is_empty() {
                1
            } else if queues[1].is_empty() {
                0
            } else {
                usize::from(shuffle.next() % 2 == 1)
            };
            if let Some(w) = queues[pick].pop() {
                write(&*stores[pick].0, &[w])?;
            }
        }
        for (i, (_, read)) in stores.iter().enumerate() {
            let got = answers(&**read)?;
            ensure(
                got == alone[i],
                format!(
                    "project p{i} after the interleaving of seed {seed} answers differently \
                     from p{i} written alone:\n{got}\n---\n{}",
                    alone[i]
                ),
            )?;
        }
    }
    Ok(())
}
