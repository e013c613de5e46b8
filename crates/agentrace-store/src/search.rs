//! Searching spans with the one filter syntax ([`agentrace_core::search`]): what
//! `GET /api/v1/search`, `GET /api/v1/traces?q=`, the dashboard's search box and
//! `agentrace search` ask a store.
//!
//! A search answers the spans of a time range that match a query, **newest first** (by start
//! time), each with snippets of where its words were found. A store answers it by
//! [`TraceReader::search`](crate::TraceReader::search): provided here as a scan (the spans of
//! the range, newest first, a page at a time, each judged by [`Query::matches`]); a store with a
//! text index overrides it to find the candidates of the query's words first. Either way
//! every hit is judged by [`Query::matches`], so that a query means the same on every store.
//!
//! A search reads at most [`SCAN_BUDGET`] spans a call: a page can hold fewer hits than asked
//! for and still have a [`next_cursor`](SearchPage::next_cursor) (the spans after it were not
//! read yet), as Tempo's and Loki's searches do; the dashboard offers to search further.

use std::fmt::Write as _;

use agentrace_core::search::{Comparison, Expr, Field, Query, Term, Value};
use agentrace_core::{AttributeValue, SpanKind, SpanRecord, StatusCode, TraceId};
use serde::Serialize;

use crate::content::ContentValues;
use crate::error::QueryError;
use crate::model::{Cursor, Order, SpanFilter, SpanQuery, StatusFilter};
use crate::time_range::TimeRange;

/// The most spans one search call reads before it answers with what it found.
pub const SCAN_BUDGET: usize = 100_000;

/// The most hits a page holds.
pub const MAX_SEARCH_LIMIT: usize = 1_000;

/// Snippets a hit shows at most.
const SNIPPETS_A_HIT: usize = 3;

/// Bytes of a field's text searched for a snippet: a match past them (in a value of
/// megabytes) still makes the hit, shown without that field's snippet.
const SNIPPET_SCAN: usize = 256 * 1024;

/// Bytes of text shown around a match.
const CONTEXT_BEFORE: usize = 60;
const CONTEXT_AFTER: usize = 120;

/// What to search.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// What the spans must match.
    pub query: Query,
    /// Span start within this range.
    pub range: TimeRange,
    /// Hits a page holds at most (1 to [`MAX_SEARCH_LIMIT`]).
    pub limit: usize,
    /// Continue after the page that answered this cursor.
    pub cursor: Option<Cursor>,
}

impl SearchQuery {
    /// The first page of `limit` hits of `query` in `range`.
    pub fn new(query: Query, range: TimeRange, limit: usize) -> Self {
        Self {
            query,
            range,
            limit: limit.clamp(1, MAX_SEARCH_LIMIT),
            cursor: None,
        }
    }

    /// Continues after the page that answered `cursor`.
    #[must_use]
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// A page of hits, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchPage {
    /// The matching spans.
    pub hits: Vec<SearchHit>,
    /// Where to continue; `None` when every span of the range was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Cursor>,
    /// How many spans this call judged.
    pub judged: usize,
}

/// One matching span: what a list shows, and where its words were found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// Its trace.
    pub trace_id: TraceId,
    /// Its id.
    pub span_id: agentrace_core::SpanId,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: SpanKind,
    /// When it began.
    pub start_time_unix_nano: u64,
    /// How long it took.
    pub duration_ns: u64,
    /// Whether it failed.
    pub error: bool,
    /// Its service.
    pub service: String,
    /// Its agent, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Where the query's words were found, at most three.
    pub snippets: Vec<Snippet>,
}

/// A piece of a field's text around a match: the parts in order, the matched ones marked.
/// Telemetry is hostile text: whoever shows it escapes every part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    /// Where: `name`, `status`, `attributes.<key>`, `resource.<key>` or `events.<name>`.
    pub field: String,
    /// The text, cut around the match (`…` where it was cut).
    pub parts: Vec<SnippetPart>,
}

/// Text of a snippet, matched or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnippetPart {
    /// The text.
    pub text: String,
    /// Whether it is one of the query's words.
    #[serde(rename = "match")]
    pub matched: bool,
}

impl SearchHit {
    /// `span` as a hit of `query`, with its snippets.
    pub fn of(span: &SpanRecord, query: &Query) -> Self {
        Self {
            trace_id: span.trace_id,
            span_id: span.span_id,
            name: span.name.to_string(),
            kind: span.kind,
            start_time_unix_nano: span.start_time_unix_nano,
            duration_ns: span.duration_ns(),
            error: span.status.code == StatusCode::Error,
            service: span.resource.service_name.to_string(),
            agent: span.agent_name.as_deref().map(str::to_owned),
            snippets: snippets(span, &words(query)),
        }
    }
}

/// The words of `query` a match shows: its text terms not negated, lower-cased.
pub fn words(query: &Query) -> Vec<String> {
    fn collect(e: &Expr, negated: bool, out: &mut Vec<String>) {
        match e {
            Expr::All => {}
            Expr::And(all) | Expr::Or(all) => all.iter().for_each(|e| collect(e, negated, out)),
            Expr::Not(e) => collect(e, !negated, out),
            Expr::Term(Term::Text(words), _) if !negated => out.push(words.to_lowercase()),
            Expr::Term(..) => {}
        }
    }
    let mut out = Vec::new();
    collect(&query.expr, false, &mut out);
    out.sort();
    out.dedup();
    out
}

/// The terms every match must meet: the query itself if it is one term, else the terms
/// directly under its top-level AND.
pub fn required_terms(query: &Query) -> Vec<&Term> {
    match &query.expr {
        Expr::Term(t, _) => vec![t],
        Expr::And(all) => all
            .iter()
            .filter_map(|e| match e {
                Expr::Term(t, _) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The words every match must hold (lower-cased): a store with a text index looks these up.
pub fn required_words(query: &Query) -> Vec<String> {
    required_terms(query)
        .into_iter()
        .filter_map(|t| match t {
            Term::Text(words) => Some(words.to_lowercase()),
            _ => None,
        })
        .collect()
}

/// The choices of words every match makes (lower-cased): a word alone it must hold, or the
/// words of an `OR` of words one of which it must hold. A store with a text index looks up the
/// words of one choice, and judges the spans holding any of them.
pub fn required_word_choices(query: &Query) -> Vec<Vec<String>> {
    let text = |e: &Expr| match e {
        Expr::Term(Term::Text(words), _) => Some(words.to_lowercase()),
        _ => None,
    };
    let choice = |e: &Expr| match e {
        Expr::Or(any) => any.iter().map(text).collect::<Option<Vec<String>>>(),
        e => text(e).map(|word| vec![word]),
    };
    match &query.expr {
        Expr::And(all) => all.iter().filter_map(choice).collect(),
        e => choice(e).into_iter().collect(),
    }
}

/// A span filter every match of `query` passes (the exact fields a store filters on:
/// kind, status, trace, a least duration), to narrow what a scan reads; the query still
/// judges each span.
pub fn narrowing_filter(query: &Query, range: TimeRange) -> SpanFilter {
    let mut filter = SpanFilter::new().range(range);
    for term in required_terms(query) {
        let Term::Field(field, c) = term else {
            continue;
        };
        match (field, c) {
            (Field::Kind, Comparison::Eq(Value::Text(kind))) => {
                if let Ok(kind) = kind.to_lowercase().parse::<SpanKind>() {
                    filter.kind = Some(kind);
                }
            }
            (Field::Status, Comparison::Eq(Value::Text(status))) => {
                filter.status = match status.to_lowercase().as_str() {
                    "error" => Some(StatusFilter::Error),
                    _ => filter.status,
                };
            }
            (Field::Trace, Comparison::Eq(Value::Text(id))) => {
                if let Ok(id) = id.parse::<TraceId>() {
                    filter.trace_id = Some(id);
                }
            }
            (
                Field::Duration,
                Comparison::Ge(Value::Duration(d)) | Comparison::Gt(Value::Duration(d)),
            ) => {
                filter.min_duration_ns = u64::try_from(d.as_nanos()).ok();
            }
            _ => {}
        }
    }
    filter
}

/// Where a search continues: after the span it read last, by its start and how many spans of
/// that start it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCursor {
    /// The start of the last span read.
    pub start: u64,
    /// How many spans of that start were read.
    pub seen_at_start: usize,
}

impl SearchCursor {
    /// Reads a cursor this module made.
    ///
    /// # Errors
    /// [`QueryError::InvalidCursor`] for anything else.
    pub fn read(cursor: &Cursor) -> Result<Self, QueryError> {
        let invalid = || QueryError::InvalidCursor(cursor.as_str().to_owned());
        let (start, seen) = cursor
            .as_str()
            .strip_prefix("search:")
            .and_then(|rest| rest.split_once(':'))
            .ok_or_else(invalid)?;
        Ok(Self {
            start: start.parse().map_err(|_| invalid())?,
            seen_at_start: seen.parse().map_err(|_| invalid())?,
        })
    }

    /// As a cursor.
    pub fn cursor(self) -> Cursor {
        let mut text = String::from("search:");
        let _ = write!(text, "{}:{}", self.start, self.seen_at_start);
        Cursor::from(text)
    }

    /// The range left to read of `range`: up to and including this start.
    pub fn remaining(self, range: TimeRange) -> TimeRange {
        TimeRange {
            start_unix_nano: range.start_unix_nano,
            end_unix_nano: Some(
                self.start
                    .saturating_add(1)
                    .min(range.end_unix_nano.unwrap_or(u64::MAX)),
            ),
        }
    }

    /// Notes that a span starting at `start` was read (newest first).
    pub fn advance(position: &mut Option<Self>, start: u64) {
        match position {
            Some(p) if p.start == start => p.seen_at_start += 1,
            _ => {
                *position = Some(Self {
                    start,
                    seen_at_start: 1,
                });
            }
        }
    }
}

/// The provided search: the spans of the range newest first, a page at a time, each judged
/// by the query, until the page of hits is full or [`SCAN_BUDGET`] spans were read.
/// `spans` answers a page of spans as [`TraceReader::spans`](crate::TraceReader::spans) does.
pub fn scan(
    q: &SearchQuery,
    spans: impl Fn(&SpanQuery) -> Result<crate::model::SpanPage, QueryError>,
) -> Result<SearchPage, QueryError> {
    let resume = q.cursor.as_ref().map(SearchCursor::read).transpose()?;
    let range = resume.map_or(q.range, |c| c.remaining(q.range));
    let mut skip = resume.map_or(0, |c| c.seen_at_start);
    let filter = narrowing_filter(&q.query, range);
    let mut position = resume;
    let mut page = SearchPage {
        hits: Vec::new(),
        next_cursor: None,
        judged: 0,
    };
    let mut cursor = None;
    loop {
        let read = spans(
            &SpanQuery::new(filter.clone())
                .order(Order::Desc)
                .limit(1_000)
                .cursor(cursor),
        )?;
        for span in &read.spans {
            if skip > 0 && resume.is_some_and(|r| r.start == span.start_time_unix_nano) {
                skip -= 1;
                continue;
            }
            skip = 0;
            SearchCursor::advance(&mut position, span.start_time_unix_nano);
            page.judged += 1;
            if q.query.matches(span) {
                page.hits.push(SearchHit::of(span, &q.query));
            }
            if page.hits.len() >= q.limit || page.judged >= SCAN_BUDGET {
                page.next_cursor = position.map(SearchCursor::cursor);
                return Ok(page);
            }
        }
        match read.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(page),
        }
    }
}

/// Snippets of `span` around `words` (lower-cased): for each word, the first field holding
/// it, every word marked within; at most three.
pub fn snippets(span: &SpanRecord, words: &[String]) -> Vec<Snippet> {
    let mut fields: Vec<(String, String)> = vec![("name".to_owned(), span.name.to_string())];
    if let Some(m) = &span.status.message {
        fields.push(("status".to_owned(), m.clone()));
    }
    for (key, value) in span.attributes.iter() {
        fields.push((format!("attributes.{key}"), text_of(value)));
    }
    for (key, value) in span.resource.attributes.iter() {
        fields.push((format!("resource.{key}"), text_of(value)));
    }
    for e in &span.events {
        let mut text = e.name.to_string();
        for (_, v) in e.attributes.iter() {
            text.push(' ');
            text.push_str(&text_of(v));
        }
        fields.push((format!("events.{}", e.name), text));
    }
    let mut out: Vec<Snippet> = Vec::new();
    for word in words.iter().filter(|w| !w.is_empty()) {
        if out.len() >= SNIPPETS_A_HIT {
            break;
        }
        let found = fields.iter().find_map(|(field, text)| {
            let scanned = &text[..floor_boundary(text, text.len().min(SNIPPET_SCAN))];
            find(scanned, word).map(|at| (field, text, at))
        });
        let Some((field, text, at)) = found else {
            continue;
        };
        if out.iter().any(|s| &s.field == field) {
            continue;
        }
        out.push(Snippet {
            field: field.clone(),
            parts: cut(text, at, words),
        });
    }
    out
}

/// The text of `span` a text index keeps for it: its name, status message, the values of its
/// attributes but those kept apart (`apart`, indexed once each as pieces) and its span events,
/// one a line. Its resource's attributes are not in it (a store looks them up apart).
pub fn indexed_text(span: &SpanRecord, apart: &ContentValues) -> String {
    let mut text = span.name.to_string();
    if let Some(m) = &span.status.message {
        text.push('\n');
        text.push_str(m);
    }
    for (key, value) in span.attributes.iter() {
        if apart.values().iter().any(|v| v.key() == key) {
            continue;
        }
        text.push('\n');
        text.push_str(&text_of(value));
    }
    for e in &span.events {
        text.push('\n');
        text.push_str(&e.name);
        for (_, v) in e.attributes.iter() {
            text.push('\n');
            text.push_str(&text_of(v));
        }
    }
    text
}

fn text_of(value: &AttributeValue) -> String {
    match value {
        AttributeValue::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The byte range of the first case-insensitive occurrence of `word` (lower-cased) in `text`.
fn find(text: &str, word: &str) -> Option<std::ops::Range<usize>> {
    word.chars().next()?;
    text.char_indices().find_map(|(i, _)| {
        let mut rest = text[i..].char_indices().flat_map(|(j, c)| {
            let end = i + j + c.len_utf8();
            c.to_lowercase().map(move |l| (l, end))
        });
        let mut end = i;
        for w in word.chars() {
            match rest.next() {
                Some((l, e)) if l == w => end = e,
                _ => return None,
            }
        }
        Some(i..end)
    })
}

/// `text` cut around `at`, every occurrence of `words` within marked.
fn cut(text: &str, at: std::ops::Range<usize>, words: &[String]) -> Vec<SnippetPart> {
    let from = floor_boundary(text, at.start.saturating_sub(CONTEXT_BEFORE));
    let to = ceil_boundary(text, at.end.saturating_add(CONTEXT_AFTER).min(text.len()));
    let window = &text[from..to];
    // The matches inside the window, in order, not overlapping.
    let mut marks: Vec<std::ops::Range<usize>> = Vec::new();
    for word in words.iter().filter(|w| !w.is_empty()) {
        let mut offset = 0;
        while let Some(r) = find(&window[offset..], word) {
            let r = offset + r.start..offset + r.end;
            offset = r.end.max(r.start + 1);
            offset = ceil_boundary(window, offset);
            if !marks.iter().any(|m| m.start < r.end && r.start < m.end) {
                marks.push(r);
            }
            if offset >= window.len() {
                break;
            }
        }
    }
    marks.sort_by_key(|m| m.start);
    let mut parts = Vec::new();
    let plain = |text: &str, parts: &mut Vec<SnippetPart>| {
        if !text.is_empty() {
            parts.push(SnippetPart {
                text: text.to_owned(),
                matched: false,
            });
        }
    };
    let mut last = 0;
    if from > 0 {
        plain("…", &mut parts);
    }
    for m in marks {
        plain(&window[last..m.start], &mut parts);
        parts.push(SnippetPart {
            text: window[m.clone()].to_owned(),
            matched: true,
        });
        last = m.end;
    }
    plain(&window[last..], &mut parts);
    if to < text.len() {
        plain("…", &mut parts);
    }
    parts
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i.min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(parts: &[SnippetPart]) -> String {
        parts
            .iter()
            .map(|p| {
                if p.matched {
                    format!("[{}]", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn matches_are_found_whatever_their_case_and_marked() {
        let text = "The Gateway TIMEOUT after 30 s; a timeout again";
        assert_eq!(find(text, "timeout"), Some(12..19));
        let parts = cut(text, 12..19, &["timeout".to_owned(), "gateway".to_owned()]);
        assert_eq!(
            joined(&parts),
            "The [Gateway] [TIMEOUT] after 30 s; a [timeout] again"
        );
    }

    #[test]
    fn long_text_is_cut_on_character_boundaries() {
        let text = format!("{}needle{}", "é".repeat(100), "日".repeat(100));
        let at = find(&text, "needle").expect("found");
        let parts = cut(&text, at, &["needle".to_owned()]);
        assert_eq!(parts.first().map(|p| p.text.as_str()), Some("…"));
        assert_eq!(parts.last().map(|p| p.text.as_str()), Some("…"));
        assert!(parts.iter().any(|p| p.matched && p.text == "needle"));
    }

    #[test]
    fn a_search_cursor_reads_back_and_refuses_others() {
        let c = SearchCursor {
            start: 42,
            seen_at_start: 3,
        };
        assert_eq!(SearchCursor::read(&c.cursor()).ok(), Some(c));
        assert!(SearchCursor::read(&Cursor::from("v1:abc".to_owned())).is_err());
    }

    #[test]
    fn words_and_narrowing_come_from_what_every_match_must_meet()
    -> Result<(), Box<dyn std::error::Error>> {
        let q = Query::parse("kind:llm Timeout -secret (a OR b) duration:>=2s status:error")?;
        assert_eq!(words(&q), ["a", "b", "timeout"]);
        assert_eq!(required_words(&q), ["timeout"]);
        assert_eq!(
            required_word_choices(&q),
            [
                vec!["timeout".to_owned()],
                vec!["a".to_owned(), "b".to_owned()]
            ]
        );
        // An OR with anything but words in it is no choice of words.
        let mixed = Query::parse("(Timeout OR Failed) (x OR kind:tool)")?;
        assert_eq!(
            required_word_choices(&mixed),
            [vec!["timeout".to_owned(), "failed".to_owned()]]
        );
        let either = Query::parse("timeout OR failed")?;
        assert_eq!(required_word_choices(&either).len(), 1);
        let f = narrowing_filter(&q, TimeRange::ALL);
        assert_eq!(f.kind, Some(SpanKind::Llm));
        assert_eq!(f.status, Some(StatusFilter::Error));
        assert_eq!(f.min_duration_ns, Some(2_000_000_000));
        Ok(())
    }
}
