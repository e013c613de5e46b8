//! A crate's module graph, read from its sources: which module refers to which (`use crate::…`,
//! `super::…`, `self::…` and paths written in place), test code left out. Enough of Rust's
//! lexical grammar to see paths — comments, strings, raw strings, char literals and lifetimes
//! told apart — and no more: macro bodies are read as tokens like the rest, and a re-export
//! counts as a reference to the module that re-exports it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path from the crate root (`[]` is the root).
pub(super) type ModulePath = Vec<String>;

/// The modules of a crate and their references to each other.
#[derive(Debug, Default)]
pub(super) struct ModuleGraph {
    /// Each module and the file that holds it.
    pub(super) modules: BTreeMap<ModulePath, PathBuf>,
    /// Each module's references to other modules, with the path written for one of them.
    pub(super) references: BTreeMap<ModulePath, BTreeMap<ModulePath, String>>,
}

/// Sibling modules that refer to each other round a circle: the modules under `parent` whose
/// subtrees reach each other.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Circle {
    /// The module whose children they are.
    pub(super) parent: ModulePath,
    /// The children, sorted.
    pub(super) members: Vec<String>,
    /// Each reference between them: (from, to, a path written for it, in which file).
    pub(super) arrows: Vec<(String, String, String, PathBuf)>,
}

impl ModuleGraph {
    /// Reads every `.rs` file under `src` (a crate's source folder).
    pub(super) fn read(src: &Path) -> ModuleGraph {
        let mut files = Vec::new();
        crate::files(src, ".rs", &mut files);
        let mut graph = ModuleGraph::default();
        for file in &files {
            let Ok(relative) = file.strip_prefix(src) else {
                continue;
            };
            let mut path: ModulePath = relative
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                path.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                path.pop();
            }
            graph.modules.insert(path, file.clone());
        }
        let mut test_only = BTreeSet::new();
        let mut written = BTreeMap::new();
        for (module, file) in &graph.modules {
            let tokens = tokens(&super::read(file));
            let (code, test_modules) = without_test_items(&tokens);
            test_only.extend(test_modules.into_iter().map(|name| {
                let mut child = module.clone();
                child.push(name);
                child
            }));
            written.insert(module.clone(), paths(&code));
        }
        graph
            .modules
            .retain(|m, _| !test_only.iter().any(|t| m.starts_with(t)));
        for (module, paths) in written {
            if !graph.modules.contains_key(&module) {
                continue;
            }
            for path in paths {
                if let Some(target) = graph.resolve(&module, &path)
                    && target != module
                {
                    graph
                        .references
                        .entry(module.clone())
                        .or_default()
                        .entry(target)
                        .or_insert_with(|| path.join("::"));
                }
            }
        }
        graph
    }

    /// The module a path written in `from` names: the longest known module it begins with.
    fn resolve(&self, from: &ModulePath, path: &[String]) -> Option<ModulePath> {
        let mut full: ModulePath = Vec::new();
        let mut rest = path;
        match path.first().map(String::as_str) {
            Some("crate") => rest = &path[1..],
            Some("super" | "self") => {
                full = from.clone();
                // A file's `self` is its own module; its `super`, the module above.
                while let Some(step) = rest.first() {
                    match step.as_str() {
                        "super" => {
                            full.pop()?;
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
            }
            _ => return None,
        }
        full.extend(rest.iter().cloned());
        while !self.modules.contains_key(&full) {
            full.pop()?;
        }
        Some(full)
    }

    /// Every circle among sibling modules, at every level of the tree.
    pub(super) fn circles(&self) -> Vec<Circle> {
        let parents: BTreeSet<ModulePath> = self
            .modules
            .keys()
            .flat_map(|m| (0..m.len()).map(|n| m[..n].to_vec()))
            .collect();
        let mut circles = Vec::new();
        for parent in parents {
            let depth = parent.len();
            let child = |m: &ModulePath| -> Option<String> {
                (m.len() > depth && m.starts_with(&parent)).then(|| m[depth].clone())
            };
            let mut arrows: BTreeMap<String, BTreeMap<String, (String, PathBuf)>> = BTreeMap::new();
            for (from, targets) in &self.references {
                let Some(a) = child(from) else { continue };
                for (to, written) in targets {
                    if let Some(b) = child(to)
                        && a != b
                    {
                        arrows
                            .entry(a.clone())
                            .or_default()
                            .entry(b)
                            .or_insert_with(|| (written.clone(), self.modules[from].clone()));
                    }
                }
            }
            let graph: BTreeMap<&str, Vec<&str>> = arrows
                .iter()
                .map(|(a, to)| (a.as_str(), to.keys().map(String::as_str).collect()))
                .collect();
            for members in strongly_connected(&graph) {
                let inside = |m: &str| members.iter().any(|x| x == m);
                let arrows = arrows
                    .iter()
                    .filter(|(a, _)| inside(a))
                    .flat_map(|(a, to)| {
                        to.iter()
                            .filter(|(b, _)| inside(b))
                            .map(move |(b, (w, f))| (a.clone(), b.clone(), w.clone(), f.clone()))
                    })
                    .collect();
                circles.push(Circle {
                    parent: parent.clone(),
                    members,
                    arrows,
                });
            }
        }
        circles
    }
}

/// The strongly connected components of more than one node (Tarjan's algorithm), each sorted.
fn strongly_connected(graph: &BTreeMap<&str, Vec<&str>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for &w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().rposition(|&x| x == v).unwrap_or(0);
                let mut members: Vec<String> = self.stack.drain(at..).map(str::to_owned).collect();
                if members.len() > 1 {
                    members.sort();
                    self.found.push(members);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for &v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

/// The code's tokens: identifiers (and keywords), `::`, and every other character of
/// punctuation alone; comments, literals and whitespace left out.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&chars, i + 1);
        } else if (c == 'r' || (c == 'b' && at(i + 1) == 'r'))
            && matches!(at(i + 1 + usize::from(c == 'b')), '"' | '#')
            && raw_string_start(&chars, i + 1 + usize::from(c == 'b')).is_some()
        {
            let start = i + 1 + usize::from(c == 'b');
            let hashes = raw_string_start(&chars, start).unwrap_or(0);
            i = start + hashes + 1;
            let closing: Vec<char> = std::iter::once('"')
                .chain((0..hashes).map(|_| '#'))
                .collect();
            while i < chars.len() && !chars[i..].starts_with(&closing) {
                i += 1;
            }
            i += closing.len();
        } else if c == 'b' && at(i + 1) == '"' {
            i = skip_string(&chars, i + 2);
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            // A char literal ('a', '\n', '\u{..}') or a lifetime ('a).
            let q = i + usize::from(c == 'b');
            if at(q + 1) == '\\' {
                i = q + 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(q + 2) == '\'' {
                i = q + 3;
            } else {
                i = q + 1; // a lifetime: its name is read as an identifier next
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && at(i + 1) == ':' {
            out.push("::".to_owned());
            i += 2;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// Past the end of a string whose opening quote is before `i`.
fn skip_string(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// The number of `#` of a raw string that opens at `i` (`r` before it), if one does.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
    (chars.get(i + hashes) == Some(&'"')).then_some(hashes)
}

/// The tokens without the items under `#[cfg(test)]` (or a `cfg` that needs `test`), and the
/// names of the modules so declared in files of their own.
fn without_test_items(tokens: &[String]) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    let mut test_modules = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(end) = attribute_end(tokens, i)
            && is_test_only(&tokens[i..end])
        {
            // Skip further attributes, then the item: to its `;` or its closing brace.
            let mut j = end;
            while let Some(e) = attribute_end(tokens, j) {
                j = e;
            }
            let item = j;
            let mut depth = 0usize;
            while j < tokens.len() {
                match tokens[j].as_str() {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" => depth = depth.saturating_sub(1),
                    "}" => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    ";" if depth == 0 => break,
                    _ => {}
                }
                j += 1;
            }
            let words: Vec<&str> = tokens[item..j.min(tokens.len())]
                .iter()
                .map(String::as_str)
                .filter(|t| !matches!(*t, "pub" | "(" | ")" | "crate" | "super"))
                .collect();
            if let ["mod", name] = words.as_slice()
                && tokens.get(j).map(String::as_str) == Some(";")
            {
                test_modules.push((*name).to_owned());
            }
            i = j + 1;
        } else {
            out.push(tokens[i].clone());
            i += 1;
        }
    }
    (out, test_modules)
}

/// Past the end of the attribute (`#[…]` or `#![…]`) that begins at `i`, if one does.
fn attribute_end(tokens: &[String], i: usize) -> Option<usize> {
    if tokens.get(i).map(String::as_str) != Some("#") {
        return None;
    }
    let mut j = i + 1;
    if tokens.get(j).map(String::as_str) == Some("!") {
        j += 1;
    }
    if tokens.get(j).map(String::as_str) != Some("[") {
        return None;
    }
    let mut depth = 0usize;
    while j < tokens.len() {
        match tokens[j].as_str() {
            "[" => depth += 1,
            "]" => {
                depth -= 1;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// Whether an attribute's tokens make its item test code only: `#[cfg(test)]`, or a `cfg`
/// that needs `test` (`all(test, …)`), not one that excludes it.
fn is_test_only(attribute: &[String]) -> bool {
    let words: Vec<&str> = attribute.iter().map(String::as_str).collect();
    matches!(words.as_slice(), ["#", "[", "cfg", "(", ..])
        && words.contains(&"test")
        && !words.contains(&"not")
        && !words.contains(&"any")
}

/// Every path beginning `crate`, `super` or `self` that the code writes, `use` trees
/// expanded.
fn paths(code: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let t = code[i].as_str();
        if t == "use" {
            let end = code[i..]
                .iter()
                .position(|t| t == ";")
                .map_or(code.len(), |p| i + p);
            use_tree(&code[i + 1..end], &mut Vec::new(), &mut out);
            i = end;
        } else if matches!(t, "crate" | "super" | "self")
            && code.get(i + 1).map(String::as_str) == Some("::")
            && (i == 0 || code[i - 1] != "::")
        {
            let mut path = vec![t.to_owned()];
            let mut j = i + 1;
            while code.get(j).map(String::as_str) == Some("::")
                && let Some(next) = code.get(j + 1).filter(|n| is_identifier(n))
            {
                path.push(next.clone());
                j += 2;
            }
            out.push(path);
            i = j;
        } else {
            i += 1;
        }
    }
    out.retain(|p| {
        matches!(
            p.first().map(String::as_str),
            Some("crate" | "super" | "self")
        )
    });
    out
}

fn is_identifier(token: &str) -> bool {
    token.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Expands a `use` tree (`a::{b, c::d as e, f::*}`) into its paths, each after `prefix`.
fn use_tree(tree: &[String], prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut i = 0;
    let start = prefix.len();
    // `::a` and `$crate` lead nowhere new.
    while i < tree.len() && matches!(tree[i].as_str(), "::" | "$") {
        i += 1;
    }
    while i < tree.len() {
        let t = tree[i].as_str();
        match t {
            "{" => {
                let mut depth = 0usize;
                let mut item_start = i + 1;
                for j in i..tree.len() {
                    match tree[j].as_str() {
                        "{" => depth += 1,
                        "}" | "," if depth == 1 => {
                            use_tree(&tree[item_start..j], prefix, out);
                            item_start = j + 1;
                            if tree[j] == "}" {
                                break;
                            }
                        }
                        "}" => depth -= 1,
                        _ => {}
                    }
                }
                prefix.truncate(start);
                return;
            }
            "as" | "*" => break,
            "::" => {}
            "self" if !prefix.is_empty() => {}
            _ if is_identifier(t) => prefix.push(t.to_owned()),
            _ => break,
        }
        i += 1;
    }
    if !prefix.is_empty() {
        out.push(prefix.clone());
    }
    prefix.truncate(start);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(code: &str) -> Vec<String> {
        tokens(code)
    }

    #[test]
    fn comments_strings_and_chars_are_not_code() {
        let code = r####"a // crate::x
            /* crate::y /* nested */ crate::z */ b "crate::s\"" r#"crate::r"# 'c' '\'' x<'a> br"q" c"####;
        assert_eq!(words(code), ["a", "b", "x", "<", "a", ">", "c"]);
    }

    #[test]
    fn use_trees_expand_into_paths() {
        let code = tokens(
            "use crate::{a::{B, c::D as E}, f::*, self}; use super::g; let x = self::h::i(); use std::io;",
        );
        let got: Vec<String> = paths(&code).iter().map(|p| p.join("::")).collect();
        assert_eq!(
            got,
            [
                "crate::a::B",
                "crate::a::c::D",
                "crate::f",
                "crate",
                "super::g",
                "self::h::i"
            ]
        );
    }

    #[test]
    fn test_items_are_left_out() {
        let code = tokens(
            "use crate::a; #[cfg(test)] mod tests { use crate::b; } #[cfg(test)] mod more; \
             #[cfg(not(test))] use crate::c; #[cfg(all(test, feature = \"x\"))] fn f() { crate::d::e() }",
        );
        let (kept, modules) = without_test_items(&code);
        let got: Vec<String> = paths(&kept).iter().map(|p| p.join("::")).collect();
        assert_eq!(got, ["crate::a", "crate::c"]);
        assert_eq!(modules, ["more"]);
    }

    #[test]
    fn circles_among_siblings_are_found_with_their_arrows() {
        let mut graph = ModuleGraph::default();
        for m in [&[][..], &["a"], &["a", "x"], &["b"], &["c"]] {
            let path: ModulePath = m.iter().map(|s: &&str| (*s).to_owned()).collect();
            graph.modules.insert(path, PathBuf::from(m.join("/")));
        }
        let written = |from: &[&str], to: &str| {
            let from: ModulePath = from.iter().map(|s| (*s).to_owned()).collect();
            let to: Vec<String> = to.split("::").map(str::to_owned).collect();
            (from, to)
        };
        for (from, to) in [
            written(&["a", "x"], "crate::b::T"),
            written(&["b"], "super::a::f"),
            written(&["c"], "crate::a::x"),
            written(&["a", "x"], "super::g"),
        ] {
            let target = graph.resolve(&from, &to).unwrap_or_default();
            graph
                .references
                .entry(from)
                .or_default()
                .insert(target, to.join("::"));
        }
        let circles = graph.circles();
        assert_eq!(circles.len(), 1, "{circles:?}");
        assert_eq!(circles[0].members, ["a", "b"]);
        assert_eq!(circles[0].arrows.len(), 2);
    }
}
