//! The one filter syntax of agentrace (docs/search.md): what the API's `q=` takes
//! (`/api/v1/search`, `/api/v1/traces`), the dashboard's search box, `agentrace search`, and
//! the filters of alert rules, SLOs and evaluator rules. One parser, here, so that a query
//! means the same wherever it is written; each store compiles the [`Query`] it gives.
//!
//! ```text
//! timeout                          words anywhere: content, tool arguments and results,
//! "rate limit exceeded"            span names, error messages, attribute values
//! kind:llm model:gpt-4o*           a field equal to a value (`*` at the end: a prefix)
//! status:error -tool:web_search    `-` (or NOT) negates
//! cost:>0.05 duration:>=2s         comparisons on numbers, money and durations
//! score.helpfulness:<0.5           a score of that name
//! attr.customer.id:acme            a span's (else its resource's) attribute
//! has:attr.customer.id             an attribute present
//! (agent:planner OR agent:writer)  OR binds looser than the implicit AND; parentheses group
//! ```
//!
//! A query that cannot be read is a [`QueryError`] naming what is wrong and where: its
//! [`at`](QueryError::at) is the offending token's byte range, and
//! [`pointer`](QueryError::pointer) draws it under the query.
//!
//! ```
//! use agentrace_core::search::{Query, Field};
//! let q = Query::parse("kind:llm cost:>0.05 timeout").expect("a query");
//! assert_eq!(q.to_string(), "kind:llm cost:>0.05 timeout");
//! let e = Query::parse("kind:lm").expect_err("no such kind");
//! assert!(e.to_string().contains("`lm` is not a kind"));
//! assert_eq!(e.at, 5..7);
//! # let _ = Field::Kind;
//! ```

mod lex;
mod matching;
mod parse;
mod value;

use std::fmt;
use std::ops::Range;

pub use value::{Comparison, Value};

/// The longest query read, in bytes: a query is typed or written in a rule, not generated.
pub const MAX_LEN: usize = 4_096;

/// The most terms a query holds, and the deepest its parentheses nest.
pub const MAX_TERMS: usize = 64;
/// See [`MAX_TERMS`].
pub const MAX_DEPTH: usize = 16;

/// A parsed query: a tree of conditions, each knowing where in the text it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The conditions; the empty query (`All`) selects everything.
    pub expr: Expr,
}

/// A condition and what it is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Everything (the empty query).
    All,
    /// Every one of these.
    And(Vec<Expr>),
    /// Any one of these.
    Or(Vec<Expr>),
    /// Not this.
    Not(Box<Expr>),
    /// One condition, and where it was written.
    Term(Term, Range<usize>),
}

/// One condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// Words (or a quoted phrase) found anywhere a span holds text: its content, tool
    /// arguments and results, name, error message and attribute values; case-insensitive.
    Text(String),
    /// A field compared with a value.
    Field(Field, Comparison),
    /// A span's attribute (else its resource's), as text, compared with a value.
    Attribute(String, Comparison),
    /// The attribute is present.
    HasAttribute(String),
}

/// What a field condition names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The span's kind (`agent`, `llm`, `tool`, …).
    Kind,
    /// Its name.
    Name,
    /// Its model (the response's, else the request's).
    Model,
    /// Its provider.
    Provider,
    /// The agent it ran in.
    Agent,
    /// The session (conversation) it is part of.
    Session,
    /// The user it ran for.
    User,
    /// The service that sent it.
    Service,
    /// The tool it called.
    Tool,
    /// The MCP server of the tool.
    McpServer,
    /// The framework that made it.
    Framework,
    /// `ok`, `error` or `unset`.
    Status,
    /// Its error message (words in it).
    Error,
    /// Its trace's id.
    Trace,
    /// How long it took.
    Duration,
    /// What it cost, in US dollars.
    Cost,
    /// Input tokens.
    InputTokens,
    /// Output tokens.
    OutputTokens,
    /// A score of this name given to it (or its trace).
    Score(String),
}

/// The fields and their names, as a query writes them.
const FIELDS: [(&str, Field); 18] = [
    ("kind", Field::Kind),
    ("name", Field::Name),
    ("model", Field::Model),
    ("provider", Field::Provider),
    ("agent", Field::Agent),
    ("session", Field::Session),
    ("user", Field::User),
    ("service", Field::Service),
    ("tool", Field::Tool),
    ("mcp_server", Field::McpServer),
    ("framework", Field::Framework),
    ("status", Field::Status),
    ("error", Field::Error),
    ("trace", Field::Trace),
    ("duration", Field::Duration),
    ("cost", Field::Cost),
    ("input_tokens", Field::InputTokens),
    ("output_tokens", Field::OutputTokens),
];

impl Field {
    /// The field a query names `name`; scores are `score.<name>`.
    pub fn named(name: &str) -> Option<Self> {
        if let Some(score) = name.strip_prefix("score.") {
            return (!score.is_empty()).then(|| Self::Score(score.to_owned()));
        }
        FIELDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
    }

    /// Its name in a query.
    pub fn name(&self) -> String {
        match self {
            Self::Score(name) => format!("score.{name}"),
            field => FIELDS
                .iter()
                .find(|(_, f)| f == field)
                .map_or_else(String::new, |(n, _)| (*n).to_owned()),
        }
    }

    /// Every field's name, as an error lists them.
    pub fn names() -> String {
        let mut names: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
        names.push("score.<name>");
        names.push("attr.<key>");
        names.push("has");
        names.join(", ")
    }
}

/// A query that cannot be read: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at {}, {:?})", self.at.start + 1, self.token)]
#[non_exhaustive]
pub struct QueryError {
    /// What is wrong.
    pub message: String,
    /// The offending token's byte range in the query.
    pub at: Range<usize>,
    /// The offending token (empty at the end of the query).
    pub token: String,
}

impl QueryError {
    /// `message` about the token of `query` at `at`: what a caller that takes only part of
    /// the syntax says of the rest (an alert rule's scope, say).
    pub fn new(query: &str, at: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            token: query.get(at.clone()).unwrap_or_default().to_owned(),
            at,
        }
    }

    /// `query` with a line of carets under the offending token, then the message: what a
    /// terminal or a text field's hint shows.
    pub fn pointer(&self, query: &str) -> String {
        let before = query.get(..self.at.start).unwrap_or(query).chars().count();
        let width = self.token.chars().count().max(1);
        format!(
            "{query}\n{}{}\n{}",
            " ".repeat(before),
            "^".repeat(width),
            self.message
        )
    }
}

impl Query {
    /// Reads `text` (see the module's documentation).
    ///
    /// # Errors
    /// What cannot be read, and where: an unknown field, a value a field cannot take, an
    /// unclosed quote or parenthesis, an operator without its operand, a query too long or
    /// too deep.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        parse::query(text).map(|expr| Self { expr })
    }

    /// Whether it selects everything.
    pub fn is_all(&self) -> bool {
        self.expr == Expr::All
    }

    /// Every term, in the order written.
    pub fn terms(&self) -> Vec<(&Term, Range<usize>)> {
        let mut out = Vec::new();
        self.expr.collect_terms(&mut out);
        out
    }
}

impl Expr {
    fn collect_terms<'a>(&'a self, out: &mut Vec<(&'a Term, Range<usize>)>) {
        match self {
            Self::All => {}
            Self::And(all) | Self::Or(all) => all.iter().for_each(|e| e.collect_terms(out)),
            Self::Not(e) => e.collect_terms(out),
            Self::Term(t, at) => out.push((t, at.clone())),
        }
    }
}

impl fmt::Display for Query {
    /// The query in its canonical form: reads back as the same query.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined = |f: &mut fmt::Formatter<'_>, all: &[Expr], by: &str| {
            for (i, e) in all.iter().enumerate() {
                if i > 0 {
                    f.write_str(by)?;
                }
                match e {
                    Expr::Or(_) if by == " " => write!(f, "({e})")?,
                    _ => write!(f, "{e}")?,
                }
            }
            Ok(())
        };
        match self {
            Self::All => Ok(()),
            Self::And(all) => joined(f, all, " "),
            Self::Or(all) => joined(f, all, " OR "),
            Self::Not(e) => match **e {
                Self::Term(..) | Self::Not(_) => write!(f, "-{e}"),
                _ => write!(f, "-({e})"),
            },
            Self::Term(t, _) => t.fmt(f),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(words) => value::quoted_if_needed(f, words),
            Self::Field(field, c) => write!(f, "{}:{c}", field.name()),
            Self::Attribute(key, c) => write!(f, "attr.{key}:{c}"),
            Self::HasAttribute(key) => write!(f, "has:attr.{key}"),
        }
    }
}

#[cfg(test)]
mod tests;
