//! Human formatting: durations, token counts, money, aligned tables.

use std::fmt::Write as _;

use agentrace_core::Usd;

/// `850 ns`, `12.3 µs`, `45.6 ms`, `1.23 s`, `2m 03s`.
pub(crate) fn duration(ns: u64) -> String {
    let f = ns as f64;
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..1_000_000 => format!("{:.1} µs", f / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} ms", f / 1e6),
        1_000_000_000..60_000_000_000 => format!("{:.2} s", f / 1e9),
        _ => {
            let secs = ns / 1_000_000_000;
            format!("{}m {:02}s", secs / 60, secs % 60)
        }
    }
}

/// `1,234,567`.
pub(crate) use agentrace_server::jobs::report::text::count;

/// `$0.012345`, or `unpriced` when no price is known (never a made-up zero).
pub(crate) fn cost(cost: Option<Usd>) -> String {
    cost.map_or_else(|| "unpriced".to_owned(), |c| c.to_string())
}

/// `text` safe to print on a terminal: control characters (escape sequences that would move
/// the cursor, retitle the window or hide what follows) are shown escaped (`\u{1b}`).
/// Telemetry is written by whoever sends it.
pub(crate) fn terminal_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether standard output is a terminal that takes colours (`NO_COLOR` unset).
pub(crate) fn colours() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && agentrace_core::env::process("NO_COLOR").is_none()
}

/// Label → value lines, the values aligned.
#[derive(Debug, Default)]
pub(crate) struct Facts(Vec<(String, String)>);

impl Facts {
    pub(crate) fn add(&mut self, label: &str, value: String) {
        self.0.push((label.to_owned(), value));
    }

    pub(crate) fn render(&self) -> String {
        let width = self
            .0
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (label, value) in &self.0 {
            let _ = writeln!(out, "{label:<width$}  {value}");
        }
        out
    }
}

/// A table with a header row; the first column is left-aligned, the others right-aligned.
#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.len() <= 1
    }

    pub(crate) fn render(&self, indent: &str) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            out.push_str(indent);
            for (c, cell) in row.iter().enumerate() {
                let width = widths.get(c).copied().unwrap_or(0);
                let _ = if c == 0 {
                    write!(out, "{cell:<width$}")
                } else {
                    write!(out, "  {cell:>width$}")
                };
            }
            while out.ends_with(' ') {
                out.pop();
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(850), "850 ns");
        assert_eq!(duration(12_345), "12.3 µs");
        assert_eq!(duration(45_600_000), "45.6 ms");
        assert_eq!(duration(1_234_000_000), "1.23 s");
        assert_eq!(duration(123_000_000_000), "2m 03s");
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(100), "100");
        assert_eq!(cost(None), "unpriced");
        assert_eq!(cost(Some(Usd::from_nanos(12_345_000))), "$0.012345");
        let mut t = Table::new(&["model", "calls"]);
        t.row(vec!["gpt-4o".into(), "12".into()]);
        assert_eq!(t.render(""), "model   calls\ngpt-4o     12\n");
    }
}
