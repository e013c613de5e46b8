//! A query's tokens: parentheses, `-` before a term, and words — bare, quoted (`"…"`, with
//! `\"` and `\\`), or `key:value` where the value may be quoted — each with its byte range.

use std::ops::Range;

use super::QueryError;

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Open,
    Close,
    /// `-` written against the term it negates.
    Minus,
    /// A word or phrase, or `key:value`.
    Word {
        /// The key before the first `:` of a bare word, and its range.
        key: Option<(String, Range<usize>)>,
        /// The text (a phrase's without its quotes and escapes).
        text: String,
        /// Whether the text was quoted (then `OR`, `*` and `>` are plain text).
        quoted: bool,
        /// A `*` right after a quoted value: a prefix that needed quotes (`name:"chat g"*`).
        star: bool,
        /// The value's range (the whole word's, for a word without a key).
        value_at: Range<usize>,
    },
}

/// `query`'s tokens, each with its range.
pub(super) fn tokens(query: &str) -> Result<Vec<(Token, Range<usize>)>, QueryError> {
    let mut out = Vec::new();
    let mut chars = query.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                let token = if c == '(' { Token::Open } else { Token::Close };
                out.push((token, start..start + 1));
            }
            '-' => {
                chars.next();
                match chars.peek() {
                    Some(&(_, next)) if !next.is_whitespace() && next != ')' => {
                        out.push((Token::Minus, start..start + 1));
                    }
                    _ => {
                        return Err(QueryError::new(
                            query,
                            start..start + 1,
                            "`-` negates the term written right after it",
                        ));
                    }
                }
            }
            '"' => {
                let (text, end) = phrase(query, &mut chars, start)?;
                out.push((
                    Token::Word {
                        key: None,
                        text,
                        quoted: true,
                        star: false,
                        value_at: start..end,
                    },
                    start..end,
                ));
            }
            _ => out.push(word(query, &mut chars, start)?),
        }
    }
    Ok(out)
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// A quoted phrase starting at `start` (its `"`): its text and where it ends.
fn phrase(query: &str, chars: &mut Chars<'_>, start: usize) -> Result<(String, usize), QueryError> {
    chars.next();
    let mut text = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((text, i + 1)),
            '\\' => match chars.next() {
                Some((_, escaped)) => text.push(escaped),
                None => break,
            },
            c => text.push(c),
        }
    }
    Err(QueryError::new(
        query,
        start..query.len(),
        "this quote is not closed: end the phrase with `\"`",
    ))
}

/// A bare word starting at `start`, `key:value` split at its first `:` (the value may be
/// quoted).
fn word(
    query: &str,
    chars: &mut Chars<'_>,
    start: usize,
) -> Result<(Token, Range<usize>), QueryError> {
    let mut end = start;
    let mut colon = None;
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() || c == '(' || c == ')' {
            break;
        }
        if c == ':' && colon.is_none() {
            colon = Some(i);
            chars.next();
            end = i + 1;
            if let Some(&(q, '"')) = chars.peek() {
                let (text, mut after) = phrase(query, chars, q)?;
                let star = chars.peek().is_some_and(|&(_, c)| c == '*');
                if star {
                    chars.next();
                    after += 1;
                }
                let key = query[start..i].to_owned();
                return Ok((
                    Token::Word {
                        key: Some((key, start..i)),
                        text,
                        quoted: true,
                        star,
                        value_at: q..after,
                    },
                    start..after,
                ));
            }
            continue;
        }
        if c == '"' {
            return Err(QueryError::new(
                query,
                i..i + 1,
                "a quote opens a phrase: write it apart (\"…\") or after `key:`",
            ));
        }
        chars.next();
        end = i + c.len_utf8();
    }
    let token = match colon {
        Some(i) => Token::Word {
            key: Some((query[start..i].to_owned(), start..i)),
            text: query[i + 1..end].to_owned(),
            quoted: false,
            star: false,
            value_at: i + 1..end,
        },
        None => Token::Word {
            key: None,
            text: query[start..end].to_owned(),
            quoted: false,
            star: false,
            value_at: start..end,
        },
    };
    Ok((token, start..end))
}
