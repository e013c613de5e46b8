//! The dashboard's login sessions: a random id in an `HttpOnly`, `SameSite=Strict` cookie,
//! remembered by its SHA-256 (so that what is kept holds nothing a reader could replay) until
//! it expires or the user logs out. A person's session is kept in the store (every node of a
//! fleet knows it, and ends it when the person is removed: `crate::store::directory`); a
//! session begun with a token or key lives in this node's memory: a restart ends it. Failed
//! logins are throttled ([`LoginThrottle`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentrace_store::SecretHash;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use super::passwords::LoginThrottle;
use crate::store::directory::Principal;

/// The cookie's name.
pub(crate) const COOKIE: &str = "agentrace_session";
/// How long a session lasts.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3_600);
/// Sessions remembered at most; beyond, the one closest to expiry is forgotten.
const MAX_SESSIONS: usize = 10_000;

/// Live sessions of tokens and keys, and recent failed logins.
#[derive(Debug)]
pub(crate) struct Sessions {
    live: Mutex<HashMap<[u8; 32], (Instant, Principal)>>,
    /// Failed logins, by account and by address.
    pub(crate) throttle: LoginThrottle,
    ttl: Duration,
}

/// A session id could not be drawn from the operating system's random source.
#[derive(Debug, thiserror::Error)]
#[error("no randomness for a session id: {0}")]
pub(crate) struct NoRandomness(getrandom::Error);

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// The digest a secret — a session's id, an invitation's token — is kept under: what the
/// store finds it by.
pub(crate) fn secret_hash(secret: &str) -> SecretHash {
    SecretHash(digest(secret))
}

/// `bytes` in lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new session id: 64 hex digits, 256 random bits.
pub(crate) fn new_id() -> Result<String, NoRandomness> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(NoRandomness)?;
    Ok(hex(&bytes))
}

impl Sessions {
    pub(crate) fn new() -> Self {
        Self::with_ttl(SESSION_TTL)
    }

    pub(crate) fn with_ttl(ttl: Duration) -> Self {
        Self {
            live: Mutex::new(HashMap::new()),
            throttle: LoginThrottle::default(),
            ttl,
        }
    }

    /// How long a session lasts.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new session of `principal`; returns its id (64 hex digits, 256 random bits).
    pub(crate) fn start(&self, principal: Principal) -> Result<String, NoRandomness> {
        let id = new_id()?;
        let now = Instant::now();
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if live.len() >= MAX_SESSIONS {
            live.retain(|_, (expires, _)| *expires > now);
        }
        if live.len() >= MAX_SESSIONS
            && let Some(oldest) = live.iter().min_by_key(|(_, (e, _))| *e).map(|(k, _)| *k)
        {
            live.remove(&oldest);
        }
        live.insert(digest(&id), (now + self.ttl, principal));
        Ok(id)
    }

    /// Who the session `id` is, if it has not expired nor ended.
    pub(crate) fn principal(&self, id: &str) -> Option<Principal> {
        let key = digest(id);
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        match live.get(&key) {
            Some((expires, principal)) if *expires > Instant::now() => Some(principal.clone()),
            Some(_) => {
                live.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends the session `id` (logout).
    pub(crate) fn end(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&digest(id));
    }
}

/// The value of the request's cookie `name`, if it has one.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// The session id in the request's cookies, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, COOKIE)
}

/// Whether the browser came over HTTPS, as a proxy in front says (`X-Forwarded-Proto`).
pub(crate) fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// A cookie to set: its name, the path it is sent to, and its `SameSite`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CookieKind<'a> {
    pub(crate) name: &'a str,
    pub(crate) path: &'a str,
    pub(crate) same_site: &'a str,
}

/// The session's cookie: for every page of the server, never sent by another site's request.
pub(crate) const SESSION_COOKIE: CookieKind<'static> = CookieKind {
    name: COOKIE,
    path: "/",
    same_site: "Strict",
};

/// The `Set-Cookie` value of `kind` holding `value` for `max_age` (0: remove the cookie):
/// `HttpOnly`, and `Secure` when the request came over HTTPS ([`over_https`]).
pub(crate) fn set_cookie(
    headers: &HeaderMap,
    kind: CookieKind<'_>,
    value: &str,
    max_age: Duration,
) -> String {
    format!(
        "{}={value}; Path={}; HttpOnly; SameSite={}; Max-Age={}{}",
        kind.name,
        kind.path,
        kind.same_site,
        max_age.as_secs(),
        if over_https(headers) { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use agentrace_store::KeyScope;
    use axum::http::HeaderValue;

    use super::*;

    fn admin() -> Principal {
        Principal::organization(KeyScope::Admin)
    }

    fn reader() -> Principal {
        Principal::organization(KeyScope::Read)
    }

    #[test]
    fn a_session_lives_until_it_ends_or_expires() -> Result<(), NoRandomness> {
        let sessions = Sessions::new();
        let id = sessions.start(admin())?;
        assert_eq!(id.len(), 64);
        assert_eq!(sessions.principal(&id), Some(admin()));
        assert_eq!(sessions.principal(&id.replace(&id[..1], "x")), None);
        let read = sessions.start(reader())?;
        assert_ne!(read, id, "ids are random");
        assert_eq!(sessions.principal(&read), Some(reader()));
        sessions.end(&id);
        assert_eq!(sessions.principal(&id), None);

        let short = Sessions::with_ttl(Duration::ZERO);
        let id = short.start(admin())?;
        assert_eq!(short.principal(&id), None, "expired at once");
        Ok(())
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; agentrace_session=abc ; b=2"),
        );
        assert_eq!(session_cookie(&headers), Some("abc"));
        let mut other = HeaderMap::new();
        other.append(
            header::COOKIE,
            HeaderValue::from_static("agentrace_session_x=1"),
        );
        assert_eq!(session_cookie(&other), None);
    }
}
