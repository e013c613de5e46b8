//! The report as Markdown (GitHub's tables): for a wiki, a pull request or a chat message. The
//! same page as the HTML, laid out as headings and tables (the chart and the sparklines
//! left out: their figures are in the tables). Every text that came from telemetry is escaped.

use std::fmt::Write as _;

use super::Report;
use super::page::{Block, Cell, Page, Table, page};
use super::text::markdown as escape;

/// The document. `base`: the dashboard's URL the example traces link to.
pub fn render(report: &Report, base: &str) -> String {
    let Page {
        period, sections, ..
    } = page(report, base);
    let mut out = format!("# agentrace report\n\n{}.\n", escape(&period));
    for section in sections {
        if let Some(t) = section.title {
            let _ = write!(out, "\n## {t}\n");
        }
        for block in &section.blocks {
            self::block(&mut out, block);
        }
    }
    out
}

fn block(out: &mut String, block: &Block) {
    match block {
        Block::Tiles(tiles) => {
            out.push_str("\n| | this period | the period before |\n|---|---:|---:|\n");
            for t in tiles {
                let note = t
                    .note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {} | {}{} | {} |",
                    t.label,
                    escape(&t.value),
                    escape(&note),
                    escape(&t.before)
                );
            }
        }
        Block::Heading(h) => {
            let _ = write!(out, "\n### {h}\n");
        }
        Block::Bars { .. } => {}
        Block::Table(t) => table(out, t),
        Block::Empty(text) | Block::Note(text) => {
            let _ = write!(out, "\n{}\n", escape(text));
        }
    }
}

fn table(out: &mut String, t: &Table) {
    let shown: Vec<usize> = (0..t.columns.len())
        .filter(|&i| !t.columns[i].html_only)
        .collect();
    out.push('\n');
    for &i in &shown {
        let _ = write!(out, "| {} ", t.columns[i].name);
    }
    out.push_str("|\n");
    for &i in &shown {
        out.push_str(if t.columns[i].numeric {
            "|---:"
        } else {
            "|---"
        });
    }
    out.push_str("|\n");
    for row in &t.rows {
        for &i in &shown {
            let _ = write!(out, "| {} ", row.cells.get(i).map(cell).unwrap_or_default());
        }
        out.push_str("|\n");
    }
}

fn cell(c: &Cell) -> String {
    let mut text = escape(&c.text);
    if c.strong {
        text = format!("**{text}**");
    }
    if let Some(href) = &c.link {
        text = format!("[{text}]({href})");
    }
    if let Some(prefix) = c.prefix {
        text = format!("{prefix} {text}");
    }
    if let Some(sub) = &c.sub {
        let _ = write!(text, " ({})", escape(sub));
    }
    if let Some(error) = &c.error {
        let _ = write!(text, ": {}", escape(error));
    }
    text
}
