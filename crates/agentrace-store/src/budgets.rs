//! Budget spend from a store: the stored spans are the budgets' ledger.

use agentrace_core::budget::Budgets;

use crate::error::QueryError;
use crate::model::{SpanFilter, SpanQuery};
use crate::read::TraceReader;
use crate::time_range::TimeRange;

/// Replays the priced spans of the budgets' current periods from `store` into the budgets
/// whose spend is not rebuilt yet (see [`Budgets::restore`]), then marks them rebuilt: budget
/// spend survives a restart, and a budgets file reloaded with a changed budget.
pub fn restore_budgets(store: &dyn TraceReader, budgets: &Budgets) -> Result<(), QueryError> {
    let filter = SpanFilter::new().range(TimeRange::since(budgets.restore_since()));
    let mut query = SpanQuery::new(filter).limit(10_000);
    loop {
        let page = store.spans(&query)?;
        budgets.restore(page.spans.iter().filter(|s| s.cost.is_some()));
        match page.next_cursor {
            Some(cursor) => query = query.cursor(Some(cursor)),
            None => {
                budgets.restored();
                return Ok(());
            }
        }
    }
}
