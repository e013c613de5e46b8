//! The store traits stay small: a new store writes their required methods, everything else is
//! provided on top of them (docs/writing-a-store.md). A new query is a provided method first;
//! one that must be required says why, and moves the ceiling here.

use crate::{files, root};

/// The most required methods the store traits may have (51 before the interface was cut down).
const MOST_REQUIRED: usize = 25;

/// Each `(trait, method)` of `source` whose method has no body.
pub(super) fn required_methods(source: &str) -> Vec<(String, String)> {
    let mut required = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("pub trait ") {
        let after = &rest[at + "pub trait ".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(open) = after.find('{') else { break };
        let body = &after[open + 1..];
        let mut depth = 1;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '{' => 1,
                    '}' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map_or(body.len(), |(i, _)| i);
        let body = &body[..end];
        for line in body.lines() {
            let Some(signature) = line.strip_prefix("    fn ") else {
                continue;
            };
            let method: String = signature
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let from_here = &body[body.find(line).unwrap_or(0)..];
            let ends_with_semicolon = match (from_here.find(';'), from_here.find('{')) {
                (Some(semi), Some(brace)) => semi < brace,
                (Some(_), None) => true,
                _ => false,
            };
            if ends_with_semicolon {
                required.push((name.clone(), method));
            }
        }
        rest = &after[open + 1 + end..];
    }
    required
}

#[test]
fn the_store_traits_require_few_methods() {
    let mut sources = Vec::new();
    files(
        &root().join("crates/agentrace-store/src"),
        ".rs",
        &mut sources,
    );
    let required: Vec<_> = sources
        .iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "conformance"))
        .flat_map(|f| required_methods(&std::fs::read_to_string(f).unwrap_or_default()))
        // `Store` has no methods of its own; an `Organization` is not a project's store but
        // the registry that hands them out, each of its methods an operation of its own — and
        // so are its people (`Accounts`) and its audit log (`AuditLog`).
        .filter(|(name, _)| {
            !["Store", "Organization", "Accounts", "AuditLog"].contains(&name.as_str())
        })
        .collect();
    assert!(
        required.len() <= MOST_REQUIRED,
        "the store traits require {} methods, at most {MOST_REQUIRED}: make the new one a provided \
         method on top of the others (docs/writing-a-store.md), or say in its docs why only a store \
         can answer it and raise the ceiling in xtask/src/tidy/store_traits.rs: {required:?}",
        required.len()
    );
}

#[test]
fn required_methods_are_those_without_a_body() {
    let source = "pub trait A: B {\n    fn x(&self) -> u8;\n\n    fn y(&self) -> u8 {\n        \
                  self.x()\n    }\n\n    fn z(\n        &self,\n    ) -> Result<(), E>;\n}\n\
                  pub trait C {\n    fn w(&self) {}\n}\n";
    assert_eq!(
        required_methods(source),
        vec![
            ("A".to_owned(), "x".to_owned()),
            ("A".to_owned(), "z".to_owned())
        ]
    );
}
