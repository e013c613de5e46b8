//! Single sign-on's ID-token checks, against a provider that issues the tokens a test asks for
//! — tampered, expired, for another audience or issuer, with another nonce, signed with a key
//! rotated in — which no real provider would; and how the groups a token carries give roles:
//! the organization's role from a group, synced at each login or kept, and nobody made where
//! just-in-time provisioning is off. (The whole flow with a real provider, npm's
//! oidc-provider, in Chromium: tests/browser/dashboard/sso.test.mjs.)

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::routing::{get as route_get, post as route_post};
use base64::Engine as _;
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AdditionalClaims, Audience, EndUserEmail, IdToken, IdTokenClaims, IssuerUrl, JsonWebKeyId,
    Nonce, PrivateSigningKey, StandardClaims, SubjectIdentifier,
};

use crate::common::*;

const KEYS: [&str; 2] = [
    include_str!("fixtures/oidc-key-1.pem"),
    include_str!("fixtures/oidc-key-2.pem"),
];

/// What the provider's token endpoint answers next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Issue {
    Valid,
    Tampered,
    Expired,
    OtherAudience,
    OtherIssuer,
    OtherNonce,
}

/// The groups claim the provider's tokens carry.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Groups {
    groups: Vec<String>,
}

impl AdditionalClaims for Groups {}

type Token =
    IdToken<Groups, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// The provider: its keys (the one it signs with, the ones it publishes), what it issues, and
/// who signs in (their address, their groups).
struct Provider {
    issuer: String,
    signing: Mutex<usize>,
    published: Mutex<Vec<usize>>,
    issue: Mutex<Issue>,
    /// The nonce of the last authorization request.
    nonce: Mutex<String>,
    person: Mutex<(String, Vec<String>)>,
}

fn key(n: usize) -> Result<CoreRsaPrivateSigningKey> {
    Ok(CoreRsaPrivateSigningKey::from_pem(
        KEYS[n],
        Some(JsonWebKeyId::new(format!("k{n}"))),
    )?)
}

impl Provider {
    fn token(&self) -> Result<String> {
        let issue = *self.issue.lock().map_err(|e| e.to_string())?;
        let now = chrono::Utc::now();
        let expires = if issue == Issue::Expired {
            now - chrono::Duration::minutes(5)
        } else {
            now + chrono::Duration::minutes(5)
        };
        let audience = if issue == Issue::OtherAudience {
            "someone-else"
        } else {
            "agentrace"
        };
        let nonce = if issue == Issue::OtherNonce {
            "not-the-nonce".to_owned()
        } else {
            self.nonce.lock().map_err(|e| e.to_string())?.clone()
        };
        let issuer = if issue == Issue::OtherIssuer {
            "http://evil.example".to_owned()
        } else {
            self.issuer.clone()
        };
        let (email, groups) = self.person.lock().map_err(|e| e.to_string())?.clone();
        let claims = IdTokenClaims::new(
            IssuerUrl::new(issuer)?,
            vec![Audience::new(audience.into())],
            expires,
            now,
            StandardClaims::new(SubjectIdentifier::new(format!("sub-{email}")))
                .set_email(Some(EndUserEmail::new(email))),
            Groups { groups },
        )
        .set_nonce(Some(Nonce::new(nonce)));
        let signing = *self.signing.lock().map_err(|e| e.to_string())?;
        let token = Token::new(
            claims,
            &key(signing)?,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )?
        .to_string();
        if issue != Issue::Tampered {
            return Ok(token);
        }
        // Another person's address in the payload, the signature kept.
        let parts: Vec<&str> = token.split('.').collect();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = String::from_utf8(engine.decode(parts[1])?)?
            .replace("ada@example.com", "eve@example.com");
        Ok(format!(
            "{}.{}.{}",
            parts[0],
            engine.encode(payload),
            parts[2]
        ))
    }
}

/// Starts the provider on a free port.
async fn provider() -> Result<Arc<Provider>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let issuer = format!("http://{}", listener.local_addr()?);
    let provider = Arc::new(Provider {
        issuer: issuer.clone(),
        signing: Mutex::new(0),
        published: Mutex::new(vec![0]),
        issue: Mutex::new(Issue::Valid),
        nonce: Mutex::new(String::new()),
        person: Mutex::new(("ada@example.com".into(), Vec::new())),
    });
    let discovery = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let (jwks, token) = (provider.clone(), provider.clone());
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            route_get(move || async move { Json(discovery) }),
        )
        .route(
            "/jwks",
            route_get(move || async move {
                let published = jwks.published.lock().map(|p| p.clone()).unwrap_or_default();
                let keys = published
                    .into_iter()
                    .filter_map(|n| key(n).ok())
                    .map(|k| k.as_verification_key())
                    .collect();
                Json(CoreJsonWebKeySet::new(keys))
            }),
        )
        .route(
            "/token",
            route_post(move || async move {
                let id_token = token.token().unwrap_or_default();
                Json(serde_json::json!({
                    "access_token": "at", "token_type": "Bearer", "expires_in": 300,
                    "id_token": id_token,
                }))
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(provider)
}

/// A sign-in through the server: start, then the callback with a code; the callback's status,
/// the session cookie it set (if any) and its page.
async fn sign_in(t: &TestServer, provider: &Provider) -> Result<(u16, Option<String>, String)> {
    let start = unfollowed(&t.app_url("/api/v1/auth/sso/start?next=/traces"), None).await?;
    assert_eq!(start.status, 303, "{}", start.text());
    let location = url::Url::parse(start.header("location").ok_or("a Location")?)?;
    let query = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    assert_eq!(query("code_challenge_method"), "S256", "PKCE");
    *provider.nonce.lock().map_err(|e| e.to_string())? = query("nonce");
    let flow = start
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .ok_or("the flow cookie")?
        .to_owned();
    let callback = unfollowed(
        &t.app_url(&format!(
            "/api/v1/auth/sso/callback?code=c&state={}",
            query("state")
        )),
        Some(&flow),
    )
    .await?;
    let session = callback
        .header("set-cookie")
        .filter(|c| c.starts_with("agentrace_session=") && !c.starts_with("agentrace_session=;"))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    Ok((callback.status, session, callback.text()))
}

#[tokio::test]
async fn only_a_well_signed_live_token_for_this_client_and_nonce_signs_in() -> Result {
    let provider = provider().await?;
    let dir = tempfile::tempdir()?;
    let (file, port) = sso_file(&provider, dir.path(), "")?;
    let t = TestServer::start(|c| {
        c.sso = Some(file);
        c.app_port = port;
    })
    .await?;

    for (issue, says) in [
        (Issue::Tampered, "Signature verification failed"),
        (Issue::Expired, "Expired"),
        (Issue::OtherAudience, "Invalid audiences"),
        (Issue::OtherIssuer, "Invalid issuer"),
        (Issue::OtherNonce, "Invalid nonce"),
    ] {
        *provider.issue.lock().map_err(|e| e.to_string())? = issue;
        let (status, session, page) = sign_in(&t, &provider).await?;
        assert_eq!((status, session), (403, None), "{issue:?}: {page}");
        assert!(
            page.contains("The sign-in was refused") && page.contains(says),
            "{issue:?}: {page}"
        );
    }
    *provider.issue.lock().map_err(|e| e.to_string())? = Issue::Valid;
    let (status, session, page) = sign_in(&t, &provider).await?;
    assert_eq!((status, session.is_some()), (303, true), "{page}");

    // The provider rotates its key: a token signed by the new one has the keys read again.
    *provider.signing.lock().map_err(|e| e.to_string())? = 1;
    *provider.published.lock().map_err(|e| e.to_string())? = vec![1];
    let (status, session, page) = sign_in(&t, &provider).await?;
    assert_eq!((status, session.is_some()), (303, true), "rotated: {page}");

    // A callback without the flow cookie this browser started with is refused.
    let stray = unfollowed(&t.app_url("/api/v1/auth/sso/callback?code=c&state=s"), None).await?;
    assert_eq!(stray.status, 400, "{}", stray.text());
    Ok(())
}

/// A single sign-on file over `provider` in `dir`, with `rest` (TOML) as well, for a server
/// on the port it names (the callback's address is the server's: its port chosen first).
fn sso_file(
    provider: &Provider,
    dir: &std::path::Path,
    rest: &str,
) -> Result<(std::path::PathBuf, u16)> {
    let port = free_port()?;
    let file = dir.join(format!("sso-{port}.toml"));
    std::fs::write(
        &file,
        format!(
            "issuer = \"{}\"\nclient_id = \"agentrace\"\n\
             redirect_url = \"http://127.0.0.1:{port}/api/v1/auth/sso/callback\"\n{rest}",
            provider.issuer
        ),
    )?;
    Ok((file, port))
}

/// The organization role of the person signed in with `cookie`.
async fn role_of(t: &TestServer, cookie: &str) -> Result<String> {
    let session = get(&t.app_url("/api/v1/auth/session"), &[("cookie", cookie)])
        .await?
        .json()?;
    Ok(session["person"]["role"]
        .as_str()
        .ok_or_else(|| format!("no person: {session}"))?
        .to_owned())
}

#[tokio::test]
async fn groups_give_roles_synced_at_each_login_or_kept_and_strangers_need_an_invitation() -> Result
{
    let provider = provider().await?;
    let dir = tempfile::tempdir()?;
    let signed = |who: &str, groups: &[&str]| -> Result {
        *provider.person.lock().map_err(|e| e.to_string())? = (
            who.to_owned(),
            groups.iter().map(|g| (*g).to_owned()).collect(),
        );
        Ok(())
    };
    // Roles synced at each login.
    let (file, port) = sso_file(
        &provider,
        dir.path(),
        "sync_roles = true\n[organization_roles]\nplatform = \"admin\"\n",
    )?;
    let t = TestServer::start(|c| {
        c.sso = Some(file);
        c.app_port = port;
    })
    .await?;
    signed("ada@example.com", &["platform"])?;
    let (status, cookie, page) = sign_in(&t, &provider).await?;
    assert_eq!(status, 303, "{page}");
    assert_eq!(role_of(&t, &cookie.ok_or("a session")?).await?, "admin");
    signed("ada@example.com", &[])?;
    let (_, cookie, page) = sign_in(&t, &provider).await?;
    assert_eq!(
        role_of(&t, &cookie.ok_or_else(|| page.clone())?).await?,
        "viewer",
        "left the group: synced down"
    );
    // Kept as they are, and nobody new made.
    let (file, port) = sso_file(
        &provider,
        dir.path(),
        "sync_roles = false\nprovisioning = false\n[organization_roles]\nplatform = \"admin\"\n",
    )?;
    let t = t
        .restart(|c| {
            c.sso = Some(file);
            c.app_port = port;
        })
        .await?;
    signed("ada@example.com", &["platform"])?;
    let (_, cookie, page) = sign_in(&t, &provider).await?;
    assert_eq!(
        role_of(&t, &cookie.ok_or_else(|| page.clone())?).await?,
        "viewer",
        "roles kept: the group is not read again"
    );
    signed("bob@example.com", &["platform"])?;
    let (status, cookie, page) = sign_in(&t, &provider).await?;
    assert_eq!((status, cookie), (403, None), "{page}");
    assert!(
        page.contains("bob@example.com has no account on this server"),
        "{page}"
    );
    Ok(())
}

/// A GET whose redirect is answered, not followed (as a browser's would be, to the provider).
async fn unfollowed(url: &str, cookie: Option<&str>) -> Result<Answer> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await?;
    Ok(Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await?.to_vec(),
    })
}

/// A port free now.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
