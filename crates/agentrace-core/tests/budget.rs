//! Budgets with an injected clock: periods, thresholds once per period, enforcement, the
//! concurrency rule, settlement by the priced span, rolling windows, reservation expiry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use agentrace_core::budget::{
    Budget, BudgetAlert, BudgetProcessor, Budgets, CallContext, CallbackAlertChannel, Period, Scope,
};
use agentrace_core::cost::{PriceProcessor, PriceTable};
use agentrace_core::testing::MemorySink;
use agentrace_core::{
    AgentraceLayer, Cost, Pipeline, Resource, SpanId, SpanKind, SpanRecord, TokenUsage, TraceId,
    Usd, spans,
};
use tracing_subscriber::prelude::*;

const HOUR: u64 = 3_600 * 1_000_000_000;
/// 2025-11-21T10:00:00Z.
const T0: u64 = 1_763_719_200_000_000_000;

fn usd(d: f64) -> Usd {
    Usd::from_dollars(d)
}

struct Clock(Arc<AtomicU64>);

impl Clock {
    fn new() -> Self {
        Self(Arc::new(AtomicU64::new(T0)))
    }
    fn advance(&self, ns: u64) {
        self.0.fetch_add(ns, Ordering::SeqCst);
    }
    fn reader(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let t = self.0.clone();
        move || t.load(Ordering::SeqCst)
    }
}

fn collected() -> (Arc<Mutex<Vec<BudgetAlert>>>, Arc<CallbackAlertChannel>) {
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let sink = alerts.clone();
    let channel = CallbackAlertChannel::new(move |a| {
        sink.lock().map(|mut v| v.push(a.clone())).unwrap_or(())
    });
    (alerts, Arc::new(channel))
}

fn priced_span(session: &str, dollars: f64) -> SpanRecord {
    let mut s = SpanRecord::new(
        TraceId::random(),
        SpanId::random(),
        "chat",
        T0,
        T0,
        Arc::new(Resource::new("t")),
    );
    s.kind = SpanKind::Llm;
    s.session_id = Some(session.into());
    s.cost = Some(Cost::from_parts(
        usd(dollars),
        Usd::ZERO,
        Usd::ZERO,
        Usd::ZERO,
    ));
    s
}

fn session(id: &str) -> CallContext<'_> {
    CallContext {
        session: Some(id),
        ..CallContext::default()
    }
}

#[test]
fn calendar_periods_roll_over() {
    let clock = Clock::new();
    let budgets = Budgets::new(vec![Budget::new(
        "daily",
        Scope::Global,
        Period::Day,
        usd(1.0),
    )])
    .with_clock(clock.reader());
    budgets.record_span(&priced_span("s", 0.9));
    let refused = budgets.check(&CallContext::default(), usd(0.2));
    assert!(
        matches!(&refused, Err(e) if e.spent == usd(0.9) && e.limit == usd(1.0) && e.scope == "*"),
        "{refused:?}"
    );
    clock.advance(14 * HOUR); // 2025-11-22T00:00Z
    assert!(
        budgets.check(&CallContext::default(), usd(0.2)).is_ok(),
        "a new day, a new budget"
    );
}

#[test]
fn each_threshold_alerts_once_per_period() {
    let clock = Clock::new();
    let (alerts, channel) = collected();
    let budgets = Budgets::new(vec![Budget::new(
        "per-session",
        Scope::Session,
        Period::Day,
        usd(1.0),
    )])
    .with_clock(clock.reader())
    .with_alert_channel(channel);
    let thresholds = |alerts: &Mutex<Vec<BudgetAlert>>| {
        alerts
            .lock()
            .map(|a| a.iter().map(|x| x.threshold_percent).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    budgets.record_span(&priced_span("s-1", 0.85));
    assert_eq!(thresholds(&alerts), [80]);
    budgets.record_span(&priced_span("s-1", 0.07));
    budgets.record_span(&priced_span("s-1", 0.01));
    assert_eq!(thresholds(&alerts), [80, 90]);
    budgets.record_span(&priced_span("s-1", 0.20));
    assert_eq!(thresholds(&alerts), [80, 90, 100]);
    budgets.record_span(&priced_span("s-2", 0.50)); // another session, under 80 %
    budgets.record_span(&priced_span("s-1", 0.50));
    assert_eq!(
        thresholds(&alerts),
        [80, 90, 100],
        "nothing twice in a period"
    );
    clock.advance(24 * HOUR);
    budgets.record_span(&priced_span("s-1", 0.95));
    assert_eq!(
        thresholds(&alerts),
        [80, 90, 100, 80, 90],
        "the next period alerts again"
    );
    let last = alerts.lock().ok().and_then(|a| a.last().cloned());
    assert!(
        matches!(last, Some(a) if a.scope == "s-1" && a.spent == usd(0.95) && a.budget == "per-session")
    );
}

#[test]
fn concurrent_checks_cannot_jointly_overshoot() {
    let budgets = Arc::new(Budgets::new(vec![Budget::new(
        "global",
        Scope::Global,
        Period::Total,
        usd(1.0),
    )]));
    let admitted: Vec<_> = (0..16)
        .map(|_| {
            let b = budgets.clone();
            std::thread::spawn(move || b.check(&CallContext::default(), usd(0.10)))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|h| h.join().ok())
        .filter_map(Result::ok)
        .collect();
    assert_eq!(admitted.len(), 10, "exactly the estimates that fit");
    let status = budgets.status();
    assert_eq!(status[0].reserved, usd(1.0));
    for r in admitted {
        budgets.settle(r, usd(0.09));
    }
    let status = budgets.status();
    assert_eq!(
        (status[0].spent, status[0].reserved),
        (usd(0.90), Usd::ZERO)
    );
    assert!(budgets.check(&CallContext::default(), usd(0.10)).is_ok());
}

#[test]
fn scopes_are_separate_and_only_limits_one_value() {
    let budgets = Budgets::new(vec![
        Budget::new("per-session", Scope::Session, Period::Total, usd(1.0)),
        Budget::new("vip", Scope::User, Period::Total, usd(0.10)).only("alice"),
    ]);
    budgets.record_span(&priced_span("s-1", 1.0));
    assert!(budgets.check(&session("s-1"), usd(0.01)).is_err());
    assert!(budgets.check(&session("s-2"), usd(0.50)).is_ok());
    let alice = CallContext {
        user: Some("alice"),
        ..CallContext::default()
    };
    let bob = CallContext {
        user: Some("bob"),
        ..CallContext::default()
    };
    assert!(
        budgets
            .check(&alice, usd(0.20))
            .is_err_and(|e| e.budget == "vip")
    );
    assert!(budgets.check(&bob, usd(0.20)).is_ok());
    assert!(
        budgets.check(&CallContext::default(), usd(100.0)).is_ok(),
        "no scope value: no budget applies"
    );
}

#[test]
fn rolling_windows_forget_old_spend() {
    let clock = Clock::new();
    let budgets = Budgets::new(vec![
        Budget::new("rolling-day", Scope::Global, Period::Day, usd(1.0)).rolling(),
    ])
    .with_clock(clock.reader());
    budgets.record_span(&priced_span("s", 0.8));
    clock.advance(23 * HOUR);
    assert!(
        budgets.check(&CallContext::default(), usd(0.3)).is_err(),
        "still inside the last 24 hours"
    );
    clock.advance(2 * HOUR);
    assert!(budgets.check(&CallContext::default(), usd(0.3)).is_ok());
}

#[test]
fn unsettled_reservations_expire_and_unpriced_spans_do_not_count() {
    let clock = Clock::new();
    let budgets = Budgets::new(vec![Budget::new(
        "g",
        Scope::Global,
        Period::Total,
        usd(1.0),
    )])
    .with_clock(clock.reader())
    .with_reservation_ttl(std::time::Duration::from_secs(60));
    let _held = budgets.check(&CallContext::default(), usd(0.9));
    assert!(budgets.check(&CallContext::default(), usd(0.2)).is_err());
    clock.advance(61 * 1_000_000_000);
    assert!(
        budgets.check(&CallContext::default(), usd(0.2)).is_ok(),
        "the abandoned reservation was released"
    );
    let mut unpriced = priced_span("s", 0.0);
    unpriced.cost = None;
    budgets.record_span(&unpriced);
    assert_eq!(budgets.status()[0].spent, Usd::ZERO);
    // A reservation tied to a span that arrives unpriced (an aggregate, a model without a
    // price) is released, not held until it expires.
    let held = budgets
        .reserve(&CallContext::default(), usd(0.5))
        .expect("room for it");
    budgets.attach(held, unpriced.span_id);
    let before = budgets.status()[0].reserved;
    budgets.record_span(&unpriced);
    assert_eq!(
        before.nanos() - budgets.status()[0].reserved.nanos(),
        usd(0.5).nanos()
    );
}

#[test]
fn the_priced_span_settles_the_reservation_made_inside_it() -> Result<(), Box<dyn std::error::Error>>
{
    let budgets = Arc::new(Budgets::new(vec![Budget::new(
        "per-session",
        Scope::Session,
        Period::Day,
        usd(1.0),
    )]));
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_processor(PriceProcessor::new(Arc::new(PriceTable::builtin())))
        .with_processor(BudgetProcessor(budgets.clone()))
        .with_sink(memory.clone())
        .build()?;
    let subscriber = tracing_subscriber::registry()
        .with(AgentraceLayer::new(pipeline.clone(), Resource::new("t")));
    // While the span is open (its record cannot have reached the pipeline yet).
    let during = tracing::subscriber::with_default(
        subscriber,
        || -> Result<_, agentrace_core::budget::BudgetExceeded> {
            let llm = spans::llm("openai", "gpt-4o");
            spans::set_session(&llm, "s-1");
            let _entered = llm.enter();
            // Estimate generously, then the call reports its real usage.
            let _reservation = budgets.check(&session("s-1"), usd(0.05))?;
            spans::record_usage(&llm, &TokenUsage::new(1_000, 100));
            Ok(budgets.status())
        },
    )?;
    pipeline.flush()?;
    let after = budgets.status();
    pipeline.shutdown()?;
    assert_eq!(during[0].reserved, usd(0.05));
    // 1,000 × $2.50/M + 100 × $10/M = $0.0035, the estimate released.
    assert_eq!(
        (after[0].spent, after[0].reserved),
        (Usd::from_nanos(3_500_000), Usd::ZERO)
    );
    assert_eq!(
        memory.spans()[0].cost.map(|c| c.total),
        Some(Usd::from_nanos(3_500_000))
    );
    Ok(())
}

#[test]
fn spend_is_restored_from_recorded_spans_without_alerting_again() {
    let clock = Clock::new();
    let (alerts, channel) = collected();
    let make = || {
        Budgets::new(vec![
            Budget::new("daily", Scope::Session, Period::Day, usd(1.0)),
            Budget::new("hourly", Scope::Global, Period::Hour, usd(1.0)).rolling(),
        ])
        .with_clock(clock.reader())
        .with_alert_channel(channel.clone())
    };
    let mut yesterday = priced_span("s-1", 0.5);
    yesterday.start_time_unix_nano = T0 - 12 * HOUR;
    let mut two_hours_ago = priced_span("s-1", 0.3);
    two_hours_ago.start_time_unix_nano = T0 - 2 * HOUR;
    let mut just_now = priced_span("s-1", 0.55);
    just_now.start_time_unix_nano = T0 - 60_000_000_000;
    let restarted = make();
    assert_eq!(
        restarted.restore_since(),
        T0 - 10 * HOUR,
        "midnight UTC is further back than an hour"
    );
    restarted.restore([&yesterday, &two_hours_ago, &just_now]);
    let status = restarted.status();
    let spent = |name: &str| status.iter().find(|s| s.budget == name).map(|s| s.spent);
    assert_eq!(
        spent("daily"),
        Some(usd(0.85)),
        "today's spend, not yesterday's"
    );
    assert_eq!(spent("hourly"), Some(usd(0.55)), "the last hour only");
    assert!(
        alerts.lock().map(|a| a.is_empty()).unwrap_or(false),
        "crossed before the restart: not alerted again"
    );
    restarted.record_span(&priced_span("s-1", 0.06));
    let crossed: Vec<_> = alerts
        .lock()
        .map(|a| {
            a.iter()
                .map(|x| (x.budget.clone(), x.threshold_percent))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(crossed, [("daily".to_owned(), 90)]);
    assert!(
        restarted.check(&session("s-1"), usd(0.2)).is_err(),
        "the restored spend is enforced"
    );
}

#[test]
fn the_budget_processor_reports_spend_ratios_without_session_labels() {
    use agentrace_core::{ProcessContext, Processor};

    let budgets = Arc::new(Budgets::new(vec![
        Budget::new("per-session", Scope::Session, Period::Total, usd(1.0)),
        Budget::new("global", Scope::Global, Period::Total, usd(4.0)),
    ]));
    let processor = BudgetProcessor(budgets);
    let mut cx = ProcessContext::new();
    let _ = processor.process_span(&mut priced_span("s-1", 0.5), &mut cx);
    let _ = processor.process_span(&mut priced_span("s-2", 0.25), &mut cx);
    let gauges: Vec<_> = cx
        .take_measurements()
        .into_iter()
        .map(|m| {
            (
                m.value,
                m.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
            )
        })
        .collect();
    assert_eq!(
        gauges,
        [
            (0.5, "budget=per-session".to_owned()),
            (0.125, "budget=global,scope=*".to_owned()),
            (0.25, "budget=per-session".to_owned()),
            (0.1875, "budget=global,scope=*".to_owned()),
        ]
    );
}

#[test]
fn a_span_attributed_late_counts_for_its_new_accounts_only() {
    let clock = Clock::new();
    let (alerts, channel) = collected();
    let budgets = Budgets::new(vec![
        Budget::new("all", Scope::Global, Period::Day, usd(100.0)),
        Budget::new("per agent", Scope::Agent, Period::Day, usd(1.0)),
    ])
    .with_clock(clock.reader())
    .with_alert_channel(channel);
    // Recorded before its agent span arrived: counted globally only.
    let mut span = priced_span("s-1", 0.9);
    budgets.record_span(&span);
    let spent = |budget: &str, scope: &str| {
        budgets
            .status()
            .into_iter()
            .find(|s| s.budget == budget && s.scope == scope)
            .map(|s| s.spent)
    };
    assert_eq!(spent("all", "*"), Some(usd(0.9)));
    assert_eq!(spent("per agent", "planner"), None);

    let before = CallContext::of_span(&span);
    let mut after_span = span.clone();
    after_span.agent_name = Some("planner".into());
    budgets.record_late_attribution(&before, &CallContext::of_span(&after_span), usd(0.9));
    assert_eq!(spent("all", "*"), Some(usd(0.9)), "not counted twice");
    assert_eq!(spent("per agent", "planner"), Some(usd(0.9)));
    let crossed: Vec<u32> = alerts
        .lock()
        .map(|a| a.iter().map(|a| a.threshold_percent).collect())
        .unwrap_or_default();
    assert_eq!(crossed, vec![80, 90], "the agent's threshold alerts fire");

    // Nothing new: nothing added.
    span.agent_name = Some("planner".into());
    let same = CallContext::of_span(&span);
    budgets.record_late_attribution(&same, &same, usd(0.9));
    assert_eq!(spent("per agent", "planner"), Some(usd(0.9)));
}

#[test]
fn a_reservation_for_a_remote_span_is_settled_by_it_or_released_if_unpriced() {
    let budgets = Budgets::new(vec![Budget::new(
        "per session",
        Scope::Session,
        Period::Day,
        usd(1.0),
    )]);
    let shown = budgets.status_for(&session("s-1"));
    assert_eq!(shown.len(), 1);
    assert_eq!((shown[0].spent, shown[0].reserved), (Usd::ZERO, Usd::ZERO));
    assert!(
        budgets.status().is_empty(),
        "looking leaves no account behind"
    );

    let call = priced_span("s-1", 0.30);
    let _held = budgets.reserve_for_span(&session("s-1"), usd(0.40), call.span_id);
    assert_eq!(budgets.status_for(&session("s-1"))[0].reserved, usd(0.40));
    let refused = budgets.reserve_for_span(&session("s-1"), usd(0.70), SpanId::random());
    assert!(
        refused.is_err_and(|e| e.reserved == usd(0.40)),
        "the held estimate counts"
    );
    budgets.record_span(&call);
    let after = &budgets.status_for(&session("s-1"))[0];
    assert_eq!((after.spent, after.reserved), (usd(0.30), Usd::ZERO));

    let mut failed = priced_span("s-1", 0.0);
    failed.cost = None;
    let _held = budgets.reserve_for_span(&session("s-1"), usd(0.50), failed.span_id);
    budgets.record_span(&failed);
    let after = &budgets.status_for(&session("s-1"))[0];
    assert_eq!((after.spent, after.reserved), (usd(0.30), Usd::ZERO));
}

#[test]
fn a_reload_keeps_what_is_unchanged_and_rebuilds_what_changed() {
    let clock = Clock::new();
    let daily = |limit: f64| Budget::new("per session", Scope::Session, Period::Day, usd(limit));
    let total = Budget::new("everything", Scope::Global, Period::Total, usd(10.0));
    let budgets = Budgets::new(vec![daily(1.0), total.clone()]).with_clock(clock.reader());
    budgets.restored();
    budgets.record_span(&priced_span("s-1", 0.40));
    let held = priced_span("s-1", 0.10);
    let _ = budgets.reserve_for_span(&session("s-1"), usd(0.20), held.span_id);

    // The session budget gets a new limit (kept), the global one a new period (changed), and
    // a new budget appears.
    let weekly = Budget::new("everything", Scope::Global, Period::Week, usd(10.0));
    let hourly = Budget::new(
        "per session, hourly",
        Scope::Session,
        Period::Hour,
        usd(0.5),
    );
    let report = budgets.reload(vec![hourly.clone(), daily(2.0), weekly]);
    assert_eq!(report.kept, ["per session"]);
    assert_eq!(report.changed, ["everything"]);
    assert_eq!(report.added, ["per session, hourly"]);
    assert!(report.removed.is_empty());
    let accounts = budgets.status_for(&session("s-1"));
    let by_name = |name: &str| accounts.iter().find(|s| s.budget == name).cloned();
    let kept = by_name("per session").expect("kept");
    assert_eq!(
        (kept.spent, kept.reserved, kept.limit),
        (usd(0.40), usd(0.20), usd(2.0))
    );
    let changed = by_name("everything").expect("changed");
    assert_eq!(
        (changed.spent, changed.reserved),
        (Usd::ZERO, usd(0.20)),
        "holds carry over"
    );

    // The ledger rebuilds only the changed and new budgets: the kept one is not counted twice.
    let ledger = [priced_span("s-1", 0.40)];
    budgets.restore(ledger.iter());
    budgets.restored();
    let accounts = budgets.status_for(&session("s-1"));
    let by_name = |name: &str| accounts.iter().find(|s| s.budget == name).cloned();
    assert_eq!(by_name("per session").map(|s| s.spent), Some(usd(0.40)));
    assert_eq!(by_name("everything").map(|s| s.spent), Some(usd(0.40)));
    assert_eq!(
        by_name("per session, hourly").map(|s| s.spent),
        Some(usd(0.40))
    );

    // The held call settles into every account it now belongs to (the new one was not there
    // when it was reserved).
    budgets.record_span(&held);
    let accounts = budgets.status_for(&session("s-1"));
    assert!(
        accounts.iter().all(|s| s.reserved == Usd::ZERO),
        "{accounts:?}"
    );
    let spent: Vec<(String, Usd)> = accounts
        .iter()
        .map(|s| (s.budget.clone(), s.spent))
        .collect();
    assert_eq!(
        spent,
        [
            ("per session, hourly".to_owned(), usd(0.50)),
            ("per session".to_owned(), usd(0.50)),
            ("everything".to_owned(), usd(0.50)),
        ]
    );
    let _ = (total, hourly);
}
