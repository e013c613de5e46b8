//! `agentrace cost` and `agentrace budget status`.

use agentrace_core::civil::{Precision, rfc3339};
use std::io::Write;
use std::time::SystemTime;

use agentrace_core::SpanKind;
use agentrace_core::budget::{Budgets, load_budgets};
use agentrace_store::{AggregateQuery, GroupBy, GroupKey, SpanFilter};

use crate::args::{BudgetStatusArgs, CostArgs, CostBy, CostDimension, StoreArgs};
use crate::error::CliError;
use crate::format::{Table, cost, count};
use crate::time::range;

const DAY_NS: u64 = 86_400 * 1_000_000_000;

pub(crate) fn run(store: &StoreArgs, args: &CostArgs) -> Result<(), CliError> {
    let db = super::open(store)?;
    let day = args.by == CostBy::Named(CostDimension::Day);
    let group = match args.by {
        CostBy::Named(CostDimension::Model) => GroupBy::Model,
        CostBy::Named(CostDimension::Provider) => GroupBy::Provider,
        CostBy::Named(CostDimension::Agent) => GroupBy::Agent,
        CostBy::Named(CostDimension::Framework) => GroupBy::Framework,
        CostBy::Named(CostDimension::Session) => GroupBy::Session,
        CostBy::Named(CostDimension::User) => GroupBy::User,
        CostBy::Named(CostDimension::Day) => GroupBy::TimeBucket { width_ns: DAY_NS },
        CostBy::Attribute(key) => GroupBy::Attribute(key),
    };
    let filter = SpanFilter::new()
        .range(range(&args.range, SystemTime::now())?)
        .kind(SpanKind::Llm);
    let mut rows = db.aggregate_exact(&AggregateQuery::new(filter, [group]))?;
    if day {
        rows.sort_by(|a, b| a.keys.cmp(&b.keys));
    } else {
        rows.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.keys.cmp(&b.keys)));
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    let by = args.by.to_string();
    let mut table = Table::new(&[
        &by,
        "calls",
        "input tok",
        "cache read",
        "cache write",
        "output tok",
        "cost",
        "unpriced calls",
        "unpriced tok",
    ]);
    let (mut calls, mut total, mut unpriced, mut unpriced_tokens) =
        (0, agentrace_core::Usd::ZERO, 0, 0);
    for row in &rows {
        let key = match row.keys.first() {
            Some(GroupKey::Bucket(t)) => rfc3339(*t, Precision::Seconds)[..10].to_owned(),
            Some(k) => k.to_string(),
            None => "(all)".to_owned(),
        };
        calls += row.count;
        unpriced += row.unpriced;
        unpriced_tokens += row.unpriced_usage.total_tokens();
        total += row.cost.unwrap_or_default();
        let u = &row.usage;
        table.row(vec![
            key,
            count(row.count),
            count(u.input_tokens),
            count(u.cache_read_tokens),
            count(u.cache_write_tokens),
            count(u.output_tokens),
            cost(row.cost),
            count(row.unpriced),
            count(row.unpriced_usage.total_tokens()),
        ]);
    }
    table.row(vec![
        "total".into(),
        count(calls),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        total.to_string(),
        count(unpriced),
        count(unpriced_tokens),
    ]);
    out.write_all(table.render("").as_bytes())?;
    if unpriced > 0 {
        writeln!(
            out,
            "\n{unpriced} calls ({} tokens) have no price (cost unknown, not zero): see `agentrace prices show <model>`",
            count(unpriced_tokens)
        )?;
    }
    Ok(())
}

pub(crate) fn budget_status(store: &StoreArgs, args: &BudgetStatusArgs) -> Result<(), CliError> {
    let budgets = Budgets::new(load_budgets(&args.budgets)?);
    let db = super::open(store)?;
    agentrace_store::restore_budgets(&*db, &budgets)?;
    let status = budgets.status();
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &status)?;
        writeln!(out)?;
        return Ok(());
    }
    if status.is_empty() {
        writeln!(out, "no spend yet in the budgets' current periods")?;
        return Ok(());
    }
    let mut table = Table::new(&["budget", "scope", "since", "spent", "limit", "used"]);
    for s in status {
        let since = if s.period_start_unix_nano == 0 {
            "-".to_owned()
        } else {
            rfc3339(s.period_start_unix_nano, Precision::Seconds)
        };
        table.row(vec![
            s.budget,
            s.scope,
            since,
            s.spent.to_string(),
            s.limit.to_string(),
            format!("{:.1} %", s.ratio * 100.0),
        ]);
    }
    out.write_all(table.render("").as_bytes())?;
    Ok(())
}
