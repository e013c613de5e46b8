//! From the model names emitters send to the names a price table lists.

use crate::normalize::canonical_provider;

/// The names to try for a model, most specific first, and the provider the name itself
/// reveals (a routing prefix or a Bedrock id).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Resolved {
    /// Provider named inside the model name, canonicalized.
    pub(super) provider: Option<String>,
    /// Candidate names, lower-case: as given, then undecorated, then without a date.
    pub(super) names: Vec<String>,
}

/// Bedrock cross-region inference prefixes (`us.anthropic.claude-…`).
const BEDROCK_REGIONS: &[&str] = &["us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au."];

/// Bedrock model vendors (`anthropic.claude-…`, `meta.llama…`).
const BEDROCK_VENDORS: &[&str] = &[
    "anthropic.",
    "meta.",
    "mistral.",
    "cohere.",
    "amazon.",
    "ai21.",
    "deepseek.",
    "openai.",
];

pub(super) fn resolve(model: &str) -> Resolved {
    let lower = model.trim().to_ascii_lowercase();
    let mut out = Resolved::default();
    push(&mut out.names, &lower);

    // Routing and provider prefixes: `openrouter/anthropic/claude-sonnet-4.5`, `gemini/…`,
    // `vertex_ai/…`, `azure/…`, `bedrock/…`.
    let mut name = lower.as_str();
    while let Some((head, rest)) = name.split_once('/') {
        if !matches!(head, "openrouter" | "litellm") {
            out.provider = Some(canonical_provider(head).to_string());
        }
        name = rest;
    }
    // Bedrock ids: `us.anthropic.claude-sonnet-4-5-20250929-v1:0`.
    if let Some(rest) = BEDROCK_REGIONS.iter().find_map(|r| name.strip_prefix(r))
        && BEDROCK_VENDORS.iter().any(|v| rest.starts_with(v))
    {
        name = rest;
    }
    if let Some(vendor) = BEDROCK_VENDORS.iter().find(|v| name.starts_with(**v)) {
        out.provider
            .get_or_insert_with(|| canonical_provider(vendor.trim_end_matches('.')).to_string());
        name = &name[vendor.len()..];
        name = strip_bedrock_version(name);
    }
    // Vertex AI: `claude-sonnet-4-5@20250929`.
    if let Some((base, _)) = name.split_once('@') {
        name = base;
    }
    push(&mut out.names, name);
    push(&mut out.names, strip_date(name));
    out
}

fn push(names: &mut Vec<String>, name: &str) {
    if !name.is_empty() && !names.iter().any(|n| n == name) {
        names.push(name.to_owned());
    }
}

/// `claude-…-v1:0` → `claude-…`; `…:0` → `…`.
fn strip_bedrock_version(name: &str) -> &str {
    let name = name.split_once(':').map_or(name, |(base, _)| base);
    match name.rsplit_once("-v") {
        Some((base, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}

/// A dated snapshot's base: `gpt-4o-2024-08-06` → `gpt-4o`, `claude-sonnet-4-5-20250929` →
/// `claude-sonnet-4-5`.
fn strip_date(name: &str) -> &str {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // -YYYYMMDD
    if let Some((base, date)) = name.rsplit_once('-')
        && date.len() == 8
        && digits(date)
        && date.starts_with("20")
    {
        return base;
    }
    // -YYYY-MM-DD
    let parts: Vec<&str> = name.rsplitn(4, '-').collect();
    if parts.len() == 4
        && parts[0].len() == 2
        && parts[1].len() == 2
        && parts[2].len() == 4
        && parts[..3].iter().all(|p| digits(p))
        && parts[2].starts_with("20")
    {
        return parts[3];
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(model: &str) -> (Option<String>, Vec<String>) {
        let r = resolve(model);
        (r.provider, r.names)
    }

    #[test]
    fn undecorates_routed_bedrock_vertex_and_dated_names() {
        assert_eq!(
            names("gpt-4o-2024-08-06").1,
            ["gpt-4o-2024-08-06", "gpt-4o"]
        );
        assert_eq!(
            names("claude-sonnet-4-5-20250929").1,
            ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"]
        );
        let (p, n) = names("openrouter/anthropic/claude-sonnet-4.5");
        assert_eq!(
            (p.as_deref(), n.last().map(String::as_str)),
            (Some("anthropic"), Some("claude-sonnet-4.5"))
        );
        let (p, n) = names("us.anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(p.as_deref(), Some("anthropic"));
        assert_eq!(n.last().map(String::as_str), Some("claude-sonnet-4-5"));
        assert_eq!(
            names("claude-opus-4-1@20250805")
                .1
                .last()
                .map(String::as_str),
            Some("claude-opus-4-1")
        );
        let (p, n) = names("gemini/gemini-2.5-pro");
        assert_eq!(
            (p.as_deref(), n.last().map(String::as_str)),
            (Some("gcp.gemini"), Some("gemini-2.5-pro"))
        );
        assert_eq!(
            names("vertex_ai/gemini-2.5-flash").0.as_deref(),
            Some("gcp.vertex_ai")
        );
        assert_eq!(names("ollama/llama3.1:8b").0.as_deref(), Some("ollama"));
        assert_eq!(names("  GPT-4o  ").1, ["gpt-4o"]);
        assert_eq!(
            names("gpt-4-0613").1,
            ["gpt-4-0613"],
            "4-digit suffixes are model versions, not dates"
        );
        assert_eq!(names("").1, Vec::<String>::new());
    }
}
