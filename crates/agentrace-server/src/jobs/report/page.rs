//! What the report says, once, for every way it is written: a [`Page`] of sections made of
//! tiles, tables, a chart and lines of text, with every figure already formatted
//! ([`super::text`]). [`super::html`] and [`super::markdown`] only lay it out (and escape the
//! text for their format), so a figure or a column is added in one place.

use super::text::{change, count, day, duration, money, percent, time};
use super::{AlertLine, CostChange, Example, Report};
use crate::jobs::tool_health::Grade;

/// The report, laid out.
pub(super) struct Page {
    /// The title line.
    pub title: String,
    /// The period in words.
    pub period: String,
    /// The sections, in order.
    pub sections: Vec<Section>,
}

/// A section of the page.
pub(super) struct Section {
    /// Its anchor (`slos`, `cost`, …).
    pub id: &'static str,
    /// Its heading; none for the headline figures.
    pub title: Option<&'static str>,
    /// What it holds.
    pub blocks: Vec<Block>,
}

/// One thing a section shows.
pub(super) enum Block {
    /// Headline figures against the period before.
    Tiles(Vec<Tile>),
    /// A subheading.
    Heading(&'static str),
    /// Bars by day (the HTML draws them; Markdown has the table below them).
    Bars {
        /// For screen readers.
        label: &'static str,
        /// Under each bar.
        labels: Vec<String>,
        /// Each bar's value (dollars), with its text.
        values: Vec<Option<(f64, String)>>,
    },
    /// A table.
    Table(Table),
    /// What a section says when it has nothing to show.
    Empty(String),
    /// A remark under it.
    Note(String),
}

/// A headline figure.
pub(super) struct Tile {
    /// What it counts.
    pub label: &'static str,
    /// This period's figure.
    pub value: String,
    /// The period before's, and the change where it means something.
    pub before: String,
    /// What else to know.
    pub note: Option<String>,
}

/// How a figure reads: good, a warning, bad, or plain.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    Good,
    Warn,
    Bad,
    Muted,
}

/// A table: its columns and rows. `key` names the table for a reader of the HTML.
pub(super) struct Table {
    /// `data-…` name and value on the table, if any.
    pub key: Option<(&'static str, String)>,
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<Row>,
}

/// A column: its heading, whether it holds numbers (right-aligned), and whether only the HTML
/// draws it (a sparkline).
pub(super) struct Column {
    pub name: &'static str,
    pub numeric: bool,
    pub html_only: bool,
}

const fn text_column(name: &'static str) -> Column {
    Column {
        name,
        numeric: false,
        html_only: false,
    }
}

const fn number_column(name: &'static str) -> Column {
    Column {
        name,
        numeric: true,
        html_only: false,
    }
}

/// A row: its cells and its `data-…` name and value, if any.
pub(super) struct Row {
    pub key: Option<(&'static str, String)>,
    pub cells: Vec<Cell>,
}

/// A cell: its text, maybe strong after a plain prefix, a muted line under it, a tone, a link,
/// an error line, and a bar or line drawn in the HTML.
#[derive(Default)]
pub(super) struct Cell {
    pub prefix: Option<&'static str>,
    pub text: String,
    pub strong: bool,
    pub sub: Option<String>,
    pub tone: Option<Tone>,
    pub link: Option<String>,
    pub error: Option<String>,
    pub drawing: Option<Drawing>,
}

/// What the HTML draws in a cell.
pub(super) enum Drawing {
    /// The share of a budget left.
    Meter(Option<f64>),
    /// A line over time, labelled for screen readers.
    Spark(String, Vec<Option<f64>>),
}

impl Cell {
    fn of(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    fn toned(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            tone: Some(tone),
            ..Self::of(text)
        }
    }

    fn sub(mut self, sub: impl Into<String>) -> Self {
        self.sub = Some(sub.into()).filter(|s| !s.is_empty());
        self
    }

    /// An agent, model, tool or user, or `(none)`.
    fn name(value: Option<&str>) -> Self {
        match value {
            Some(v) => Self::of(v),
            None => Self::toned("(none)", Tone::Muted),
        }
    }
}

/// The page of `report`; `base`, the dashboard's URL the examples link to.
pub(super) fn page(report: &Report, base: &str) -> Page {
    let hours = report.to_unix_nano.saturating_sub(report.from_unix_nano) / 3_600_000_000_000;
    let length = match (hours / 24, hours % 24) {
        (0, 0) => String::new(),
        (0, h) => format!(" ({h} h)"),
        (1, 0) => " (1 day)".to_owned(),
        (d, 0) => format!(" ({d} days)"),
        (d, h) => format!(" ({d} days {h} h)"),
    };
    let sections = [
        totals(report),
        slos(report),
        cost(report),
        failures(report, base),
        tools(report, base),
        alerts(report),
    ]
    .into_iter()
    .flatten()
    .flatten()
    .collect();
    Page {
        title: format!(
            "agentrace report · {} → {}",
            day(report.from_unix_nano),
            day(report.to_unix_nano)
        ),
        period: format!(
            "{} → {}{length} · against the period before · generated {}",
            time(report.from_unix_nano),
            time(report.to_unix_nano),
            time(report.generated_unix_nano)
        ),
        sections,
    }
}

fn totals(report: &Report) -> Option<Vec<Section>> {
    let t = report.totals.as_ref()?;
    let tile = |label, now: u64, then: u64| Tile {
        label,
        value: count(now),
        before: count(then),
        note: None,
    };
    let tiles = vec![
        tile("Agent runs", t.this.agent_runs, t.previous.agent_runs),
        tile("LLM calls", t.this.llm_calls, t.previous.llm_calls),
        tile("Tool calls", t.this.tool_calls, t.previous.tool_calls),
        tile("Failed spans", t.this.errors, t.previous.errors),
        Tile {
            label: "Cost",
            value: money(t.this.cost),
            before: format!(
                "{} ({})",
                money(t.previous.cost),
                change(t.this.cost, t.previous.cost)
            ),
            note: (t.this.unpriced > 0)
                .then(|| format!("{} unpriced calls not included", count(t.this.unpriced))),
        },
    ];
    Some(vec![Section {
        id: "totals",
        title: None,
        blocks: vec![Block::Tiles(tiles)],
    }])
}

/// The tone of the share of a budget left.
fn budget_tone(left: f64) -> Tone {
    if left <= 0.0 {
        Tone::Bad
    } else if left < 0.25 {
        Tone::Warn
    } else {
        Tone::Good
    }
}

fn slos(report: &Report) -> Option<Vec<Section>> {
    let slos = report.slos.as_ref()?;
    let block = if slos.is_empty() {
        Block::Empty("No SLOs are defined (docs/slos.md).".into())
    } else {
        let rows = slos
            .iter()
            .map(|s| {
                let attained_tone = match s.attainment {
                    Some(a) if a < s.objective => Tone::Bad,
                    Some(_) => Tone::Good,
                    None => Tone::Muted,
                };
                let left = Cell {
                    drawing: Some(Drawing::Meter(s.budget_remaining)),
                    ..Cell::toned(
                        percent(s.budget_remaining),
                        s.budget_remaining.map_or(Tone::Muted, budget_tone),
                    )
                };
                Row {
                    key: Some(("slo", s.name.clone())),
                    cells: vec![
                        Cell {
                            strong: true,
                            ..Cell::of(&s.name)
                        }
                        .sub(s.description.clone().unwrap_or_default()),
                        Cell::of(format!(
                            "{} over {}",
                            percent(Some(s.objective)),
                            agentrace_core::serde_duration::text(s.window)
                        )),
                        Cell::toned(percent(s.attainment), attained_tone).sub(format!(
                            "{} of {}",
                            count(s.counts.good),
                            count(s.counts.total)
                        )),
                        Cell::of(percent(s.budget_spent)),
                        left,
                        Cell {
                            drawing: Some(Drawing::Spark(
                                format!("{}: budget left over the period", s.name),
                                s.burn_down.iter().map(|p| p.budget_remaining).collect(),
                            )),
                            ..Cell::default()
                        },
                    ],
                }
            })
            .collect();
        Block::Table(Table {
            key: None,
            columns: vec![
                text_column("SLO"),
                number_column("Objective"),
                number_column("Attained"),
                number_column("Budget spent in the period"),
                text_column("Budget left at its end"),
                Column {
                    name: "Budget over the period",
                    numeric: false,
                    html_only: true,
                },
            ],
            rows,
        })
    };
    Some(vec![Section {
        id: "slos",
        title: Some("Service level objectives"),
        blocks: vec![block],
    }])
}

fn cost_table(title: &'static str, what: &'static str, rows: &[CostChange]) -> [Block; 2] {
    let table = if rows.is_empty() {
        Block::Empty("No billable calls.".into())
    } else {
        Block::Table(Table {
            key: Some(("cost", what.to_owned())),
            columns: vec![
                text_column(what),
                number_column("Calls"),
                number_column("Cost"),
                number_column("Before"),
                number_column("Change"),
            ],
            rows: rows
                .iter()
                .map(|r| Row {
                    key: None,
                    cells: vec![
                        Cell::name(r.key.as_deref()),
                        Cell::of(count(r.calls)),
                        Cell::of(money(r.cost)),
                        Cell::of(money(r.previous_cost)),
                        Cell::of(change(r.cost, r.previous_cost)),
                    ],
                })
                .collect(),
        })
    };
    [Block::Heading(title), table]
}

fn cost(report: &Report) -> Option<Vec<Section>> {
    let c = report.cost.as_ref()?;
    let mut blocks = Vec::new();
    if c.daily.is_empty() {
        blocks.push(Block::Empty("No billable calls in the period.".into()));
    } else {
        blocks.push(Block::Bars {
            label: "cost by day",
            labels: c
                .daily
                .iter()
                .map(|d| day(d.start_unix_nano)[5..].to_owned())
                .collect(),
            values: c
                .daily
                .iter()
                .map(|d| d.cost.map(|cost| (cost.dollars(), money(Some(cost)))))
                .collect(),
        });
    }
    blocks.extend(cost_table("By agent", "agent", &c.by_agent));
    blocks.extend(cost_table("By model", "model", &c.by_model));
    blocks.extend(cost_table("By user", "user", &c.by_user));
    Some(vec![Section {
        id: "cost",
        title: Some("Cost"),
        blocks,
    }])
}

/// An example's cell: a link to its span, when and how long, and its error.
fn example(e: Option<&Example>, base: &str) -> Cell {
    let Some(e) = e else {
        return Cell::toned("—", Tone::Muted);
    };
    Cell {
        link: Some(format!(
            "{}/traces/{}?span={}",
            base.trim_end_matches('/'),
            e.trace_id,
            e.span_id
        )),
        error: e.error.clone(),
        ..Cell::of(&e.name)
    }
    .sub(format!(
        "{} · {}",
        time(e.start_unix_nano),
        duration(e.duration_ns)
    ))
}

fn failures(report: &Report, base: &str) -> Option<Vec<Section>> {
    let failures = report.failures.as_ref()?;
    let block = if failures.is_empty() {
        Block::Empty("Nothing failed in the period.".into())
    } else {
        Block::Table(Table {
            key: None,
            columns: vec![
                text_column("What"),
                number_column("Failed"),
                number_column("Of"),
                text_column("Latest example"),
            ],
            rows: failures
                .iter()
                .map(|f| Row {
                    key: None,
                    cells: vec![
                        Cell {
                            prefix: Some(match f.kind.as_str() {
                                "agent" => "agent",
                                "llm" => "model",
                                _ => "tool",
                            }),
                            strong: true,
                            ..Cell::of(f.name.as_deref().unwrap_or("(none)"))
                        },
                        Cell::toned(count(f.failures), Tone::Bad),
                        Cell::of(count(f.total)),
                        example(f.example.as_ref(), base),
                    ],
                })
                .collect(),
        })
    };
    Some(vec![Section {
        id: "failures",
        title: Some("Top failures"),
        blocks: vec![block],
    }])
}

/// A tool, with its MCP server under it.
fn tool(tool: Option<&str>, server: Option<&str>) -> Cell {
    Cell::name(tool).sub(server.map(|s| format!("on {s}")).unwrap_or_default())
}

const fn grade_tone(g: Grade) -> Tone {
    match g {
        Grade::Healthy => Tone::Good,
        Grade::Degraded => Tone::Warn,
        Grade::Unhealthy => Tone::Bad,
    }
}

fn tools(report: &Report, base: &str) -> Option<Vec<Section>> {
    let t = report.tools.as_ref()?;
    let slowest = if t.slowest.is_empty() {
        Block::Empty("No tool calls in the period.".into())
    } else {
        Block::Table(Table {
            key: None,
            columns: vec![
                text_column("Tool"),
                number_column("Calls"),
                number_column("p50"),
                number_column("p95"),
                number_column("p99"),
                text_column("A call at the p95 or slower"),
            ],
            rows: t
                .slowest
                .iter()
                .map(|s| Row {
                    key: None,
                    cells: vec![
                        tool(s.tool.as_deref(), s.mcp_server.as_deref()),
                        Cell::of(count(s.calls)),
                        Cell::of(duration(s.duration.p50_ns)),
                        Cell::of(duration(s.duration.p95_ns)),
                        Cell::of(duration(s.duration.p99_ns)),
                        example(s.example.as_ref(), base),
                    ],
                })
                .collect(),
        })
    };
    let changes = if t.health_changes.is_empty() {
        Block::Empty("No tool's health changed.".into())
    } else {
        Block::Table(Table {
            key: None,
            columns: vec![
                text_column("Tool"),
                number_column("Before"),
                number_column("Now"),
                text_column("What stands out"),
            ],
            rows: t
                .health_changes
                .iter()
                .map(|c| Row {
                    key: None,
                    cells: vec![
                        tool(c.tool.as_deref(), c.mcp_server.as_deref()),
                        match (c.before, c.grade_before) {
                            (Some(s), Some(g)) => Cell::toned(s.to_string(), grade_tone(g)),
                            _ => Cell::toned("not called", Tone::Muted),
                        },
                        Cell::toned(c.now.to_string(), grade_tone(c.grade_now)),
                        Cell::of(c.recommendations.join("; ")),
                    ],
                })
                .collect(),
        })
    };
    Some(vec![
        Section {
            id: "tools",
            title: Some("Slowest tools"),
            blocks: vec![slowest],
        },
        Section {
            id: "health",
            title: Some("Tool health changes"),
            blocks: vec![changes],
        },
    ])
}

fn alert_table(lines: &[AlertLine], empty: &str) -> Block {
    if lines.is_empty() {
        return Block::Empty(empty.to_owned());
    }
    Block::Table(Table {
        key: None,
        columns: vec![
            text_column("Alert"),
            number_column("Fired"),
            text_column("Worst"),
            text_column("First"),
            text_column("Latest"),
        ],
        rows: lines
            .iter()
            .map(|l| Row {
                key: None,
                cells: vec![
                    Cell::of(&l.alert),
                    Cell::of(count(l.fired)),
                    Cell::toned(
                        &l.worst,
                        if l.worst == "ALERT" {
                            Tone::Bad
                        } else {
                            Tone::Warn
                        },
                    ),
                    Cell::of(time(l.first_unix_nano)),
                    Cell::of(&l.summary),
                ],
            })
            .collect(),
    })
}

fn alerts(report: &Report) -> Option<Vec<Section>> {
    let a = report.alerts.as_ref()?;
    let mut fired = vec![alert_table(&a.alerts, "No alert fired.")];
    if a.notifications >= super::MAX_NOTIFICATIONS as u64 {
        fired.push(Block::Note(format!(
            "The newest {} notifications were read; older ones in the period are not counted.",
            count(a.notifications)
        )));
    }
    Some(vec![
        Section {
            id: "budgets",
            title: Some("Budget overruns"),
            blocks: vec![alert_table(&a.budgets, "No budget crossed a threshold.")],
        },
        Section {
            id: "alerts",
            title: Some("Alerts fired"),
            blocks: fired,
        },
    ])
}
