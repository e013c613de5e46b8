//! The value side of a condition: how it compares (`=`, a prefix, `>`, `>=`, `<`, `<=`) and
//! what with (text, a number, a duration), read for the field that takes it.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use super::{Field, QueryError};
use crate::SpanKind;

/// A value as written: its text, whether quoted, whether a `*` followed the quotes, where.
pub(super) struct Written<'a> {
    pub(super) text: &'a str,
    pub(super) quoted: bool,
    pub(super) star: bool,
    pub(super) at: Range<usize>,
}

/// How a value compares, and with what.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// Equal (text: case-insensitive).
    Eq(Value),
    /// Text starting with this (written with a `*` at its end).
    Prefix(String),
    /// Greater than.
    Gt(Value),
    /// Greater than or equal.
    Ge(Value),
    /// Less than.
    Lt(Value),
    /// Less than or equal.
    Le(Value),
}

/// A value compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A number: tokens, US dollars, a score.
    Number(f64),
    /// A duration.
    Duration(Duration),
}

/// What a field's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text: equal, or a prefix.
    Text,
    /// One of a few names.
    Named(&'static [&'static str]),
    /// A number, compared.
    Number,
    /// A duration, compared.
    Duration,
    /// Text, or a number compared (an attribute).
    TextOrNumber,
}

const STATUSES: &[&str] = &["ok", "error", "unset"];

fn kind_of(field: Option<&Field>) -> Kind {
    match field {
        Some(Field::Kind) => Kind::Named(&KIND_NAMES),
        Some(Field::Status) => Kind::Named(STATUSES),
        Some(Field::Duration) => Kind::Duration,
        Some(Field::Cost | Field::InputTokens | Field::OutputTokens | Field::Score(_)) => {
            Kind::Number
        }
        Some(_) => Kind::Text,
        None => Kind::TextOrNumber,
    }
}

const KIND_NAMES: [&str; SpanKind::ALL.len()] = {
    let mut names = [""; SpanKind::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = SpanKind::ALL[i].as_str();
        i += 1;
    }
    names
};

/// Reads `written` (in `query`) as the value of `field` (`None`: an attribute).
pub(super) fn comparison(
    query: &str,
    field: Option<&Field>,
    written: &Written<'_>,
) -> Result<Comparison, QueryError> {
    let Written {
        text, quoted, star, ..
    } = *written;
    let what = field.map_or_else(|| "an attribute".to_owned(), |f| format!("`{}`", f.name()));
    let error = |message: String| Err(QueryError::new(query, written.at.clone(), message));
    let kind = kind_of(field);
    if star {
        return match kind {
            Kind::Text | Kind::TextOrNumber if !text.is_empty() => {
                Ok(Comparison::Prefix(text.to_owned()))
            }
            _ => error(format!(
                "{what}: `*` ends a prefix of text, after at least one character"
            )),
        };
    }
    let (op, rest) = if quoted {
        ("", text)
    } else {
        [">=", "<=", ">", "<"]
            .into_iter()
            .find_map(|op| text.strip_prefix(op).map(|rest| (op, rest)))
            .unwrap_or(("", text))
    };
    if rest.is_empty() {
        return error(format!(
            "{what} needs a value after `{}`",
            if op.is_empty() { ":" } else { op }
        ));
    }
    let value = match kind {
        Kind::Number => match number(rest) {
            Some(n) => Value::Number(n),
            None => {
                return error(format!(
                    "{what} compares numbers: `{rest}` is not one (write e.g. >0.05)"
                ));
            }
        },
        Kind::Duration => match humantime::parse_duration(rest) {
            Ok(d) => Value::Duration(d),
            Err(_) => {
                return error(format!(
                    "{what} compares durations: `{rest}` is not one (write e.g. >2s, <150ms)"
                ));
            }
        },
        Kind::TextOrNumber if !op.is_empty() => match number(rest) {
            Some(n) => Value::Number(n),
            None => {
                return error(format!(
                    "{what} compared with `{op}` needs a number, not `{rest}`"
                ));
            }
        },
        Kind::Named(names) => {
            let lower = rest.to_ascii_lowercase();
            if !op.is_empty() || !names.contains(&lower.as_str()) {
                let noun = if field == Some(&Field::Kind) {
                    "kind"
                } else {
                    "status"
                };
                return error(format!(
                    "`{rest}` is not a {noun}: write one of {}",
                    names.join(", ")
                ));
            }
            Value::Text(lower)
        }
        Kind::Text | Kind::TextOrNumber => {
            if !op.is_empty() {
                return error(format!(
                    "{what} is text: it is equal to a value or starts with one (`value*`), not compared with `{op}`"
                ));
            }
            if let Some(prefix) = rest.strip_suffix('*').filter(|_| !quoted) {
                if prefix.is_empty() || prefix.contains('*') {
                    return error(format!(
                        "{what}: `*` ends a prefix, after at least one character"
                    ));
                }
                return Ok(Comparison::Prefix(prefix.to_owned()));
            }
            Value::Text(rest.to_owned())
        }
    };
    if op.is_empty() && matches!(kind, Kind::Number | Kind::Duration) {
        return Ok(Comparison::Eq(value));
    }
    Ok(match op {
        ">" => Comparison::Gt(value),
        ">=" => Comparison::Ge(value),
        "<" => Comparison::Lt(value),
        "<=" => Comparison::Le(value),
        _ => Comparison::Eq(value),
    })
}

/// A number as a query writes it: `0.05`, `$0.05`, `1200`, `1_200`.
fn number(text: &str) -> Option<f64> {
    let plain = text.strip_prefix('$').unwrap_or(text).replace('_', "");
    plain.parse::<f64>().ok().filter(|n| n.is_finite())
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => quoted_if_needed(f, t),
            Self::Number(n) => write!(f, "{n}"),
            Self::Duration(d) => f.write_str(&crate::serde_duration::text(*d).replace(' ', "")),
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Eq(v) => write!(f, "{v}"),
            Self::Prefix(p) => {
                quoted_if_needed(f, p)?;
                f.write_str("*")
            }
            Self::Gt(v) => write!(f, ">{v}"),
            Self::Ge(v) => write!(f, ">={v}"),
            Self::Lt(v) => write!(f, "<{v}"),
            Self::Le(v) => write!(f, "<={v}"),
        }
    }
}

/// `text` as a query writes it: bare when it reads back as itself, else quoted with `"` and
/// `\` escaped.
pub(super) fn quoted_if_needed(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let plain = !text.is_empty()
        && !text.contains(|c: char| c.is_whitespace() || "()\":\\*<>".contains(c))
        && !text.starts_with('-')
        && !matches!(text, "OR" | "AND" | "NOT");
    if plain {
        return f.write_str(text);
    }
    f.write_str("\"")?;
    for c in text.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}
