//! Single sign-on's ID-token checks, against a provider that issues the tokens a test asks for
//! — tampered, expired, for another audience, with another nonce, signed with a key rotated
//! in — which no real provider would. (The whole flow with a real provider, npm's
//! oidc-provider, in Chromium: tests/browser/dashboard/sso.test.mjs.)

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::routing::{get as route_get, post as route_post};
use base64::Engine as _;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
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
    OtherNonce,
}

/// The provider: its keys (the one it signs with, the ones it publishes) and what it issues.
struct Provider {
    issuer: String,
    signing: Mutex<usize>,
    published: Mutex<Vec<usize>>,
    issue: Mutex<Issue>,
    /// The nonce of the last authorization request.
    nonce: Mutex<String>,
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
        let claims = CoreIdTokenClaims::new(
            IssuerUrl::new(self.issuer.clone())?,
            vec![Audience::new(audience.into())],
            expires,
            now,
            StandardClaims::new(SubjectIdentifier::new("ada-1".into()))
                .set_email(Some(EndUserEmail::new("ada@example.com".into()))),
            EmptyAdditionalClaims {},
        )
        .set_nonce(Some(Nonce::new(nonce)));
        let signing = *self.signing.lock().map_err(|e| e.to_string())?;
        let token = CoreIdToken::new(
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

/// A sign-in through the server: start, then the callback with a code; the callback's status
/// and whether it set a session.
async fn sign_in(t: &TestServer, provider: &Provider) -> Result<(u16, bool, String)> {
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
    let session = callback.header("set-cookie").is_some_and(|c| {
        c.starts_with("agentrace_session=") && !c.starts_with("agentrace_session=;")
    });
    Ok((callback.status, session, callback.text()))
}

#[tokio::test]
async fn only_a_well_signed_live_token_for_this_client_and_nonce_signs_in() -> Result {
    let provider = provider().await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("sso.toml");
    // The callback's address is the server's: its port chosen first.
    let port = free_port()?;
    std::fs::write(
        &file,
        format!(
            "issuer = \"{}\"\nclient_id = \"agentrace\"\n\
             redirect_url = \"http://127.0.0.1:{port}/api/v1/auth/sso/callback\"\n",
            provider.issuer
        ),
    )?;
    let t = TestServer::start(|c| {
        c.sso = Some(file.clone());
        c.app_port = port;
    })
    .await?;

    for (issue, says) in [
        (Issue::Tampered, "Signature verification failed"),
        (Issue::Expired, "Expired"),
        (Issue::OtherAudience, "Invalid audiences"),
        (Issue::OtherNonce, "Invalid nonce"),
    ] {
        *provider.issue.lock().map_err(|e| e.to_string())? = issue;
        let (status, session, page) = sign_in(&t, &provider).await?;
        assert_eq!((status, session), (403, false), "{issue:?}: {page}");
        assert!(
            page.contains("The sign-in was refused") && page.contains(says),
            "{issue:?}: {page}"
        );
    }
    *provider.issue.lock().map_err(|e| e.to_string())? = Issue::Valid;
    let (status, session, page) = sign_in(&t, &provider).await?;
    assert_eq!((status, session), (303, true), "{page}");

    // The provider rotates its key: a token signed by the new one has the keys read again.
    *provider.signing.lock().map_err(|e| e.to_string())? = 1;
    *provider.published.lock().map_err(|e| e.to_string())? = vec![1];
    let (status, session, page) = sign_in(&t, &provider).await?;
    assert_eq!((status, session), (303, true), "rotated: {page}");

    // A callback without the flow cookie this browser started with is refused.
    let stray = unfollowed(&t.app_url("/api/v1/auth/sso/callback?code=c&state=s"), None).await?;
    assert_eq!(stray.status, 400, "{}", stray.text());
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
