//! A [`Scope`] written in the filter syntax (`agentrace_core::search`): the part of it that
//! rollups answer — `field:value` terms of the scope's fields, all of them required — and a
//! clear error, pointing at the token, for the rest.

use std::fmt;
use std::ops::Range;

use agentrace_core::search::{Comparison, Expr, Field, Query, QueryError, Term, Value};
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use super::Scope;

/// The fields a scope takes, as the filter syntax names them.
const SCOPE_FIELDS: &str =
    "service, model, provider, agent, tool, user, framework, mcp_server, kind";

impl Scope {
    /// Reads a scope written in the filter syntax (docs/search.md): `field:value` terms of
    /// the scope's fields, joined by spaces (each required); the empty text is every span.
    /// Values are compared as the rollups keep them: exactly.
    ///
    /// ```
    /// use agentrace_alerts::Scope;
    /// let scope = Scope::parse("agent:support kind:tool").expect("a scope");
    /// assert_eq!(scope.pairs(), [("agent", "support"), ("kind", "tool")]);
    /// let e = Scope::parse("agent:support timeout").expect_err("no words");
    /// assert_eq!(e.token, "timeout");
    /// ```
    ///
    /// # Errors
    /// What the syntax cannot read, and what rollups cannot answer: words, OR, NOT, a prefix
    /// or a comparison, a field a scope lacks, one field given two values. The error's
    /// `pointer` draws the offending token.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let query = Query::parse(text)?;
        let terms = match &query.expr {
            Expr::All => return Ok(Self::default()),
            Expr::And(all) => all.as_slice(),
            one => std::slice::from_ref(one),
        };
        let mut scope = Self::default();
        for expr in terms {
            let (field, value, at) = scope_term(text, expr)?;
            let slot = scope.slot(&field).ok_or_else(|| {
                QueryError::new(
                    text,
                    at.clone(),
                    format!(
                        "a scope takes the fields rollups keep ({SCOPE_FIELDS}), not `{}`",
                        field.name()
                    ),
                )
            })?;
            match slot {
                Some(earlier) if *earlier != value => {
                    return Err(QueryError::new(
                        text,
                        at,
                        format!("`{}` is `{earlier}` already: no span has two", field.name()),
                    ));
                }
                _ => *slot = Some(value),
            }
        }
        Ok(scope)
    }

    /// The field of the scope a query's field names.
    fn slot(&mut self, field: &Field) -> Option<&mut Option<String>> {
        Some(match field {
            Field::Service => &mut self.service,
            Field::Model => &mut self.model,
            Field::Provider => &mut self.provider,
            Field::Agent => &mut self.agent,
            Field::Tool => &mut self.tool,
            Field::User => &mut self.user,
            Field::Framework => &mut self.framework,
            Field::McpServer => &mut self.mcp_server,
            Field::Kind => &mut self.kind,
            _ => return None,
        })
    }
}

/// The field, value and place of a term a scope can take; the error says why another cannot.
fn scope_term(text: &str, expr: &Expr) -> Result<(Field, String, Range<usize>), QueryError> {
    let refuse = |at: Range<usize>, why: &str| Err(QueryError::new(text, at, why));
    match expr {
        Expr::Term(Term::Field(field, Comparison::Eq(Value::Text(value))), at) => {
            Ok((field.clone(), value.clone(), at.clone()))
        }
        Expr::Term(Term::Field(..), at) => refuse(
            at.clone(),
            "a scope compares a field with one value: no prefix nor comparison",
        ),
        Expr::Term(Term::Text(_), at) => refuse(
            at.clone(),
            "a scope is measured over rollups, which keep no text: write `field:value` terms",
        ),
        Expr::Term(Term::Attribute(..) | Term::HasAttribute(_), at) => refuse(
            at.clone(),
            "a scope is measured over rollups, which keep no attributes: write `field:value` terms",
        ),
        Expr::Not(inner) => refuse(
            first_at(inner),
            "a scope keeps the spans every term matches: no NOT",
        ),
        Expr::Or(_) | Expr::And(_) | Expr::All => refuse(
            first_at(expr),
            "a scope keeps the spans every term matches: no OR nor parentheses",
        ),
    }
}

/// Where the first term of `expr` was written.
fn first_at(expr: &Expr) -> Range<usize> {
    match expr {
        Expr::Term(_, at) => at.clone(),
        Expr::Not(inner) => first_at(inner),
        Expr::And(all) | Expr::Or(all) => all.first().map_or(0..0, first_at),
        Expr::All => 0..0,
    }
}

/// A scope as a table, every field optional, none other.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScopeTable {
    service: Option<String>,
    model: Option<String>,
    provider: Option<String>,
    agent: Option<String>,
    tool: Option<String>,
    user: Option<String>,
    framework: Option<String>,
    mcp_server: Option<String>,
    kind: Option<String>,
}

/// Reads a scope from a table or from a query.
pub(super) struct ScopeVisitor;

impl<'de> Visitor<'de> for ScopeVisitor {
    type Value = Scope;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a table of {SCOPE_FIELDS}, or a query of `field:value` terms (\"agent:support kind:tool\")"
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Scope, E> {
        Scope::parse(text).map_err(|e| E::custom(format!("scope: {}", e.pointer(text))))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scope, A::Error> {
        let t = ScopeTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Scope {
            service: t.service,
            model: t.model,
            provider: t.provider,
            agent: t.agent,
            tool: t.tool,
            user: t.user,
            framework: t.framework,
            mcp_server: t.mcp_server,
            kind: t.kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_of_field_terms_is_the_scope_a_table_writes() {
        let table: Scope = toml::from_str(
            "service = \"helpdesk\"\nagent = \"support\"\nkind = \"tool\"\nmcp_server = \"files\"",
        )
        .expect("a table");
        let query = Scope::parse("service:helpdesk agent:support kind:tool mcp_server:files")
            .expect("a query");
        assert_eq!(query, table);
        assert_eq!(
            Scope::parse("agent:\"customer support\"")
                .expect("quoted")
                .agent
                .as_deref(),
            Some("customer support")
        );
        assert_eq!(Scope::parse("").expect("empty"), Scope::default());
        assert_eq!(
            Scope::parse("agent:a agent:a")
                .expect("the same twice")
                .agent
                .as_deref(),
            Some("a")
        );
    }

    #[test]
    fn what_rollups_cannot_answer_is_refused_at_its_token() {
        for (text, token, says) in [
            ("agent:a timeout", "timeout", "keep no text"),
            (
                "agent:a attr.customer:acme",
                "attr.customer:acme",
                "no attributes",
            ),
            ("has:attr.customer", "has:attr.customer", "no attributes"),
            ("agent:a -tool:search", "tool:search", "no NOT"),
            ("agent:a OR agent:b", "agent:a", "no OR"),
            ("model:gpt-4o*", "model:gpt-4o*", "no prefix"),
            ("cost:>0.05", "cost:>0.05", "no prefix nor comparison"),
            ("status:error", "status:error", "not `status`"),
            ("session:s-1", "session:s-1", "not `session`"),
            ("agent:a agent:b", "agent:b", "`agent` is `a` already"),
            ("kind:lm", "lm", "is not a kind"),
        ] {
            let e = Scope::parse(text).expect_err(text);
            assert_eq!(e.token, token, "{text}: {e}");
            assert!(e.message.contains(says), "{text}: {}", e.message);
        }
    }

    #[test]
    fn a_rule_file_takes_either_and_points_at_what_is_wrong() {
        #[derive(Debug, Deserialize)]
        struct Rule {
            scope: Scope,
        }
        let text: Rule = toml::from_str("scope = \"agent:support kind:tool\"").expect("text");
        let table: Rule =
            toml::from_str("scope = { agent = \"support\", kind = \"tool\" }").expect("table");
        assert_eq!(text.scope, table.scope);
        let e = toml::from_str::<Rule>("scope = \"agent:support timeout\"").expect_err("words");
        let message = e.to_string();
        assert!(
            message.contains("agent:support timeout\n              ^^^^^^^"),
            "{message}"
        );
        let e = toml::from_str::<Rule>("scope = { agnet = \"x\" }").expect_err("a typo");
        assert!(e.to_string().contains("unknown field `agnet`"), "{e}");
        let json: Rule =
            serde_json::from_str(r#"{"scope": "agent:support"}"#).expect("JSON takes it too");
        assert_eq!(json.scope.agent.as_deref(), Some("support"));
    }
}
