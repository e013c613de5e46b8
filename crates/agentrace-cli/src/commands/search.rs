//! `agentrace search`: spans (or, with `--traces`, their traces) matching a query of the filter
//! syntax, newest first, with where the words were found. Telemetry text is printed with its
//! control characters escaped; matched words are bracketed (`[[timeout]]`), or bold on a
//! terminal that takes colours.

use std::io::Write;
use std::time::SystemTime;

use agentrace_core::civil::{Precision, rfc3339};
use agentrace_core::search::Query;
use agentrace_store::search::{SearchPage, SearchQuery, Snippet};
use agentrace_store::{Cursor, TraceFilter};

use crate::args::{SearchArgs, StoreArgs};
use crate::error::CliError;
use crate::format::{colours, duration, terminal_text};
use crate::time::range;

pub(crate) fn run(store: &StoreArgs, args: &SearchArgs) -> Result<(), CliError> {
    let query = Query::parse(&args.query).map_err(|e| {
        CliError::Usage(format!(
            "the query cannot be read:\n{}",
            e.pointer(&args.query)
        ))
    })?;
    query.check_in_memory(&args.query).map_err(|e| {
        CliError::Usage(format!(
            "the query cannot be searched:\n{}",
            e.pointer(&args.query)
        ))
    })?;
    let range = range(&args.range, SystemTime::now())?;
    let search = SearchQuery::new(query, range, args.limit.max(1))
        .after(args.cursor.clone().map(Cursor::from));
    let db = super::open(store)?;
    let more = format!("agentrace search {}", shell_quoted(&args.query));
    if args.traces {
        let page = db.search_traces(&search, &TraceFilter::new().range(range))?;
        return super::traces::print_page(&page, args.json, &format!("{more} --traces"));
    }
    let page = db.search(&search)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &page)?;
        writeln!(out)?;
        return Ok(());
    }
    print_hits(&mut out, &page, colours())?;
    if let Some(next) = &page.next_cursor {
        if page.hits.is_empty() {
            writeln!(out, "no match among the {} spans read so far", page.judged)?;
        }
        writeln!(out, "\nmore: {more} --cursor {next}")?;
    } else if page.hits.is_empty() {
        writeln!(out, "no spans match")?;
    }
    Ok(())
}

/// Each hit: its start, duration, kind, name, trace and span, then its snippets indented.
fn print_hits(out: &mut impl Write, page: &SearchPage, bold: bool) -> Result<(), CliError> {
    for hit in &page.hits {
        writeln!(
            out,
            "{}  {:>9}  {:<9} {}{}\n  trace {} span {}",
            rfc3339(hit.start_time_unix_nano, Precision::Millis),
            duration(hit.duration_ns),
            hit.kind.as_str(),
            terminal_text(&hit.name),
            if hit.error { "  (failed)" } else { "" },
            hit.trace_id,
            hit.span_id,
        )?;
        for snippet in &hit.snippets {
            writeln!(
                out,
                "    {}: {}",
                terminal_text(&snippet.field),
                marked(snippet, bold)
            )?;
        }
    }
    Ok(())
}

/// A snippet's text on one line, its matches bracketed or bold.
fn marked(snippet: &Snippet, bold: bool) -> String {
    let (open, close) = if bold {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("[[", "]]")
    };
    snippet
        .parts
        .iter()
        .map(|p| {
            let text = terminal_text(&p.text.replace(['\n', '\r', '\t'], " "));
            if p.matched {
                format!("{open}{text}{close}")
            } else {
                text
            }
        })
        .collect()
}

/// `text` as one shell word.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrace_store::search::SnippetPart;

    #[test]
    fn matches_are_marked_and_control_characters_escaped() {
        let snippet = Snippet {
            field: "status".to_owned(),
            parts: vec![
                SnippetPart {
                    text: "upstream \x1b[31m".to_owned(),
                    matched: false,
                },
                SnippetPart {
                    text: "Timeout".to_owned(),
                    matched: true,
                },
            ],
        };
        assert_eq!(marked(&snippet, false), "upstream \\u{1b}[31m[[Timeout]]");
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
    }
}
