//! The rule engine: reads each rule's measure from a [`Source`], judges it, keeps every alert's
//! state, and says what to notify.
//!
//! An *alert* is one rule, or one rule and one value of its `per` dimension. Each evaluation
//! judges every alert and yields a [`Notification`] when its state changed (recoveries
//! included) or when a firing alert's re-notify interval has passed. The first state of an
//! alert is notified only if it is firing ([`State::Warning`] or [`State::Alert`]), so a server
//! that starts up idle says nothing. An alert of a `per` rule whose value has left the window
//! recovers (`OK`) and is forgotten, as a Prometheus series that disappears.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use crate::notification::{Baseline, Notification, Reason, State};
use crate::rule::{Direction, MIN_BASELINE_POINTS, NoData, Rule};

/// Where the engine reads measures: the server's store, or anything that can aggregate spans.
///
/// # Implementing a source
/// Answer [`Source::read`] with one [`Reading`] per value of the rule's split
/// ([`Rule::split_label`]: its `per` dimension, or a metric's `per_label`) seen in the
/// range (or exactly one, with `group: None`, when the rule has no `per`), for the spans of
/// the rule's scope and kind ([`Rule::effective_kind`]). `value` is the rule's measure in the
/// units [`Measure`](crate::Measure) documents, `None` when there is nothing to measure. Reads
/// run on the caller's thread: a source that blocks is called from a blocking thread.
pub trait Source {
    /// Why a read failed.
    type Error: fmt::Display;

    /// The measure of `query.rule` over `[start, end)`.
    fn read(&self, query: &Query<'_>) -> Result<Vec<Reading>, Self::Error>;
}

/// What the engine asks a [`Source`].
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The rule: its measure, scope, kind and `per` dimension.
    pub rule: &'a Rule,
    /// Start of the range (ns since the epoch, inclusive).
    pub start_unix_nano: u64,
    /// End of the range (exclusive).
    pub end_unix_nano: u64,
}

/// A measure over a range, for one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The value of the rule's `per` dimension; `None` without `per` (or for spans without a
    /// value).
    pub group: Option<String>,
    /// Requests (spans, or events for safety violations) counted.
    pub requests: u64,
    /// The measure; `None` when undefined (a rate of nothing).
    pub value: Option<f64>,
}

/// A rule whose source read failed; its alerts keep their states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure {
    /// The rule.
    pub rule: String,
    /// The source's error.
    pub message: String,
}

/// What one evaluation found.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Evaluation {
    /// Changes of state and reminders, to send and to store.
    pub notifications: Vec<Notification>,
    /// Every alert firing now (for channels that must hear of them again and again, as
    /// Alertmanager does).
    pub firing: Vec<Notification>,
    /// Rules that could not be read.
    pub failures: Vec<RuleFailure>,
}

/// Keeps the alerts of a set of rules.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Rule>,
    /// Re-notify firing alerts this often unless their rule says; `None`: never.
    renotify: Option<Duration>,
    alerts: HashMap<(String, Option<String>), Alert>,
    /// Since when what the rules read has been observed (ns since the epoch; 0: always).
    observed_since: u64,
}

/// One alert's memory.
#[derive(Debug, Clone)]
struct Alert {
    state: State,
    since: u64,
    last_notified: u64,
    latest: Notification,
}

/// A judged reading.
struct Verdict {
    state: State,
    value: Option<f64>,
    threshold: Option<f64>,
    baseline: Option<Baseline>,
}

impl Engine {
    /// An engine for `rules` (each already [validated](Rule::validate)).
    pub fn new(rules: Vec<Rule>, renotify: Option<Duration>) -> Self {
        Self {
            rules,
            renotify,
            alerts: HashMap::new(),
            observed_since: 0,
        }
    }

    /// The same engine, told that nothing was observed before `since` (when the server
    /// started): a rule that is bad when a count is low ([`Rule::judges_absence`]) waits until
    /// its whole window lies after it, since time no one watched holds no traffic and would
    /// read as an outage — a false alert, and its recovery, at every restart.
    #[must_use]
    pub fn observing_since(mut self, since: u64) -> Self {
        self.observed_since = since;
        self
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Takes back the states an earlier run left (each alert's latest stored notification),
    /// so that a restart neither repeats nor forgets an alert. Notifications of rules no longer
    /// configured are ignored.
    pub fn restore(&mut self, latest: impl IntoIterator<Item = Notification>) {
        for n in latest {
            if !self.rules.iter().any(|r| r.name == n.rule) {
                continue;
            }
            let group = self
                .rules
                .iter()
                .find(|r| r.name == n.rule)
                .and_then(Rule::split_label)
                .and_then(|label| n.labels.get(label).cloned());
            let key = (n.rule.clone(), group);
            let newer = self
                .alerts
                .get(&key)
                .is_none_or(|a| a.last_notified <= n.time_unix_nano);
            if newer {
                self.alerts.insert(
                    key,
                    Alert {
                        state: n.state,
                        since: n.since_unix_nano,
                        last_notified: n.time_unix_nano,
                        latest: n,
                    },
                );
            }
        }
    }

    /// Every alert's latest judgement, firing ones first.
    pub fn current(&self) -> Vec<Notification> {
        let mut all: Vec<Notification> = self.alerts.values().map(|a| a.latest.clone()).collect();
        all.sort_by(|a, b| {
            (b.state.is_firing(), b.state)
                .cmp(&(a.state.is_firing(), a.state))
                .then_with(|| a.alert.cmp(&b.alert))
        });
        all
    }

    /// Judges every rule at `now` (ns since the epoch).
    pub fn evaluate<S: Source>(&mut self, source: &S, now: u64) -> Evaluation {
        let mut out = Evaluation::default();
        for index in 0..self.rules.len() {
            let Some(rule) = self.rules.get(index).cloned() else {
                continue;
            };
            let unobserved = now.saturating_sub(duration_ns(rule.window)) < self.observed_since;
            if rule.judges_absence() && unobserved {
                continue;
            }
            match judge_rule(&rule, source, now) {
                Ok(verdicts) => self.apply(&rule, verdicts, now, &mut out),
                Err(message) => out.failures.push(RuleFailure {
                    rule: rule.name.clone(),
                    message,
                }),
            }
        }
        out.firing = self
            .alerts
            .values()
            .filter(|a| a.state.is_firing())
            .map(|a| a.latest.clone())
            .collect();
        out
    }

    fn apply(
        &mut self,
        rule: &Rule,
        mut verdicts: Vec<(Option<String>, u64, Verdict)>,
        now: u64,
        out: &mut Evaluation,
    ) {
        // Alerts of a `per` rule whose value left the window recover and are forgotten.
        if rule.split_label().is_some() {
            let gone: Vec<_> = self
                .alerts
                .keys()
                .filter(|(name, group)| {
                    *name == rule.name && !verdicts.iter().any(|(g, _, _)| g == group)
                })
                .cloned()
                .collect();
            for key in gone {
                let firing = self.alerts.get(&key).is_some_and(|a| a.state.is_firing());
                if firing {
                    let verdict = Verdict {
                        state: State::Ok,
                        value: None,
                        threshold: None,
                        baseline: None,
                    };
                    verdicts.push((key.1.clone(), 0, verdict));
                } else {
                    self.alerts.remove(&key);
                }
            }
        }
        for (group, requests, verdict) in verdicts {
            let key = (rule.name.clone(), group);
            let previous = self.alerts.get(&key).cloned();
            let state = verdict.state;
            let (reason, since) = match &previous {
                None if state.is_firing() && state != State::NoData => (Some(Reason::Change), now),
                None => (None, now),
                Some(p) if p.state != state => (Some(Reason::Change), now),
                Some(p) => {
                    let every = rule.renotify.or(self.renotify);
                    let due = every.is_some_and(|every| {
                        state.is_firing()
                            && now.saturating_sub(p.last_notified) >= duration_ns(every)
                    });
                    (due.then_some(Reason::Reminder), p.since)
                }
            };
            let notification = notification(
                rule,
                key.1.as_deref(),
                requests,
                verdict,
                previous.as_ref().map_or(State::Ok, |p| p.state),
                reason.unwrap_or(Reason::Change),
                since,
                now,
            );
            let last_notified = match (&reason, &previous) {
                (Some(_), _) => now,
                (None, Some(p)) => p.last_notified,
                (None, None) => 0,
            };
            if reason.is_some() {
                out.notifications.push(notification.clone());
            }
            let gone = rule.split_label().is_some() && requests == 0 && state == State::Ok;
            if gone {
                self.alerts.remove(&key);
            } else {
                self.alerts.insert(
                    key,
                    Alert {
                        state,
                        since,
                        last_notified,
                        latest: notification,
                    },
                );
            }
        }
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Reads and judges one rule: a verdict per group, with its request count.
fn judge_rule<S: Source>(
    rule: &Rule,
    source: &S,
    now: u64,
) -> Result<Vec<(Option<String>, u64, Verdict)>, String> {
    let window = duration_ns(rule.window);
    let start = now.saturating_sub(window);
    let read = |start: u64, end: u64| {
        source
            .read(&Query {
                rule,
                start_unix_nano: start,
                end_unix_nano: end,
            })
            .map_err(|e| e.to_string())
    };
    let mut readings = read(start, now)?;
    if rule.split_label().is_none() && readings.is_empty() {
        readings.push(Reading {
            group: None,
            requests: 0,
            value: None,
        });
    }
    // Baseline windows, per group.
    let mut history: HashMap<Option<String>, Vec<f64>> = HashMap::new();
    if let Some(anomaly) = rule.anomaly {
        for offset in anomaly.offsets(rule.window) {
            let back = start.saturating_sub(duration_ns(offset));
            for r in read(back, back.saturating_add(window))? {
                if let Some(v) = value_of(rule, &r) {
                    history.entry(r.group).or_default().push(v);
                }
            }
        }
    }
    Ok(readings
        .into_iter()
        .map(|r| {
            let baseline = rule.anomaly.map(|a| {
                (
                    a.describe(),
                    history.get(&r.group).cloned().unwrap_or_default(),
                )
            });
            let verdict = judge(rule, &r, baseline);
            (r.group, r.requests, verdict)
        })
        .collect())
}

/// The reading's value, 0 for a count over nothing.
fn value_of(rule: &Rule, r: &Reading) -> Option<f64> {
    r.value
        .or_else(|| (r.requests == 0 && rule.measure.defined_when_empty()).then_some(0.0))
}

fn judge(rule: &Rule, r: &Reading, baseline: Option<(String, Vec<f64>)>) -> Verdict {
    let Some(value) = value_of(rule, r) else {
        let state = match rule.no_data {
            NoData::NoData => State::NoData,
            NoData::Ok => State::Ok,
            NoData::Alert => State::Alert,
        };
        return Verdict {
            state,
            value: None,
            threshold: None,
            baseline: None,
        };
    };
    let quiet = |baseline| Verdict {
        state: State::Ok,
        value: Some(value),
        threshold: rule.warning.or(rule.critical),
        baseline,
    };
    if r.requests < rule.min_requests {
        return quiet(None);
    }
    let direction = rule.effective_direction();
    let (score, direction, baseline) = match baseline {
        None => (value, direction, None),
        Some((source, points)) => {
            let Some(b) = stats(source, &points, value) else {
                return quiet(None);
            };
            // Anomaly thresholds are positive numbers of standard deviations.
            let z = match direction {
                Direction::Above => b.z,
                Direction::Below => -b.z,
            };
            (z, Direction::Above, Some(b))
        }
    };
    let crossed = |t: Option<f64>| t.filter(|&t| direction.breaches(score, t));
    let (state, threshold) = if let Some(t) = crossed(rule.critical) {
        (State::Alert, Some(t))
    } else if let Some(t) = crossed(rule.warning) {
        (State::Warning, Some(t))
    } else {
        (State::Ok, rule.warning.or(rule.critical))
    };
    Verdict {
        state,
        value: Some(value),
        threshold,
        baseline,
    }
}

/// Mean, standard deviation and z-score of `value` against `points`; `None` with too few
/// points. The deviation is floored at 5 % of the mean (and a tiny absolute amount), so a
/// perfectly flat baseline does not turn every small wobble into an anomaly.
fn stats(source: String, points: &[f64], value: f64) -> Option<Baseline> {
    if points.len() < MIN_BASELINE_POINTS {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // a few dozen points
    let n = points.len() as f64;
    let mean = points.iter().sum::<f64>() / n;
    let variance = points.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n;
    let stddev = variance.sqrt();
    let floor = (mean.abs() * 0.05).max(1e-9);
    Some(Baseline {
        source,
        mean,
        stddev,
        points: points.len(),
        z: (value - mean) / stddev.max(floor),
    })
}

#[allow(clippy::too_many_arguments)] // one place builds a notification
fn notification(
    rule: &Rule,
    group: Option<&str>,
    requests: u64,
    verdict: Verdict,
    previous: State,
    reason: Reason,
    since: u64,
    now: u64,
) -> Notification {
    let mut labels: BTreeMap<String, String> = rule
        .scope
        .pairs()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if let Some(metric) = &rule.metric {
        labels.insert("metric".to_owned(), metric.clone());
    }
    let alert = match rule.split_label() {
        Some(label) => {
            let value = group.unwrap_or("(none)");
            labels.insert(label.to_owned(), value.to_owned());
            format!("{}{{{label}={value}}}", rule.name)
        }
        None => rule.name.clone(),
    };
    let summary = summary(rule, &alert, requests, &verdict, previous);
    Notification {
        alert,
        rule: rule.name.clone(),
        labels,
        state: verdict.state,
        previous,
        reason,
        measure: rule.measure.name().to_owned(),
        value: verdict.value,
        threshold: verdict.threshold,
        requests,
        window_seconds: rule.window.as_secs(),
        baseline: verdict.baseline,
        summary,
        description: rule.description.clone(),
        since_unix_nano: since,
        time_unix_nano: now,
        route: rule.channels.clone(),
    }
}

/// "errors{model=gpt-4o} is ALERT: error_rate 25.0 % over 5m (critical at 10.0 %, 120 requests)".
fn summary(rule: &Rule, alert: &str, requests: u64, v: &Verdict, previous: State) -> String {
    let window = match rule.short_window {
        // A burn rate's value is the lower of its two windows'.
        Some(short) => format!(
            "{} and {}",
            agentrace_core::serde_duration::text(rule.window),
            agentrace_core::serde_duration::text(short)
        ),
        None => agentrace_core::serde_duration::text(rule.window),
    };
    let measure = rule.measure;
    let Some(value) = v.value else {
        return format!("{alert} is {}: no {measure} data over {window}", v.state);
    };
    let shown = measure.format(value);
    let side = match rule.effective_direction() {
        Direction::Above => "above",
        Direction::Below => "below",
    };
    let limit = match (&v.baseline, v.threshold) {
        (Some(b), Some(t)) => format!(
            "{:+.1}σ from {} ({}); {} {t}σ",
            b.z,
            measure.format(b.mean),
            b.source,
            if v.state == State::Ok {
                "limit"
            } else {
                v.state.severity()
            }
        ),
        (None, Some(t)) if v.state == State::Ok => format!("limit {side} {}", measure.format(t)),
        (None, Some(t)) => format!("{} at {}", v.state.severity(), measure.format(t)),
        (_, None) => "baseline still building".to_owned(),
    };
    let recovered = if v.state == State::Ok && previous.is_firing() {
        ", recovered"
    } else {
        ""
    };
    format!(
        "{alert} is {}{recovered}: {measure} {shown} over {window} ({limit}; {requests} requests)",
        v.state
    )
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::convert::Infallible;

    use super::*;
    use crate::rule::{Anomaly, Dimension, Measure};

    const MIN: u64 = 60_000_000_000;

    /// Answers each read from a function of (start, group).
    struct Scripted<F>(RefCell<Vec<u64>>, F);

    impl<F: Fn(u64) -> Vec<Reading>> Source for Scripted<F> {
        type Error = Infallible;

        fn read(&self, q: &Query<'_>) -> Result<Vec<Reading>, Infallible> {
            self.0.borrow_mut().push(q.start_unix_nano);
            Ok((self.1)(q.start_unix_nano))
        }
    }

    fn one(requests: u64, value: Option<f64>) -> Vec<Reading> {
        vec![Reading {
            group: None,
            requests,
            value,
        }]
    }

    fn errors() -> Rule {
        Rule::new("errors", Measure::ErrorRate, Duration::from_secs(300))
            .warning(0.05)
            .critical(0.2)
            .min_requests(10)
    }

    #[test]
    fn states_change_with_the_value_and_every_change_is_notified_once() {
        let values = RefCell::new(vec![0.01, 0.1, 0.1, 0.5, 0.0]);
        let source = Scripted(RefCell::default(), |_| {
            one(100, Some(values.borrow_mut().remove(0)))
        });
        let mut engine = Engine::new(vec![errors()], None);
        let mut seen = Vec::new();
        for step in 0..5 {
            let e = engine.evaluate(&source, 1_000 * MIN + step * MIN);
            seen.push(
                e.notifications
                    .iter()
                    .map(|n| (n.previous, n.state))
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(
            seen,
            [
                vec![],
                vec![(State::Ok, State::Warning)],
                vec![],
                vec![(State::Warning, State::Alert)],
                vec![(State::Alert, State::Ok)],
            ]
        );
        assert!(engine.current().iter().all(|n| n.state == State::Ok));
    }

    #[test]
    fn a_rule_on_too_little_traffic_waits_until_its_window_was_observed() {
        let no_traffic = Rule::new("no traffic", Measure::Requests, Duration::from_secs(300))
            .direction(Direction::Below)
            .critical(1.0);
        assert!(no_traffic.judges_absence());
        assert!(!errors().judges_absence(), "a rate of nothing is no data");
        let started = 1_000 * MIN;
        let quiet = Scripted(RefCell::default(), |_| Vec::new());
        let mut engine = Engine::new(vec![no_traffic, errors()], None).observing_since(started);
        // The first five minutes reach back before the start: not judged, nothing said.
        for step in [0, 1, 4] {
            let e = engine.evaluate(&quiet, started + step * MIN);
            assert!(e.notifications.is_empty(), "{:?}", e.notifications);
            assert!(engine.current().iter().all(|n| n.rule != "no traffic"));
        }
        // Five minutes observed, still nothing: now it is an outage.
        let e = engine.evaluate(&quiet, started + 5 * MIN);
        let said: Vec<_> = e
            .notifications
            .iter()
            .map(|n| (n.rule.as_str(), n.state))
            .collect();
        assert_eq!(said, [("no traffic", State::Alert)]);
        // Without a start, the same rule is judged at once.
        let mut at_once = Engine::new(vec![engine.rules()[0].clone()], None);
        assert_eq!(at_once.evaluate(&quiet, started).notifications.len(), 1);
    }

    #[test]
    fn too_few_requests_are_not_judged_and_nothing_is_no_data() {
        let mut engine = Engine::new(vec![errors()], None);
        let e = engine.evaluate(
            &Scripted(RefCell::default(), |_| one(2, Some(0.5))),
            10 * MIN,
        );
        assert!(e.notifications.is_empty());
        let e = engine.evaluate(&Scripted(RefCell::default(), |_| vec![]), 11 * MIN);
        assert_eq!(e.notifications.len(), 1);
        assert_eq!(e.notifications[0].state, State::NoData);
        assert!(e.notifications[0].summary.contains("no error_rate data"));
        // A count over nothing is 0, not no data.
        let mut silent = Engine::new(
            vec![
                Rule::new("traffic", Measure::Requests, Duration::from_secs(600))
                    .direction(Direction::Below)
                    .critical(1.0),
            ],
            None,
        );
        let e = silent.evaluate(&Scripted(RefCell::default(), |_| vec![]), 11 * MIN);
        assert_eq!(e.notifications[0].state, State::Alert);
        assert_eq!(e.notifications[0].value, Some(0.0));
    }

    #[test]
    fn firing_alerts_are_repeated_after_the_renotify_interval() {
        let mut engine = Engine::new(vec![errors()], Some(Duration::from_secs(600)));
        let source = Scripted(RefCell::default(), |_| one(50, Some(0.3)));
        let reasons: Vec<Vec<Reason>> = [0, 5, 10, 15, 20]
            .into_iter()
            .map(|m| {
                engine
                    .evaluate(&source, 100 * MIN + m * MIN)
                    .notifications
                    .iter()
                    .map(|n| n.reason)
                    .collect()
            })
            .collect();
        assert_eq!(
            reasons,
            [
                vec![Reason::Change],
                vec![],
                vec![Reason::Reminder],
                vec![],
                vec![Reason::Reminder]
            ]
        );
    }

    #[test]
    fn per_rules_keep_one_alert_per_value_and_forget_values_that_leave() {
        let rule = errors().per(Dimension::Model);
        let mut engine = Engine::new(vec![rule], None);
        let both = Scripted(RefCell::default(), |_| {
            vec![
                Reading {
                    group: Some("gpt-4o".into()),
                    requests: 40,
                    value: Some(0.5),
                },
                Reading {
                    group: Some("claude".into()),
                    requests: 40,
                    value: Some(0.0),
                },
            ]
        });
        let e = engine.evaluate(&both, 10 * MIN);
        assert_eq!(e.notifications.len(), 1);
        assert_eq!(e.notifications[0].alert, "errors{model=gpt-4o}");
        assert_eq!(e.notifications[0].labels["model"], "gpt-4o");
        assert_eq!(e.firing.len(), 1);
        let e = engine.evaluate(&Scripted(RefCell::default(), |_| vec![]), 11 * MIN);
        assert_eq!(e.notifications.len(), 1);
        assert_eq!(
            (e.notifications[0].previous, e.notifications[0].state),
            (State::Alert, State::Ok)
        );
        assert!(engine.current().is_empty());
    }

    #[test]
    fn anomaly_rules_judge_against_the_baseline_and_show_it() {
        let now = 30 * 24 * 60 * MIN;
        let window = 60 * MIN;
        let rule = Rule::new("cost spike", Measure::Cost, Duration::from_secs(3600))
            .anomaly(Anomaly::SameTimeOfDay { days: 7 })
            .warning(3.0)
            .critical(6.0);
        // The past 7 days at this hour cost 1.0–1.6 dollars; now 9 dollars.
        let source = Scripted(RefCell::default(), move |start| {
            let back = (now - window - start) / (24 * 60 * MIN);
            let cost = if back == 0 {
                9.0
            } else {
                1.0 + 0.1 * back as f64
            };
            one(10, Some(cost))
        });
        let mut engine = Engine::new(vec![rule], None);
        let e = engine.evaluate(&source, now);
        assert_eq!(source.0.borrow().len(), 8, "the window and 7 days back");
        let n = &e.notifications[0];
        assert_eq!(n.state, State::Alert);
        let b = n
            .baseline
            .as_ref()
            .map(|b| (b.points, (b.mean * 100.0).round()));
        assert_eq!(b, Some((7, 140.0)));
        assert!(
            n.summary
                .contains("from $1.4000 (the same time on the past 7 days); critical 6σ"),
            "{}",
            n.summary
        );
    }

    #[test]
    fn a_score_that_drops_below_its_own_baseline_alerts() {
        let window = 30 * MIN;
        let now = 1_000 * window;
        let rule = Rule::new(
            "less helpful",
            Measure::ScoreMean,
            Duration::from_secs(1800),
        )
        .score("helpfulness")
        .anomaly(Anomaly::Rolling { periods: 12 })
        .min_requests(20)
        .warning(2.0)
        .critical(4.0);
        assert_eq!(rule.validate(), Ok(()));
        // The past 12 windows' means hover around 0.85; now 0.5, over enough scores.
        let source = Scripted(RefCell::default(), move |start| {
            let back: u64 = (now - window - start) / window;
            let mean = if back == 0 {
                0.5
            } else {
                0.85 + if back.is_multiple_of(2) { 0.02 } else { -0.02 }
            };
            one(40, Some(mean))
        });
        let mut engine = Engine::new(vec![rule.clone()], None);
        let e = engine.evaluate(&source, now);
        assert_eq!(source.0.borrow().len(), 13, "the window and 12 before it");
        let n = &e.notifications[0];
        assert_eq!((n.state, n.value), (State::Alert, Some(0.5)));
        assert!(n.baseline.as_ref().is_some_and(|b| b.points == 12));
        // A rise is no alert: a score is bad when low.
        let risen = Scripted(RefCell::default(), move |start| {
            one(40, Some(if start == now - window { 0.99 } else { 0.85 }))
        });
        let mut engine = Engine::new(vec![rule], None);
        assert!(engine.evaluate(&risen, now).notifications.is_empty());
    }

    #[test]
    fn restored_states_are_not_notified_again() {
        let mut first = Engine::new(vec![errors()], None);
        let source = Scripted(RefCell::default(), |_| one(50, Some(0.3)));
        let e = first.evaluate(&source, 10 * MIN);
        let mut second = Engine::new(vec![errors()], None);
        second.restore(e.notifications);
        assert!(second.evaluate(&source, 11 * MIN).notifications.is_empty());
        assert_eq!(second.current()[0].since_unix_nano, 10 * MIN);
    }
}
