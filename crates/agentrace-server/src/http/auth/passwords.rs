//! People's passwords: argon2id (the `argon2` crate's defaults, OWASP's recommendation: 19 MiB,
//! two passes, one lane; a random salt each), stored as PHC strings, checked in constant time —
//! and an unknown e-mail address costs the same check against a hash of nothing, so that the
//! time of an answer does not tell whether an account exists. Failed logins are counted per
//! account and per address ([`LoginThrottle`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

pub(crate) use crate::config::MIN_PASSWORD_CHARS;

/// The longest: argon2 takes any length, but a request should not make it hash megabytes.
pub(crate) const MAX_PASSWORD_BYTES: usize = 1_024;

/// A password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PasswordError {
    /// Shorter than [`MIN_PASSWORD_CHARS`] or longer than [`MAX_PASSWORD_BYTES`].
    #[error(
        "a password is {MIN_PASSWORD_CHARS} characters at least (and {MAX_PASSWORD_BYTES} bytes at most)"
    )]
    Length,
    /// The hash could not be computed (no randomness for the salt).
    #[error("the password could not be hashed: {0}")]
    Hashing(String),
}

/// The PHC string of `password`'s argon2id hash.
pub(crate) fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::Length);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// A hash no password matches, checked when an account has none (or does not exist).
static NOTHING: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password_with_salt(b"", &[0; 16])
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Whether `password` matches `stored` (a PHC string); with none, the same work is done and
/// the answer is no.
pub(crate) fn verify(stored: Option<&str>, password: &str) -> bool {
    let against = stored.unwrap_or(&NOTHING);
    let Ok(parsed) = PasswordHash::new(against) else {
        return false;
    };
    let matches = password.len() <= MAX_PASSWORD_BYTES
        && Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
    matches && stored.is_some()
}

/// Failed logins an account may have in [`ACCOUNT_WINDOW`] before it is locked out.
pub(crate) const ACCOUNT_FAILURES: usize = 5;
/// How long an account's failures are remembered.
pub(crate) const ACCOUNT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed logins from one address in [`ADDRESS_WINDOW`] before it is refused.
pub(crate) const ADDRESS_FAILURES: usize = 10;
/// How long an address's failures are remembered.
pub(crate) const ADDRESS_WINDOW: Duration = Duration::from_secs(60);
/// Accounts and addresses remembered at most; beyond, the oldest failures are forgotten.
const MAX_REMEMBERED: usize = 10_000;

/// Why a login is refused before its password is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Throttled {
    /// The account failed too often lately: locked until the wait is over.
    Account(Duration),
    /// The address failed too often lately.
    Address(Duration),
}

/// Recent failed logins, by account and by address, on this node.
#[derive(Debug, Default)]
pub(crate) struct LoginThrottle {
    accounts: Mutex<HashMap<String, VecDeque<Instant>>>,
    addresses: Mutex<HashMap<Option<IpAddr>, VecDeque<Instant>>>,
}

/// How long until fewer than `most` of `failures` fall in `window`, if they are `most` now.
fn wait<K: std::hash::Hash + Eq>(
    failures: &Mutex<HashMap<K, VecDeque<Instant>>>,
    key: &K,
    (most, window): (usize, Duration),
) -> Option<Duration> {
    let now = Instant::now();
    let mut failures = failures.lock().unwrap_or_else(PoisonError::into_inner);
    let times = failures.get_mut(key)?;
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
    if times.is_empty() {
        failures.remove(key);
        return None;
    }
    (times.len() >= most).then(|| {
        times
            .front()
            .map_or(window, |t| window.saturating_sub(now.duration_since(*t)))
    })
}

fn note<K: std::hash::Hash + Eq>(failures: &Mutex<HashMap<K, VecDeque<Instant>>>, key: K) {
    let mut failures = failures.lock().unwrap_or_else(PoisonError::into_inner);
    if failures.len() >= MAX_REMEMBERED && !failures.contains_key(&key) {
        let now = Instant::now();
        failures.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.duration_since(*t) < ACCOUNT_WINDOW)
        });
        if failures.len() >= MAX_REMEMBERED {
            failures.clear();
        }
    }
    failures.entry(key).or_default().push_back(Instant::now());
}

impl LoginThrottle {
    /// Whether a login as `account` (`None`: with a token) from `address` is refused now.
    pub(crate) fn check(
        &self,
        account: Option<&str>,
        address: Option<IpAddr>,
    ) -> Option<Throttled> {
        if let Some(account) = account
            && let Some(w) = wait(
                &self.accounts,
                &account.to_owned(),
                (ACCOUNT_FAILURES, ACCOUNT_WINDOW),
            )
        {
            return Some(Throttled::Account(w));
        }
        wait(
            &self.addresses,
            &address,
            (ADDRESS_FAILURES, ADDRESS_WINDOW),
        )
        .map(Throttled::Address)
    }

    /// Counts a failed login as `account` from `address`.
    pub(crate) fn failed(&self, account: Option<&str>, address: Option<IpAddr>) {
        if let Some(account) = account {
            note(&self.accounts, account.to_owned());
        }
        note(&self.addresses, address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() -> Result<(), PasswordError> {
        let stored = hash("correct horse battery")?;
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert_ne!(stored, hash("correct horse battery")?, "a salt of its own");
        assert!(verify(Some(&stored), "correct horse battery"));
        assert!(!verify(Some(&stored), "correct horse batterx"));
        assert!(!verify(None, ""), "no account: no password matches");
        assert!(!verify(Some("not a hash"), "x"));
        assert!(matches!(hash("short"), Err(PasswordError::Length)));
        Ok(())
    }

    #[test]
    fn an_account_and_an_address_are_locked_out_apart() {
        let throttle = LoginThrottle::default();
        let (here, there) = (
            Some(IpAddr::from([192, 0, 2, 1])),
            Some(IpAddr::from([192, 0, 2, 2])),
        );
        for _ in 0..ACCOUNT_FAILURES {
            assert_eq!(throttle.check(Some("ada@example.com"), there), None);
            throttle.failed(Some("ada@example.com"), here);
        }
        assert!(matches!(
            throttle.check(Some("ada@example.com"), there),
            Some(Throttled::Account(w)) if w <= ACCOUNT_WINDOW && w > Duration::ZERO
        ));
        assert_eq!(
            throttle.check(Some("bob@example.com"), there),
            None,
            "another account"
        );
        for _ in ACCOUNT_FAILURES..ADDRESS_FAILURES {
            throttle.failed(None, here);
        }
        assert!(matches!(
            throttle.check(Some("bob@example.com"), here),
            Some(Throttled::Address(_))
        ));
        assert_eq!(throttle.check(None, there), None, "another address");
    }
}
