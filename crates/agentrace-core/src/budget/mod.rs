//! Budgets that can stop an agent before it spends: scopes × periods × limits, alert
//! thresholds, and an atomic check-and-reserve before each LLM call.
//!
//! A [`Budget`] limits the spend of a scope — everything (`Global`), or each session, agent,
//! framework, model or user separately (or one named value) — over a [`Period`] (hour, day,
//! week, month, total; UTC calendar or rolling [`Window`]). [`Budgets`] keeps the accounts:
//!
//! - **Enforcement is the caller's choice.** [`Budgets::check`] before a call returns
//!   [`BudgetExceeded`] (budget, scope, limit, spend) if the estimated cost would cross a limit,
//!   so the agent can stop before it spends; an agent that never calls it is only observed.
//! - **The concurrency rule.** `check` reserves the estimate in every applicable account, under
//!   one lock, and admits a call only if *settled + reserved + estimate ≤ limit*. So N calls in
//!   parallel are admitted only while their estimates fit together; the limit can be overshot
//!   only by how much calls' actual costs exceed their estimates (with estimates from
//!   [`estimate_cost`](crate::cost::estimate_cost) and a realistic output allowance, less than
//!   one call's estimate).
//! - **Settlement.** A reservation made inside a span is settled by that span's priced record
//!   when it reaches the [`BudgetProcessor`] (which must come after the price processor): the
//!   estimate is released and the actual cost added. Spans without a reservation add their cost
//!   directly. A reservation can also be settled by hand ([`Budgets::settle`]); one never
//!   settled is released after [`Budgets::with_reservation_ttl`] (default 15 minutes).
//! - **Alerts.** Each threshold (default 80 %, 90 %, 100 %) of each account alerts once per
//!   period, on settled spend, through every [`AlertChannel`]. In rolling windows a threshold
//!   re-arms once spend falls back under it.
//! - Spend is recorded at the time it is settled (the budget's clock), in the period current
//!   then.
//!
//! ```
//! use agentrace_core::budget::{Budget, Budgets, CallContext, Period, Scope};
//! use agentrace_core::Usd;
//!
//! let budgets = Budgets::new(vec![Budget::new("per-session", Scope::Session, Period::Day, Usd::from_dollars(1.0))]);
//! let cx = CallContext { session: Some("s-1"), ..CallContext::default() };
//! let reservation = budgets.check(&cx, Usd::from_dollars(0.60))?;
//! budgets.settle(reservation, Usd::from_dollars(0.55));
//! let refused = budgets.check(&cx, Usd::from_dollars(0.50)).unwrap_err();
//! assert_eq!(refused.spent, Usd::from_dollars(0.55));
//! # Ok::<(), agentrace_core::budget::BudgetExceeded>(())
//! ```

mod alert;
mod file;
mod period;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

pub use alert::{AlertChannel, BudgetAlert, CallbackAlertChannel, LogAlertChannel};
pub use file::{LoadBudgetsError, budgets_from_value, load_budgets};
pub use period::{Period, Window};

use crate::model::{InstrumentKind, Measurement, SpanId, SpanRecord, Usd};
use crate::processor::{ProcessContext, Processor, Verdict};

/// What a budget is kept per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Scope {
    /// All spend together.
    Global,
    /// Each session (conversation) separately.
    Session,
    /// Each agent separately.
    Agent,
    /// Each framework separately.
    Framework,
    /// Each model separately.
    Model,
    /// Each end user separately.
    User,
}

/// One budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// A name for alerts and errors.
    pub name: String,
    /// What it is kept per.
    pub scope: Scope,
    /// Only this value of the scope (one session, one agent); `None`: each value its own budget.
    pub only: Option<String>,
    /// How long spend accumulates.
    pub period: Period,
    /// Calendar or rolling.
    pub window: Window,
    /// The limit.
    pub limit: Usd,
    /// Alert thresholds in percent of the limit.
    pub thresholds: Vec<u32>,
}

impl Budget {
    /// A calendar budget with the default thresholds (80 %, 90 %, 100 %).
    pub fn new(name: impl Into<String>, scope: Scope, period: Period, limit: Usd) -> Self {
        Self {
            name: name.into(),
            scope,
            only: None,
            period,
            window: Window::Calendar,
            limit,
            thresholds: vec![80, 90, 100],
        }
    }

    /// Applies to one value of the scope only.
    #[must_use]
    pub fn only(mut self, value: impl Into<String>) -> Self {
        self.only = Some(value.into());
        self
    }

    /// Uses a rolling window.
    #[must_use]
    pub fn rolling(mut self) -> Self {
        self.window = Window::Rolling;
        self
    }

    /// Sets the alert thresholds (percent).
    #[must_use]
    pub fn thresholds(mut self, percents: impl IntoIterator<Item = u32>) -> Self {
        self.thresholds = percents.into_iter().collect();
        self.thresholds.sort_unstable();
        self
    }

    /// The account a call belongs to under this budget, or `None` if the budget does not apply.
    fn account_of(&self, cx: &CallContext<'_>) -> Option<String> {
        let value = match self.scope {
            Scope::Global => Some("*"),
            Scope::Session => cx.session,
            Scope::Agent => cx.agent,
            Scope::Framework => cx.framework,
            Scope::Model => cx.model,
            Scope::User => cx.user,
        }?;
        match &self.only {
            Some(only) if only != value => None,
            _ => Some(value.to_owned()),
        }
    }
}

/// What a call belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallContext<'a> {
    /// Session id.
    pub session: Option<&'a str>,
    /// Agent name.
    pub agent: Option<&'a str>,
    /// Framework.
    pub framework: Option<&'a str>,
    /// Model.
    pub model: Option<&'a str>,
    /// End user.
    pub user: Option<&'a str>,
}

impl<'a> CallContext<'a> {
    /// The context of a recorded span.
    pub fn of_span(span: &'a SpanRecord) -> Self {
        Self {
            session: span.session_id.as_deref(),
            agent: span.agent_name.as_deref(),
            framework: span.framework.as_deref(),
            model: span.model(),
            user: span.user_id.as_deref(),
        }
    }
}

/// A call was refused: its estimate would cross a budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error(
    "budget {budget:?} for {scope} would be exceeded: {spent} spent + {reserved} reserved + {estimate} estimated > {limit}"
)]
#[non_exhaustive]
pub struct BudgetExceeded {
    /// The budget.
    pub budget: String,
    /// The scope value (`*` for a global budget).
    pub scope: String,
    /// Its limit.
    pub limit: Usd,
    /// Settled spend in the period.
    pub spent: Usd,
    /// Reserved by calls in flight.
    pub reserved: Usd,
    /// The refused call's estimate.
    pub estimate: Usd,
}

/// A reservation made by [`Budgets::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "a reservation is settled by its span's cost, by `settle`, or released after the TTL"]
pub struct ReservationId(u64);

/// What a [`Budgets::reload`] did, by budget name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reloaded {
    /// Same definition: accounts kept (a new limit or thresholds apply at once).
    pub kept: Vec<String>,
    /// Same name, another scope, value, period or window: spend to rebuild.
    pub changed: Vec<String>,
    /// New: spend to rebuild.
    pub added: Vec<String>,
    /// Gone, with their accounts.
    pub removed: Vec<String>,
}

/// One account's state, for status displays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// The budget.
    pub budget: String,
    /// The scope value.
    pub scope: String,
    /// Start of the current period (0 for totals and rolling windows).
    pub period_start_unix_nano: u64,
    /// Settled spend in the period.
    pub spent: Usd,
    /// Reserved by calls in flight.
    pub reserved: Usd,
    /// The limit.
    pub limit: Usd,
    /// `(spent + reserved) / limit`.
    pub ratio: f64,
}

#[derive(Debug, Default)]
struct Account {
    period_start: u64,
    settled: Usd,
    /// Rolling windows: settled amounts with their times, oldest first.
    events: VecDeque<(u64, Usd)>,
    reserved: Usd,
    alerted: Vec<u32>,
}

impl Account {
    fn roll(&mut self, budget: &Budget, now: u64) {
        match budget.window {
            Window::Calendar => {
                let start = budget.period.calendar_start(now);
                if start != self.period_start {
                    self.period_start = start;
                    self.settled = Usd::ZERO;
                    self.alerted.clear();
                }
            }
            Window::Rolling => {
                let cutoff = budget
                    .period
                    .length_ns()
                    .map_or(0, |len| now.saturating_sub(len));
                while self.events.front().is_some_and(|(t, _)| *t < cutoff) {
                    if let Some((_, amount)) = self.events.pop_front() {
                        self.settled = Usd::from_nanos(self.settled.nanos() - amount.nanos());
                    }
                }
                let percent = percent_of(self.settled, budget.limit);
                self.alerted.retain(|t| u64::from(*t) <= percent);
            }
        }
    }

    /// Adds settled spend; returns the thresholds newly crossed.
    fn add(&mut self, budget: &Budget, amount: Usd, now: u64) -> Vec<u32> {
        self.settled += amount;
        if budget.window == Window::Rolling {
            self.events.push_back((now, amount));
        }
        let percent = percent_of(self.settled, budget.limit);
        let crossed: Vec<u32> = budget
            .thresholds
            .iter()
            .copied()
            .filter(|t| u64::from(*t) <= percent && !self.alerted.contains(t))
            .collect();
        self.alerted.extend(&crossed);
        crossed
    }
}

/// Whole percent of `limit` that `spent` is (a zero limit is 100 % at any spend).
fn percent_of(spent: Usd, limit: Usd) -> u64 {
    if limit.nanos() <= 0 {
        return if spent.nanos() > 0 { u64::MAX } else { 0 };
    }
    u64::try_from(i128::from(spent.nanos()) * 100 / i128::from(limit.nanos())).unwrap_or(0)
}

#[derive(Debug)]
struct Reservation {
    accounts: Vec<(usize, String)>,
    estimate: Usd,
    span: Option<SpanId>,
    created: u64,
}

#[derive(Debug, Default)]
struct State {
    accounts: HashMap<(usize, String), Account>,
    reservations: HashMap<u64, Reservation>,
    by_span: HashMap<SpanId, u64>,
    next_id: u64,
    /// The budgets, in their order (accounts are keyed by index).
    budgets: Vec<Budget>,
    /// Per budget: its spend has not been rebuilt from the ledger yet ([`Budgets::restore`]).
    unrestored: Vec<bool>,
}

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The budgets and their accounts. Share it (`Arc`) between the agent code that calls
/// [`check`](Self::check) and the [`BudgetProcessor`] in the pipeline.
pub struct Budgets {
    state: Mutex<State>,
    channels: Vec<Arc<dyn AlertChannel>>,
    clock: Clock,
    reservation_ttl_ns: u64,
}

impl std::fmt::Debug for Budgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budgets")
            .field("budgets", &self.lock().budgets)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl Budgets {
    /// Budgets on the system clock, alerting nowhere until a channel is added.
    pub fn new(budgets: Vec<Budget>) -> Self {
        Self {
            state: Mutex::new(State {
                unrestored: vec![true; budgets.len()],
                budgets,
                ..State::default()
            }),
            channels: Vec::new(),
            clock: Arc::new(crate::now_unix_nano),
            reservation_ttl_ns: 15 * 60 * 1_000_000_000,
        }
    }

    /// Adds an alert channel.
    #[must_use]
    pub fn with_alert_channel(mut self, channel: Arc<dyn AlertChannel>) -> Self {
        self.channels.push(channel);
        self
    }

    /// Replaces the clock (nanoseconds since the epoch), for tests and replays.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long an unsettled reservation holds its estimate (default 15 minutes).
    #[must_use]
    pub fn with_reservation_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.reservation_ttl_ns = u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deliver(&self, alerts: Vec<BudgetAlert>) {
        for alert in &alerts {
            for channel in &self.channels {
                channel.deliver(alert);
            }
        }
    }

    fn expire(&self, state: &mut State, now: u64) {
        let ttl = self.reservation_ttl_ns;
        let expired: Vec<u64> = state
            .reservations
            .iter()
            .filter(|(_, r)| now.saturating_sub(r.created) > ttl)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.release(state, id);
        }
    }

    fn release(&self, state: &mut State, id: u64) -> Option<Reservation> {
        let r = state.reservations.remove(&id)?;
        if let Some(span) = r.span {
            state.by_span.remove(&span);
        }
        for key in &r.accounts {
            if let Some(account) = state.accounts.get_mut(key) {
                account.reserved =
                    Usd::from_nanos((account.reserved.nanos() - r.estimate.nanos()).max(0));
            }
        }
        Some(r)
    }

    /// Admits a call estimated at `estimate` and reserves it in every applicable account, or
    /// refuses it with the first budget it would exceed. Inside a span recorded by agentrace,
    /// the span's priced record settles the reservation.
    pub fn check(
        &self,
        cx: &CallContext<'_>,
        estimate: Usd,
    ) -> Result<ReservationId, BudgetExceeded> {
        // The span it is made in, whose priced record settles it (only the layer knows it).
        #[cfg(feature = "pipeline")]
        let span = crate::propagation::current().map(|c| c.span_id);
        #[cfg(not(feature = "pipeline"))]
        let span = None;
        self.reserve_for(cx, estimate, span)
    }

    /// [`Budgets::check`] tied to no span: the reservation is settled by [`Budgets::settle`],
    /// or by the record of a span it is [attached](Budgets::attach) to.
    pub fn reserve(
        &self,
        cx: &CallContext<'_>,
        estimate: Usd,
    ) -> Result<ReservationId, BudgetExceeded> {
        self.reserve_for(cx, estimate, None)
    }

    /// [`Budgets::check`] for a call whose span is `span`, made elsewhere (an agent in another
    /// process asking a server): the span's priced record settles the reservation, an unpriced
    /// one (a failed call) releases it, and the TTL releases it if the span never comes.
    pub fn reserve_for_span(
        &self,
        cx: &CallContext<'_>,
        estimate: Usd,
        span: SpanId,
    ) -> Result<ReservationId, BudgetExceeded> {
        self.reserve_for(cx, estimate, Some(span))
    }

    /// Whether a call in `cx` estimated at `estimate` would be admitted now, without
    /// reserving anything (an answer that may be stale by the time the call is made; a
    /// reservation is what makes parallel calls safe).
    pub fn fits(&self, cx: &CallContext<'_>, estimate: Usd) -> Result<(), BudgetExceeded> {
        let now = (self.clock)();
        let mut state = self.lock();
        self.expire(&mut state, now);
        self.admit(&mut state, cx, estimate, now).map(drop)
    }

    /// The accounts of `cx` if `estimate` fits every one, else the first it would exceed.
    fn admit(
        &self,
        state: &mut State,
        cx: &CallContext<'_>,
        estimate: Usd,
        now: u64,
    ) -> Result<Vec<(usize, String)>, BudgetExceeded> {
        let mut keys = Vec::new();
        let State {
            budgets, accounts, ..
        } = state;
        for (i, budget) in budgets.iter().enumerate() {
            let Some(scope) = budget.account_of(cx) else {
                continue;
            };
            let account = accounts.entry((i, scope.clone())).or_default();
            account.roll(budget, now);
            let projected = account.settled + account.reserved + estimate;
            if projected > budget.limit {
                return Err(BudgetExceeded {
                    budget: budget.name.clone(),
                    scope,
                    limit: budget.limit,
                    spent: account.settled,
                    reserved: account.reserved,
                    estimate,
                });
            }
            keys.push((i, scope));
        }
        Ok(keys)
    }

    fn reserve_for(
        &self,
        cx: &CallContext<'_>,
        estimate: Usd,
        span: Option<SpanId>,
    ) -> Result<ReservationId, BudgetExceeded> {
        let now = (self.clock)();
        let mut state = self.lock();
        self.expire(&mut state, now);
        let keys = self.admit(&mut state, cx, estimate, now)?;
        for key in &keys {
            if let Some(account) = state.accounts.get_mut(key) {
                account.reserved += estimate;
            }
        }
        state.next_id += 1;
        let id = state.next_id;
        if let Some(span) = span {
            state.by_span.insert(span, id);
        }
        state.reservations.insert(
            id,
            Reservation {
                accounts: keys,
                estimate,
                span,
                created: now,
            },
        );
        Ok(ReservationId(id))
    }

    /// Makes `span`'s priced record settle `reservation` (made before the span existed, e.g. by
    /// a check that must not leave a span behind when it refuses). Has no effect on a
    /// reservation already settled, released or attached.
    pub fn attach(&self, reservation: ReservationId, span: SpanId) {
        let mut state = self.lock();
        let attached = match state.reservations.get_mut(&reservation.0) {
            Some(r) if r.span.is_none() => {
                r.span = Some(span);
                true
            }
            _ => false,
        };
        if attached {
            state.by_span.insert(span, reservation.0);
        }
    }

    /// Settles a reservation with the call's actual cost. Settling twice has no effect.
    pub fn settle(&self, reservation: ReservationId, actual: Usd) {
        let now = (self.clock)();
        let mut state = self.lock();
        let Some(r) = self.release(&mut state, reservation.0) else {
            return;
        };
        let alerts = self.add(&mut state, &r.accounts, actual, now);
        drop(state);
        self.deliver(alerts);
    }

    /// Records the cost of a priced span: settles its reservation if it has one, else adds to
    /// every account it belongs to. Unpriced spans are not counted (their cost is unknown, or
    /// billed on their descendants); a reservation tied to one is released.
    pub fn record_span(&self, span: &SpanRecord) {
        let now = (self.clock)();
        let mut state = self.lock();
        let Some(cost) = span.cost else {
            // Nothing to count, nothing to hold: an aggregate (its calls are billed beneath
            // it) or a model without a price.
            if let Some(id) = state.by_span.get(&span.span_id).copied() {
                self.release(&mut state, id);
            }
            return;
        };
        // The accounts the span belongs to, and those its reservation was made in (the check's
        // context may have known more than the span carries; a reload may have added budgets
        // since): each once.
        let cx = CallContext::of_span(span);
        let mut accounts: Vec<(usize, String)> = state
            .budgets
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.account_of(&cx).map(|s| (i, s)))
            .collect();
        if let Some(id) = state.by_span.get(&span.span_id).copied()
            && let Some(r) = self.release(&mut state, id)
        {
            for key in r.accounts {
                if !accounts.contains(&key) {
                    accounts.push(key);
                }
            }
        }
        let alerts = self.add(&mut state, &accounts, cost.total, now);
        drop(state);
        self.deliver(alerts);
    }

    /// Records the cost of a span recorded before whose attribution was completed later (its
    /// agent, session, user or framework arrived with an ancestor exported after it): adds
    /// it to the accounts it belongs to now and did not before. Attribution only fills missing
    /// values, so no account loses a span.
    pub fn record_late_attribution(
        &self,
        before: &CallContext<'_>,
        after: &CallContext<'_>,
        cost: Usd,
    ) {
        let now = (self.clock)();
        let mut state = self.lock();
        let accounts: Vec<(usize, String)> = state
            .budgets
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let now = b.account_of(after)?;
                (b.account_of(before).as_ref() != Some(&now)).then_some((i, now))
            })
            .collect();
        if accounts.is_empty() {
            return;
        }
        let alerts = self.add(&mut state, &accounts, cost, now);
        drop(state);
        self.deliver(alerts);
    }

    fn add(
        &self,
        state: &mut State,
        accounts: &[(usize, String)],
        amount: Usd,
        now: u64,
    ) -> Vec<BudgetAlert> {
        let mut alerts = Vec::new();
        let State {
            budgets,
            accounts: kept,
            ..
        } = state;
        for key in accounts {
            let Some(budget) = budgets.get(key.0) else {
                continue;
            };
            let account = kept.entry(key.clone()).or_default();
            account.roll(budget, now);
            for threshold in account.add(budget, amount, now) {
                alerts.push(BudgetAlert {
                    budget: budget.name.clone(),
                    scope: key.1.clone(),
                    threshold_percent: threshold,
                    spent: account.settled,
                    limit: budget.limit,
                    period_start_unix_nano: account.period_start,
                    time_unix_nano: now,
                });
            }
        }
        alerts
    }

    /// Rebuilds spend from recorded spans after a restart (or a [`reload`](Self::reload) that
    /// changed a budget): each priced span's cost is added at its start time to the accounts it
    /// belongs to, if that time is inside the account's current period (calendar) or window
    /// (rolling). Thresholds already crossed are marked as alerted without alerting again. The
    /// stored spans are the ledger: pass every span since [`restore_since`](Self::restore_since),
    /// in as many calls as convenient, then call [`restored`](Self::restored). Only budgets not
    /// restored yet are counted, so spend is never counted twice.
    pub fn restore<'a>(&self, spans: impl IntoIterator<Item = &'a SpanRecord>) {
        let now = (self.clock)();
        let mut state = self.lock();
        let State {
            budgets,
            accounts,
            unrestored,
            ..
        } = &mut *state;
        for span in spans {
            let Some(cost) = span.cost else { continue };
            let t = span.start_time_unix_nano.min(now);
            let cx = CallContext::of_span(span);
            for (i, budget) in budgets.iter().enumerate() {
                if !unrestored.get(i).copied().unwrap_or(false) {
                    continue;
                }
                let Some(scope) = budget.account_of(&cx) else {
                    continue;
                };
                let in_window = match budget.window {
                    Window::Calendar => {
                        budget.period.calendar_start(t) == budget.period.calendar_start(now)
                    }
                    Window::Rolling => budget
                        .period
                        .length_ns()
                        .is_none_or(|len| now.saturating_sub(t) < len),
                };
                if !in_window {
                    continue;
                }
                let account = accounts.entry((i, scope)).or_default();
                account.roll(budget, now);
                // Restored spend alerted before the restart: mark, do not deliver.
                let _ = account.add(budget, cost.total, t);
            }
        }
        for account in accounts.values_mut() {
            let mut events: Vec<_> = account.events.drain(..).collect();
            events.sort_by_key(|(t, _)| *t);
            account.events = events.into();
        }
    }

    /// The earliest span start [`restore`](Self::restore) needs: the start of the longest
    /// current period or window (0 when a budget is a total).
    pub fn restore_since(&self) -> u64 {
        let now = (self.clock)();
        let state = self.lock();
        state
            .budgets
            .iter()
            .zip(&state.unrestored)
            .filter(|(_, unrestored)| **unrestored)
            .map(|(b, _)| b)
            .map(|b| match b.window {
                Window::Calendar => b.period.calendar_start(now),
                Window::Rolling => b
                    .period
                    .length_ns()
                    .map_or(0, |len| now.saturating_sub(len)),
            })
            .min()
            .unwrap_or(now)
    }

    /// Marks every budget's spend as rebuilt: later [`restore`](Self::restore) calls count
    /// nothing until a [`reload`](Self::reload) changes a budget.
    pub fn restored(&self) {
        let mut state = self.lock();
        state.unrestored.iter_mut().for_each(|u| *u = false);
    }

    /// The budgets now.
    pub fn budgets(&self) -> Vec<Budget> {
        self.lock().budgets.clone()
    }

    /// Replaces the budgets (a budgets file edited), keeping what can be kept: a budget of
    /// the same name with the same scope, value, period and window keeps its accounts — spend,
    /// holds and thresholds already alerted — whatever its new limit or thresholds; a new or
    /// changed one starts empty and waits for [`restore`](Self::restore) (then
    /// [`restored`](Self::restored)) to rebuild its spend from the ledger. Reservations keep
    /// holding their estimate in the accounts of the budgets that remain.
    pub fn reload(&self, budgets: Vec<Budget>) -> Reloaded {
        let mut state = self.lock();
        let old = std::mem::take(&mut state.budgets);
        let same = |a: &Budget, b: &Budget| {
            a.scope == b.scope && a.only == b.only && a.period == b.period && a.window == b.window
        };
        // Old index → new index, for the budgets whose name remains.
        let mut moved: HashMap<usize, (usize, bool)> = HashMap::new();
        let mut report = Reloaded::default();
        for (j, b) in budgets.iter().enumerate() {
            match old.iter().position(|o| o.name == b.name) {
                Some(i) => {
                    let kept = old.get(i).is_some_and(|o| same(o, b));
                    moved.insert(i, (j, kept));
                    if kept {
                        report.kept.push(b.name.clone());
                    } else {
                        report.changed.push(b.name.clone());
                    }
                }
                None => report.added.push(b.name.clone()),
            }
        }
        report.removed = old
            .iter()
            .filter(|o| !budgets.iter().any(|b| b.name == o.name))
            .map(|o| o.name.clone())
            .collect();
        let accounts = std::mem::take(&mut state.accounts);
        for ((i, scope), account) in accounts {
            match moved.get(&i) {
                Some(&(j, true)) => {
                    state.accounts.insert((j, scope), account);
                }
                // A changed budget: its holds carry over, its spend is rebuilt.
                Some(&(j, false)) if account.reserved.nanos() > 0 => {
                    state.accounts.insert(
                        (j, scope),
                        Account {
                            reserved: account.reserved,
                            ..Account::default()
                        },
                    );
                }
                _ => {}
            }
        }
        for r in state.reservations.values_mut() {
            r.accounts = r
                .accounts
                .iter()
                .filter_map(|(i, scope)| moved.get(i).map(|(j, _)| (*j, scope.clone())))
                .collect();
        }
        state.unrestored = budgets
            .iter()
            .map(|b| !report.kept.contains(&b.name))
            .collect();
        state.budgets = budgets;
        report
    }

    /// Every account's state now.
    pub fn status(&self) -> Vec<BudgetStatus> {
        let now = (self.clock)();
        let mut state = self.lock();
        let State {
            budgets, accounts, ..
        } = &mut *state;
        let mut out: Vec<BudgetStatus> = accounts
            .iter_mut()
            .filter_map(|((i, scope), account)| {
                let budget = budgets.get(*i)?;
                account.roll(budget, now);
                Some(account_status(budget, scope, account))
            })
            .collect();
        out.sort_by(|a, b| (&a.budget, &a.scope).cmp(&(&b.budget, &b.scope)));
        out
    }

    /// The state now of every account a call in `cx` would be counted in, in budget order
    /// (an account with no spend yet shows zeros).
    pub fn status_for(&self, cx: &CallContext<'_>) -> Vec<BudgetStatus> {
        let now = (self.clock)();
        let mut state = self.lock();
        let State {
            budgets, accounts, ..
        } = &mut *state;
        budgets
            .iter()
            .enumerate()
            .filter_map(|(i, budget)| {
                let scope = budget.account_of(cx)?;
                // Looking leaves no account behind: one not kept yet is shown fresh.
                let mut fresh = Account::default();
                let account = accounts.get_mut(&(i, scope.clone())).unwrap_or(&mut fresh);
                account.roll(budget, now);
                Some(account_status(budget, &scope, account))
            })
            .collect()
    }
}

fn account_status(budget: &Budget, scope: &str, account: &Account) -> BudgetStatus {
    let used = (account.settled + account.reserved).nanos() as f64;
    BudgetStatus {
        budget: budget.name.clone(),
        scope: scope.to_owned(),
        period_start_unix_nano: account.period_start,
        spent: account.settled,
        reserved: account.reserved,
        limit: budget.limit,
        ratio: if budget.limit.nanos() > 0 {
            used / budget.limit.nanos() as f64
        } else {
            0.0
        },
    }
}

/// Records every priced span's cost in [`Budgets`]. Put it after the price processor.
#[derive(Debug, Clone)]
pub struct BudgetProcessor(pub Arc<Budgets>);

/// The gauge of a budget account's `(spent + reserved) / limit`, emitted by the
/// [`BudgetProcessor`] for each account a priced span touched. Labels: `budget`, and `scope`
/// for global, agent, framework and model budgets (session and user budgets are labelled by
/// budget only, keeping the metric low-cardinality: the value is the latest call's account).
pub const SPEND_RATIO: &str = "agentrace.budget.spend_ratio";

impl Budgets {
    /// `(budget, scope label, ratio)` of the accounts a call belongs to.
    fn ratios(&self, cx: &CallContext<'_>) -> Vec<(String, Option<String>, f64)> {
        let state = self.lock();
        state
            .budgets
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let scope = b.account_of(cx)?;
                let account = state.accounts.get(&(i, scope.clone()))?;
                let limit = b.limit.nanos();
                let used = (account.settled + account.reserved).nanos() as f64;
                let ratio = if limit > 0 { used / limit as f64 } else { 0.0 };
                let label = matches!(
                    b.scope,
                    Scope::Global | Scope::Agent | Scope::Framework | Scope::Model
                )
                .then_some(scope);
                Some((b.name.clone(), label, ratio))
            })
            .collect()
    }
}

impl Processor for BudgetProcessor {
    fn name(&self) -> &str {
        "budget"
    }

    fn process_span(&self, span: &mut SpanRecord, cx: &mut ProcessContext) -> Verdict {
        if span.cost.is_some() {
            self.0.record_span(span);
            for (budget, scope, ratio) in self.0.ratios(&CallContext::of_span(span)) {
                let mut m = Measurement::new(SPEND_RATIO, InstrumentKind::Gauge, ratio)
                    .with_unit("1")
                    .with_label("budget", budget);
                if let Some(scope) = scope {
                    m = m.with_label("scope", scope);
                }
                cx.emit(m);
            }
        }
        Verdict::Keep
    }
}
