//! Redaction before any sink: secrets and personal data masked in every string a record
//! carries, and prompt/response content dropped unless capturing it is enabled.
//!
//! [`Redactor`] is a [`Processor`]: put it first (after normalization), so that no sink, price
//! or metric ever sees what it removes. It looks at every string attribute value (nested arrays
//! and maps included), span event attributes, span status messages and event messages — never
//! at ids, names of models or providers, or numbers.
//!
//! | rule | matches | replaced by |
//! |---|---|---|
//! | `private_key` | PEM private key blocks | `[REDACTED:private_key]` |
//! | `jwt` | JSON Web Tokens (`eyJ….eyJ….…`) | `[REDACTED:jwt]` |
//! | `api_key` | OpenAI/Anthropic (`sk-…`), AWS access keys (`AKIA…`), GitHub (`ghp_…` …), Slack (`xox?-…`), Google (`AIza…`), GitLab (`glpat-…`) keys | `[REDACTED:api_key]` |
//! | `bearer` | `Bearer <token>` credentials | `Bearer [REDACTED:token]` |
//! | `email` | e-mail addresses | `[REDACTED:email]` |
//! | `card` | payment card numbers (13–19 digits, spaces or dashes allowed) that pass the Luhn check | `[REDACTED:card]` |
//! | `phone` | phone numbers in international (`+…`) or North American (`(555) 123-4567`, `555-123-4567`) form | `[REDACTED:phone]` |
//!
//! **Content capture** is off by default, as the OpenTelemetry GenAI conventions advise: the
//! attributes that hold prompts, completions, messages and tool arguments in any dialect
//! (`gen_ai.input.messages`, `gen_ai.prompt.*`, OpenInference `input.value`/`llm.input_messages.*`,
//! Vercel `ai.prompt*`, Traceloop `traceloop.entity.input`, …, see [`CONTENT_PREFIXES`]) and the
//! legacy content span events are removed. [`RedactorBuilder::capture_content`] keeps them (still
//! redacted by the rules).
//!
//! ```
//! use agentrace_core::redact::Redactor;
//!
//! let redactor = Redactor::new();
//! assert_eq!(
//!     redactor.redact_text("mail jane.doe@example.com, key sk-proj-abcdefghijklmnopqrstuvwx").as_deref(),
//!     Some("mail [REDACTED:email], key [REDACTED:api_key]"),
//! );
//! assert_eq!(redactor.redact_text("nothing secret"), None);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use regex::Regex;

pub use crate::content::{CONTENT_PREFIXES, is_content_key};
use crate::model::{AttributeValue, Attributes, Event, SpanRecord};
use crate::processor::{ProcessContext, Processor, Verdict};

/// A pattern that could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("redaction rule {name:?}: {source}")]
#[non_exhaustive]
pub struct RuleError {
    /// The rule's name.
    pub name: String,
    /// Why the pattern is invalid.
    #[source]
    pub source: regex::Error,
}

/// Span events that carry content (the legacy OTel GenAI content events).
const CONTENT_EVENTS: &[&str] = &[
    "gen_ai.content.prompt",
    "gen_ai.content.completion",
    "gen_ai.system.message",
    "gen_ai.user.message",
    "gen_ai.assistant.message",
    "gen_ai.tool.message",
    "gen_ai.choice",
];

#[derive(Debug)]
struct Rule {
    /// The kind of data it finds (`api_key`, `email`, …).
    name: String,
    pattern: Regex,
    replacement: String,
    /// A check a match must also pass (the Luhn digit check for cards).
    check: Option<fn(&str) -> bool>,
}

impl Rule {
    fn new(name: &str, pattern: &str, replacement: Option<&str>) -> Result<Self, RuleError> {
        Ok(Self {
            name: name.to_owned(),
            pattern: Regex::new(pattern).map_err(|source| RuleError {
                name: name.to_owned(),
                source,
            })?,
            replacement: replacement.map_or_else(|| format!("[REDACTED:{name}]"), str::to_owned),
            check: None,
        })
    }
}

/// The built-in rules that find personal data rather than secrets: off in
/// [`Redactor::secrets_only`], the default of the library and the server.
pub const PERSONAL_DATA_RULES: &[&str] = &["email", "phone"];

/// The built-in rules, most specific first (a JWT is not left for the generic rules).
const BUILT_IN: &[(&str, &str, Option<&str>)] = &[
    (
        "private_key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        None,
    ),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        None,
    ),
    (
        "api_key",
        r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,})",
        None,
    ),
    (
        "bearer",
        r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}",
        Some("Bearer [REDACTED:token]"),
    ),
    (
        "email",
        r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
        None,
    ),
    ("card", r"\b\d(?:[ -]?\d){12,18}\b", None),
    (
        "phone",
        r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)|\d{1,4})(?:[ .-]?\d{2,4}){2,3}\b|\(\d{3}\)\s?\d{3}[ .-]\d{4}\b|\b\d{3}[.-]\d{3}[.-]\d{4}\b)",
        None,
    ),
];

/// The Luhn check over the digits of `candidate`.
fn luhn(candidate: &str) -> bool {
    let digits: Vec<u32> = candidate.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// What a [`Redactor`] has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedactionStats {
    /// String values in which something was masked.
    pub values_redacted: u64,
    /// Content attributes and content events removed (capture off).
    pub content_removed: u64,
    /// Matches masked, by the kind of data (`api_key`, `card`, `email`, …: the rule's name),
    /// every rule listed.
    pub detections: std::collections::BTreeMap<String, u64>,
}

/// Masks secrets and personal data and applies the content-capture policy; see the module docs.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// Every rule's pattern at once: one pass over a string finds the rules worth running.
    any: regex::RegexSet,
    capture_content: bool,
    values_redacted: AtomicU64,
    content_removed: AtomicU64,
    /// Matches masked, per rule (in `rules`' order).
    detections: Vec<AtomicU64>,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    /// The built-in rules, content capture off.
    pub fn new() -> Self {
        match Self::builder().build() {
            Ok(redactor) => redactor,
            // The built-in patterns are constants, compiled in this module's tests.
            Err(e) => unreachable!("built-in redaction rules compile: {e}"),
        }
    }

    /// Secrets only — private keys, JWTs, API keys, bearer tokens, payment card numbers —
    /// with prompt and response content kept: what agentrace masks by default, in the library
    /// and the server. Personal data masking and dropping content are options
    /// ([`Redactor::new`], [`RedactorBuilder`]).
    pub fn secrets_only() -> Self {
        match Self::builder()
            .personal_data(false)
            .capture_content(true)
            .build()
        {
            Ok(redactor) => redactor,
            Err(e) => unreachable!("built-in redaction rules compile: {e}"),
        }
    }

    /// Starts from the built-in rules, content capture off.
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder {
            disabled: Vec::new(),
            custom: Vec::new(),
            capture_content: false,
        }
    }

    /// `text` with every match masked, or `None` when nothing matched.
    pub fn redact_text(&self, text: &str) -> Option<String> {
        let matched = self.any.matches(text);
        if !matched.matched_any() {
            return None;
        }
        let mut current: Option<String> = None;
        for (i, rule) in self.rules.iter().enumerate() {
            // A rule's replacement never creates a match of a rule that found none before.
            if !matched.matched(i) {
                continue;
            }
            let input = current.as_deref().unwrap_or(text);
            if !rule.pattern.is_match(input) {
                continue;
            }
            let mut found_here = 0u64;
            let replaced = rule
                .pattern
                .replace_all(input, |caps: &regex::Captures<'_>| {
                    let found = &caps[0];
                    if rule.check.is_none_or(|check| check(found)) {
                        found_here += 1;
                        rule.replacement.clone()
                    } else {
                        found.to_owned()
                    }
                });
            if found_here > 0 {
                current = Some(replaced.into_owned());
                if let Some(count) = self.detections.get(i) {
                    count.fetch_add(found_here, Ordering::Relaxed);
                }
            }
        }
        current
    }

    /// What was done so far.
    pub fn stats(&self) -> RedactionStats {
        let mut detections = std::collections::BTreeMap::new();
        for (rule, count) in self.rules.iter().zip(&self.detections) {
            *detections.entry(rule.name.clone()).or_insert(0) += count.load(Ordering::Relaxed);
        }
        RedactionStats {
            values_redacted: self.values_redacted.load(Ordering::Relaxed),
            content_removed: self.content_removed.load(Ordering::Relaxed),
            detections,
        }
    }

    fn string(&self, s: &mut String) {
        if let Some(redacted) = self.redact_text(s) {
            *s = redacted;
            self.values_redacted.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn value(&self, value: &mut AttributeValue) {
        match value {
            AttributeValue::String(s) => self.string(s),
            AttributeValue::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            AttributeValue::Map(map) => map.values_mut().for_each(|v| self.value(v)),
            AttributeValue::Bool(_) | AttributeValue::I64(_) | AttributeValue::F64(_) => {}
        }
    }

    fn attributes(&self, attributes: &mut Attributes) {
        if !self.capture_content {
            let before = attributes.len();
            attributes.retain(|key, _| !is_content_key(key));
            let removed = (before - attributes.len()) as u64;
            if removed > 0 {
                self.content_removed.fetch_add(removed, Ordering::Relaxed);
            }
        }
        attributes.values_mut().for_each(|v| self.value(v));
    }
}

impl Processor for Redactor {
    fn name(&self) -> &str {
        "redact"
    }

    fn process_span(&self, span: &mut SpanRecord, _cx: &mut ProcessContext) -> Verdict {
        self.attributes(&mut span.attributes);
        if !self.capture_content {
            let before = span.events.len();
            span.events
                .retain(|e| !CONTENT_EVENTS.contains(&e.name.as_str()));
            let removed = (before - span.events.len()) as u64;
            if removed > 0 {
                self.content_removed.fetch_add(removed, Ordering::Relaxed);
            }
        }
        for event in &mut span.events {
            self.attributes(&mut event.attributes);
        }
        if let Some(message) = span.status.message.as_mut() {
            self.string(message);
        }
        Verdict::Keep
    }

    fn process_event(&self, event: &mut Event, _cx: &mut ProcessContext) -> Verdict {
        self.string(&mut event.message);
        self.attributes(&mut event.attributes);
        Verdict::Keep
    }
}

/// Configures a [`Redactor`].
#[derive(Debug)]
pub struct RedactorBuilder {
    disabled: Vec<String>,
    custom: Vec<(String, String)>,
    capture_content: bool,
}

impl RedactorBuilder {
    /// Keeps prompt and response content (still masked by the rules). Off by default.
    #[must_use]
    pub fn capture_content(mut self, capture: bool) -> Self {
        self.capture_content = capture;
        self
    }

    /// Masks personal data (the [`PERSONAL_DATA_RULES`]: e-mail addresses, phone numbers) too,
    /// or not. On by default.
    #[must_use]
    pub fn personal_data(mut self, mask: bool) -> Self {
        self.disabled
            .retain(|d| !PERSONAL_DATA_RULES.contains(&d.as_str()));
        if !mask {
            self.disabled
                .extend(PERSONAL_DATA_RULES.iter().map(|r| (*r).to_owned()));
        }
        self
    }

    /// Turns a built-in rule off by name (`email`, `phone`, `card`, `api_key`, `bearer`, `jwt`,
    /// `private_key`).
    #[must_use]
    pub fn without_rule(mut self, name: impl Into<String>) -> Self {
        self.disabled.push(name.into());
        self
    }

    /// Adds a rule: matches of `pattern` (regex syntax) become `[REDACTED:name]`.
    #[must_use]
    pub fn with_rule(mut self, name: impl Into<String>, pattern: impl Into<String>) -> Self {
        self.custom.push((name.into(), pattern.into()));
        self
    }

    /// Builds it, or says which custom pattern is invalid.
    pub fn build(self) -> Result<Redactor, RuleError> {
        let mut rules = Vec::new();
        for (name, pattern, replacement) in BUILT_IN {
            if self.disabled.iter().any(|d| d == name) {
                continue;
            }
            let mut rule = Rule::new(name, pattern, *replacement)?;
            if *name == "card" {
                rule.check = Some(luhn);
            }
            rules.push(rule);
        }
        for (name, pattern) in &self.custom {
            rules.push(Rule::new(name, pattern, None)?);
        }
        let any =
            regex::RegexSet::new(rules.iter().map(|r| r.pattern.as_str())).map_err(|source| {
                RuleError {
                    name: "(all rules together)".to_owned(),
                    source,
                }
            })?;
        Ok(Redactor {
            detections: rules.iter().map(|_| AtomicU64::new(0)).collect(),
            rules,
            any,
            capture_content: self.capture_content,
            values_redacted: AtomicU64::new(0),
            content_removed: AtomicU64::new(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{EventKind, Level, Resource, SpanEvent, SpanId, SpanStatus, TraceId};

    fn redacted(text: &str) -> String {
        Redactor::new()
            .redact_text(text)
            .unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn each_rule_masks_what_it_names() {
        for (input, expected) in [
            (
                "write to jane.doe+ai@mail.example.co.uk now",
                "write to [REDACTED:email] now",
            ),
            ("call +1 415 555 0134 today", "call [REDACTED:phone] today"),
            ("call (415) 555-0134", "call [REDACTED:phone]"),
            ("or 415-555-0134.", "or [REDACTED:phone]."),
            ("card 4111 1111 1111 1111 ok", "card [REDACTED:card] ok"),
            ("card 5500-0000-0000-0004", "card [REDACTED:card]"),
            (
                "OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUvWx12",
                "OPENAI_API_KEY=[REDACTED:api_key]",
            ),
            (
                "anthropic sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
                "anthropic [REDACTED:api_key]",
            ),
            ("aws AKIAIOSFODNN7EXAMPLE", "aws [REDACTED:api_key]"),
            (
                "gh ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
                "gh [REDACTED:api_key]",
            ),
            (
                "Authorization: Bearer abc.def-ghi_jkl~mno123",
                "Authorization: Bearer [REDACTED:token]",
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "jwt [REDACTED:jwt]",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
                "[REDACTED:private_key]",
            ),
        ] {
            assert_eq!(redacted(input), expected, "{input}");
        }
    }

    #[test]
    fn ordinary_text_and_numbers_are_left_alone() {
        let redactor = Redactor::new();
        for text in [
            "gpt-4o-2024-08-06",
            "2025-10-01T12:30:45Z",
            "trace 4bf92f3577b34da6a3ce929d0e0e4736",
            "192.168.1.20:4318",
            "order 4111 1111 1111 1112 (fails Luhn)",
            "1200 input tokens, 300 output, cost $0.0123",
            "version 1.45.2",
            "risk-assessment task",
        ] {
            assert_eq!(redactor.redact_text(text), None, "{text}");
        }
    }

    #[test]
    fn spans_lose_content_and_secrets_but_keep_the_rest() {
        let redactor = Redactor::new();
        let mut span = SpanRecord::new(
            TraceId::random(),
            SpanId::random(),
            "chat gpt-4o",
            1,
            2,
            Arc::new(Resource::new("t")),
        );
        span.attributes
            .insert("gen_ai.input.messages", "[{\"role\":\"user\"}]");
        span.attributes.insert("gen_ai.prompt.0.content", "hello");
        span.attributes.insert("input.value", "hello");
        span.attributes.insert("gen_ai.request.model", "gpt-4o");
        span.attributes.insert(
            "http.request.header.authorization",
            AttributeValue::Array(vec!["Bearer sk-abcdefghijklmnopqrstuvwx".into()]),
        );
        span.attributes.insert("gen_ai.prompt_caching", "on"); // not content: another name
        span.events.push(SpanEvent {
            name: "gen_ai.content.prompt".into(),
            time_unix_nano: 1,
            attributes: Attributes::new(),
        });
        span.events.push(SpanEvent {
            name: "exception".into(),
            time_unix_nano: 1,
            attributes: [("exception.message", "no user bob@example.com")]
                .into_iter()
                .collect(),
        });
        span.status = SpanStatus::error("denied for bob@example.com");

        let _ = redactor.process_span(&mut span, &mut ProcessContext::new());
        let keys: Vec<&str> = span.attributes.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "gen_ai.request.model",
                "http.request.header.authorization",
                "gen_ai.prompt_caching"
            ]
        );
        assert_eq!(
            span.attributes.get("http.request.header.authorization"),
            // The key inside is recognised first, by the more specific rule.
            Some(&AttributeValue::Array(vec![
                "Bearer [REDACTED:api_key]".into()
            ]))
        );
        assert_eq!(span.events.len(), 1);
        assert_eq!(
            span.events[0]
                .attributes
                .get("exception.message")
                .and_then(AttributeValue::as_str),
            Some("no user [REDACTED:email]")
        );
        assert_eq!(
            span.status.message.as_deref(),
            Some("denied for [REDACTED:email]")
        );
        let stats = redactor.stats();
        assert_eq!((stats.values_redacted, stats.content_removed), (3, 4));
        let found: Vec<(&str, u64)> = stats
            .detections
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (k.as_str(), *n))
            .collect();
        assert_eq!(found, [("api_key", 1), ("email", 2)]);
        assert!(
            stats.detections.contains_key("card"),
            "every rule is listed"
        );
    }

    #[test]
    fn capture_keeps_content_still_masked_and_events_are_redacted() {
        let redactor = Redactor::builder()
            .capture_content(true)
            .build()
            .expect("builds");
        let mut span = SpanRecord::new(
            TraceId::random(),
            SpanId::random(),
            "chat",
            1,
            2,
            Arc::new(Resource::new("t")),
        );
        span.attributes
            .insert("gen_ai.input.messages", "my mail is a@b.io");
        let _ = redactor.process_span(&mut span, &mut ProcessContext::new());
        assert_eq!(
            span.attributes
                .get("gen_ai.input.messages")
                .and_then(AttributeValue::as_str),
            Some("my mail is [REDACTED:email]")
        );

        let mut event = Event::new(
            1,
            Level::Info,
            EventKind::ToolCall,
            "sent to a@b.io",
            Arc::new(Resource::new("t")),
        );
        event.attributes.insert("note", "card 4111111111111111");
        let _ = redactor.process_event(&mut event, &mut ProcessContext::new());
        assert_eq!(event.message, "sent to [REDACTED:email]");
        assert_eq!(
            event
                .attributes
                .get("note")
                .and_then(AttributeValue::as_str),
            Some("card [REDACTED:card]")
        );
    }

    #[test]
    fn telemetry_redacts_before_any_sink() {
        use crate::Telemetry;
        use crate::testing::MemorySink;
        use tracing_subscriber::prelude::*;

        let memory = MemorySink::new();
        let (layer, guard) = Telemetry::builder()
            .with_sink(memory.clone())
            .with_redaction(Redactor::new())
            .build()
            .expect("builds");
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let span = tracing::info_span!("lookup", customer = "ann@example.com");
            let _entered = span.enter();
            tracing::info!("calling ann at +44 20 7946 0958");
        });
        guard.flush().expect("flushes");
        let spans = memory.spans();
        assert_eq!(
            spans[0]
                .attributes
                .get("customer")
                .and_then(AttributeValue::as_str),
            Some("[REDACTED:email]")
        );
        assert_eq!(
            memory.events()[0].message,
            "calling ann at [REDACTED:phone]"
        );
    }

    #[test]
    fn secrets_only_masks_secrets_and_keeps_personal_data_and_content() {
        let redactor = Redactor::secrets_only();
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(
            redactor
                .redact_text(&format!(
                    "key sk-ant-abcdefghijklmnopqrstuvwx, Authorization: Bearer abcdefghijklmnop1234, token {jwt}, card 4111 1111 1111 1111"
                ))
                .as_deref(),
            Some("key [REDACTED:api_key], Authorization: Bearer [REDACTED:token], token [REDACTED:jwt], card [REDACTED:card]")
        );
        assert_eq!(
            redactor.redact_text("ann@example.com, +44 20 7946 0958"),
            None
        );

        let mut span = SpanRecord::new(
            TraceId::random(),
            SpanId::random(),
            "chat",
            1,
            2,
            Arc::new(Resource::new("t")),
        );
        span.attributes.insert(
            "gen_ai.input.messages",
            "my key is sk-proj-abcdefghijklmnopqrstuvwx",
        );
        let _ = redactor.process_span(&mut span, &mut ProcessContext::new());
        assert_eq!(
            span.attributes
                .get("gen_ai.input.messages")
                .and_then(AttributeValue::as_str),
            Some("my key is [REDACTED:api_key]"),
            "content kept, its secrets masked"
        );
        // Personal data can be masked again on top.
        let both = Redactor::builder()
            .personal_data(false)
            .personal_data(true)
            .build()
            .expect("builds");
        assert_eq!(
            both.redact_text("ann@example.com").as_deref(),
            Some("[REDACTED:email]")
        );
    }

    #[test]
    fn telemetry_masks_secrets_by_default_unless_turned_off() {
        use crate::Telemetry;
        use crate::testing::MemorySink;
        use tracing_subscriber::prelude::*;

        for masked in [true, false] {
            let memory = MemorySink::new();
            let mut builder = Telemetry::builder().with_sink(memory.clone());
            if !masked {
                builder = builder.without_secret_masking();
            }
            let (layer, guard) = builder.build().expect("builds");
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
                let _span = tracing::info_span!(
                    "call",
                    header = "Bearer abcdefghijklmnop1234",
                    who = "ann@example.com"
                )
                .entered();
            });
            guard.flush().expect("flushes");
            let spans = memory.spans();
            let header = spans[0]
                .attributes
                .get("header")
                .and_then(AttributeValue::as_str);
            let who = spans[0]
                .attributes
                .get("who")
                .and_then(AttributeValue::as_str);
            if masked {
                assert_eq!(header, Some("Bearer [REDACTED:token]"));
            } else {
                assert_eq!(header, Some("Bearer abcdefghijklmnop1234"));
            }
            assert_eq!(who, Some("ann@example.com"), "personal data is an option");
        }
    }

    #[test]
    fn rules_can_be_turned_off_or_added_and_bad_patterns_are_errors() {
        let redactor = Redactor::builder()
            .without_rule("email")
            .with_rule("ticket", r"\bTICKET-\d+\b")
            .build()
            .expect("builds");
        assert_eq!(
            redactor.redact_text("a@b.io TICKET-42").as_deref(),
            Some("a@b.io [REDACTED:ticket]")
        );
        let error = Redactor::builder()
            .with_rule("bad", "(")
            .build()
            .expect_err("invalid");
        assert_eq!(error.name, "bad");
    }
}
