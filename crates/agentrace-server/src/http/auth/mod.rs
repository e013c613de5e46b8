//! Who a request is and which project it acts on: `Authorization: Bearer <secret>` on
//! ingest (HTTP and gRPC), the API and `/metrics`; on the app listener the dashboard's
//! session cookie too, set by a login with a secret ([`login`]). `/healthz`, `/readyz` and
//! the dashboard's files stay open (they hold no data).
//!
//! A secret is one of the configured tokens (`api_token`: the organization's admin;
//! `read_token`: the organization's reader) or a key stored in the organization
//! ([`crate::store::directory`]): of the organization or of one project, with a scope (`ingest`, `read`,
//! `write`, `admin`). A credential of the organization names its project with the
//! `x-agentrace-project` header (without it: `default`); a project's key acts on its own
//! project only. Each refusal says why: 401 without a credential, 403 naming the scope a
//! request needs or the project the key belongs to, 404 for a project that does not exist.
//!
//! Without a configured `api_token` the server is open: a request without a credential is
//! the organization's admin, and a project key presented still selects its project.

pub(crate) mod grpc;
pub(crate) mod login;
pub(crate) mod passwords;
pub(crate) mod sessions;
pub(crate) mod sso;

use std::sync::Arc;

use agentrace_store::KeyScope;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub(crate) use self::sessions::Sessions;
use axum::routing::{get, post};

use crate::http::api_base::{ApiError, PREFIX};
use crate::http::guard::Guard;
use crate::http::scope::Scope;
use crate::http::scope::{PROJECT_HEADER, PROJECT_PARAMETER};
use crate::ingest::route::Sender;
pub(crate) use crate::store::directory::Principal;
use crate::store::directory::{Directory, ProjectRefusal};
use crate::telemetry::counters::add;
use crate::telemetry::stats::ServerStats;

/// The configured tokens, the directory of keys and projects, and the counters to report
/// refusals in; on the app listener, the login sessions and the guard that checks where a
/// cookie-authenticated request comes from.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    tokens: Option<Tokens>,
    directory: Arc<Directory>,
    stats: Arc<ServerStats>,
    browser: Option<(Arc<Sessions>, Guard)>,
    /// How people log in, when the server has people (`None`: tokens and keys only).
    people: Option<PeopleLogin>,
}

impl Auth {
    /// The single sign-on provider, if one is configured.
    pub(crate) fn sso(&self) -> Option<&sso::SharedSso> {
        self.people.as_ref().and_then(|p| p.sso.as_ref())
    }
}

/// How people log in (`crate::http::auth::login`), and where their logins are recorded.
#[derive(Debug, Clone)]
pub(crate) struct PeopleLogin {
    /// Whether they may log in with a password (off when single sign-on is the only way).
    pub(crate) passwords: bool,
    /// The audit log, where logins, failed logins and logouts go.
    pub(crate) audit: crate::http::audit::Audit,
    /// Single sign-on, if configured.
    pub(crate) sso: Option<sso::SharedSso>,
}

/// The login routes' paths under the API's prefix, and their methods.
pub(crate) const ROUTES: [(&str, &str); 6] = [
    ("/auth/session", "get"),
    ("/auth/login", "post"),
    ("/auth/logout", "post"),
    ("/auth/invitation", "post"),
    ("/auth/sso/start", "get"),
    ("/auth/sso/callback", "get"),
];

/// The login routes ([`ROUTES`], under `/api/v1`; open: they are how a browser gets in).
pub(crate) fn router(auth: Auth) -> axum::Router {
    let [
        (session_path, _),
        (login_path, _),
        (logout_path, _),
        (invitation_path, _),
        (sso_start, _),
        (sso_callback, _),
    ] = ROUTES;
    // A login, a logout or an invitation taken from another site's page would plant or end a
    // session: refused as the API refuses a cookie from there (another origin's `Origin` is
    // refused for every route by `crate::http::guard::check_origin`).
    let own_pages = || axum::middleware::from_fn(own_pages_only);
    axum::Router::new()
        .route(&format!("{PREFIX}{session_path}"), get(login::session))
        .route(
            &format!("{PREFIX}{login_path}"),
            post(login::login).route_layer(own_pages()),
        )
        .route(
            &format!("{PREFIX}{logout_path}"),
            post(login::logout).route_layer(own_pages()),
        )
        .route(
            &format!("{PREFIX}{invitation_path}"),
            post(login::accept).route_layer(own_pages()),
        )
        .route(&format!("{PREFIX}{sso_start}"), get(sso::start))
        .route(&format!("{PREFIX}{sso_callback}"), get(sso::callback))
        .with_state(auth)
}

/// Refuses (403) a request a page of another origin made, by its fetch metadata.
async fn own_pages_only(request: Request, next: Next) -> Response {
    if Guard::cross_origin_fetch(request.headers()) {
        return ApiError::Forbidden(
            "the login routes take requests from the dashboard's own pages only".into(),
        )
        .into_response();
    }
    next.run(request).await
}

/// The configured tokens: the organization's admin and, optionally, its reader.
#[derive(Debug, Clone)]
struct Tokens {
    admin: Arc<[u8]>,
    read: Option<Arc<[u8]>>,
}

/// What a refused request is told.
pub(crate) const UNAUTHORIZED: &str =
    "missing or wrong API token: send the header `Authorization: Bearer <token>`";

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// A bearer secret.
    Bearer(Principal),
    /// A live session cookie.
    Session(Principal),
    /// Neither.
    None,
}

/// Why a request was not let through.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No credential, or a wrong one (401).
    Unauthenticated,
    /// Its credential may not do this (403), and why.
    Forbidden(String),
    /// The project it names does not exist (404).
    NoProject(String),
    /// The keys or projects could not be read (503).
    Unavailable(String),
}

impl From<ProjectRefusal> for Refusal {
    fn from(refusal: ProjectRefusal) -> Self {
        match refusal {
            ProjectRefusal::OtherProject { .. } => Self::Forbidden(refusal.to_string()),
            ProjectRefusal::NoProject(_) | ProjectRefusal::KeyProjectGone(_) => {
                Self::NoProject(refusal.to_string())
            }
            ProjectRefusal::Store(_) => Self::Unavailable(refusal.to_string()),
        }
    }
}

/// What a credential of `have` is told when a request needs `needed`.
pub(crate) fn lacks_scope(have: KeyScope, needed: KeyScope) -> String {
    match needed {
        KeyScope::Ingest => format!(
            "this credential's scope is `{have}`: sending telemetry needs a key of scope `ingest` or `admin`"
        ),
        needed => {
            format!("this credential's scope is `{have}`: this request needs scope `{needed}`")
        }
    }
}

/// The project an API request names: with the [`PROJECT_HEADER`], else (a browser's
/// WebSocket or download, which cannot send headers) with the query parameter `project`.
fn asked_project_of(headers: &HeaderMap, uri: &axum::http::Uri) -> Result<Option<String>, Refusal> {
    if let Some(asked) = asked_project(headers)? {
        return Ok(Some(asked));
    }
    let parameter = PROJECT_PARAMETER;
    Ok(uri.query().and_then(|query| {
        url_pairs(query)
            .find(|(name, _)| name == parameter)
            .map(|(_, value)| value)
    }))
}

/// The decoded `name=value` pairs of a query string.
fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .ok()
                .map(|s| s.into_owned())
        };
        Some((decode(name)?, decode(value)?))
    })
}

/// The project a request names with the [`PROJECT_HEADER`], if it does.
pub(crate) fn asked_project(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    match headers.get(PROJECT_HEADER) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .map(|v| Some(v.trim().to_owned()))
            .ok_or_else(|| {
                Refusal::NoProject(format!("the header {PROJECT_HEADER} is not a project name"))
            }),
    }
}

/// The secret of a `Bearer` authorization value.
fn bearer(authorization: Option<&[u8]>) -> Option<&[u8]> {
    let (scheme, secret) = authorization?.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(secret)
}

impl Auth {
    /// With the configured tokens (`None`: an open server) and the keys of `directory`.
    pub(crate) fn new(
        tokens: Option<(&str, Option<&str>)>,
        directory: Arc<Directory>,
        stats: Arc<ServerStats>,
    ) -> Self {
        Self {
            tokens: tokens.map(|(admin, read)| Tokens {
                admin: admin.as_bytes().into(),
                read: read.map(|t| t.as_bytes().into()),
            }),
            directory,
            stats,
            browser: None,
            people: None,
        }
    }

    /// Also taking people's logins: every request then needs a credential.
    #[must_use]
    pub(crate) fn with_people(mut self, people: PeopleLogin) -> Self {
        self.people = Some(people);
        self
    }

    /// How people log in, if the server has people.
    pub(crate) fn people(&self) -> Option<&PeopleLogin> {
        self.people.as_ref()
    }

    /// The directory of keys, projects and people's sessions.
    pub(crate) fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    /// Also taking the dashboard's session cookie (the app listener).
    #[must_use]
    pub(crate) fn with_sessions(mut self, sessions: Arc<Sessions>, guard: Guard) -> Self {
        self.browser = Some((sessions, guard));
        self
    }

    /// The login sessions, when this listener takes them.
    pub(crate) fn sessions(&self) -> Option<&Arc<Sessions>> {
        self.browser.as_ref().map(|(s, _)| s)
    }

    /// Whether a credential is required (a token is configured, or the server has people).
    pub(crate) fn is_required(&self) -> bool {
        self.tokens.is_some() || self.people.is_some()
    }

    /// The principal of a configured token (compared in constant time).
    fn token_principal(&self, presented: &[u8]) -> Option<Principal> {
        let tokens = self.tokens.as_ref()?;
        let read = tokens
            .read
            .as_ref()
            .is_some_and(|t| constant_time_eq(presented, t));
        if constant_time_eq(presented, &tokens.admin) {
            Some(Principal::organization(KeyScope::Admin))
        } else if read {
            Some(Principal::organization(KeyScope::Read))
        } else {
            None
        }
    }

    /// The principal of `secret`: a configured token, else a live stored key.
    pub(crate) async fn principal_of(&self, secret: &[u8]) -> Result<Option<Principal>, Refusal> {
        if let Some(principal) = self.token_principal(secret) {
            return Ok(Some(principal));
        }
        self.directory
            .principal_of_key(secret)
            .await
            .map_err(|e| Refusal::Unavailable(format!("the keys could not be read: {e}")))
    }

    /// Which credential `headers` carry (without counting anything).
    pub(crate) async fn credential(&self, headers: &HeaderMap) -> Result<Credential, Refusal> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        if let Some(secret) = bearer(authorization)
            && let Some(principal) = self.principal_of(secret).await?
        {
            return Ok(Credential::Bearer(principal));
        }
        let (Some((sessions, _)), Some(id)) = (&self.browser, sessions::session_cookie(headers))
        else {
            return Ok(Credential::None);
        };
        if let Some(principal) = sessions.principal(id) {
            return Ok(Credential::Session(principal));
        }
        if self.people.is_none() {
            return Ok(Credential::None);
        }
        let person = self
            .directory
            .person_of_session(sessions::secret_hash(id))
            .await
            .map_err(|e| Refusal::Unavailable(format!("the sessions could not be read: {e}")))?;
        Ok(person.map_or(Credential::None, |(_, p)| Credential::Session(p)))
    }

    /// Who sends the telemetry of a request with `headers` (HTTP headers, gRPC metadata): a
    /// principal whose scope allows ingest, and the project the request names, which must
    /// exist and be one the principal may write to.
    pub(crate) async fn ingest_sender(&self, headers: &HeaderMap) -> Result<Sender, Refusal> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        let principal = self.ingest_principal(authorization).await?;
        let asked = asked_project(headers)?;
        if asked.is_some() {
            self.directory
                .project_for(&principal, asked.as_deref())
                .await?;
        }
        Ok(Sender { principal, asked })
    }

    /// Who may send telemetry with the authorization value `authorization`: a principal
    /// whose scope allows ingest.
    async fn ingest_principal(&self, authorization: Option<&[u8]>) -> Result<Principal, Refusal> {
        let principal = match bearer(authorization) {
            Some(secret) => self.principal_of(secret).await?,
            None => None,
        };
        let principal = match principal {
            Some(p) => p,
            None if !self.is_required() => Principal::organization(KeyScope::Admin),
            None => return Err(Refusal::Unauthenticated),
        };
        if principal.scope.allows(KeyScope::Ingest) {
            Ok(principal)
        } else {
            Err(Refusal::Forbidden(lacks_scope(
                principal.scope,
                KeyScope::Ingest,
            )))
        }
    }

    /// Counts a refusal.
    pub(crate) fn count(&self, refusal: &Refusal) {
        match refusal {
            Refusal::Unauthenticated => add(&self.stats.requests_unauthorized, 1),
            Refusal::Forbidden(_) | Refusal::NoProject(_) => {
                add(&self.stats.requests_forbidden, 1);
            }
            Refusal::Unavailable(_) => {}
        }
    }

    /// The answer to a refusal: to the API (`api`) its error body, on OTLP/HTTP an OTLP
    /// `Status` (16 UNAUTHENTICATED, 7 PERMISSION_DENIED, 5 NOT_FOUND, 14 UNAVAILABLE).
    fn refuse(&self, refusal: Refusal, api: bool) -> Response {
        self.count(&refusal);
        let (status, otlp_code, message) = match refusal {
            Refusal::Unauthenticated => (StatusCode::UNAUTHORIZED, 16, UNAUTHORIZED.to_owned()),
            Refusal::Forbidden(why) => (StatusCode::FORBIDDEN, 7, why),
            Refusal::NoProject(why) => (StatusCode::NOT_FOUND, 5, why),
            Refusal::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, 14, why),
        };
        let mut response = if api {
            match status {
                StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message).into_response(),
                StatusCode::FORBIDDEN => ApiError::Forbidden(message).into_response(),
                StatusCode::NOT_FOUND => ApiError::NotFound(message).into_response(),
                _ => ApiError::Unavailable(message).into_response(),
            }
        } else {
            (
                status,
                axum::Json(serde_json::json!({ "code": otlp_code, "message": message })),
            )
                .into_response()
        };
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"agentrace\""),
            );
        }
        response
    }

    /// The scope of an API request with `headers` for `uri`: who it is, its project and the
    /// project's store.
    async fn scope(&self, headers: &HeaderMap, uri: &axum::http::Uri) -> Result<Scope, Refusal> {
        let credential = self.credential(headers).await?;
        if let (Credential::Session(_), Some((_, guard))) = (&credential, &self.browser)
            && (guard.is_other_origin(headers) || Guard::cross_origin_fetch(headers))
        {
            return Err(Refusal::Forbidden(
                "the session cookie is only accepted from the dashboard's own pages".into(),
            ));
        }
        let principal = match credential {
            Credential::Bearer(p) | Credential::Session(p) => p,
            Credential::None if !self.is_required() => Principal::organization(KeyScope::Admin),
            Credential::None => return Err(Refusal::Unauthenticated),
        };
        let asked = asked_project_of(headers, uri)?;
        let project = self
            .directory
            .project_for(&principal, asked.as_deref())
            .await?;
        // What it may do there (a person's role in that project).
        let principal = principal.in_project(project.id).ok_or_else(|| {
            Refusal::NoProject(format!("no project named {:?}", project.name.as_str()))
        })?;
        let store = self
            .directory
            .store(project.id)
            .await
            .map_err(|e| Refusal::Unavailable(format!("the project's store: {e}")))?;
        Ok(Scope {
            principal,
            project,
            store,
        })
    }
}

/// The digest of the session cookie `headers` carry, if any.
pub(crate) fn session_of_request(headers: &HeaderMap) -> Option<agentrace_store::SecretHash> {
    sessions::session_cookie(headers).map(sessions::secret_hash)
}

/// Compares without an early exit, so timing does not reveal how much of a guess matched.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// axum middleware of the API, `/metrics` and the compatible APIs: resolves the request's
/// [`Scope`] (who, which project, its store) into its extensions, or refuses it.
pub(crate) async fn scope_request(
    State(auth): State<Auth>,
    mut request: Request,
    next: Next,
) -> Response {
    let (headers, uri) = (request.headers().clone(), request.uri().clone());
    match auth.scope(&headers, &uri).await {
        Ok(scope) => {
            request.extensions_mut().insert(scope);
            next.run(request).await
        }
        Err(refusal) => auth.refuse(refusal, true),
    }
}

/// axum middleware of OTLP/HTTP: who may send (a credential whose scope allows ingest), and
/// the project the request names, into its extensions, for the receiver to route by.
pub(crate) async fn ingest_request(
    State(auth): State<Auth>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers().clone();
    match auth.ingest_sender(&headers).await {
        Ok(sender) => {
            request.extensions_mut().insert(sender);
            next.run(request).await
        }
        Err(refusal) => auth.refuse(refusal, false),
    }
}

/// `router` (the API, `/metrics`, the compatible APIs) behind the credentials: each
/// request's [`Scope`] resolved (or refused) first.
pub(crate) fn scoped(router: axum::Router, auth: Auth) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(auth, scope_request))
}

/// `router` (OTLP/HTTP's routes) behind the credentials: each request's sender resolved (or
/// refused) first.
pub(crate) fn ingesting(router: axum::Router, auth: Auth) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(auth, ingest_request))
}

/// `route` refusing (403) a request whose credential's scope does not allow `needed`.
pub(crate) fn needing<S: Clone + Send + Sync + 'static>(
    route: axum::routing::MethodRouter<S>,
    needed: KeyScope,
) -> axum::routing::MethodRouter<S> {
    route.route_layer(axum::middleware::from_fn(move |request, next| {
        require_scope(needed, request, next)
    }))
}

/// Per-route middleware: refuses (403) a request whose credential's scope does not allow
/// `needed`.
pub(crate) async fn require_scope(needed: KeyScope, request: Request, next: Next) -> Response {
    let have = request
        .extensions()
        .get::<Scope>()
        .map(|s| s.principal.scope);
    match have {
        Some(have) if have.allows(needed) => next.run(request).await,
        Some(have) => ApiError::Forbidden(lacks_scope(have, needed)).into_response(),
        None => ApiError::Internal("the request's scope was not resolved".into()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use agentrace_sqlite::SqliteOrganization;
    use agentrace_store::{NewKey, ProjectName};

    use super::*;
    use crate::store::directory::new_secret;

    type Error = Box<dyn std::error::Error>;

    fn auth(dir: &std::path::Path, tokens: Option<(&str, Option<&str>)>) -> Result<Auth, Error> {
        let organization = Arc::new(SqliteOrganization::open(dir.join("agentrace.db"))?);
        Ok(Auth::new(
            tokens,
            Arc::new(Directory::new(organization)),
            Arc::new(ServerStats::new(None)),
        ))
    }

    #[tokio::test]
    async fn the_read_token_reads_and_the_api_token_does_everything() -> Result<(), Error> {
        let dir = tempfile::tempdir()?;
        let auth = auth(dir.path(), Some(("admin-token", Some("read-token"))))?;
        let admin = auth
            .principal_of(b"admin-token")
            .await
            .map_err(|e| format!("{e:?}"))?;
        assert_eq!(admin, Some(Principal::organization(KeyScope::Admin)));
        let read = auth
            .principal_of(b"read-token")
            .await
            .map_err(|e| format!("{e:?}"))?;
        assert_eq!(read, Some(Principal::organization(KeyScope::Read)));
        assert_eq!(auth.principal_of(b"read-toke").await.ok().flatten(), None);
        assert!(matches!(
            auth.ingest_principal(Some(b"Bearer read-token")).await,
            Err(Refusal::Forbidden(_))
        ));
        assert!(
            auth.ingest_principal(Some(b"Bearer admin-token"))
                .await
                .is_ok()
        );
        Ok(())
    }

    #[tokio::test]
    async fn only_the_exact_bearer_token_passes() -> Result<(), Error> {
        let dir = tempfile::tempdir()?;
        let auth = auth(dir.path(), Some(("s3cret", None)))?;
        assert!(auth.ingest_principal(Some(b"Bearer s3cret")).await.is_ok());
        assert!(auth.ingest_principal(Some(b"bearer s3cret")).await.is_ok());
        for refused in [
            Some(&b"Bearer s3cre"[..]),
            Some(b"Bearer s3cret2"),
            Some(b"Basic s3cret"),
            Some(b"s3cret"),
            None,
        ] {
            assert!(matches!(
                auth.ingest_principal(refused).await,
                Err(Refusal::Unauthenticated)
            ));
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_key_is_its_project_and_scope_until_revoked() -> Result<(), Error> {
        let dir = tempfile::tempdir()?;
        let auth = auth(dir.path(), Some(("admin-token", None)))?;
        let organization = auth.directory.organization().clone();
        let alpha = organization.create_project(&ProjectName::new("alpha")?)?;
        let (secret, hash) = new_secret()?;
        let key = organization.insert_key(&NewKey::new(
            Some(alpha.id),
            KeyScope::Ingest,
            "app",
            "test",
            hash,
            1,
        ))?;
        let principal = auth
            .ingest_principal(Some(format!("Bearer {secret}").as_bytes()))
            .await
            .map_err(|e| format!("{e:?}"))?;
        assert_eq!(principal.project, Some(alpha.id));
        assert_eq!(principal.scope, KeyScope::Ingest);
        // Another project named by the header is refused; its own passes.
        let other = auth
            .directory
            .project_for(&principal, Some("default"))
            .await;
        assert!(matches!(other, Err(ProjectRefusal::OtherProject { .. })));
        let own = auth.directory.project_for(&principal, None).await;
        assert_eq!(own.map(|p| p.id), Ok(alpha.id));
        assert_eq!(auth.directory.take_uses().len(), 1, "the use is noted");
        organization.revoke_key(key.id)?;
        auth.directory.forget();
        assert!(matches!(
            auth.ingest_principal(Some(format!("Bearer {secret}").as_bytes()))
                .await,
            Err(Refusal::Unauthenticated)
        ));
        Ok(())
    }
}
