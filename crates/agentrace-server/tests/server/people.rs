//! People end to end on a running server: the first owner from the configuration, password
//! logins throttled per account, an invitation taken once, roles per project that show and
//! hide projects, a removed person's session ending, the last owner kept, and every change in
//! the audit log with who made it and from where.

use serde_json::{Value, json};

use crate::common::*;

const OWNER: &str = "ada@example.com";
const OWNER_PASSWORD: &str = "correct horse battery";

/// A server whose first owner is [`OWNER`].
async fn with_owner() -> Result<TestServer> {
    TestServer::start(|c| {
        c.admin_email = Some(OWNER.into());
        c.admin_password = Some(OWNER_PASSWORD.into());
    })
    .await
}

/// A browser of the dashboard: its session cookie, if it has one.
#[derive(Debug, Clone, Default)]
struct Browser {
    cookie: Option<String>,
}

impl Browser {
    /// `method` on the API's `path` (acting on `project` if given) with `body`: the answer.
    async fn call(
        &self,
        t: &TestServer,
        method: reqwest::Method,
        path: &str,
        project: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let mut headers = vec![("content-type", JSON)];
        if let Some(cookie) = &self.cookie {
            headers.push(("cookie", cookie.as_str()));
        }
        if let Some(project) = project {
            headers.push(("x-agentrace-project", project));
        }
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let answer = send(
            method,
            &t.app_url(&format!("/api/v1{path}")),
            &headers,
            body,
        )
        .await?;
        let value = if answer.body.is_empty() {
            Value::Null
        } else {
            answer.json()?
        };
        Ok((answer.status, value))
    }

    /// Logs in as `email` with `password`: the status, the cookie kept when it succeeds.
    async fn login(&mut self, t: &TestServer, email: &str, password: &str) -> Result<(u16, Value)> {
        self.sign_in(
            t,
            "/auth/login",
            json!({"email": email, "password": password}),
            204,
        )
        .await
    }

    async fn sign_in(
        &mut self,
        t: &TestServer,
        path: &str,
        body: Value,
        success: u16,
    ) -> Result<(u16, Value)> {
        let mut headers = vec![("content-type", JSON)];
        if let Some(cookie) = &self.cookie {
            headers.push(("cookie", cookie.as_str()));
        }
        let answer = send(
            reqwest::Method::POST,
            &t.app_url(&format!("/api/v1{path}")),
            &headers,
            body.to_string().into_bytes(),
        )
        .await?;
        if answer.status == success {
            let set = answer.header("set-cookie").ok_or("no Set-Cookie")?;
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Strict"),
                "{set}"
            );
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        let value = if answer.body.is_empty() {
            Value::Null
        } else {
            answer.json()?
        };
        Ok((answer.status, value))
    }
}

fn names(projects: &Value) -> Vec<String> {
    projects["projects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_first_owner_logs_in_and_a_wrong_password_locks_the_account_out() -> Result {
    let t = with_owner().await?;
    let nobody = Browser::default();
    let (status, _) = nobody
        .call(&t, reqwest::Method::GET, "/traces", None, None)
        .await?;
    assert_eq!(status, 401, "a server with people needs a login");
    let (_, state) = nobody
        .call(&t, reqwest::Method::GET, "/auth/session", None, None)
        .await?;
    assert_eq!(
        (
            &state["token_required"],
            &state["password_login"],
            &state["person"]
        ),
        (&json!(true), &json!(true), &Value::Null)
    );

    // A cookie the browser brought is never the session: a fresh one is set.
    let mut ada = Browser {
        cookie: Some(
            "agentrace_session=0000000000000000000000000000000000000000000000000000000000000000"
                .into(),
        ),
    };
    let before = ada.cookie.clone();
    let (status, answer) = ada.login(&t, "ADA@example.com ", OWNER_PASSWORD).await?;
    assert_eq!(status, 204, "{answer}");
    assert_ne!(ada.cookie, before, "no session fixation");
    let (_, state) = ada
        .call(&t, reqwest::Method::GET, "/auth/session", None, None)
        .await?;
    assert_eq!(state["person"]["email"], OWNER);
    assert_eq!(state["person"]["role"], "owner");
    assert_eq!(state["scope"], "admin");
    let (status, _) = ada
        .call(&t, reqwest::Method::GET, "/traces", None, None)
        .await?;
    assert_eq!(status, 200);

    // Five wrong passwords lock ada's account out, the right one too, with a clear message;
    // another account from the same address is not locked.
    let mut mallory = Browser::default();
    for _ in 0..5 {
        let (status, answer) = mallory.login(&t, OWNER, "wrong password!!").await?;
        assert_eq!(status, 401, "{answer}");
    }
    let (status, answer) = mallory.login(&t, OWNER, OWNER_PASSWORD).await?;
    assert_eq!(status, 429, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("ada@example.com") && message.contains("locked for 15 more minutes"),
        "{message}"
    );
    let (status, _) = mallory
        .login(&t, "bob@example.com", "wrong password!!")
        .await?;
    assert_eq!(status, 401, "another account is not locked");
    // The session begun before the lock-out keeps working.
    let (status, _) = ada
        .call(&t, reqwest::Method::GET, "/traces", None, None)
        .await?;
    assert_eq!(status, 200);
    // Failed logins and the lock-out are in the audit log, by the account named, from the
    // address; a logout too.
    let (_, audit) = ada
        .call(
            &t,
            reqwest::Method::GET,
            "/audit?action=login.failed",
            None,
            None,
        )
        .await?;
    let failed: Vec<(&Value, &Value, &Value)> = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (&e["actor"]["name"], &e["target"], &e["address"]))
        .collect();
    let wrong = (
        &json!(OWNER),
        &json!("wrong e-mail or password"),
        &json!("127.0.0.1"),
    );
    let locked = (&json!(OWNER), &json!("throttled"), &json!("127.0.0.1"));
    assert_eq!(failed.iter().filter(|f| **f == wrong).count(), 5, "{audit}");
    assert!(failed.contains(&locked), "{audit}");
    let (status, _) = ada
        .call(&t, reqwest::Method::POST, "/auth/logout", None, None)
        .await?;
    assert_eq!(status, 204);

    // The first owner is made only in a store without people: a restart naming another makes
    // nobody, and its password opens nothing.
    let t = t
        .restart(|c| {
            c.admin_email = Some("eve@example.com".into());
            c.admin_password = Some("eve's long password".into());
        })
        .await?;
    let (status, _) = Browser::default()
        .login(&t, "eve@example.com", "eve's long password")
        .await?;
    assert_eq!(status, 401, "no second first owner");
    // (Lock-outs are each node's, in memory: the restart lifted ada's.)
    let mut ada = Browser::default();
    assert_eq!(ada.login(&t, OWNER, OWNER_PASSWORD).await?.0, 204);
    let (_, people) = ada
        .call(&t, reqwest::Method::GET, "/people", None, None)
        .await?;
    let emails: Vec<&Value> = people["people"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| &p["email"])
        .collect();
    assert_eq!(emails, [&json!(OWNER)], "{people}");
    let (_, audit) = ada
        .call(&t, reqwest::Method::GET, "/audit?action=logout", None, None)
        .await?;
    assert_eq!(audit["entries"][0]["actor"]["name"], OWNER, "{audit}");
    Ok(())
}

#[tokio::test]
async fn an_invited_person_sees_the_projects_their_roles_grant_and_every_change_is_audited()
-> Result {
    let t = with_owner().await?;
    let mut ada = Browser::default();
    assert_eq!(ada.login(&t, OWNER, OWNER_PASSWORD).await?.0, 204);
    let call = |b: &Browser, method, path: &str, project: Option<&str>, body| {
        let (b, t) = (b.clone(), &t);
        let path = path.to_owned();
        let project = project.map(str::to_owned);
        async move { b.call(t, method, &path, project.as_deref(), body).await }
    };
    for name in ["alpha", "beta"] {
        let (status, _) = call(
            &ada,
            reqwest::Method::POST,
            "/projects",
            None,
            Some(json!({ "name": name })),
        )
        .await?;
        assert_eq!(status, 201);
    }
    // Dan: a viewer, the admin of alpha, nothing of beta.
    let (status, invited) = call(
        &ada,
        reqwest::Method::POST,
        "/people/invitations",
        None,
        Some(json!({"email": "Dan@Example.com", "role": "viewer", "projects": {"alpha": "admin", "beta": "none"}})),
    )
    .await?;
    assert_eq!(status, 201, "{invited}");
    let token = invited["token"].as_str().ok_or("a token")?.to_owned();
    assert!(
        invited["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/invitation#token={token}")))
    );
    let (_, people) = call(&ada, reqwest::Method::GET, "/people", None, None).await?;
    assert_eq!(
        people["invitations"][0]["email"], "dan@example.com",
        "{people}"
    );
    assert!(
        !people.to_string().contains(&token),
        "the link is shown once"
    );

    let mut dan = Browser::default();
    let accept = json!({"token": token, "name": "Dan", "password": "dan's long password"});
    let (status, answer) = dan
        .sign_in(&t, "/auth/invitation", accept.clone(), 201)
        .await?;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = Browser::default()
        .sign_in(&t, "/auth/invitation", accept, 201)
        .await?;
    assert_eq!(status, 404, "an invitation works once: {answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("used already"))
    );

    let (_, projects) = call(&dan, reqwest::Method::GET, "/projects", None, None).await?;
    assert_eq!(
        names(&projects),
        ["default", "alpha"],
        "beta is hidden from dan"
    );
    let (status, _) = call(&dan, reqwest::Method::GET, "/traces", Some("beta"), None).await?;
    assert_eq!(status, 404, "as a project that does not exist");
    let retention = json!({"spans": {"max_age": "30d"}});
    let (status, _) = call(
        &dan,
        reqwest::Method::PUT,
        "/settings/retention",
        Some("default"),
        Some(retention.clone()),
    )
    .await?;
    assert_eq!(status, 403, "a viewer of default");
    let (status, answer) = call(
        &dan,
        reqwest::Method::PUT,
        "/settings/retention",
        Some("alpha"),
        Some(retention),
    )
    .await?;
    assert_eq!(status, 200, "the admin of alpha: {answer}");
    let (status, _) = call(&dan, reqwest::Method::GET, "/people", None, None).await?;
    assert_eq!(status, 403, "a project's admin is not the organization's");
    let (status, key) = call(
        &ada,
        reqwest::Method::POST,
        "/projects/alpha/keys",
        None,
        Some(json!({"scope": "read"})),
    )
    .await?;
    assert_eq!(status, 201, "{key}");
    let (status, _) = call(&dan, reqwest::Method::GET, "/audit", None, None).await?;
    assert_eq!(status, 403);

    // Ada takes alpha away from dan: hidden at once; then removes dan: his session ends.
    let dan_id = people_id(
        &call(&ada, reqwest::Method::GET, "/people", None, None)
            .await?
            .1,
        "dan@example.com",
    )?;
    let (status, changed) = call(
        &ada,
        reqwest::Method::PATCH,
        &format!("/people/{dan_id}"),
        None,
        Some(json!({"projects": {"alpha": "none"}})),
    )
    .await?;
    assert_eq!(status, 200, "{changed}");
    let (_, projects) = call(&dan, reqwest::Method::GET, "/projects", None, None).await?;
    assert_eq!(names(&projects), ["default"]);
    let (status, _) = call(
        &ada,
        reqwest::Method::DELETE,
        &format!("/people/{dan_id}"),
        None,
        None,
    )
    .await?;
    assert_eq!(status, 204);
    let (status, _) = call(&dan, reqwest::Method::GET, "/traces", None, None).await?;
    assert_eq!(status, 401, "a removed person's session ends");

    // The last owner stays one.
    let ada_id = people_id(
        &call(&ada, reqwest::Method::GET, "/people", None, None)
            .await?
            .1,
        OWNER,
    )?;
    let path = format!("/people/{ada_id}");
    let (status, _) = call(
        &ada,
        reqwest::Method::PATCH,
        &path,
        None,
        Some(json!({"role": "admin"})),
    )
    .await?;
    assert_eq!(status, 409);
    let (status, _) = call(&ada, reqwest::Method::DELETE, &path, None, None).await?;
    assert_eq!(status, 409);

    // Everything above, in the audit log: who, from where, what, before and after.
    let (status, audit) = call(&ada, reqwest::Method::GET, "/audit?limit=1000", None, None).await?;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().ok_or("entries")?;
    let find = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let created = find("user.create");
    assert_eq!(
        created["actor"]["kind"], "server",
        "the first owner, by the server"
    );
    let login = find("login");
    assert_eq!(
        (&login["actor"]["name"], &login["address"]),
        (&json!(OWNER), &json!("127.0.0.1"))
    );
    let invite = find("POST /people/invitations");
    assert_eq!(invite["actor"]["name"], OWNER);
    assert_eq!(invite["project"], Value::Null, "the organization's");
    assert!(
        invite["after"]
            .as_str()
            .is_some_and(|a| a.contains("dan@example.com"))
    );
    assert_eq!(
        find("invitation.accept")["actor"]["name"],
        "dan@example.com"
    );
    let setting = find("PUT /settings/{kind}");
    assert_eq!(
        (
            &setting["actor"]["name"],
            &setting["project"],
            &setting["status"]
        ),
        (&json!("dan@example.com"), &json!("alpha"), &json!(200))
    );
    assert!(
        setting["after"].as_str().is_some_and(|a| a.contains("30d")),
        "{setting}"
    );
    let refused = entries
        .iter()
        .find(|e| e["action"] == "PUT /settings/{kind}" && e["status"] == 403)
        .ok_or("the refused change is an entry too")?;
    assert_eq!(refused["project"], "default");
    let patched = entries
        .iter()
        .find(|e| e["action"] == "PATCH /people/{id}" && e["status"] == 200)
        .cloned()
        .unwrap_or(Value::Null);
    assert!(
        patched["before"]
            .as_str()
            .is_some_and(|b| b.contains("\"alpha\":\"admin\"")),
        "{patched}"
    );
    assert!(
        patched["after"]
            .as_str()
            .is_some_and(|a| a.contains("\"alpha\":\"none\"")),
        "{patched}"
    );
    let statuses: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "DELETE /people/{id}")
        .map(|e| &e["status"])
        .collect();
    assert_eq!(
        statuses,
        [&json!(409), &json!(204)],
        "the last owner's refusal, then dan's"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "GET /audit"),
        "reading the log is an entry"
    );
    // Narrowed to a project, and exported.
    let (_, alpha) = call(
        &ada,
        reqwest::Method::GET,
        "/audit?project=alpha",
        None,
        None,
    )
    .await?;
    let alpha_entries = alpha["entries"].as_array().cloned().unwrap_or_default();
    assert!(
        !alpha_entries.is_empty() && alpha_entries.iter().all(|e| e["project"] == "alpha"),
        "{alpha}"
    );
    assert!(
        alpha_entries
            .iter()
            .any(|e| e["action"] == "POST /projects/{name}/keys" && e["status"] == 201),
        "a key made in alpha is alpha's, whichever project the request was in: {alpha}"
    );
    // The organization's own entries, and a project's by its id (a deleted one's too).
    let (status, own) = call(
        &ada,
        reqwest::Method::GET,
        "/audit?scope=organization",
        None,
        None,
    )
    .await?;
    assert_eq!(status, 200, "{own}");
    let own_entries = own["entries"].as_array().cloned().unwrap_or_default();
    assert!(
        own_entries.iter().all(|e| e["project"].is_null())
            && own_entries
                .iter()
                .any(|e| e["action"] == "POST /people/invitations"),
        "{own}"
    );
    let (_, projects) = call(&ada, reqwest::Method::GET, "/projects", None, None).await?;
    let beta_id = projects["projects"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "beta")
        .and_then(|p| p["id"].as_u64())
        .ok_or("beta's id")?;
    // A read of beta's keys is beta's entry; then beta goes.
    let (status, _) = call(
        &ada,
        reqwest::Method::GET,
        "/projects/beta/keys",
        None,
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let (status, _) = call(&ada, reqwest::Method::DELETE, "/projects/beta", None, None).await?;
    assert_eq!(status, 200);
    let (status, gone) = call(
        &ada,
        reqwest::Method::GET,
        &format!("/audit?scope=project:{beta_id}"),
        None,
        None,
    )
    .await?;
    assert_eq!(status, 200, "{gone}");
    let gone_entries = gone["entries"].as_array().cloned().unwrap_or_default();
    assert!(
        !gone_entries.is_empty()
            && gone_entries
                .iter()
                .all(|e| e["project"] == format!("#{beta_id}")),
        "a deleted project's entries, by its id: {gone}"
    );
    let (status, _) = call(
        &ada,
        reqwest::Method::GET,
        "/audit?scope=project:x",
        None,
        None,
    )
    .await?;
    assert_eq!(status, 400);
    let export = send(
        reqwest::Method::GET,
        &t.app_url("/api/v1/audit?format=jsonl"),
        &[("cookie", ada.cookie.as_deref().unwrap_or_default())],
        Vec::new(),
    )
    .await?;
    assert_eq!(export.header("content-type"), Some("application/x-ndjson"));
    let lines = export.text();
    assert!(
        lines.lines().count() >= entries.len(),
        "every entry, a line each"
    );
    for line in lines.lines() {
        serde_json::from_str::<Value>(line)?;
    }
    Ok(())
}

fn people_id(people: &Value, email: &str) -> Result<u64> {
    people["people"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["email"] == email)
        .and_then(|p| p["id"].as_u64())
        .ok_or_else(|| format!("no {email} in {people}").into())
}

/// The audit log keeps an entry `audit_retention` long, by its own rule.
#[tokio::test]
async fn the_audit_log_expires_by_its_own_rule() -> Result {
    let t = TestServer::start(|c| {
        c.admin_email = Some(OWNER.into());
        c.admin_password = Some(OWNER_PASSWORD.into());
        c.audit_retention = std::time::Duration::from_secs(1);
        c.retention.interval = std::time::Duration::from_millis(100);
    })
    .await?;
    let mut ada = Browser::default();
    assert_eq!(ada.login(&t, OWNER, OWNER_PASSWORD).await?.0, 204);
    let (_, audit) = ada
        .call(&t, reqwest::Method::GET, "/audit", None, None)
        .await?;
    assert!(
        audit["entries"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["action"] == "login")),
        "{audit}"
    );
    let expired = eventually(std::time::Duration::from_secs(10), || {
        let store = agentrace_sqlite::SqliteOrganization::open(t.dir.path().join("agentrace.db"))?;
        let entries = agentrace_store::AuditLog::audit(
            &store,
            &agentrace_store::AuditQuery::new(agentrace_store::AuditScope::All, 100),
        )?;
        Ok(entries.iter().all(|e| e.action != "login"))
    })
    .await?;
    assert!(expired, "the login's entry expired");
    Ok(())
}

/// A change of configuration keeps what was there before and after it: an evaluator rule put,
/// replaced, deleted.
#[tokio::test]
async fn configuration_changes_keep_what_was_there_before_and_after() -> Result {
    let t = with_owner().await?;
    let mut ada = Browser::default();
    assert_eq!(ada.login(&t, OWNER, OWNER_PASSWORD).await?.0, 204);
    let path = "/evaluators/answer-is-json";
    for (body, status) in [
        (json!({"check": {"type": "json_valid"}}), 201),
        (json!({"check": {"type": "length", "max": 200}}), 200),
    ] {
        let (got, answer) = ada
            .call(&t, reqwest::Method::PUT, path, None, Some(body))
            .await?;
        assert_eq!(got, status, "{answer}");
    }
    assert_eq!(
        ada.call(&t, reqwest::Method::DELETE, path, None, None)
            .await?
            .0,
        204
    );
    let (_, audit) = ada
        .call(
            &t,
            reqwest::Method::GET,
            "/audit?action=PUT%20/evaluators",
            None,
            None,
        )
        .await?;
    let changes: Vec<(Value, Value)> = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["before"].clone(), e["after"].clone()))
        .collect();
    assert_eq!(changes.len(), 2, "{audit}");
    let (before, after) = &changes[0];
    assert!(
        before.as_str().is_some_and(|b| b.contains("json_valid"))
            && after.as_str().is_some_and(|a| a.contains("\"max\":200")),
        "the replacement: {audit}"
    );
    assert_eq!(changes[1].0, Value::Null, "the first had nothing before it");
    let (_, deleted) = ada
        .call(
            &t,
            reqwest::Method::GET,
            "/audit?action=DELETE%20/evaluators",
            None,
            None,
        )
        .await?;
    let entry = &deleted["entries"][0];
    assert!(
        entry["before"]
            .as_str()
            .is_some_and(|b| b.contains("\"max\":200"))
            && entry["after"].is_null(),
        "{deleted}"
    );
    Ok(())
}

/// Where single sign-on is the only way in (`password_login = false`): no password login, an
/// invitation taken without a password (one given is refused), no password to change.
#[tokio::test]
async fn with_password_login_off_people_join_without_a_password_and_none_is_taken() -> Result {
    let t = TestServer::start(|c| {
        c.admin_email = Some(OWNER.into());
        c.admin_password = Some(OWNER_PASSWORD.into());
        c.api_token = Some("people-admin-token-0123".into());
        c.password_login = false;
    })
    .await?;
    let (status, refused) = Browser::default().login(&t, OWNER, OWNER_PASSWORD).await?;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("single sign-on")),
        "{refused}"
    );
    let invited = send(
        reqwest::Method::POST,
        &t.app_url("/api/v1/people/invitations"),
        &[
            ("authorization", "Bearer people-admin-token-0123"),
            ("content-type", JSON),
        ],
        json!({"email": "dan@example.com", "role": "viewer"})
            .to_string()
            .into_bytes(),
    )
    .await?;
    assert_eq!(invited.status, 201, "{}", invited.text());
    let token = invited.json()?["token"].clone();
    let mut dan = Browser::default();
    let (status, answer) = dan
        .sign_in(
            &t,
            "/auth/invitation",
            json!({"token": token, "name": "Dan", "password": "dan's long password"}),
            201,
        )
        .await?;
    assert_eq!(status, 400, "a password where there are none: {answer}");
    let (status, answer) = dan
        .sign_in(
            &t,
            "/auth/invitation",
            json!({"token": token, "name": "Dan"}),
            201,
        )
        .await?;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        dan.call(&t, reqwest::Method::GET, "/traces", None, None)
            .await?
            .0,
        200
    );
    let (status, answer) = dan
        .call(
            &t,
            reqwest::Method::POST,
            "/me/password",
            None,
            Some(json!({"current": "", "new": "a new long password"})),
        )
        .await?;
    assert_eq!(status, 403, "{answer}");
    Ok(())
}

/// A person lists their sessions and ends one; an admin lists and ends a person's; the cookie
/// is `Secure` when the proxy says the browser came over HTTPS; failed logins from one address
/// make that address wait, whichever accounts they name.
#[tokio::test]
async fn sessions_are_listed_and_ended_and_an_address_is_throttled() -> Result {
    let t = with_owner().await?;
    let (mut laptop, mut phone) = (Browser::default(), Browser::default());
    assert_eq!(laptop.login(&t, OWNER, OWNER_PASSWORD).await?.0, 204);
    assert_eq!(phone.login(&t, OWNER, OWNER_PASSWORD).await?.0, 204);
    let (status, listed) = laptop
        .call(&t, reqwest::Method::GET, "/me/sessions", None, None)
        .await?;
    assert_eq!(status, 200, "{listed}");
    let sessions = listed["sessions"].as_array().ok_or("sessions")?;
    assert_eq!(sessions.len(), 2, "{listed}");
    let other = sessions
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .ok_or("the phone's session")?;
    let (status, _) = laptop
        .call(
            &t,
            reqwest::Method::DELETE,
            &format!("/me/sessions/{other}"),
            None,
            None,
        )
        .await?;
    assert_eq!(status, 204);
    assert_eq!(
        phone
            .call(&t, reqwest::Method::GET, "/traces", None, None)
            .await?
            .0,
        401,
        "the phone's session ended"
    );
    assert_eq!(
        laptop
            .call(&t, reqwest::Method::GET, "/traces", None, None)
            .await?
            .0,
        200
    );

    // An admin's view of a person's sessions, and their end.
    let (_, invited) = laptop
        .call(
            &t,
            reqwest::Method::POST,
            "/people/invitations",
            None,
            Some(json!({"email": "eve@example.com", "role": "member"})),
        )
        .await?;
    let mut eve = Browser::default();
    let (status, _) = eve
        .sign_in(
            &t,
            "/auth/invitation",
            json!({"token": invited["token"], "name": "Eve", "password": "eve's long password"}),
            201,
        )
        .await?;
    assert_eq!(status, 201);
    let (_, people) = laptop
        .call(&t, reqwest::Method::GET, "/people", None, None)
        .await?;
    let eve_id = people_id(&people, "eve@example.com")?;
    let path = format!("/people/{eve_id}/sessions");
    let (_, theirs) = laptop
        .call(&t, reqwest::Method::GET, &path, None, None)
        .await?;
    assert_eq!(
        theirs["sessions"].as_array().map(Vec::len),
        Some(1),
        "{theirs}"
    );
    assert_eq!(theirs["sessions"][0]["current"], false);
    let (status, _) = laptop
        .call(&t, reqwest::Method::DELETE, &path, None, None)
        .await?;
    assert_eq!(status, 204);
    assert_eq!(
        eve.call(&t, reqwest::Method::GET, "/traces", None, None)
            .await?
            .0,
        401,
        "eve's session ended"
    );

    // Over HTTPS (as the proxy says), the cookie is Secure; over plain HTTP it is not.
    let login = |proto: Option<&'static str>| {
        let url = t.app_url("/api/v1/auth/login");
        async move {
            let mut headers = vec![("content-type", JSON)];
            headers.extend(proto.map(|p| ("x-forwarded-proto", p)));
            let body = json!({"email": OWNER, "password": OWNER_PASSWORD});
            send(
                reqwest::Method::POST,
                &url,
                &headers,
                body.to_string().into_bytes(),
            )
            .await
        }
    };
    let secure = login(Some("https")).await?;
    assert!(
        secure
            .header("set-cookie")
            .is_some_and(|c| c.contains("; Secure")),
        "{:?}",
        secure.headers
    );
    let plain = login(None).await?;
    assert!(
        plain
            .header("set-cookie")
            .is_some_and(|c| !c.contains("Secure")),
        "{:?}",
        plain.headers
    );

    // Ten failed logins from one address, each naming another account: the address waits,
    // even with the owner's right password.
    for n in 0..10 {
        let (status, _) = Browser::default()
            .login(&t, &format!("nobody{n}@example.com"), "not the password")
            .await?;
        assert_eq!(status, 401);
    }
    let (status, refused) = Browser::default().login(&t, OWNER, OWNER_PASSWORD).await?;
    assert_eq!(status, 429, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("from this address")),
        "{refused}"
    );
    Ok(())
}
