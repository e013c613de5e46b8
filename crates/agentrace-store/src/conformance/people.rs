//! Sessions and end users, summed from the five traces (a trace belongs to its root's session
//! and user).
//!
//! From the fixture table: session `s-1` holds traces 1 and 3, `s-2` trace 2, `s-3` trace 4,
//! `s-4` trace 5; user `u-1` traces 1, 3 and 4, `u-2` trace 2, `u-3` trace 5.

use crate::{SessionSort, SessionSummary, Store, TimeRange, UserSummary};
use agentrace_core::{TokenUsage, Usd};

use super::fixtures::{MINUTE, SEC, T0, five_traces};
use super::{CheckResult, expect_eq};

/// Session `id` of user `user`, nothing counted yet: fill it in with [`SumsExt`].
fn session(id: &str, user: &str) -> SessionSummary {
    SessionSummary {
        session_id: id.to_owned(),
        traces: 0,
        spans: 0,
        errors: 0,
        usage: TokenUsage::default(),
        cost: None,
        unpriced: 0,
        first_seen_unix_nano: 0,
        last_seen_unix_nano: 0,
        user_id: Some(user.to_owned()),
    }
}

/// User `id` with `sessions` sessions, nothing counted yet: fill it in with [`SumsExt`].
fn user(id: &str, sessions: u64) -> UserSummary {
    UserSummary {
        user_id: id.to_owned(),
        traces: 0,
        sessions,
        spans: 0,
        errors: 0,
        usage: TokenUsage::default(),
        cost: None,
        unpriced: 0,
        first_seen_unix_nano: 0,
        last_seen_unix_nano: 0,
    }
}

/// The expected sums of a session or a user, step by step.
trait SumsExt {
    /// `traces` traces of `spans` spans, `errors` of them failed.
    fn traces(self, traces: u64, spans: u64, errors: u64) -> Self;
    /// Input and output tokens.
    fn tokens(self, input: u64, output: u64) -> Self;
    /// A cost of `nanos` nano-dollars.
    fn cost(self, nanos: i64) -> Self;
    /// `count` unpriced billable spans.
    fn unpriced(self, count: u64) -> Self;
    /// First seen at `first`, last at `last`.
    fn seen(self, first: u64, last: u64) -> Self;
}

/// Implements [`SumsExt`] for the summaries that share its fields.
macro_rules! sums_ext {
    ($($t:ty),*) => {$(
        impl SumsExt for $t {
            fn traces(mut self, traces: u64, spans: u64, errors: u64) -> Self {
                self.traces = traces;
                self.spans = spans;
                self.errors = errors;
                self
            }

            fn tokens(mut self, input: u64, output: u64) -> Self {
                self.usage = TokenUsage::new(input, output);
                self
            }

            fn cost(mut self, nanos: i64) -> Self {
                self.cost = Some(Usd::from_nanos(nanos));
                self
            }

            fn unpriced(mut self, count: u64) -> Self {
                self.unpriced = count;
                self
            }

            fn seen(mut self, first: u64, last: u64) -> Self {
                self.first_seen_unix_nano = first;
                self.last_seen_unix_nano = last;
                self
            }
        }
    )*};
}
sums_ext!(SessionSummary, UserSummary);

/// `s-1`: traces 1 (T0–T0+10 s; 2 spans, 1000/200, 2000 n$) and 3 (T0+120–140 s; 1 span,
/// 50/10, unpriced).
fn s1() -> SessionSummary {
    session("s-1", "u-1")
        .traces(2, 3, 0)
        .tokens(1050, 210)
        .cost(2000)
        .unpriced(1)
        .seen(T0, T0 + 140 * SEC)
}

/// `s-2`: trace 2 (T0+60–100 s; 4 spans, 1 failed, 600/150, 13000 n$).
fn s2() -> SessionSummary {
    session("s-2", "u-2")
        .traces(1, 4, 1)
        .tokens(600, 150)
        .cost(13_000)
        .seen(T0 + MINUTE, T0 + 100 * SEC)
}

/// `s-3`: trace 4 (T0+180–230 s; 5 spans, 2 failed, 1500/300, 900 n$).
fn s3() -> SessionSummary {
    session("s-3", "u-1")
        .traces(1, 5, 2)
        .tokens(1500, 300)
        .cost(900)
        .seen(T0 + 180 * SEC, T0 + 230 * SEC)
}

/// `s-4`: trace 5 (T0+240–270 s; 3 spans, 130/25, 20010 n$).
fn s4() -> SessionSummary {
    session("s-4", "u-3")
        .traces(1, 3, 0)
        .tokens(130, 25)
        .cost(20_010)
        .seen(T0 + 240 * SEC, T0 + 270 * SEC)
}

/// Sessions most recently active first (last seen 270, 230, 140, 100 s: s-4, s-3, s-1, s-2),
/// costliest first (20010, 13000, 2000, 900: s-4, s-2, s-1, s-3), a limit, and a range:
/// traces starting in [T0+100 s, T0+200 s) are 3 (s-1) and 4 (s-3), so s-1 sums trace 3 only.
pub fn sessions(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let recent = store.sessions_by(TimeRange::ALL, SessionSort::Recent, 10)?;
    expect_eq(
        "sessions, most recent first",
        &vec![s4(), s3(), s1(), s2()],
        &recent,
    )?;
    let costly = store.sessions_by(TimeRange::ALL, SessionSort::Cost, 10)?;
    expect_eq(
        "sessions, costliest first",
        &vec![s4(), s2(), s1(), s3()],
        &costly,
    )?;
    let two = store.sessions_by(TimeRange::ALL, SessionSort::Recent, 2)?;
    expect_eq("the 2 most recent sessions", &vec![s4(), s3()], &two)?;
    let range = TimeRange::new(T0 + 100 * SEC, T0 + 200 * SEC);
    let ranged = store.sessions_by(range, SessionSort::Recent, 10)?;
    let s1_trace_3 = session("s-1", "u-1")
        .traces(1, 1, 0)
        .tokens(50, 10)
        .unpriced(1)
        .seen(T0 + 120 * SEC, T0 + 140 * SEC);
    expect_eq(
        "sessions with traces starting in [T0+100 s, T0+200 s)",
        &vec![s3(), s1_trace_3],
        &ranged,
    )?;
    Ok(())
}

/// One session, all its traces: s-1 sums traces 1 and 3; an unknown session is `None`.
pub fn one_session(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    expect_eq("session s-1", &Some(s1()), &store.session("s-1")?)?;
    expect_eq("session s-3", &Some(s3()), &store.session("s-3")?)?;
    expect_eq("an unknown session", &None, &store.session("s-9")?)?;
    Ok(())
}

/// Users most recently active first and costliest first:
/// `u-1` traces 1, 3, 4 in sessions s-1 and s-3: 2+1+5 spans, 2 failed, 1000+50+1500 /
/// 200+10+300 tokens, 2000+900 n$, trace 3 unpriced, T0 to T0+230 s; `u-2` trace 2; `u-3`
/// trace 5. Recent: u-3 (270 s), u-1 (230 s), u-2 (100 s); cost: u-3, u-2, u-1.
pub fn users(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let u1 = user("u-1", 2)
        .traces(3, 8, 2)
        .tokens(2550, 510)
        .cost(2900)
        .unpriced(1)
        .seen(T0, T0 + 230 * SEC);
    let u2 = user("u-2", 1)
        .traces(1, 4, 1)
        .tokens(600, 150)
        .cost(13_000)
        .seen(T0 + MINUTE, T0 + 100 * SEC);
    let u3 = user("u-3", 1)
        .traces(1, 3, 0)
        .tokens(130, 25)
        .cost(20_010)
        .seen(T0 + 240 * SEC, T0 + 270 * SEC);
    let recent = store.users(TimeRange::ALL, SessionSort::Recent, 10)?;
    expect_eq(
        "users, most recent first",
        &vec![u3.clone(), u1.clone(), u2.clone()],
        &recent,
    )?;
    let costly = store.users(TimeRange::ALL, SessionSort::Cost, 10)?;
    expect_eq("users, costliest first", &vec![u3.clone(), u2, u1], &costly)?;
    let one = store.users(TimeRange::ALL, SessionSort::Cost, 1)?;
    expect_eq("the costliest user", &vec![u3], &one)?;
    // Traces starting in [T0+3 min, T0+4 min): trace 4 only.
    let range = TimeRange::new(T0 + 3 * MINUTE, T0 + 4 * MINUTE);
    let ranged = store.users(range, SessionSort::Recent, 10)?;
    let u1_trace_4 = user("u-1", 1)
        .traces(1, 5, 2)
        .tokens(1500, 300)
        .cost(900)
        .seen(T0 + 180 * SEC, T0 + 230 * SEC);
    expect_eq(
        "users with traces starting in [T0+3 min, T0+4 min)",
        &vec![u1_trace_4],
        &ranged,
    )?;
    Ok(())
}
