//! The order of agentrace's own processors, in one place: [`ProcessorChain`] assembles masking,
//! pricing, budgets and metrics (each defined in its own module, each a
//! [`Processor`]) ahead of the application's own. It sits above them all, so the
//! [`processor`](crate::processor) module that defines the trait depends on none of them.

use std::sync::Arc;

use crate::processor::Processor;

/// The processors every record passes through, in agentrace's one order: masking (secrets, or
/// the full [`Redactor`](crate::redact::Redactor) when configured) first, so nothing after it
/// sees what it removes; then pricing; then budgets, which count the price just stamped; then
/// metrics, which read it too; then the application's own. The library's pipeline
/// ([`Telemetry`](crate::Telemetry)) and `agentrace serve` both build their chains here.
///
/// ```
/// # #[cfg(feature = "redact")] {
/// use std::sync::Arc;
/// use agentrace_core::cost::{PriceBook, PriceTable};
/// use agentrace_core::ProcessorChain;
/// use agentrace_core::redact::Redactor;
///
/// let prices: Arc<dyn PriceBook> = Arc::new(PriceTable::builtin());
/// let chain = ProcessorChain::new()
///     .masking(Some(Arc::new(Redactor::secrets_only())))
///     .pricing(Some(prices))
///     .metrics(true)
///     .build();
/// let names: Vec<&str> = chain.iter().map(|p| p.name()).collect();
/// assert_eq!(names[0], "redact");
/// assert_eq!(names.len(), 3);
/// # }
/// ```
#[derive(Debug, Default)]
pub struct ProcessorChain {
    #[cfg(feature = "redact")]
    masking: Option<Arc<crate::redact::Redactor>>,
    pricing: Option<Arc<dyn crate::cost::PriceBook>>,
    budgets: Option<Arc<crate::budget::Budgets>>,
    metrics: bool,
    then: Vec<Arc<dyn Processor>>,
}

impl ProcessorChain {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Masks (or redacts) records first, if given.
    #[cfg(feature = "redact")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redact")))]
    #[must_use]
    pub fn masking(mut self, redactor: Option<Arc<crate::redact::Redactor>>) -> Self {
        self.masking = redactor;
        self
    }

    /// Prices LLM spans with `book`, if given.
    #[must_use]
    pub fn pricing(mut self, book: Option<Arc<dyn crate::cost::PriceBook>>) -> Self {
        self.pricing = book;
        self
    }

    /// Counts priced spans against `budgets`, if given.
    #[must_use]
    pub fn budgets(mut self, budgets: Option<Arc<crate::budget::Budgets>>) -> Self {
        self.budgets = budgets;
        self
    }

    /// Derives the GenAI metrics from spans.
    #[must_use]
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Adds the application's own processor, after agentrace's.
    #[must_use]
    pub fn then(mut self, processor: Arc<dyn Processor>) -> Self {
        self.then.push(processor);
        self
    }

    /// The processors, in order (a [`Processors`](crate::Processors) runs them; a
    /// pipeline builder takes them one by one).
    pub fn build(self) -> Vec<Arc<dyn Processor>> {
        let mut chain: Vec<Arc<dyn Processor>> = Vec::new();
        #[cfg(feature = "redact")]
        if let Some(redactor) = self.masking {
            chain.push(redactor);
        }
        if let Some(book) = self.pricing {
            chain.push(Arc::new(crate::cost::PriceProcessor::new(book)));
        }
        if let Some(budgets) = self.budgets {
            chain.push(Arc::new(crate::budget::BudgetProcessor(budgets)));
        }
        if self.metrics {
            chain.push(Arc::new(crate::metrics::MetricsProcessor));
        }
        chain.extend(self.then);
        chain
    }
}

#[cfg(all(test, feature = "redact"))]
mod tests {
    use super::*;
    use crate::budget::Budgets;
    use crate::cost::{PriceBook, PriceTable};
    use crate::redact::Redactor;

    /// The order `docs/architecture.md` states ("**Processors, in order**: `redact` → …") is
    /// the order the chain is built in.
    #[test]
    fn the_documented_order_is_the_built_order() {
        let prices: Arc<dyn PriceBook> = Arc::new(PriceTable::builtin());
        let built: Vec<String> = ProcessorChain::new()
            .masking(Some(Arc::new(Redactor::secrets_only())))
            .pricing(Some(prices))
            .budgets(Some(Arc::new(Budgets::new(Vec::new()))))
            .metrics(true)
            .build()
            .iter()
            .map(|p| p.name().to_owned())
            .collect();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/architecture.md");
        let docs = std::fs::read_to_string(path).expect("docs/architecture.md");
        let line = docs
            .lines()
            .find(|l| l.contains("**Processors, in order**"))
            .expect("the documented order");
        let documented: Vec<String> = line
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        assert_eq!(documented, built, "{line}");
    }
}
