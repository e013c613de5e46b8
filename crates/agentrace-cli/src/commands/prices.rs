//! `agentrace prices`: the price book from the command line.

use agentrace_core::civil::{Precision, rfc3339};
use std::io::{Read, Write};

use agentrace_core::cost::{
    LayeredPriceBook, ModelPrice, PriceBook, PriceTable, Rate, estimate_text_cost, is_billable,
    load_price_files, price_span,
};
use agentrace_core::{Usd, now_unix_nano};
use agentrace_server::SharedStore;
use agentrace_store::{CostUpdate, Order, SpanFilter, SpanQuery};

use crate::args::{
    PriceFiles, PricesEstimateArgs, PricesImportArgs, PricesListArgs, PricesRepriceArgs,
    PricesShowArgs, StoreArgs,
};
use crate::error::CliError;
use crate::format::{Table, count};
use crate::progress::Progress;
use crate::time::range;

/// The user's files over the built-in table, as the library layers them.
fn book(files: &PriceFiles) -> Result<(LayeredPriceBook, Vec<PriceTable>), CliError> {
    let tables = load_price_files(&files.files)?;
    Ok((LayeredPriceBook::over_builtin(tables.clone()), tables))
}

fn usd(rate: Rate) -> String {
    let dollars = Usd::from_nanos(rate.nanos_per_million()).dollars();
    format!("{dollars}")
}

fn opt(rate: Option<Rate>) -> String {
    rate.map_or_else(|| "-".to_owned(), usd)
}

fn rates_row(p: &ModelPrice) -> [String; 5] {
    let r = &p.rates;
    [
        usd(r.input),
        opt(r.cache_read),
        opt(r.cache_write),
        opt(r.cache_write_1h),
        usd(r.output),
    ]
}

pub(crate) fn list(args: &PricesListArgs) -> Result<(), CliError> {
    let (_, tables) = book(&args.files)?;
    let builtin = PriceTable::builtin();
    let mut table = Table::new(&[
        "model",
        "provider",
        "input",
        "cache read",
        "cache write",
        "write 1h",
        "output",
        "tiers",
        "since",
        "source",
    ]);
    let sources = tables
        .iter()
        .map(|t| (t, "file"))
        .chain(std::iter::once((builtin, "built-in")));
    for (t, source) in sources {
        for (provider, model, prices) in t.models() {
            if args.provider.as_deref().is_some_and(|p| p != provider) {
                continue;
            }
            let Some(current) = prices.last() else {
                continue;
            };
            let [input, read, write, write_1h, output] = rates_row(current);
            let tiers = current
                .tiers
                .iter()
                .map(|t| format!(">{}k", t.above_input_tokens / 1_000))
                .collect::<Vec<_>>()
                .join(" ");
            table.row(vec![
                model.to_owned(),
                provider.to_owned(),
                input,
                read,
                write,
                write_1h,
                output,
                tiers,
                rfc3339(current.since_unix_nano, Precision::Seconds)[..10].to_owned(),
                source.to_owned(),
            ]);
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "USD per million tokens; built-in table as of {}",
        builtin.as_of()
    )?;
    out.write_all(table.render("").as_bytes())?;
    Ok(())
}

pub(crate) fn show(args: &PricesShowArgs) -> Result<(), CliError> {
    let (book, _) = book(&args.files)?;
    let mut out = std::io::stdout().lock();
    let Some(found) = book.price(args.provider.as_deref(), &args.model, now_unix_nano()) else {
        return Err(CliError::Usage(format!(
            "no price for {:?}: spans of this model are recorded as unpriced (cost unknown, not zero); add it with --prices FILE",
            args.model
        )));
    };
    writeln!(
        out,
        "{} is priced as {} ({}, matched: {:?})",
        args.model, found.model, found.provider, found.matched
    )?;
    // The whole history, when the model is listed in the built-in table.
    let history = PriceTable::builtin()
        .models()
        .find(|(_, m, _)| *m == found.model)
        .map(|(_, _, p)| p.to_vec());
    let mut table = Table::new(&[
        "since",
        "input",
        "cache read",
        "cache write",
        "write 1h",
        "output",
    ]);
    for p in history.unwrap_or_else(|| vec![found.price.clone()]) {
        let mut row = vec![rfc3339(p.since_unix_nano, Precision::Seconds)[..10].to_owned()];
        row.extend(rates_row(&p));
        table.row(row);
        for tier in &p.tiers {
            let r = &tier.rates;
            table.row(vec![
                format!("  above {}k input", tier.above_input_tokens / 1_000),
                usd(r.input),
                opt(r.cache_read),
                opt(r.cache_write),
                opt(r.cache_write_1h),
                usd(r.output),
            ]);
        }
        if let Some(r) = &p.batch {
            table.row(vec![
                "  batch API".to_owned(),
                usd(r.input),
                opt(r.cache_read),
                opt(r.cache_write),
                opt(r.cache_write_1h),
                usd(r.output),
            ]);
        }
    }
    writeln!(out, "USD per million tokens:")?;
    out.write_all(table.render("  ").as_bytes())?;
    Ok(())
}

pub(crate) fn estimate(args: &PricesEstimateArgs) -> Result<(), CliError> {
    let (book, _) = book(&args.files)?;
    let text = match (&args.text, &args.file) {
        (Some(text), _) => text.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)?,
        (None, None) => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
    };
    let Some(e) = estimate_text_cost(
        &book,
        args.provider.as_deref(),
        &args.model,
        &text,
        args.output_tokens,
        now_unix_nano(),
    ) else {
        return Err(CliError::Usage(format!(
            "no price for {:?}; see `agentrace prices list`",
            args.model
        )));
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "input   {} tokens ({})",
        count(e.input.tokens),
        e.input.accuracy.label()
    )?;
    writeln!(out, "output  {} tokens (assumed)", count(e.output_tokens))?;
    writeln!(
        out,
        "cost    {} (input {}, output {})",
        e.cost.total, e.cost.input, e.cost.output
    )?;
    Ok(())
}

/// Spans read and written per round.
const PAGE: usize = 5_000;

pub(crate) fn reprice(store: &StoreArgs, args: &PricesRepriceArgs) -> Result<(), CliError> {
    let audited = super::open_audited(store, "cli prices reprice")?;
    let files: Vec<String> = args
        .files
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let target = format!(
        "with {}{}",
        if files.is_empty() {
            "the built-in prices".to_owned()
        } else {
            files.join(", ")
        },
        if args.dry_run { " (dry run)" } else { "" }
    );
    let outcome = reprice_spans(&audited.store, args);
    audited.finish(&target, outcome)
}

/// Reprices the stored spans of `args`'s range with its price files.
fn reprice_spans(db: &SharedStore, args: &PricesRepriceArgs) -> Result<(), CliError> {
    let (book, _) = book(&args.files)?;
    let mut query =
        SpanQuery::new(SpanFilter::new().range(range(&args.range, std::time::SystemTime::now())?))
            .order(Order::Asc)
            .limit(PAGE);
    let (mut billable, mut changed, mut now_unpriced) = (0u64, 0usize, 0u64);
    let progress = Progress::new("repricing", super::span_count(&**db, &query.filter)?);
    let (mut before, mut after) = (Usd::ZERO, Usd::ZERO);
    let mut by_model: std::collections::BTreeMap<String, (u64, Usd, Usd)> =
        std::collections::BTreeMap::new();
    loop {
        let page = db.spans(&query)?;
        let mut updates = Vec::new();
        for span in page.spans.iter().filter(|s| is_billable(s)) {
            billable += 1;
            let new = price_span(&book, span);
            let old_total = span.cost.map_or(Usd::ZERO, |c| c.total);
            let new_total = new.map_or(Usd::ZERO, |c| c.total);
            before += old_total;
            after += new_total;
            if new.is_none() {
                now_unpriced += 1;
            }
            if new != span.cost {
                let entry = by_model
                    .entry(span.model().unwrap_or("(no model)").to_owned())
                    .or_default();
                entry.0 += 1;
                entry.1 += old_total;
                entry.2 += new_total;
                updates.push(CostUpdate {
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    cost: new,
                });
            }
        }
        changed += if args.dry_run {
            updates.len()
        } else {
            db.update_costs(&updates)?
        };
        progress.advance(page.spans.len() as u64);
        match page.next_cursor {
            Some(next) => query = query.cursor(Some(next)),
            None => break,
        }
    }
    progress.finish();
    let mut out = std::io::stdout().lock();
    let verb = if args.dry_run {
        "would change"
    } else {
        "changed"
    };
    writeln!(
        out,
        "{billable} billable spans; {verb} the cost of {changed}; {now_unpriced} have no price"
    )?;
    writeln!(out, "total cost {before} -> {after}")?;
    if !by_model.is_empty() {
        let mut table = Table::new(&["model", "spans", "before", "after"]);
        for (model, (n, b, a)) in by_model {
            table.row(vec![model, count(n), b.to_string(), a.to_string()]);
        }
        out.write_all(table.render("  ").as_bytes())?;
    }
    Ok(())
}

pub(crate) fn import(args: &PricesImportArgs) -> Result<(), CliError> {
    let progress = Progress::new(&format!("reading {}", args.file.display()), None);
    let table = PriceTable::load(&args.file);
    progress.finish();
    let table = table?;
    std::fs::write(&args.output, table.to_json())?;
    let builtin = PriceTable::builtin();
    let overlap = table
        .models()
        .filter(|(provider, model, _)| {
            builtin
                .price(Some(provider), model, now_unix_nano())
                .is_some()
        })
        .count();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "imported {} models from {} into {} ({overlap} also priced by the built-in table; the file wins when used with --prices)",
        table.len(),
        args.file.display(),
        args.output.display()
    )?;
    Ok(())
}
