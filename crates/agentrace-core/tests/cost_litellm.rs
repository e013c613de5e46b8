//! Import of the real LiteLLM price map (vendored, pinned by checksum) and its agreement with
//! the built-in table. Disagreements are reported, not hidden: the list is printed and pinned.

use agentrace_core::cost::{PriceBook, PriceTable, Rates};
use sha2::{Digest, Sha256};

const MAP: &str = include_str!("data/litellm_model_prices.json");
const CHECKSUM: &str = include_str!("data/litellm_model_prices.json.sha256");
/// 2026-11-21, the built-in table's `as_of`.
const NOW: u64 = 1_763_683_200_000_000_000;

#[test]
fn vendored_map_matches_its_checksum() {
    let digest = Sha256::digest(MAP.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(Some(hex.as_str()), CHECKSUM.split_whitespace().next());
}

#[test]
fn imports_text_models_and_reports_the_rest() -> Result<(), Box<dyn std::error::Error>> {
    let (table, report) = PriceTable::from_litellm_json(MAP)?;
    assert!(report.imported > 3_000, "{}", report.imported);
    assert_eq!(table.len(), report.imported);
    assert!(
        report
            .skipped
            .iter()
            .any(|(_, why)| *why == "not a text model")
    );
    // Spot checks against values in the file (USD per token × 1e6 = per million).
    let rates = |model: &str| table.price(None, model, NOW).map(|m| m.price.rates);
    assert_eq!(
        rates("gpt-4o").map(|r| r.input.nanos_per_million()),
        Some(2_500_000_000)
    );
    let sonnet = table
        .price(None, "claude-sonnet-4-5", NOW)
        .map(|m| m.price.clone());
    assert_eq!(
        sonnet
            .as_ref()
            .and_then(|p| p.rates.cache_write_1h)
            .map(|r| r.nanos_per_million()),
        Some(6_000_000_000)
    );
    let pro = table
        .price(None, "gemini/gemini-2.5-pro", NOW)
        .map(|m| m.price.clone());
    assert_eq!(
        pro.as_ref().map(|p| p
            .tiers
            .iter()
            .map(|t| t.above_input_tokens)
            .collect::<Vec<_>>()),
        Some(vec![200_000])
    );
    Ok(())
}

fn describe(r: &Rates) -> String {
    let m = |x: i64| format!("{}", x as f64 / 1e9);
    let o = |x: Option<agentrace_core::cost::Rate>| {
        x.map_or("-".to_owned(), |r| m(r.nanos_per_million()))
    };
    format!(
        "in {} read {} write {} write1h {} out {}",
        m(r.input.nanos_per_million()),
        o(r.cache_read),
        o(r.cache_write),
        o(r.cache_write_1h),
        m(r.output.nanos_per_million())
    )
}

#[test]
fn agrees_with_the_builtin_table_where_both_price_a_model() -> Result<(), Box<dyn std::error::Error>>
{
    let (litellm, _) = PriceTable::from_litellm_json(MAP)?;
    let builtin = PriceTable::builtin();
    let (mut compared, mut missing, mut disagreements) = (0, Vec::new(), Vec::new());
    for (provider, model, prices) in builtin.models() {
        let Some(ours) = prices.last() else { continue };
        // LiteLLM keys some providers' models with a prefix (`mistral/…`, `gemini/…`).
        let found = ["", "mistral/", "gemini/", "deepseek/"]
            .iter()
            .find_map(|prefix| litellm.price(Some(provider), &format!("{prefix}{model}"), NOW));
        let Some(theirs) = found else {
            missing.push(model.to_owned());
            continue;
        };
        compared += 1;
        let (a, b) = (describe(&ours.rates), describe(&theirs.price.rates));
        if a != b {
            disagreements.push(format!("{model}: built-in {a} | litellm {b}"));
        }
        let tier = |p: &agentrace_core::cost::ModelPrice| {
            p.tiers
                .first()
                .map(|t| (t.above_input_tokens, describe(&t.rates)))
        };
        if tier(ours) != tier(theirs.price) {
            disagreements.push(format!(
                "{model} tier: built-in {:?} | litellm {:?}",
                tier(ours),
                tier(theirs.price)
            ));
        }
    }
    println!("compared {compared}, not in LiteLLM: {missing:?}");
    for d in &disagreements {
        println!("DISAGREE {d}");
    }
    assert!(compared >= 35, "compared only {compared}");
    assert_eq!(
        disagreements, EXPECTED_DISAGREEMENTS,
        "the disagreements changed: review them"
    );
    Ok(())
}

/// Reviewed disagreements between the built-in table and LiteLLM 1.109.1 (see docs/prices.md):
/// - Claude Sonnet 4.5/4.6 over 200k input: Anthropic's pricing page (and LiteLLM's own Bedrock
///   entries for the same models) list $6 / $22.50; LiteLLM's first-party entries omit the tier.
///   The built-in table keeps it.
/// - Gemini long-context tiers: LiteLLM lists a cache *creation* token rate; Gemini bills context
///   caching as storage per hour, not per written token, so the built-in table has none.
/// - DeepSeek V4: LiteLLM lists cache writes at $0; DeepSeek has no cache-write charge (a cache
///   miss is ordinary input), so the built-in table leaves it unset (input rate), which is what
///   a miss costs.
const EXPECTED_DISAGREEMENTS: &[&str] = &[
    r#"claude-sonnet-4-5 tier: built-in Some((200000, "in 6 read 0.6 write 7.5 write1h 12 out 22.5")) | litellm None"#,
    r#"claude-sonnet-4-6 tier: built-in Some((200000, "in 6 read 0.6 write 7.5 write1h 12 out 22.5")) | litellm None"#,
    r#"gemini-2.5-pro tier: built-in Some((200000, "in 2.5 read 0.25 write - write1h - out 15")) | litellm Some((200000, "in 2.5 read 0.25 write 0.25 write1h - out 15"))"#,
    r#"gemini-3.1-pro-preview tier: built-in Some((200000, "in 4 read 0.4 write - write1h - out 18")) | litellm Some((200000, "in 4 read 0.4 write 0.25 write1h - out 18"))"#,
    "deepseek-v4-flash: built-in in 0.3 read 0.006 write - write1h - out 1.2 | litellm in 0.3 read 0.006 write 0 write1h - out 1.2",
    "deepseek-v4-pro: built-in in 1.32 read 0.044 write - write1h - out 3.96 | litellm in 1.32 read 0.044 write 0 write1h - out 3.96",
];
