//! What a browser meets: the dashboard's files and page, the `Host` allow-list (DNS
//! rebinding), the `Origin` check (cross-origin WebSockets and requests), and the login into a
//! session cookie.

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::common::*;

const TOKEN: &str = "s3cret-token";
const HTML: (&str, &str) = ("accept", "text/html,application/xhtml+xml");

/// The page's versioned asset prefix (`/assets/<16 hex digits>`).
fn asset_base(page: &str) -> Result<String> {
    let start = page.find("/assets/").ok_or("no asset URL in the page")?;
    let base = page
        .get(start..start + "/assets/".len() + 16)
        .ok_or("a short URL")?;
    assert!(
        base["/assets/".len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit()),
        "{base}"
    );
    Ok(base.to_owned())
}

#[tokio::test]
async fn the_dashboard_is_served_with_its_security_headers_and_caching() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let page = get(&t.app_url("/"), &[HTML, ("accept-encoding", "gzip")]).await?;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").ok_or("no CSP")?;
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let etag = page.header("etag").ok_or("no ETag")?.to_owned();
    let page_text = reqwest::Client::new()
        .get(t.app_url("/"))
        .header("accept", "text/html")
        .send()
        .await?
        .text()
        .await?;
    assert!(!page_text.contains("<script>"), "no inline script");

    // Revalidation.
    let again = get(&t.app_url("/"), &[HTML, ("if-none-match", &etag)]).await?;
    assert_eq!(again.status, 304);

    // Every view's URL answers the page (reload-safe, shareable); other requests get a 404.
    for view in [
        "/traces",
        "/traces/4bf92f3577b34da6a3ce929d0e0e4736/graph",
        "/sessions/s-1",
        "/no/such/view",
    ] {
        let answer = get(&t.app_url(view), &[HTML]).await?;
        assert_eq!(answer.status, 200, "{view}");
        assert!(answer.text().contains("src/main.js"), "{view}");
    }
    assert_eq!(get(&t.app_url("/no/such/view"), &[]).await?.status, 404);
    let api = get(&t.app_url("/api/v1/nothing"), &[HTML]).await?;
    assert_eq!(api.status, 404);
    assert!(
        api.text().contains("not_found"),
        "the API's JSON 404: {}",
        api.text()
    );

    // Files: typed, cached forever, gzipped when taken; an old version is gone.
    let base = asset_base(&page_text)?;
    let module = get(
        &t.app_url(&format!("{base}/src/main.js")),
        &[("accept-encoding", "gzip")],
    )
    .await?;
    assert_eq!(module.status, 200);
    assert_eq!(
        module.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        module.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(module.header("content-encoding"), Some("gzip"));
    let plain = get(
        &t.app_url(&format!("{base}/src/main.js")),
        &[("accept-encoding", "identity")],
    )
    .await?;
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.text().contains("import"));
    let css = get(&t.app_url(&format!("{base}/styles/app.css")), &[]).await?;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(
        get(&t.app_url("/assets/0000000000000000/src/main.js"), &[])
            .await?
            .status,
        404
    );
    assert_eq!(
        get(&t.app_url(&format!("{base}/src/nothing.js")), &[])
            .await?
            .status,
        404
    );
    assert_eq!(
        get(&t.app_url(&format!("{base}/README.md")), &[])
            .await?
            .status,
        404
    );
    Ok(())
}

#[tokio::test]
async fn a_loopback_server_refuses_host_names_it_does_not_answer_to() -> Result {
    let t = TestServer::start(|c| c.allowed_hosts = vec!["agentrace.internal".into()]).await?;
    let port = t.server.app_addr().port();
    for (host, status) in [
        ("evil.example".to_owned(), 403),
        (format!("evil.example:{port}"), 403),
        (format!("localhost.evil.example:{port}"), 403),
        (format!("localhost:{port}"), 200),
        (format!("127.0.0.1:{port}"), 200),
        (format!("agentrace.internal:{port}"), 200),
    ] {
        let answer = get(&t.app_url("/api/v1/traces"), &[("host", &host)]).await?;
        assert_eq!(answer.status, status, "Host: {host}: {}", answer.text());
        if status == 403 {
            assert!(answer.text().contains("allowed_hosts"), "{}", answer.text());
        }
    }
    // The page and the health check too, and the OTLP/HTTP receiver.
    assert_eq!(
        get(&t.app_url("/"), &[HTML, ("host", "evil.example")])
            .await?
            .status,
        403
    );
    assert_eq!(
        get(&t.app_url("/healthz"), &[("host", "evil.example")])
            .await?
            .status,
        403
    );
    let ingest = post(
        &t.http_url("/v1/traces"),
        PROTOBUF,
        &[("host", "evil.example")],
        protobuf(&llm_traces(1, 1)),
    )
    .await?;
    assert_eq!(ingest.status, 403);
    assert_eq!(t.server.stats().requests.forbidden, 6);
    Ok(())
}

/// Opens the live feed with `origin` (if any); the HTTP status of the handshake.
async fn live_status(t: &TestServer, origin: Option<&str>, cookie: Option<&str>) -> Result<u16> {
    let addr = t.server.app_addr();
    let mut request = format!("ws://{addr}/api/v1/live").into_client_request()?;
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin)?);
    }
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(cookie)?);
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => Ok(response.status().as_u16()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Ok(response.status().as_u16())
        }
        Err(e) => Err(e.into()),
    }
}

#[tokio::test]
async fn the_live_feed_refuses_pages_of_other_origins() -> Result {
    let t = TestServer::start(|c| c.cors_origins = vec!["http://ui.example:3000".into()]).await?;
    let own = format!("http://{}", t.server.app_addr());
    assert_eq!(
        live_status(&t, None, None).await?,
        101,
        "no Origin: not a browser"
    );
    assert_eq!(
        live_status(&t, Some(&own), None).await?,
        101,
        "its own pages"
    );
    assert_eq!(
        live_status(&t, Some("http://ui.example:3000"), None).await?,
        101,
        "configured"
    );
    let other_port = format!("http://127.0.0.1:{}", t.server.app_addr().port() + 1);
    for origin in ["http://evil.example", other_port.as_str(), "null"] {
        assert_eq!(live_status(&t, Some(origin), None).await?, 403, "{origin}");
    }
    Ok(())
}

/// Logs in with `token`; the answer.
async fn login(t: &TestServer, token: &str, origin: Option<&str>) -> Result<Answer> {
    let body = serde_json::to_vec(&serde_json::json!({ "token": token }))?;
    let mut headers = vec![("content-type", "application/json")];
    if let Some(origin) = origin {
        headers.push(("origin", origin));
    }
    send(
        reqwest::Method::POST,
        &t.app_url("/api/v1/auth/login"),
        &headers,
        body,
    )
    .await
}

/// `name=value` of a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[tokio::test]
async fn the_dashboard_logs_in_once_into_a_strict_session_cookie() -> Result {
    let t = TestServer::start(|c| c.api_token = Some(TOKEN.into())).await?;
    let own = format!("http://{}", t.server.app_addr());
    let state = get(&t.app_url("/api/v1/auth/session"), &[]).await?;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&state.body)?,
        serde_json::json!({ "token_required": true, "authenticated": false, "can_write": false, "scope": null, "project": null, "person": null, "password_login": false, "sso": null })
    );
    // The page itself needs no token: it asks for one.
    assert_eq!(get(&t.app_url("/"), &[HTML]).await?.status, 200);

    let wrong = login(&t, "guess", Some(&own)).await?;
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    assert!(wrong.text().contains("unauthorized"), "{}", wrong.text());

    let from_elsewhere = login(&t, TOKEN, Some("http://evil.example")).await?;
    assert_eq!(from_elsewhere.status, 403, "a login from another origin");

    let ok = login(&t, TOKEN, Some(&own)).await?;
    assert_eq!(ok.status, 204, "{}", ok.text());
    let set_cookie = ok.header("set-cookie").ok_or("no cookie")?.to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = cookie_pair(&set_cookie);
    assert!(
        cookie.starts_with("agentrace_session=") && cookie.len() > 60,
        "{cookie}"
    );

    // The cookie opens the API and the live feed from the dashboard's own pages...
    let traces = get(&t.app_url("/api/v1/traces"), &[("cookie", &cookie)]).await?;
    assert_eq!(traces.status, 200, "{}", traces.text());
    let same = get(
        &t.app_url("/api/v1/traces"),
        &[("cookie", &cookie), ("sec-fetch-site", "same-origin")],
    )
    .await?;
    assert_eq!(same.status, 200);
    assert_eq!(live_status(&t, Some(&own), Some(&cookie)).await?, 101);
    // ...and from nowhere else: another origin, another site, another port of this host.
    for (name, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let answer = get(
            &t.app_url("/api/v1/traces"),
            &[("cookie", &cookie), (name, value)],
        )
        .await?;
        assert_eq!(answer.status, 403, "{name}: {value}");
    }
    assert_eq!(
        live_status(&t, Some("http://evil.example"), Some(&cookie)).await?,
        403
    );
    assert_eq!(
        live_status(&t, Some(&own), None).await?,
        401,
        "no cookie, no token"
    );
    let state = get(&t.app_url("/api/v1/auth/session"), &[("cookie", &cookie)]).await?;
    assert!(
        state.text().contains("\"authenticated\":true"),
        "{}",
        state.text()
    );
    // A forged or stale cookie is nothing.
    let forged =
        "agentrace_session=0000000000000000000000000000000000000000000000000000000000000000";
    assert_eq!(
        get(&t.app_url("/api/v1/traces"), &[("cookie", forged)])
            .await?
            .status,
        401
    );

    // Logout ends the session on the server, and clears the cookie.
    let out = send(
        reqwest::Method::POST,
        &t.app_url("/api/v1/auth/logout"),
        &[("cookie", &cookie), ("origin", &own)],
        Vec::new(),
    )
    .await?;
    assert_eq!(out.status, 204);
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert_eq!(
        get(&t.app_url("/api/v1/traces"), &[("cookie", &cookie)])
            .await?
            .status,
        401
    );
    Ok(())
}

#[tokio::test]
async fn failed_logins_are_throttled_and_a_server_without_token_has_no_login() -> Result {
    let t = TestServer::start(|c| c.api_token = Some(TOKEN.into())).await?;
    for _ in 0..10 {
        assert_eq!(login(&t, "guess", None).await?.status, 401);
    }
    let throttled = login(&t, TOKEN, None).await?;
    assert_eq!(throttled.status, 429, "even the right token waits");
    assert!(throttled.header("retry-after").is_some());
    assert!(throttled.text().contains("too_many_requests"));

    let open = TestServer::start(|_| {}).await?;
    let state = get(&open.app_url("/api/v1/auth/session"), &[]).await?;
    assert!(
        state.text().contains("\"token_required\":false"),
        "{}",
        state.text()
    );
    let answer = login(&open, "anything", None).await?;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("no API token"), "{}", answer.text());
    Ok(())
}
