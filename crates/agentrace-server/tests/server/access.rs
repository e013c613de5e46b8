//! docs/access.md's table of routes, checked on a running server: every operation of the
//! OpenAPI document, called by every caller the table has a column for — people of each
//! organization role, people whose role in the project overrides theirs, the configured
//! tokens, a key of the organization and of the project of each scope — is refused (401, 403)
//! exactly when the table says so. A route added without a row fails here.

use agentrace_server::http::api::access::{Access, Caller, access};
use agentrace_store::{KeyScope, OrgRole, ProjectRole};
use serde_json::{Value, json};

use crate::common::*;

const TOKEN: &str = "access-admin-token-0123";
const READ_TOKEN: &str = "access-read-token-0123";
/// Everyone's password: the one the documented `POST /me/password` example changes.
const PASSWORD: &str = "correct horse battery";

/// The credentials the walk's callers present: each caller's header, and the name the audit
/// log gives them.
#[derive(Default)]
struct Credentials(Vec<(Caller, (String, String), String)>);

impl Credentials {
    fn cookie(&mut self, caller: Caller, cookie: String, email: &str) {
        self.0
            .push((caller, ("cookie".into(), cookie), email.to_owned()));
    }

    fn bearer(&mut self, caller: Caller, secret: &str, name: &str) {
        let header = ("authorization".into(), format!("Bearer {secret}"));
        self.0.push((caller, header, name.to_owned()));
    }

    /// How `caller` presents itself, and its name in the audit log.
    fn of(&self, caller: Caller) -> Result<(&(String, String), &str)> {
        Ok(self
            .0
            .iter()
            .find(|(c, ..)| *c == caller)
            .map(|(_, h, name)| (h, name.as_str()))
            .ok_or_else(|| format!("no credential of {}", caller.heading()))?)
    }
}

/// Invites `email` with `body`'s roles (as the `api_token`) and signs them in: their cookie.
async fn join(t: &TestServer, email: &str, roles: Value) -> Result<String> {
    let mut body = roles;
    body["email"] = json!(email);
    let admin = format!("Bearer {TOKEN}");
    let (status, invited) = call(
        t,
        reqwest::Method::POST,
        "/people/invitations",
        ("authorization", &admin),
        Some(&body),
    )
    .await?;
    assert_eq!(status, 201, "{invited}");
    let joined = send(
        reqwest::Method::POST,
        &t.app_url("/api/v1/auth/invitation"),
        &[("content-type", JSON)],
        json!({"token": invited["token"], "name": email, "password": PASSWORD})
            .to_string()
            .into_bytes(),
    )
    .await?;
    assert_eq!(joined.status, 201, "{}", joined.text());
    cookie_of(t, email).await
}

/// `method` on the API's `path` with `body`, as `header`.
async fn call(
    t: &TestServer,
    method: reqwest::Method,
    path: &str,
    header: (&str, &str),
    body: Option<&Value>,
) -> Result<(u16, Value)> {
    let answer = send(
        method,
        &t.app_url(&format!("/api/v1{path}")),
        &[header, ("content-type", JSON)],
        body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
    )
    .await?;
    let value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    Ok((answer.status, value))
}

/// Signs a person in: their cookie.
async fn cookie_of(t: &TestServer, email: &str) -> Result<String> {
    let answer = send(
        reqwest::Method::POST,
        &t.app_url("/api/v1/auth/login"),
        &[("content-type", JSON)],
        json!({"email": email, "password": PASSWORD})
            .to_string()
            .into_bytes(),
    )
    .await?;
    assert_eq!(answer.status, 204, "{email}: {}", answer.text());
    Ok(answer
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .ok_or("a cookie")?
        .to_owned())
}

/// Whether a read of `route` is an audited, sensitive read (the walk's reads carry no
/// `format=`): the report, the audit log, people, keys.
fn sensitive(route: &str) -> bool {
    matches!(route, "/report" | "/audit" | "/people" | "/keys")
        || route.starts_with("/people/")
        || (route.starts_with("/projects/") && route.ends_with("/keys"))
}

/// A concrete path for `template`: path parameters that name records nobody depends on.
fn concrete(template: &str) -> String {
    let project = if template.starts_with("/projects/{name}/keys") {
        // The keys of the callers' own project.
        "default"
    } else {
        "doc-example"
    };
    template
        .replace("/projects/{name}", &format!("/projects/{project}"))
        .replace("{trace_id}", "4bf92f3577b34da6a3ce929d0e0e4736")
        .replace("{span_id}", "00f067aa0ba902b7")
        .replace("{session_id}", "session-1")
        .replace("/metrics/{name}", "/metrics/gen_ai.client.token.usage.sum")
        .replace("/slos/{name}", "/slos/tools%20work")
        .replace("{name}", "doc-example")
        .replace("{kind}", "retention")
        .replace(
            "/people/invitations/{id}",
            &format!("/people/invitations/{}", "0".repeat(64)),
        )
        .replace("/me/sessions/{id}", "/me/sessions/0123456789abcdef")
        // Records that do not exist: a key, a person, a run, a score.
        .replace("{id}", "999")
}

#[tokio::test]
async fn every_route_refuses_exactly_whom_the_table_says() -> Result {
    let t = TestServer::start(|c| {
        c.api_token = Some(TOKEN.into());
        c.read_token = Some(READ_TOKEN.into());
        c.admin_email = Some("owner@example.com".into());
        c.admin_password = Some(PASSWORD.into());
    })
    .await?;
    let admin = ("authorization", format!("Bearer {TOKEN}"));
    let as_admin = (admin.0, admin.1.as_str());
    let mut credentials = Credentials::default();
    credentials.bearer(Caller::ApiToken, TOKEN, "api_token");
    credentials.bearer(Caller::ReadToken, READ_TOKEN, "read_token");
    // People of each organization role, and viewers of the organization with each role in
    // `default`, invited and joined; keys of each scope of the organization and of `default`.
    let owner = "owner@example.com";
    credentials.cookie(
        Caller::Person(OrgRole::Owner),
        cookie_of(&t, owner).await?,
        owner,
    );
    for role in [OrgRole::Admin, OrgRole::Member, OrgRole::Viewer] {
        let email = format!("{role}@example.com");
        let cookie = join(&t, &email, json!({"role": role.as_str()})).await?;
        credentials.cookie(Caller::Person(role), cookie, &email);
    }
    for role in [ProjectRole::Admin, ProjectRole::Member, ProjectRole::Viewer] {
        let email = format!("project-{role}@example.com");
        let roles = json!({"role": "viewer", "projects": {"default": role.as_str()}});
        let cookie = join(&t, &email, roles).await?;
        credentials.cookie(Caller::ProjectPerson(role), cookie, &email);
    }
    for scope in KeyScope::ALL {
        for (path, caller) in [
            ("/keys", Caller::OrganizationKey(scope)),
            ("/projects/default/keys", Caller::ProjectKey(scope)),
        ] {
            let (status, key) = call(
                &t,
                reqwest::Method::POST,
                path,
                as_admin,
                Some(&json!({"scope": scope.as_str(), "name": scope.as_str()})),
            )
            .await?;
            assert_eq!(status, 201, "{key}");
            let secret = key["secret"].as_str().ok_or("a secret")?;
            credentials.bearer(caller, secret, scope.as_str());
        }
    }
    let (status, _) = call(
        &t,
        reqwest::Method::POST,
        "/projects",
        as_admin,
        Some(&json!({"name": "doc-example"})),
    )
    .await?;
    assert_eq!(status, 201);

    let doc = get(&t.app_url("/api/v1/openapi.json"), &[as_admin])
        .await?
        .json()?;
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().ok_or("paths")? {
        let route = path.trim_start_matches("/api/v1");
        if route.starts_with("/auth/") || route == "/live" {
            continue; // open (how a browser gets in); a WebSocket (tests/api/live.rs)
        }
        for (method, op) in item.as_object().ok_or("an item")? {
            let access = access(method, route)
                .ok_or_else(|| format!("{method} {route} has no row in the table of access"))?;
            let body = op["requestBody"]["content"]["application/json"]["example"].clone();
            operations.push((method.to_uppercase(), route.to_owned(), access, body));
        }
    }
    // Writes first, deletions last: what the writes make is what the deletions delete.
    operations.sort_by_key(|(method, ..)| match method.as_str() {
        "POST" | "PUT" | "PATCH" => 0,
        "DELETE" => 2,
        _ => 1,
    });
    let mut checked = 0;
    // What the audit log must hold after the walk: each change and sensitive read, by whom,
    // answered how.
    let mut recorded: Vec<(String, String, u16)> = Vec::new();
    for (method, route, access, body) in &operations {
        let path = concrete(route);
        for caller in Caller::ALL {
            let ((name, value), actor) = credentials.of(caller)?;
            let body = (!body.is_null()).then_some(body);
            let (status, answer) = call(&t, method.parse()?, &path, (name, value), body).await?;
            if method != "GET" || sensitive(route) {
                recorded.push((format!("{method} {route}"), actor.to_owned(), status));
            }
            let refused = matches!(status, 401 | 403);
            assert_eq!(
                refused,
                !access.allows(caller),
                "{method} {route} ({access:?}) by {}: {status} {answer}",
                caller.heading()
            );
            checked += 1;
        }
    }
    assert!(checked >= 1_000, "{checked} calls");
    // Every change and sensitive read of the walk is in the audit log, refused or not.
    let export = get(&t.app_url("/api/v1/audit?format=jsonl"), &[as_admin]).await?;
    assert_eq!(export.status, 200);
    let mut entries: Vec<(String, String, u16)> = export
        .text()
        .lines()
        .map(|line| {
            let e: Value = serde_json::from_str(line)?;
            Ok((
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["actor"]["name"].as_str().unwrap_or_default().to_owned(),
                u16::try_from(e["status"].as_u64().unwrap_or_default())?,
            ))
        })
        .collect::<Result<_>>()?;
    let mut missing = Vec::new();
    for call in recorded {
        match entries.iter().position(|e| *e == call) {
            Some(at) => {
                entries.swap_remove(at);
            }
            None => missing.push(call),
        }
    }
    assert!(missing.is_empty(), "not in the audit log: {missing:?}");
    assert!(
        operations.iter().any(|(_, _, a, _)| *a == Access::Person),
        "the table's every kind of row is walked"
    );
    Ok(())
}

/// A signed-in person's cookie never acts for another site: every state-changing operation of
/// the OpenAPI document, the login routes' included, sent with the owner's session from a page
/// of another origin (or a cross-site fetch), is refused (403) before it runs, and the same
/// request from the dashboard's own pages is not.
#[tokio::test]
async fn no_state_changing_route_takes_a_cookie_from_another_site() -> Result {
    let t = TestServer::start(|c| {
        c.admin_email = Some("owner@example.com".into());
        c.admin_password = Some(PASSWORD.into());
    })
    .await?;
    let cookie = cookie_of(&t, "owner@example.com").await?;
    let doc = get(&t.app_url("/api/v1/openapi.json"), &[("cookie", &cookie)])
        .await?
        .json()?;
    let own = t.app_url("");
    let mut changing = 0;
    // The login routes too (a login, a logout, an invitation taken from another site's page
    // would plant or end a session): open to a credential-less request, not to another site.
    for (path, item) in doc["paths"].as_object().ok_or("paths")? {
        let route = path.trim_start_matches("/api/v1");
        for (method, op) in item.as_object().ok_or("an item")? {
            if method == "get" {
                continue;
            }
            changing += 1;
            let url = t.app_url(&format!("/api/v1{}", concrete(route)));
            let body = op["requestBody"]["content"]["application/json"]["example"].to_string();
            for header in [
                ("origin", "http://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ] {
                let answer = send(
                    method.to_uppercase().parse()?,
                    &url,
                    &[("cookie", &cookie), ("content-type", JSON), header],
                    body.clone().into_bytes(),
                )
                .await?;
                assert_eq!(
                    answer.status,
                    403,
                    "{method} {route} with {header:?}: {}",
                    answer.text()
                );
            }
        }
    }
    assert!(changing >= 20, "{changing} state-changing operations");
    // The dashboard's own page may (a project made, then seen).
    let made = send(
        reqwest::Method::POST,
        &t.app_url("/api/v1/projects"),
        &[
            ("cookie", &cookie),
            ("content-type", JSON),
            ("origin", own.trim_end_matches('/')),
            ("sec-fetch-site", "same-origin"),
        ],
        json!({"name": "own-page"}).to_string().into_bytes(),
    )
    .await?;
    assert_eq!(made.status, 201, "{}", made.text());
    Ok(())
}

/// Two nodes over one store: a person removed, or a key revoked, on one node is refused on the
/// other within the directory's 5 s (`CACHE_TTL`); measured and printed.
#[tokio::test]
async fn a_removed_person_and_a_revoked_key_are_refused_on_every_node_within_the_bound() -> Result {
    let a = TestServer::start(|c| {
        c.api_token = Some(TOKEN.into());
        c.admin_email = Some("owner@example.com".into());
        c.admin_password = Some(PASSWORD.into());
    })
    .await?;
    let mut config = agentrace_server::ServerConfig::new(a.dir.path()).with_any_free_ports();
    config.api_token = Some(TOKEN.into());
    let b = agentrace_server::Server::start(config).await?;
    let on_b = |path: &str| format!("http://{}/api/v1{path}", b.app_addr());
    let as_admin = ("authorization", format!("Bearer {TOKEN}"));
    let admin = (as_admin.0, as_admin.1.as_str());
    // Dan joins; his session and a key work on both nodes.
    let (_, invited) = call(
        &a,
        reqwest::Method::POST,
        "/people/invitations",
        admin,
        Some(&json!({"email": "dan@example.com", "role": "viewer"})),
    )
    .await?;
    let joined = send(
        reqwest::Method::POST,
        &a.app_url("/api/v1/auth/invitation"),
        &[("content-type", JSON)],
        json!({"token": invited["token"], "name": "Dan", "password": PASSWORD})
            .to_string()
            .into_bytes(),
    )
    .await?;
    assert_eq!(joined.status, 201);
    let dan = cookie_of(&a, "dan@example.com").await?;
    let (_, key) = call(
        &a,
        reqwest::Method::POST,
        "/projects/default/keys",
        admin,
        Some(&json!({"scope": "read", "name": "dashboard-bot"})),
    )
    .await?;
    let secret = format!("Bearer {}", key["secret"].as_str().ok_or("a secret")?);
    let status_on_b = |header: (&'static str, String)| {
        let url = on_b("/traces");
        async move {
            Ok::<u16, Box<dyn std::error::Error + Send + Sync>>(
                get(&url, &[(header.0, header.1.as_str())]).await?.status,
            )
        }
    };
    assert_eq!(status_on_b(("cookie", dan.clone())).await?, 200);
    assert_eq!(status_on_b(("authorization", secret.clone())).await?, 200);

    // Removed and revoked on a; b refuses both within the bound.
    let (_, people) = call(&a, reqwest::Method::GET, "/people", admin, None).await?;
    let dan_id = people["people"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["email"] == "dan@example.com")
        .and_then(|p| p["id"].as_u64())
        .ok_or("dan")?;
    let done = std::time::Instant::now();
    assert_eq!(
        call(
            &a,
            reqwest::Method::DELETE,
            &format!("/people/{dan_id}"),
            admin,
            None
        )
        .await?
        .0,
        204
    );
    assert_eq!(
        call(
            &a,
            reqwest::Method::DELETE,
            &format!("/projects/default/keys/{}", key["id"]),
            admin,
            None
        )
        .await?
        .0,
        204
    );
    assert_eq!(
        get(&a.app_url("/api/v1/traces"), &[("cookie", &dan)])
            .await?
            .status,
        401,
        "at once on a"
    );
    loop {
        let person = status_on_b(("cookie", dan.clone())).await?;
        let revoked = status_on_b(("authorization", secret.clone())).await?;
        if person == 401 && revoked == 401 {
            break;
        }
        assert!(
            done.elapsed() < std::time::Duration::from_secs(6),
            "b still lets them in after {:?}: {person} {revoked}",
            done.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    println!(
        "refused on the other node after {:?} (bound: 5 s)",
        done.elapsed()
    );
    b.shutdown().await?;
    Ok(())
}
