//! Tool health: a score from 0 to 100 per tool, and recommendations in plain words, from the
//! tool's calls over a range against its own baseline (docs/alerts.md, "Tool health").
//!
//! Three parts, each from 0 to 1:
//!
//! - **success** `S`: the success rate, 1 at 100 %, 0 at 50 % or less, linear between;
//! - **latency** `L`: p95 against the tool's baseline p95 (the 7 days before the range), 1 up
//!   to 1.2×, 0 from 3×, linear between; 1 without a baseline (at least
//!   [`MIN_BASELINE_CALLS`] calls);
//! - **trend** `T`: the failure rate of the range's second half minus its first half, 1 when
//!   not rising, 0 from +20 points, linear between; 1 when the range is open or shorter than
//!   two minutes.
//!
//! `score = round(100 × (0.6·S + 0.25·L + 0.15·T))`: **healthy** from 90, **degraded** from
//! 70, **unhealthy** below. The same figures give the recommendations ([`assess`]).
//!
//! One place for the API (`/tools`), the CLI (`agentrace tools`) and the dashboard's Tools
//! page, which all read [`tools_with_health`].

use agentrace_core::now_unix_nano;
use agentrace_store::{AttributeKey, QueryError, Store, TimeRange, ToolStats, ToolsAnswer};
use serde::{Deserialize, Serialize};

/// Baseline calls below which a tool is judged without a baseline.
pub const MIN_BASELINE_CALLS: u64 = 20;

/// The baseline: this long before the range starts.
pub const BASELINE_NS: u64 = 7 * 86_400 * 1_000_000_000;

const MINUTE_NS: u64 = 60_000_000_000;

/// Healthy, degraded, unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Score 90 and above.
    Healthy,
    /// 70 to 89.
    Degraded,
    /// Below 70.
    Unhealthy,
}

/// What a tool usually does: its calls over the 7 days before the range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Usual {
    /// Calls.
    pub calls: u64,
    /// Success rate.
    pub success_rate: f64,
    /// p95 duration.
    pub p95_ns: u64,
}

/// One tool's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolHealth {
    /// 0–100.
    pub score: u8,
    /// From the score.
    pub grade: Grade,
    /// The success part, 0–1.
    pub success: f64,
    /// The latency part, 0–1.
    pub latency: f64,
    /// The trend part, 0–1.
    pub trend: f64,
    /// The baseline, if the tool has one.
    pub baseline: Option<Usual>,
    /// What stands out, in plain words, most important first.
    pub recommendations: Vec<String>,
}

/// A tool's calls and health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolReport {
    /// Calls, failures, durations, errors and trend.
    #[serde(flatten)]
    pub stats: ToolStats,
    /// Health.
    pub health: ToolHealth,
}

/// Tools over a range, with their health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolsHealth {
    /// The range covered, widened to whole minutes.
    pub range: TimeRange,
    /// Tools, most called first.
    pub tools: Vec<ToolReport>,
}

/// Tools over `range` (see [`Analytics::tools`](agentrace_store::Analytics::tools)), each with
/// its health: four reads (the range, its two halves, the baseline), from the rollups; with
/// `split`, each tool once per value of that attribute
/// ([`Analytics::tools_by_attribute`](agentrace_store::Analytics::tools_by_attribute)), each
/// judged against its own baseline.
pub fn tools_with_health(
    store: &dyn Store,
    range: TimeRange,
    top: usize,
    bucket_ns: Option<u64>,
    split: Option<AttributeKey>,
) -> Result<ToolsHealth, QueryError> {
    let tools = |range, top, bucket_ns| -> Result<ToolsAnswer, QueryError> {
        match split {
            Some(key) => store.tools_by_attribute(range, key, top, bucket_ns),
            None => store.tools(range, top, bucket_ns),
        }
    };
    let answer = tools(range, top, bucket_ns)?;
    let start = answer.range.start_unix_nano;
    let end = answer.range.end_unix_nano.unwrap_or_else(now_unix_nano);
    let baseline = match start {
        Some(s) => tools(TimeRange::new(s.saturating_sub(BASELINE_NS), s), 0, None)?.tools,
        None => Vec::new(),
    };
    let halves = match start {
        Some(s) if end.saturating_sub(s) >= 2 * MINUTE_NS => {
            let mid = s + (end - s) / 2 / MINUTE_NS * MINUTE_NS;
            Some((
                tools(TimeRange::new(s, mid), 0, None)?.tools,
                tools(TimeRange::new(mid, end), 0, None)?.tools,
            ))
        }
        _ => None,
    };
    // A tool is its MCP server's and its name: two servers' `search` are two tools (and
    // split, each value of the attribute its own).
    let find = |list: &[ToolStats], tool: &ToolStats| {
        list.iter()
            .find(|t| {
                t.tool == tool.tool
                    && t.mcp_server == tool.mcp_server
                    && t.attribute == tool.attribute
            })
            .cloned()
    };
    let tools = answer
        .tools
        .into_iter()
        .map(|stats| {
            let usual = find(&baseline, &stats);
            let split = halves
                .as_ref()
                .map(|(early, late)| (find(early, &stats), find(late, &stats)));
            let health = assess(&stats, usual.as_ref(), split);
            ToolReport { stats, health }
        })
        .collect();
    Ok(ToolsHealth {
        range: answer.range,
        tools,
    })
}

/// Failed ÷ calls, 0 without calls.
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn failure_rate(t: Option<&ToolStats>) -> Option<f64> {
    t.filter(|t| t.calls > 0)
        .map(|t| t.errors as f64 / t.calls as f64)
}

/// 1 at or below `good`, 0 at or above `bad`, linear between.
fn falling(x: f64, good: f64, bad: f64) -> f64 {
    ((bad - x) / (bad - good)).clamp(0.0, 1.0)
}

/// A tool's health from its calls, its baseline and its calls in each half of the range.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub fn assess(
    stats: &ToolStats,
    baseline: Option<&ToolStats>,
    halves: Option<(Option<ToolStats>, Option<ToolStats>)>,
) -> ToolHealth {
    let mut notes: Vec<String> = Vec::new();
    let success = ((stats.success_rate - 0.5) / 0.5).clamp(0.0, 1.0);
    let usual = baseline
        .filter(|b| b.calls >= MIN_BASELINE_CALLS)
        .map(|b| Usual {
            calls: b.calls,
            success_rate: b.success_rate,
            p95_ns: b.duration.p95_ns,
        });
    let p95 = stats.duration.p95_ns;
    let latency = match usual {
        Some(u) if u.p95_ns > 0 && stats.calls > 0 => {
            falling(p95 as f64 / u.p95_ns as f64, 1.2, 3.0)
        }
        _ => 1.0,
    };
    let (early, late) = halves.map_or((None, None), |(e, l)| {
        (failure_rate(e.as_ref()), failure_rate(l.as_ref()))
    });
    let trend = match (early, late) {
        (Some(e), Some(l)) => falling(l - e, 0.0, 0.2),
        _ => 1.0,
    };

    if let Some(u) = usual
        && stats.calls >= 10
        && stats.success_rate < u.success_rate - 0.05
    {
        notes.push(format!(
            "success rate fell from {} to {} (against the 7 days before)",
            percent(u.success_rate),
            percent(stats.success_rate)
        ));
    }
    if let Some(u) = usual
        && stats.calls >= 10
        && u.p95_ns > 0
        && p95 >= 2 * u.p95_ns
    {
        notes.push(format!(
            "p95 is {:.1}× its usual: {} → {}",
            p95 as f64 / u.p95_ns as f64,
            duration(u.p95_ns),
            duration(p95)
        ));
    }
    if let Some(top) = stats.error_types.first()
        && stats.errors >= 3
        && top.count * 2 >= stats.errors
        && stats.error_types.len() > 1
    {
        let what = top
            .error_type
            .as_deref()
            .unwrap_or("failures without an error.type");
        notes.push(format!(
            "{what} is {} of failures ({} of {})",
            percent(top.count as f64 / stats.errors as f64),
            top.count,
            stats.errors
        ));
    } else if let Some(top) = stats.error_types.first()
        && stats.errors >= 3
    {
        let what = top.error_type.as_deref().unwrap_or("no error.type");
        notes.push(format!(
            "every failure is {what} ({} of {})",
            top.count, stats.errors
        ));
    }
    if let (Some(e), Some(l)) = (early, late)
        && l - e >= 0.1
    {
        notes.push(format!(
            "failures rising: {} in the first half of the range, {} in the second",
            percent(e),
            percent(l)
        ));
    }
    let p50 = stats.duration.p50_ns;
    if stats.calls >= 20 && p50 > 0 && stats.duration.p99_ns >= 10 * p50 {
        notes.push(format!(
            "a few calls are very slow: p99 is {:.0}× the median ({} vs {})",
            stats.duration.p99_ns as f64 / p50 as f64,
            duration(stats.duration.p99_ns),
            duration(p50)
        ));
    }
    if usual.is_none() && stats.calls > 0 {
        notes.push(format!(
            "no baseline yet: fewer than {MIN_BASELINE_CALLS} calls in the 7 days before"
        ));
    }
    let score = (100.0 * (0.6 * success + 0.25 * latency + 0.15 * trend)).round() as u8;
    ToolHealth {
        score,
        grade: match score {
            90.. => Grade::Healthy,
            70..=89 => Grade::Degraded,
            _ => Grade::Unhealthy,
        },
        success,
        latency,
        trend,
        baseline: usual,
        recommendations: notes,
    }
}

fn percent(ratio: f64) -> String {
    format!("{:.1} %", ratio * 100.0)
}

#[allow(clippy::cast_precision_loss)]
fn duration(ns: u64) -> String {
    if ns < 1_000_000_000 {
        format!("{:.0} ms", ns as f64 / 1e6)
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use agentrace_store::{ErrorCount, Percentiles};

    use super::*;

    fn stats(calls: u64, errors: u64, p50_ms: u64, p95_ms: u64, p99_ms: u64) -> ToolStats {
        let ms = 1_000_000;
        serde_json::from_value(serde_json::json!({
            "tool": "fetch_url",
            "calls": calls,
            "errors": errors,
            "success_rate": if calls == 0 { 1.0 } else { 1.0 - errors as f64 / calls as f64 },
            "duration": Percentiles { p50_ns: p50_ms * ms, p95_ns: p95_ms * ms, p99_ns: p99_ms * ms },
            "error_types": [],
            "top_errors": [],
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_steady_tool_is_healthy_and_says_nothing() {
        let now = stats(100, 1, 100, 200, 300);
        let usual = stats(1_000, 10, 100, 200, 300);
        let h = assess(
            &now,
            Some(&usual),
            Some((Some(stats(50, 1, 1, 1, 1)), Some(stats(50, 0, 1, 1, 1)))),
        );
        assert_eq!(h.grade, Grade::Healthy);
        assert_eq!(h.score, 99, "0.6 × 0.98 + 0.25 + 0.15");
        assert!(h.recommendations.is_empty(), "{:?}", h.recommendations);
    }

    #[test]
    fn a_failing_slowing_tool_is_unhealthy_and_says_why() {
        let mut now = stats(100, 20, 100, 1_000, 3_000);
        now.error_types = vec![
            ErrorCount {
                error_type: Some("timeout".into()),
                count: 16,
            },
            ErrorCount {
                error_type: Some("http_500".into()),
                count: 4,
            },
        ];
        let usual = stats(1_000, 10, 100, 400, 500);
        let halves = Some((Some(stats(50, 2, 1, 1, 1)), Some(stats(50, 18, 1, 1, 1))));
        let h = assess(&now, Some(&usual), halves);
        assert_eq!(h.grade, Grade::Unhealthy, "{h:?}");
        // S = (0.8 − 0.5) / 0.5 = 0.6; p95 2.5× → L = (3 − 2.5) / 1.8; trend +32 points → T = 0.
        assert_eq!(
            f64::from(h.score),
            (100.0_f64 * (0.6 * 0.6 + 0.25 * (0.5 / 1.8))).round()
        );
        assert_eq!(
            h.recommendations,
            [
                "success rate fell from 99.0 % to 80.0 % (against the 7 days before)",
                "p95 is 2.5× its usual: 400 ms → 1.00 s",
                "timeout is 80.0 % of failures (16 of 20)",
                "failures rising: 4.0 % in the first half of the range, 36.0 % in the second",
                "a few calls are very slow: p99 is 30× the median (3.00 s vs 100 ms)",
            ]
        );
    }

    #[test]
    fn without_a_baseline_latency_is_not_judged_and_it_is_said() {
        let h = assess(&stats(30, 0, 10, 20, 30), Some(&stats(5, 0, 1, 1, 1)), None);
        assert_eq!((h.latency, h.trend, h.baseline), (1.0, 1.0, None));
        assert_eq!(
            h.recommendations,
            ["no baseline yet: fewer than 20 calls in the 7 days before"]
        );
    }
}
