//! Figures as people read them — the report, in HTML and Markdown alike, and the CLI — and the
//! escaping of telemetry text (attacker-controlled) for each format.

use agentrace_core::Usd;
use agentrace_core::civil::{Precision, rfc3339};

/// `$1,234.57` from a cent up; below, every digit that is not zero (`$0.000042`); `unpriced`
/// when nothing was priced — never `$0` for an unknown cost.
pub fn money(cost: Option<Usd>) -> String {
    let Some(cost) = cost else {
        return "unpriced".into();
    };
    let cents = cost.nanos() / 10_000_000;
    if cents == 0 && cost.nanos() != 0 {
        return cost.to_string();
    }
    let rounded = (cost.nanos() + 5_000_000 * cost.nanos().signum()) / 10_000_000;
    let sign = if rounded < 0 { "-" } else { "" };
    let abs = rounded.unsigned_abs();
    format!("{sign}${}.{:02}", grouped(abs / 100), abs % 100)
}

/// `12,345`.
pub fn count(n: u64) -> String {
    grouped(n)
}

fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `97.25 %` (two decimals); `—` for none.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "—".into(), |s| format!("{:.2} %", s * 100.0))
}

/// The change from `before` to `now`: `+12.5 %`, `−3.0 %`, `new` (nothing before), `—`.
pub fn change(now: Option<Usd>, before: Option<Usd>) -> String {
    match (now, before) {
        (Some(n), Some(b)) if b.nanos() != 0 => {
            #[allow(clippy::cast_precision_loss)] // dollars far below 2^52 nano-dollars
            let ratio = (n.nanos() - b.nanos()) as f64 / b.nanos().abs() as f64;
            let sign = if ratio < 0.0 { "−" } else { "+" };
            format!("{sign}{:.1} %", ratio.abs() * 100.0)
        }
        (Some(n), None) if n.nanos() != 0 => "new".into(),
        _ => "—".into(),
    }
}

/// `1.24 s`, `350 ms`, `2.5 min`.
#[allow(clippy::cast_precision_loss)] // durations far below 2^52 ns
pub fn duration(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if s >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.0} ms", s * 1e3)
    }
}

/// `2026-11-26 09:00 UTC`.
pub fn time(unix_nano: u64) -> String {
    let text = rfc3339(unix_nano, Precision::Seconds);
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// `2026-11-26`.
pub fn day(unix_nano: u64) -> String {
    rfc3339(unix_nano, Precision::Seconds)[..10].to_owned()
}

/// Text for HTML, as element content or a quoted attribute.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text for a Markdown table cell or line: what Markdown or an HTML renderer of it would read
/// as markup is escaped, line breaks become spaces.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_cents_from_a_cent_up_and_every_digit_below() {
        assert_eq!(money(Some(Usd::from_dollars(1234.567))), "$1,234.57");
        assert_eq!(money(Some(Usd::from_dollars(0.015))), "$0.02");
        assert_eq!(money(Some(Usd::from_dollars(0.000_042))), "$0.000042");
        assert_eq!(money(Some(Usd::ZERO)), "$0.00");
        assert_eq!(money(None), "unpriced");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
    }

    #[test]
    fn changes_and_durations_read_as_people_write_them() {
        let d = Usd::from_dollars;
        assert_eq!(change(Some(d(1.25)), Some(d(1.0))), "+25.0 %");
        assert_eq!(change(Some(d(0.5)), Some(d(2.0))), "−75.0 %");
        assert_eq!(change(Some(d(0.5)), None), "new");
        assert_eq!(change(None, Some(d(0.5))), "—");
        assert_eq!(duration(350_000_000), "350 ms");
        assert_eq!(duration(1_240_000_000), "1.24 s");
        assert_eq!(duration(150_000_000_000), "2.5 min");
        assert_eq!(percent(Some(0.9725)), "97.25 %");
    }

    #[test]
    fn telemetry_text_is_escaped_for_html_and_markdown() {
        assert_eq!(
            html(r#"<img src=x onerror="alert('1')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        );
        assert_eq!(
            markdown("a|b *c* [l](javascript:x) <b>\nnext"),
            r"a\|b \*c\* \[l\](javascript:x) &lt;b&gt; next"
        );
    }
}
