//! User price files: this crate's format in JSON or TOML, LiteLLM maps, aliases, precedence.

use std::sync::Arc;

use agentrace_core::cost::{LayeredPriceBook, PriceBook, PriceTable};

const AT: u64 = 1_760_000_000_000_000_000; // 2025-10-09

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn input_rate(book: &dyn PriceBook, model: &str) -> Option<i64> {
    book.price(None, model, AT)
        .map(|m| m.price.rates.input.nanos_per_million())
}

#[test]
fn loads_json_toml_and_litellm_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    let json = dir.path().join("prices.json");
    std::fs::write(
        &json,
        r#"{"format":"agentrace.prices/1","models":[{"provider":"openai","model":"gpt-4o","prices":[{"since":"2025-01-01","input":2.0,"output":8.0}]}]}"#,
    )?;
    let toml = dir.path().join("prices.toml");
    std::fs::write(
        &toml,
        r#"format = "agentrace.prices/1"
[aliases]
"prod-claude" = "claude-sonnet-4-5"

[[models]]
provider = "internal"
model = "our-finetune"
prices = [{ since = "2025-06-01", input = 0.5, output = 1.5 }]
"#,
    )?;
    let litellm = dir.path().join("litellm.json");
    std::fs::write(
        &litellm,
        r#"{"sample_spec":{}, "acme/model-x":{"input_cost_per_token":1e-06,"output_cost_per_token":2e-06,"litellm_provider":"acme","mode":"chat"}}"#,
    )?;
    let book = LayeredPriceBook::new()
        .with(Arc::new(PriceTable::load(&json)?))
        .with(Arc::new(PriceTable::load(&toml)?))
        .with(Arc::new(PriceTable::load(&litellm)?))
        .with(Arc::new(PriceTable::builtin()));
    assert_eq!(
        input_rate(&book, "gpt-4o"),
        Some(2_000_000_000),
        "the first layer wins"
    );
    assert_eq!(input_rate(&book, "our-finetune"), Some(500_000_000));
    assert_eq!(
        input_rate(&book, "prod-claude"),
        Some(3_000_000_000),
        "alias resolved in another layer"
    );
    assert_eq!(input_rate(&book, "acme/model-x"), Some(1_000_000_000));
    assert_eq!(
        input_rate(&book, "gpt-4o-mini"),
        Some(150_000_000),
        "falls through to the built-in table"
    );
    assert_eq!(input_rate(&book, "nobody"), None);
    Ok(())
}

#[test]
fn alias_cycles_end() -> TestResult {
    let table =
        PriceTable::from_json(r#"{"format":"agentrace.prices/1","aliases":{"a":"b","b":"a"}}"#)?;
    let book = LayeredPriceBook::new()
        .with(Arc::new(table.clone()))
        .with(Arc::new(table));
    assert_eq!(book.price(None, "a", AT).map(|m| m.model.to_owned()), None);
    Ok(())
}

#[test]
fn unreadable_and_invalid_files_are_clear_errors() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let missing = PriceTable::load(&dir.path().join("missing.json"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(missing.contains("cannot read price file"), "{missing}");
    let bad = dir.path().join("bad.toml");
    let _ = std::fs::write(&bad, "format = [");
    let message = PriceTable::load(&bad)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("not valid TOML"), "{message}");
}
