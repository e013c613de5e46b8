//! The grammar, by recursive descent over the tokens:
//!
//! ```text
//! query := or?
//! or    := and ("OR" and)*
//! and   := unary (("AND")? unary)*
//! unary := ("-" | "NOT") unary | "(" or ")" | word
//! ```

use std::ops::Range;

use super::lex::{Token, tokens};
use super::value::{Written, comparison};
use super::{Expr, Field, MAX_DEPTH, MAX_LEN, MAX_TERMS, QueryError, Term};

/// `text` read as a query.
pub(super) fn query(text: &str) -> Result<Expr, QueryError> {
    if text.len() > MAX_LEN {
        return Err(QueryError::new(
            text,
            MAX_LEN..text.len(),
            format!("a query is {MAX_LEN} bytes at most"),
        ));
    }
    let tokens = tokens(text)?;
    let mut parser = Parser {
        text,
        tokens,
        next: 0,
        terms: 0,
    };
    if parser.tokens.is_empty() {
        return Ok(Expr::All);
    }
    let expr = parser.or(0)?;
    match parser.tokens.get(parser.next) {
        None => Ok(expr),
        Some((Token::Close, at)) => Err(parser.error(at.clone(), "this `)` closes no `(`")),
        Some((_, at)) => Err(parser.error(at.clone(), "unexpected here")),
    }
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(Token, Range<usize>)>,
    next: usize,
    terms: usize,
}

impl Parser<'_> {
    fn error(&self, at: Range<usize>, message: impl Into<String>) -> QueryError {
        QueryError::new(self.text, at, message)
    }

    /// The end of the query, as a range (for "expected … here").
    fn end(&self) -> Range<usize> {
        self.text.len()..self.text.len()
    }

    /// Whether the next token is the bare operator `word`.
    fn at_operator(&self, word: &str) -> bool {
        matches!(
            self.tokens.get(self.next),
            Some((Token::Word { key: None, text, quoted: false, .. }, _)) if text == word
        )
    }

    fn or(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut any = vec![self.and(depth)?];
        while self.at_operator("OR") {
            let at = self.tokens[self.next].1.clone();
            self.next += 1;
            if self.next >= self.tokens.len()
                || matches!(self.tokens[self.next].0, Token::Close)
                || self.at_operator("OR")
            {
                return Err(self.error(at, "`OR` needs a term on each side"));
            }
            any.push(self.and(depth)?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Expr::Or(any)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut all = Vec::new();
        loop {
            match self.tokens.get(self.next) {
                None | Some((Token::Close, _)) => break,
                Some((_, at)) if self.at_operator("OR") => {
                    if all.is_empty() {
                        return Err(self.error(at.clone(), "`OR` needs a term on each side"));
                    }
                    break;
                }
                Some(_) if self.at_operator("AND") => {
                    let at = self.tokens[self.next].1.clone();
                    self.next += 1;
                    if all.is_empty() || self.next >= self.tokens.len() || self.at_operator("OR") {
                        return Err(self.error(at, "`AND` needs a term on each side"));
                    }
                }
                Some(_) => all.push(self.unary(depth)?),
            }
        }
        match all.len() {
            0 => {
                let at = self
                    .tokens
                    .get(self.next)
                    .map_or_else(|| self.end(), |(_, at)| at.clone());
                Err(self.error(at, "a term is expected here"))
            }
            1 => Ok(all.remove(0)),
            _ => Ok(Expr::And(all)),
        }
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let Some((token, at)) = self.tokens.get(self.next).cloned() else {
            return Err(self.error(self.end(), "a term is expected here"));
        };
        if depth > MAX_DEPTH {
            return Err(self.error(
                at,
                format!("parentheses and negations nest {MAX_DEPTH} deep at most"),
            ));
        }
        self.next += 1;
        match token {
            Token::Minus => Ok(Expr::Not(Box::new(self.unary(depth + 1)?))),
            Token::Word {
                key: None,
                ref text,
                quoted: false,
                ..
            } if text == "NOT" => {
                if self.next >= self.tokens.len() {
                    return Err(self.error(at, "`NOT` needs a term after it"));
                }
                Ok(Expr::Not(Box::new(self.unary(depth + 1)?)))
            }
            Token::Open => {
                if matches!(self.tokens.get(self.next), Some((Token::Close, _))) {
                    return Err(self.error(at, "these parentheses hold nothing"));
                }
                let inner = self.or(depth + 1)?;
                match self.tokens.get(self.next) {
                    Some((Token::Close, _)) => {
                        self.next += 1;
                        Ok(inner)
                    }
                    _ => Err(self.error(at, "this `(` is not closed")),
                }
            }
            Token::Close => Err(self.error(at, "this `)` closes no `(`")),
            Token::Word {
                key,
                text,
                quoted,
                star,
                value_at,
            } => {
                self.terms += 1;
                if self.terms > MAX_TERMS {
                    return Err(self.error(at, format!("a query holds {MAX_TERMS} terms at most")));
                }
                let written = Written {
                    text: &text,
                    quoted,
                    star,
                    at: value_at,
                };
                let term = self.term(key, written)?;
                Ok(Expr::Term(term, at))
            }
        }
    }

    /// The term a word writes.
    fn term(
        &self,
        key: Option<(String, Range<usize>)>,
        value: Written<'_>,
    ) -> Result<Term, QueryError> {
        let Some((key, key_at)) = key else {
            return Ok(Term::Text(value.text.to_owned()));
        };
        if key == "has" {
            return match value.text.strip_prefix("attr.").filter(|k| !k.is_empty()) {
                Some(attribute) if !value.quoted => Ok(Term::HasAttribute(attribute.to_owned())),
                _ => Err(self.error(value.at, "`has:` takes an attribute: has:attr.<key>")),
            };
        }
        if let Some(attribute) = key.strip_prefix("attr.") {
            if attribute.is_empty() {
                return Err(self.error(key_at, "`attr.` names an attribute: attr.<key>:<value>"));
            }
            let c = comparison(self.text, None, &value)?;
            return Ok(Term::Attribute(attribute.to_owned(), c));
        }
        let Some(field) = Field::named(&key) else {
            return Err(self.error(
                key_at,
                format!("`{key}` is not a field: write one of {}", Field::names()),
            ));
        };
        let c = comparison(self.text, Some(&field), &value)?;
        Ok(Term::Field(field, c))
    }
}
