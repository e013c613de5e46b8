//! Cost before the call: count the prompt, assume an output size, price both.

use serde::{Deserialize, Serialize};

use super::{PriceBook, compute_cost};
use crate::model::{Cost, TokenUsage};
use crate::tokenize::{ChatMessage, TokenCount, tokenizer_for_model};

/// What a call is expected to cost, and how sure that is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Prompt tokens, exact for OpenAI encodings, else a labelled estimate.
    pub input: TokenCount,
    /// The output tokens assumed.
    pub output_tokens: u64,
    /// The cost of that usage at the model's price (no cache assumed).
    pub cost: Cost,
}

/// Estimates the cost of sending `messages` to `model` and receiving `expected_output_tokens`,
/// at the price in force at `at_unix_nano`. `None` when the model has no known price.
///
/// ```
/// use agentrace_core::cost::{estimate_cost, PriceTable};
/// use agentrace_core::tokenize::ChatMessage;
///
/// let messages = [ChatMessage::system("You are helpful."), ChatMessage::user("Hi there")];
/// let at = 1_760_000_000_000_000_000;
/// let estimate = estimate_cost(PriceTable::builtin(), None, "gpt-4o", &messages, 100, at).expect("priced");
/// assert_eq!(estimate.input.tokens, 17);
/// assert!(estimate.input.accuracy.is_exact());
/// // 17 × $2.50/M + 100 × $10/M
/// assert_eq!(estimate.cost.total.nanos(), 42_500 + 1_000_000);
/// ```
pub fn estimate_cost(
    book: &dyn PriceBook,
    provider: Option<&str>,
    model: &str,
    messages: &[ChatMessage<'_>],
    expected_output_tokens: u64,
    at_unix_nano: u64,
) -> Option<CostEstimate> {
    let found = book.price(provider, model, at_unix_nano)?;
    let input = tokenizer_for_model(model).count_messages(messages);
    let usage = TokenUsage::new(input.tokens, expected_output_tokens);
    Some(CostEstimate {
        input,
        output_tokens: expected_output_tokens,
        cost: compute_cost(&usage, found.price),
    })
}

/// [`estimate_cost`] for a plain prompt text.
pub fn estimate_text_cost(
    book: &dyn PriceBook,
    provider: Option<&str>,
    model: &str,
    text: &str,
    expected_output_tokens: u64,
    at_unix_nano: u64,
) -> Option<CostEstimate> {
    let found = book.price(provider, model, at_unix_nano)?;
    let input = tokenizer_for_model(model).count(text);
    let usage = TokenUsage::new(input.tokens, expected_output_tokens);
    Some(CostEstimate {
        input,
        output_tokens: expected_output_tokens,
        cost: compute_cost(&usage, found.price),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::PriceTable;

    const AT: u64 = 1_760_000_000_000_000_000;

    #[test]
    fn estimates_are_labelled_and_unknown_models_give_none() {
        let table = PriceTable::builtin();
        let claude = estimate_text_cost(table, None, "claude-sonnet-4-5", "twelve chars", 0, AT);
        assert!(claude.is_some_and(|e| !e.input.accuracy.is_exact() && e.input.tokens == 3));
        assert_eq!(
            estimate_text_cost(table, None, "my-private-model", "hello", 10, AT),
            None
        );
        let free = estimate_text_cost(table, Some("ollama"), "llama3", "hello", 10, AT);
        assert_eq!(free.map(|e| e.cost.total.nanos()), Some(0));
    }
}
