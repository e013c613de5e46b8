//! The report as one self-contained HTML page: its style inline, its charts SVG, no script and
//! nothing fetched, so that it opens from a file or a mail attachment. Every text that came
//! from telemetry is escaped.

use std::fmt::Write as _;

use super::page::{Block, Cell, Drawing, Page, Table, Tone, page};
use super::text::html as escape;
use super::{Report, svg};

const STYLE: &str = r"
:root { color-scheme: light; --ink: #1f2430; --muted: #667085; --line: #e4e7ec; --good: #039855; --warn: #b54708; --bad: #d92d20; --bar: #7a5af8; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: var(--ink); margin: 0 auto; max-width: 980px; padding: 32px 24px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
p.period, .muted { color: var(--muted); }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin-top: 18px; }
.tile { border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; }
.tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .detail { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; white-space: nowrap; }
.good { color: var(--good); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.meter { display: inline-block; width: 90px; height: 8px; border-radius: 4px; background: var(--line); vertical-align: middle; margin-right: 6px; overflow: hidden; }
.meter > span { display: block; height: 100%; background: var(--good); }
.meter.warn > span { background: #f79009; } .meter.bad > span { background: var(--bad); }
svg.chart { width: 100%; height: auto; }
svg .bar { fill: var(--bar); } svg .axis { stroke: var(--line); } svg .tick { fill: var(--muted); font-size: 11px; }
svg.spark { width: 160px; height: 36px; } svg .line { fill: none; stroke: var(--good); stroke-width: 1.5; } svg .zero { stroke: var(--line); stroke-dasharray: 3 3; }
th .muted { font-weight: 400; }
td.when { white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
";

/// The page. `base`: the dashboard's URL the example traces link to (`""`: links relative
/// to wherever the page is served from).
pub fn render(report: &Report, base: &str) -> String {
    let Page {
        title,
        period,
        sections,
    } = page(report, base);
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>agentrace report</h1>\n<p class=\"period\">{}</p>\n</header>\n",
        escape(&title),
        escape(&period),
    );
    for section in sections {
        let _ = write!(out, "<section id=\"{}\">", section.id);
        if let Some(t) = section.title {
            let _ = write!(out, "<h2>{}</h2>", escape(t));
        }
        for block in &section.blocks {
            self::block(&mut out, block);
        }
        out.push_str("</section>\n");
    }
    out.push_str("<footer>Written by agentrace from its rollups and alert history; figures equal the API's (<code>GET /api/v1/report</code>) for the same period.</footer>\n</body>\n</html>\n");
    out
}

fn block(out: &mut String, block: &Block) {
    match block {
        Block::Tiles(tiles) => {
            out.push_str("<div class=\"tiles\">");
            for t in tiles {
                let note = t
                    .note
                    .as_ref()
                    .map(|n| format!(", {n}"))
                    .unwrap_or_default();
                let _ = write!(
                    out,
                    "<div class=\"tile\"><div class=\"label\">{label}</div><div class=\"value\" data-figure=\"{label}\">{}</div><div class=\"detail\">{} the period before{}</div></div>",
                    escape(&t.value),
                    escape(&t.before),
                    escape(&note),
                    label = escape(t.label),
                );
            }
            out.push_str("</div>");
        }
        Block::Heading(h) => {
            let _ = write!(out, "<h3>{}</h3>", escape(h));
        }
        Block::Bars {
            label,
            labels,
            values,
        } => {
            let heights: Vec<Option<f64>> =
                values.iter().map(|v| v.as_ref().map(|(x, _)| *x)).collect();
            let texts: Vec<String> = values
                .iter()
                .map(|v| v.as_ref().map(|(_, t)| t.clone()).unwrap_or_default())
                .collect();
            out.push_str(&svg::bars(label, labels, &heights, &texts));
        }
        Block::Table(t) => table(out, t),
        Block::Empty(text) => {
            let _ = write!(out, "<p class=\"empty\">{}</p>", escape(text));
        }
        Block::Note(text) => {
            let _ = write!(out, "<p class=\"muted\">{}</p>", escape(text));
        }
    }
}

const fn class(tone: Tone) -> &'static str {
    match tone {
        Tone::Good => "good",
        Tone::Warn => "warn",
        Tone::Bad => "bad",
        Tone::Muted => "muted",
    }
}

fn data(key: Option<&(&'static str, String)>) -> String {
    key.map(|(name, value)| format!(" data-{name}=\"{}\"", escape(value)))
        .unwrap_or_default()
}

fn table(out: &mut String, t: &Table) {
    let _ = write!(out, "<table{}><thead><tr>", data(t.key.as_ref()));
    for c in &t.columns {
        let num = if c.numeric { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th{num}>{}</th>", escape(c.name));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        let _ = write!(out, "<tr{}>", data(row.key.as_ref()));
        for (i, cell) in row.cells.iter().enumerate() {
            let numeric = t.columns.get(i).is_some_and(|c| c.numeric);
            self::cell(out, cell, numeric);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn cell(out: &mut String, c: &Cell, numeric: bool) {
    let classes: Vec<&str> = [numeric.then_some("num"), c.tone.map(class)]
        .into_iter()
        .flatten()
        .collect();
    if classes.is_empty() {
        out.push_str("<td>");
    } else {
        let _ = write!(out, "<td class=\"{}\">", classes.join(" "));
    }
    match &c.drawing {
        Some(Drawing::Meter(Some(left))) => {
            let _ = write!(
                out,
                "<span class=\"meter {}\"><span style=\"width:{:.0}%\"></span></span>",
                class(c.tone.unwrap_or(Tone::Good)),
                left.clamp(0.0, 1.0) * 100.0
            );
        }
        Some(Drawing::Spark(label, values)) => out.push_str(&svg::sparkline(label, values)),
        Some(Drawing::Meter(None)) | None => {}
    }
    if let Some(prefix) = c.prefix {
        let _ = write!(out, "{} ", escape(prefix));
    }
    let text = escape(&c.text);
    let text = if c.strong {
        format!("<strong>{text}</strong>")
    } else {
        text
    };
    match &c.link {
        Some(href) => {
            let _ = write!(out, "<a href=\"{}\">{text}</a>", escape(href));
        }
        None => out.push_str(&text),
    }
    if let Some(sub) = &c.sub {
        let _ = write!(out, "<div class=\"muted\">{}</div>", escape(sub));
    }
    if let Some(error) = &c.error {
        let _ = write!(out, "<div class=\"bad\">{}</div>", escape(error));
    }
    out.push_str("</td>");
}
