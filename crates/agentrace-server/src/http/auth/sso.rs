//! Single sign-on with OpenID Connect (any provider): `GET /api/v1/auth/sso/start` sends the
//! browser to the provider (authorization code with PKCE, a `state` and a `nonce`, kept for ten
//! minutes in an `HttpOnly` cookie of the callback's path); `GET /api/v1/auth/sso/callback`
//! takes the code back, checks `state`, exchanges the code with the PKCE verifier, and accepts
//! the ID token only when its signature (the provider's keys, read again once when a token is
//! signed by a key not known yet: rotation), issuer, audience, expiry and nonce hold. The
//! groups the token carries (`groups_claim`) say whether the person may come in and with which
//! roles (`crate::config::sso`); they are made just in time or found (by their provider's
//! subject, else their e-mail address), signed in with a session like a password's, and the
//! login (or its refusal) goes to the audit log. A refusal is a page saying why, in plain words.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrace_store::{Actor, NewUser, ProjectId, User};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::{Deserialize, Serialize};

use super::Auth;
use super::login::{start_session, with_cookie};
use super::sessions::{CookieKind, SESSION_COOKIE, cookie, set_cookie};
use crate::config::sso::{SsoConfig, groups_at};
use crate::http::api_base::PREFIX;
use crate::http::audit::entry;
use crate::ingest::listen::client::ClientAddress;

/// The cookie that carries a sign-in from its start to its callback.
const FLOW_COOKIE: &str = "agentrace_sso";
/// How long a sign-in may take at the provider.
const FLOW_TTL: Duration = Duration::from_secs(600);
/// How long the provider's discovered metadata (its keys) is used before it is read again.
const METADATA_TTL: Duration = Duration::from_secs(3_600);

/// The provider, as this server signs people in with it.
#[derive(Debug)]
pub(crate) struct Sso {
    config: SsoConfig,
    secret: Option<String>,
    http: OidcHttp,
    /// The provider's discovered metadata, and when it was read.
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

/// Why the provider could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SsoError(String);

/// What the flow cookie holds.
#[derive(Debug, Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
}

/// Sends an OpenID Connect request with `client`.
async fn send(
    client: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, SsoError> {
    let (parts, body) = request.into_parts();
    let answer = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| SsoError(format!("the provider did not answer: {e}")))?;
    let mut response = openidconnect::http::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    let body = answer
        .bytes()
        .await
        .map_err(|e| SsoError(format!("the provider's answer was cut: {e}")))?;
    response
        .body(body.to_vec())
        .map_err(|e| SsoError(e.to_string()))
}

/// The HTTP client the OpenID library sends with: ours, which never follows a redirect.
#[derive(Debug, Clone)]
struct OidcHttp(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for OidcHttp {
    type Error = SsoError;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<openidconnect::HttpResponse, SsoError>> + Send + 'c>,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(send(self.0.clone(), request))
    }
}

/// The claims of a verified ID token, as the payload carries them (groups may be nested).
fn payload(token: &str) -> serde_json::Value {
    token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// `<issuer> <sub>`: unique, whatever their e-mail address becomes.
    pub(crate) subject: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) groups: Vec<String>,
}

impl Sso {
    /// Signing in with the provider `config` names, the client secret read from its variable.
    pub(crate) fn new(
        config: SsoConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let secret =
            match &config.client_secret_env {
                Some(name) => Some(env(name).ok_or_else(|| {
                    format!("sso: the client secret's variable {name} is not set")
                })?),
                None => None,
            };
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer send this server elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("sso: {e}"))?;
        Ok(Self {
            config,
            secret,
            http: OidcHttp(http),
            metadata: tokio::sync::Mutex::new(None),
        })
    }

    /// The login page's button.
    pub(crate) fn label(&self) -> &str {
        &self.config.label
    }

    /// The provider's metadata: cached, read again after [`METADATA_TTL`] or when `refresh`.
    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, SsoError> {
        let mut cached = self.metadata.lock().await;
        if let Some((at, metadata)) = cached.as_ref()
            && !refresh
            && at.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer =
            IssuerUrl::new(self.config.issuer.clone()).map_err(|e| SsoError(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| SsoError(format!("the provider's discovery failed: {e}")))?;
        *cached = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        SsoError,
    > {
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| SsoError(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// The provider's authorization URL for a new sign-in, and the flow to keep until the
    /// callback.
    async fn begin(&self, next: String) -> Result<(String, Flow), SsoError> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok((
            url.to_string(),
            Flow {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                next,
            },
        ))
    }

    /// Exchanges `code` and verifies its ID token against `flow`: who signed in. A token signed
    /// by a key not known yet has the provider's keys read again, once.
    async fn finish(&self, code: String, flow: &Flow) -> Result<Identity, SsoError> {
        let client = self.client(self.metadata(false).await?)?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SsoError(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| SsoError(format!("the provider refused the code: {e}")))?;
        let token = openidconnect::TokenResponse::id_token(&answer)
            .ok_or_else(|| SsoError("the provider gave no ID token".into()))?
            .clone();
        let nonce = Nonce::new(flow.nonce.clone());
        let verified = |client: &CoreClient<_, _, _, _, _, _>| {
            token
                .claims(&client.id_token_verifier(), &nonce)
                .map(|claims| {
                    (
                        claims.subject().as_str().to_owned(),
                        claims.email().map(|e| e.as_str().to_owned()),
                        claims
                            .name()
                            .and_then(|n| n.get(None))
                            .map(|n| n.as_str().to_owned()),
                    )
                })
        };
        let claims = match verified(&client) {
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                // A key the provider rotated in since its keys were read.
                let fresh = self.client(self.metadata(true).await?)?;
                verified(&fresh)
            }
            other => other,
        }
        .map_err(|e| SsoError(format!("the ID token was refused: {e}")))?;
        let (subject, email, name) = claims;
        let email = email.ok_or_else(|| {
            SsoError("the provider gave no e-mail address: ask it for the `email` scope".into())
        })?;
        let groups = groups_at(&payload(&token.to_string()), &self.config.groups_claim);
        Ok(Identity {
            subject: format!("{} {subject}", self.config.issuer),
            name: name.unwrap_or_else(|| email.clone()),
            email: crate::http::auth::login::normalized_email(&email),
            groups,
        })
    }
}

/// Why a person who signed in at the provider is not let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// In none of the allowed groups.
    NotAllowed,
    /// Unknown here, and just-in-time provisioning is off.
    NoAccount,
}

/// The person `identity` is, made or found, their roles set from their groups (at their first
/// login, or every login with `sync_roles`): who signs in, or why not.
pub(crate) fn admit(
    organization: &dyn agentrace_store::Organization,
    config: &SsoConfig,
    identity: &Identity,
) -> Result<Result<User, Refused>, agentrace_store::AccountError> {
    if !config.allows(&identity.groups) {
        return Ok(Err(Refused::NotAllowed));
    }
    let roles = config.roles_of(&identity.groups);
    let projects: BTreeMap<String, ProjectId> = organization
        .projects()?
        .into_iter()
        .map(|p| (p.name.to_string(), p.id))
        .collect();
    let now = agentrace_core::now_unix_nano();
    let known = match organization.user_by_subject(&identity.subject)? {
        Some(user) => Some(user),
        None => organization.user_by_email(&identity.email)?,
    };
    let (mut user, first) = match known {
        Some(user) => (user, false),
        None if !config.provisioning => return Ok(Err(Refused::NoAccount)),
        None => {
            let mut new = NewUser::new(
                identity.email.clone(),
                identity.name.clone(),
                roles.role,
                now,
            );
            new.subject = Some(identity.subject.clone());
            (organization.create_user(&new)?, true)
        }
    };
    if first || config.sync_roles {
        user.role = roles.role;
        // The groups say every role: one they no longer give goes.
        for grant in organization.grants(user.id)? {
            let kept = projects
                .iter()
                .any(|(name, id)| *id == grant.project && roles.projects.contains_key(name));
            if !kept {
                organization.set_grant(user.id, grant.project, None)?;
            }
        }
        for (name, role) in &roles.projects {
            if let Some(id) = projects.get(name) {
                organization.set_grant(user.id, *id, Some(*role))?;
            }
        }
    }
    user.subject = Some(identity.subject.clone());
    user.last_login_unix_nano = Some(now);
    organization.update_user(&user)?;
    Ok(Ok(user))
}

/// A page of the sign-in's refusal: `title` and `why`, escaped (the provider's words are
/// another server's).
fn page(status: StatusCode, title: &str, why: &str) -> Response {
    use crate::jobs::report::text::html as escape;
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>agentrace: {}</title></head>\
         <body style=\"font-family: system-ui; max-width: 40em; margin: 4em auto\"><h1>{}</h1><p>{}</p>\
         <p><a href=\"/login\">Back to the login</a></p></body></html>",
        escape(title),
        escape(title),
        escape(why)
    );
    let mut response = (status, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /auth/sso/start` query.
#[derive(Debug, Deserialize)]
pub(crate) struct StartQuery {
    next: Option<String>,
}

/// Where a sign-in may return to: a path of this server, never another origin.
fn local_path(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into())
}

/// The flow cookie's `Set-Cookie`: `SameSite=Lax` (the provider's redirect back is a
/// top-level navigation from another site), for the sign-in's paths only.
fn flow_cookie(headers: &HeaderMap, value: &str, max_age: Duration) -> String {
    let path = format!("{PREFIX}/auth/sso");
    let kind = CookieKind {
        name: FLOW_COOKIE,
        path: &path,
        same_site: "Lax",
    };
    set_cookie(headers, kind, value, max_age)
}

/// `GET /auth/sso/start`.
pub(crate) async fn start(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(sso) = auth.sso() else {
        return page(
            StatusCode::NOT_FOUND,
            "No single sign-on",
            "This server has no single sign-on configured.",
        );
    };
    let (url, flow) = match sso.begin(local_path(query.next)).await {
        Ok(begun) => begun,
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on could not start");
            return page(
                StatusCode::BAD_GATEWAY,
                "Single sign-on is unavailable",
                &e.to_string(),
            );
        }
    };
    let value = serde_json::to_vec(&flow)
        .map(|json| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
        .unwrap_or_default();
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&flow_cookie(&headers, &value, FLOW_TTL)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /auth/sso/callback` query: the provider's answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The flow the request's cookie carries.
fn flow_of(headers: &HeaderMap) -> Option<Flow> {
    let value = cookie(headers, FLOW_COOKIE)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// `GET /auth/sso/callback`.
pub(crate) async fn callback(
    State(auth): State<Auth>,
    address: ClientAddress,
    headers: HeaderMap,
    Query(answer): Query<Callback>,
) -> Response {
    let (Some(sso), Some(people)) = (auth.sso().cloned(), auth.people().cloned()) else {
        return page(
            StatusCode::NOT_FOUND,
            "No single sign-on",
            "This server has no single sign-on configured.",
        );
    };
    let refuse = |title: &str, why: &str, email: &str| {
        let e = entry(
            Actor::new("user", None, email),
            ("sso.refused", why),
            address.text(),
            403,
        );
        (e, page(StatusCode::FORBIDDEN, title, why))
    };
    if let Some(error) = answer.error {
        let why = answer.error_description.unwrap_or(error);
        return page(
            StatusCode::FORBIDDEN,
            "The provider refused the sign-in",
            &why,
        );
    }
    let (Some(flow), Some(code), Some(state)) = (flow_of(&headers), answer.code, answer.state)
    else {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in cannot be finished",
            "It was not started in this browser, or took more than ten minutes: sign in again.",
        );
    };
    if !super::constant_time_eq(state.as_bytes(), flow.state.as_bytes()) {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in cannot be finished",
            "Its state does not match the one this browser started with: sign in again.",
        );
    }
    let identity = match sso.finish(code, &flow).await {
        Ok(identity) => identity,
        Err(e) => {
            let (entry, page) = refuse("The sign-in was refused", &e.to_string(), "");
            people.audit.append(entry).await;
            return page;
        }
    };
    let organization = auth.directory().organization().clone();
    let (config, who) = (sso.config.clone(), identity.clone());
    let admitted = tokio::task::spawn_blocking(move || admit(&*organization, &config, &who)).await;
    let user = match admitted {
        Ok(Ok(Ok(user))) => user,
        Ok(Ok(Err(refused))) => {
            let why = match refused {
                Refused::NotAllowed => format!(
                    "{} is in none of the groups allowed to use this server. Ask its administrators to add you to one.",
                    identity.email
                ),
                Refused::NoAccount => format!(
                    "{} has no account on this server. Ask its administrators for an invitation.",
                    identity.email
                ),
            };
            let (entry, page) = refuse("You cannot sign in here", &why, &identity.email);
            people.audit.append(entry).await;
            return page;
        }
        Ok(Err(e)) => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The sign-in could not be finished",
                &e.to_string(),
            );
        }
        Err(e) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The sign-in could not be finished",
                &e.to_string(),
            );
        }
    };
    auth.directory().forget();
    let id = match start_session(&auth, &user, address, &headers).await {
        Ok(id) => id,
        Err(e) => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The sign-in could not be finished",
                &e.to_string(),
            );
        }
    };
    let e = entry(
        Actor::new("user", Some(user.id.0), user.email.clone()),
        ("login", "sso"),
        address.text(),
        303,
    )
    .changing(
        None,
        Some(
            serde_json::json!({ "groups": identity.groups, "role": user.role.as_str() })
                .to_string(),
        ),
    );
    people.audit.append(e).await;
    let ttl = auth.sessions().map_or(Duration::ZERO, |s| s.ttl());
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, flow.next.clone())],
    )
        .into_response();
    response = with_cookie(response, set_cookie(&headers, SESSION_COOKIE, &id, ttl));
    if let Ok(cleared) = HeaderValue::from_str(&flow_cookie(&headers, "", Duration::ZERO)) {
        response.headers_mut().append(header::SET_COOKIE, cleared);
    }
    response
}

/// The shared provider of a configured `sso` file.
pub(crate) type SharedSso = Arc<Sso>;
