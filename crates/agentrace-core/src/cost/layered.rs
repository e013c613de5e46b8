//! Several price books in order of precedence.

use std::sync::Arc;

use super::{PriceBook, PriceMatch};

/// Price books consulted in order; the first that knows a model prices it.
///
/// The precedence agentrace uses: the user's own files first (their negotiated prices, Azure
/// deployment names, models not yet in any table), then an imported LiteLLM map if configured,
/// then the built-in table.
///
/// ```
/// use std::sync::Arc;
/// use agentrace_core::cost::{LayeredPriceBook, PriceBook, PriceTable};
///
/// let mine = PriceTable::from_json(r#"{"format":"agentrace.prices/1","models":[
///   {"provider":"azure.ai.openai","model":"prod-gpt4o","prices":[{"since":"2025-01-01","input":2.0,"output":8.0}]}]}"#)?;
/// let book = LayeredPriceBook::new().with(Arc::new(mine)).with(Arc::new(PriceTable::builtin()));
/// assert_eq!(book.price(None, "prod-gpt4o", 0).map(|m| m.model), Some("prod-gpt4o"));
/// assert_eq!(book.price(None, "gpt-4o", 0).map(|m| m.model), Some("gpt-4o"));
/// # Ok::<(), agentrace_core::cost::LoadPricesError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct LayeredPriceBook {
    layers: Vec<Arc<dyn PriceBook>>,
}

impl LayeredPriceBook {
    /// No layers yet (knows no model).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a layer below the existing ones.
    #[must_use]
    pub fn with(mut self, book: Arc<dyn PriceBook>) -> Self {
        self.layers.push(book);
        self
    }
}

impl PriceBook for LayeredPriceBook {
    fn price(
        &self,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<PriceMatch<'_>> {
        self.layers
            .iter()
            .find_map(|l| l.price(provider, model, at_unix_nano))
    }
}
