//! People and the audit log ([`Accounts`](crate::Accounts), [`AuditLog`](crate::AuditLog)):
//! users unique by e-mail and subject, roles in projects that replace each other and go with
//! their user or project, sessions found by digest, invitations taken once (across two nodes
//! too), and the audit log listed newest first by scope and expired by age.
//!
//! Each check takes a fresh organization, as [`super::projects::CHECKS`] do.

use std::error::Error;
use std::sync::{Arc, Barrier};

use crate::{
    AccountError, Actor, AuditEntry, AuditQuery, AuditScope, Grant, Invitation, LoginSession,
    NewUser, OrgRole, Organization, ProjectName, ProjectRole, SecretHash, UserId,
};

use super::fixtures::{SEC, T0};
use super::{CheckResult, NewFleet, ensure, expect_eq};

fn hash(n: u8) -> SecretHash {
    SecretHash([n; 32])
}

fn project(org: &dyn Organization, name: &str) -> Result<crate::ProjectId, Box<dyn Error>> {
    Ok(org.create_project(&ProjectName::new(name)?)?.id)
}

/// E-mail addresses and subjects are unique; a user is found by id, e-mail and subject, is
/// written whole by `update_user`, and is gone once deleted, its id never given again.
pub fn users_are_unique_and_found_every_way(org: &dyn Organization) -> CheckResult {
    let mut ada = NewUser::new("ada@example.com", "Ada", OrgRole::Owner, T0);
    ada.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    let ada = org.create_user(&ada)?;
    let mut bob = NewUser::new("bob@example.com", "Bob", OrgRole::Viewer, T0 + SEC);
    bob.subject = Some("https://idp.example.com bob-1".into());
    let bob = org.create_user(&bob)?;
    ensure(
        matches!(
            org.create_user(&NewUser::new(
                "ada@example.com",
                "Other",
                OrgRole::Member,
                T0
            )),
            Err(AccountError::EmailTaken(_))
        ),
        "a second user of ada's e-mail was not refused as EmailTaken",
    )?;
    let mut same_subject = NewUser::new("bobby@example.com", "Bobby", OrgRole::Member, T0);
    same_subject.subject = bob.subject.clone();
    ensure(
        matches!(
            org.create_user(&same_subject),
            Err(AccountError::SubjectTaken(_))
        ),
        "a second user of bob's subject was not refused as SubjectTaken",
    )?;
    expect_eq(
        "the users, by id",
        &vec![ada.clone(), bob.clone()],
        &org.users()?,
    )?;
    expect_eq("ada by id", &Some(ada.clone()), &org.user(ada.id)?)?;
    expect_eq(
        "ada by e-mail",
        &Some(ada.clone()),
        &org.user_by_email("ada@example.com")?,
    )?;
    expect_eq(
        "bob by subject",
        &Some(bob.clone()),
        &org.user_by_subject("https://idp.example.com bob-1")?,
    )?;
    expect_eq(
        "an unknown e-mail",
        &None,
        &org.user_by_email("eve@example.com")?,
    )?;

    let mut promoted = bob.clone();
    promoted.role = OrgRole::Admin;
    promoted.name = "Robert".into();
    promoted.last_login_unix_nano = Some(T0 + 5 * SEC);
    promoted.password_hash = Some("$argon2id$new".into());
    org.update_user(&promoted)?;
    expect_eq("bob, updated", &Some(promoted), &org.user(bob.id)?)?;

    org.delete_user(bob.id)?;
    expect_eq("bob, deleted", &None, &org.user(bob.id)?)?;
    expect_eq(
        "bob's subject, deleted",
        &None,
        &org.user_by_subject("https://idp.example.com bob-1")?,
    )?;
    let unknown = UserId(bob.id.0 + 1_000);
    ensure(
        matches!(org.delete_user(unknown), Err(AccountError::NoUser(_))),
        "deleting an unknown user was not NoUser",
    )?;
    let mut ghost = ada.clone();
    ghost.id = unknown;
    ghost.email = "ghost@example.com".into();
    ensure(
        matches!(org.update_user(&ghost), Err(AccountError::NoUser(_))),
        "updating an unknown user was not NoUser",
    )?;
    let carol = org.create_user(&NewUser::new(
        "carol@example.com",
        "Carol",
        OrgRole::Member,
        T0,
    ))?;
    ensure(
        carol.id != bob.id && carol.id != ada.id,
        format!("a deleted user's id was given again: {}", carol.id),
    )?;
    // Bob's address is free again.
    org.create_user(&NewUser::new("bob@example.com", "Bob", OrgRole::Viewer, T0))?;
    Ok(())
}

/// A user has one role a project; setting one replaces it and `None` removes it; roles go
/// with their user and with their project; an unknown user or project is refused.
pub fn roles_in_projects_replace_each_other_and_go_with_their_owner(
    org: &dyn Organization,
) -> CheckResult {
    let (alpha, beta) = (project(org, "alpha")?, project(org, "beta")?);
    let ada = org.create_user(&NewUser::new("ada@example.com", "Ada", OrgRole::Viewer, T0))?;
    let bob = org.create_user(&NewUser::new("bob@example.com", "Bob", OrgRole::Viewer, T0))?;
    org.set_grant(ada.id, alpha, Some(ProjectRole::Viewer))?;
    org.set_grant(ada.id, alpha, Some(ProjectRole::Admin))?;
    org.set_grant(ada.id, beta, Some(ProjectRole::None))?;
    let grant = |user, project, role| Grant {
        user,
        project,
        role,
    };
    expect_eq(
        "ada's roles, by project: the second replaced the first",
        &vec![
            grant(ada.id, alpha, ProjectRole::Admin),
            grant(ada.id, beta, ProjectRole::None),
        ],
        &org.grants(ada.id)?,
    )?;
    org.set_grant(bob.id, alpha, Some(ProjectRole::Member))?;
    org.set_grant(bob.id, beta, Some(ProjectRole::Viewer))?;
    expect_eq(
        "alpha's roles, by user",
        &vec![
            grant(ada.id, alpha, ProjectRole::Admin),
            grant(bob.id, alpha, ProjectRole::Member),
        ],
        &org.project_grants(alpha)?,
    )?;
    org.set_grant(ada.id, beta, None)?;
    expect_eq(
        "ada's roles after beta's was removed",
        &vec![grant(ada.id, alpha, ProjectRole::Admin)],
        &org.grants(ada.id)?,
    )?;
    org.delete_project(beta)?;
    expect_eq(
        "bob's roles after beta was deleted",
        &vec![grant(bob.id, alpha, ProjectRole::Member)],
        &org.grants(bob.id)?,
    )?;
    org.delete_user(bob.id)?;
    expect_eq(
        "alpha's roles after bob was deleted",
        &vec![grant(ada.id, alpha, ProjectRole::Admin)],
        &org.project_grants(alpha)?,
    )?;
    ensure(
        matches!(
            org.set_grant(bob.id, alpha, Some(ProjectRole::Viewer)),
            Err(AccountError::NoUser(_))
        ),
        "a role for a deleted user was not NoUser",
    )?;
    ensure(
        matches!(
            org.set_grant(ada.id, beta, Some(ProjectRole::Viewer)),
            Err(AccountError::NoProject(_))
        ),
        "a role in a deleted project was not NoProject",
    )?;
    Ok(())
}

/// A session is found by its digest until deleted; a user's are listed newest first; a
/// deleted user's sessions go with them.
pub fn sessions_are_found_by_digest_and_go_with_their_user(org: &dyn Organization) -> CheckResult {
    let ada = org.create_user(&NewUser::new("ada@example.com", "Ada", OrgRole::Owner, T0))?;
    let bob = org.create_user(&NewUser::new("bob@example.com", "Bob", OrgRole::Viewer, T0))?;
    let session = |n: u8, user, start: u64| {
        LoginSession::new(
            hash(n),
            user,
            (T0 + start * SEC, T0 + (start + 3_600) * SEC),
            "192.0.2.7",
            "Mozilla/5.0",
        )
    };
    let (first, second, bobs) = (
        session(1, ada.id, 0),
        session(2, ada.id, 10),
        session(3, bob.id, 5),
    );
    for s in [&first, &second, &bobs] {
        org.insert_session(s)?;
    }
    expect_eq(
        "a session by digest",
        &Some(first.clone()),
        &org.session(&hash(1))?,
    )?;
    expect_eq("an unknown digest", &None, &org.session(&hash(9))?)?;
    expect_eq(
        "ada's sessions, newest first",
        &vec![second.clone(), first.clone()],
        &org.sessions(ada.id)?,
    )?;
    ensure(org.delete_session(&hash(1))?, "ending a session said none")?;
    ensure(
        !org.delete_session(&hash(1))?,
        "ending it again said there was one",
    )?;
    expect_eq("an ended session", &None, &org.session(&hash(1))?)?;
    org.delete_user(bob.id)?;
    expect_eq("a deleted user's session", &None, &org.session(&hash(3))?)?;
    expect_eq(
        "ada's sessions at the end",
        &vec![second],
        &org.sessions(ada.id)?,
    )?;
    Ok(())
}

/// An invitation keeps its grants, is listed newest first until taken, is answered once while
/// live, and an expired one is answered to nobody and removed.
pub fn invitations_are_taken_once_while_live(org: &dyn Organization) -> CheckResult {
    let alpha = project(org, "alpha")?;
    let live = Invitation::new(
        hash(1),
        "dan@example.com",
        OrgRole::Viewer,
        "ada@example.com",
        (T0, T0 + 3_600 * SEC),
    )
    .granting(alpha, ProjectRole::Member);
    let expired = Invitation::new(
        hash(2),
        "eve@example.com",
        OrgRole::Member,
        "ada@example.com",
        (T0 + SEC, T0 + 2 * SEC),
    );
    let spare = Invitation::new(
        hash(3),
        "fay@example.com",
        OrgRole::Member,
        "ada@example.com",
        (T0 + 2 * SEC, T0 + 3_600 * SEC),
    );
    for i in [&live, &expired, &spare] {
        org.insert_invitation(i)?;
    }
    expect_eq(
        "the invitations, newest first",
        &vec![spare.clone(), expired.clone(), live.clone()],
        &org.invitations()?,
    )?;
    let now = T0 + 10 * SEC;
    expect_eq(
        "the live invitation, taken",
        &Some(live),
        &org.take_invitation(&hash(1), now)?,
    )?;
    expect_eq("taken again", &None, &org.take_invitation(&hash(1), now)?)?;
    expect_eq(
        "the expired invitation",
        &None,
        &org.take_invitation(&hash(2), now)?,
    )?;
    ensure(
        org.delete_invitation(&hash(3))?,
        "deleting an invitation said none",
    )?;
    expect_eq("the invitations left", &0, &org.invitations()?.len())?;
    Ok(())
}

/// The audit log lists newest first (time, then id), a page at a time; by scope, time and
/// action; an entry appended twice is listed once; every field is kept; expiry removes only
/// what is older than its time.
pub fn the_audit_log_lists_newest_first_and_expires_by_age(org: &dyn Organization) -> CheckResult {
    let (alpha, beta) = (project(org, "alpha")?, project(org, "beta")?);
    let ada = Actor::new("user", Some(1), "ada@example.com");
    let entry = |id, at: u64, action: &str, project: Option<crate::ProjectId>| {
        let e = AuditEntry::new(id, T0 + at * SEC, ada.clone(), (action, "/x"), 200);
        match project {
            Some(p) => e.in_project(p),
            None => e,
        }
    };
    let changed = entry(5, 30, "settings.put", Some(alpha))
        .from_address("192.0.2.7")
        .changing(Some("{\"a\":1}".into()), Some("{\"a\":2}".into()));
    let entries = vec![
        entry(1, 10, "project.create", None),
        entry(2, 20, "key.create", Some(alpha)),
        entry(3, 20, "key.create", Some(beta)),
        entry(4, 25, "login.failed", None),
        changed.clone(),
    ];
    org.append_audit(&entries)?;
    org.append_audit(&entries[3..4])?;
    let ids = |page: &[AuditEntry]| page.iter().map(|e| e.id).collect::<Vec<_>>();
    let first = org.audit(&AuditQuery::new(AuditScope::All, 3))?;
    expect_eq("the newest three", &vec![5, 4, 3], &ids(&first))?;
    expect_eq("an entry's fields", &Some(&changed), &first.first())?;
    let mut next = AuditQuery::new(AuditScope::All, 3);
    next.before = first.last().map(|e| (e.at_unix_nano, e.id));
    expect_eq("the next page", &vec![2, 1], &ids(&org.audit(&next)?))?;
    expect_eq(
        "alpha's",
        &vec![5, 2],
        &ids(&org.audit(&AuditQuery::new(AuditScope::Project(alpha), 10))?),
    )?;
    expect_eq(
        "the organization's",
        &vec![4, 1],
        &ids(&org.audit(&AuditQuery::new(AuditScope::Organization, 10))?),
    )?;
    let mut keys = AuditQuery::new(AuditScope::All, 10);
    keys.action_prefix = Some("key.".into());
    keys.since_unix_nano = Some(T0 + 20 * SEC);
    keys.until_unix_nano = Some(T0 + 30 * SEC);
    expect_eq(
        "keys made in [20 s, 30 s)",
        &vec![3, 2],
        &ids(&org.audit(&keys)?),
    )?;
    expect_eq("expired before 20 s", &1, &org.expire_audit(T0 + 20 * SEC)?)?;
    expect_eq(
        "what is left",
        &vec![5, 4, 3, 2],
        &ids(&org.audit(&AuditQuery::new(AuditScope::All, 10))?),
    )?;
    Ok(())
}

/// Two nodes take the same invitation at the same moment: one gets it, the other nothing.
pub fn an_invitation_is_taken_once_across_two_nodes(new_fleet: NewFleet<'_>) -> CheckResult {
    for round in 0..5u8 {
        let [one, two] = new_fleet()?;
        one.insert_invitation(&Invitation::new(
            hash(round),
            "dan@example.com",
            OrgRole::Viewer,
            "ada@example.com",
            (T0, u64::MAX),
        ))?;
        let barrier = Arc::new(Barrier::new(2));
        let take = |org: Arc<dyn Organization>| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                org.take_invitation(&hash(round), T0 + SEC)
                    .map(|i| i.is_some())
                    .map_err(|e| e.to_string())
            })
        };
        let (a, b) = (take(one), take(two));
        let taken = [a, b]
            .into_iter()
            .map(|t| t.join().map_err(|_| "a taker panicked".to_owned())?)
            .collect::<Result<Vec<bool>, String>>()?;
        expect_eq(
            format!("round {round}: takers that got the invitation"),
            &1,
            &taken.iter().filter(|t| **t).count(),
        )?;
    }
    Ok(())
}
