//! Prometheus metric names: the unit suffix of a measurement name.
//!
//! The exporter is built `without_units()`, and the sink names each instrument itself (through
//! [`MetricsBridge::with_instrument_names`](agentrace_otel::metrics::MetricsBridge::with_instrument_names)),
//! following the OpenTelemetry → Prometheus compatibility rules: abbreviations become words
//! (`s` → `seconds`, `By` → `bytes`), `1` becomes `ratio`, `a/b` becomes `a_per_b`, annotations
//! in braces (`{token}`) are dropped, other units are kept in lower case (`USD` → `usd`, as
//! Prometheus names units), and nothing is appended when the name already ends with the unit. `opentelemetry-prometheus` 0.33 would drop
//! `USD` and append `_ratio` to `spend_ratio` again, hence this module.

use agentrace_core::metrics::prometheus_slug;

/// The SDK instrument name for a measurement `name` and `unit`: the name with the unit's
/// Prometheus suffix, or `None` to keep the name.
pub(crate) fn instrument_name(name: &str, unit: Option<&str>) -> Option<String> {
    let suffix = unit_suffix(unit?)?;
    // Compare as Prometheus will see it: separators as `_`, case-insensitively.
    let seen = prometheus_slug(name);
    let suffix_seen = suffix.to_ascii_lowercase();
    let already = seen == suffix_seen || seen.ends_with(&format!("_{suffix_seen}"));
    (!already).then(|| format!("{name}_{suffix}"))
}

/// The Prometheus suffix of a UCUM unit; `None` for no unit or annotations only.
pub(crate) fn unit_suffix(unit: &str) -> Option<String> {
    let unit = drop_annotations(unit);
    let unit = unit.trim();
    if unit.is_empty() {
        return None;
    }
    let suffix = match unit.split_once('/') {
        Some((per, of)) => {
            let of = per_word(of).map_or_else(|| of.to_owned(), str::to_owned);
            match per {
                "" | "1" => format!("per_{of}"),
                per => format!("{}_per_{of}", word(per).unwrap_or(per)),
            }
        }
        None => word(unit).unwrap_or(unit).to_owned(),
    };
    let suffix = prometheus_slug(&suffix);
    let suffix = suffix.trim_matches('_');
    (!suffix.is_empty()).then(|| suffix.to_owned())
}

/// The unit without its `{…}` annotations.
fn drop_annotations(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "ratio",
        "%" => "percent",
        _ => return None,
    })
}

fn per_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_become_prometheus_suffixes() {
        for (unit, want) in [
            ("s", Some("seconds")),
            ("ms", Some("milliseconds")),
            ("By", Some("bytes")),
            ("1", Some("ratio")),
            ("%", Some("percent")),
            ("USD", Some("usd")),
            ("{token}", None),
            ("{record}", None),
            ("", None),
            ("By{compressed}", Some("bytes")),
            ("m/s", Some("meters_per_second")),
            ("1/s", Some("per_second")),
            ("{request}/s", Some("per_second")),
            ("km/h", Some("km_per_hour")),
            ("kg.m", Some("kg_m")),
        ] {
            assert_eq!(unit_suffix(unit).as_deref(), want, "unit {unit:?}");
        }
    }

    #[test]
    fn names_get_the_suffix_once() {
        for (name, unit, want) in [
            (
                "gen_ai.client.operation.duration",
                Some("s"),
                Some("gen_ai.client.operation.duration_seconds"),
            ),
            ("agentrace.cost", Some("USD"), Some("agentrace.cost_usd")),
            ("agentrace.budget.spend_ratio", Some("1"), None),
            ("request.duration.seconds", Some("s"), None),
            ("cost_usd", Some("USD"), None),
            ("gen_ai.client.token.usage", Some("{token}"), None),
            ("jobs", None, None),
            ("thrust", Some("1"), Some("thrust_ratio")),
        ] {
            assert_eq!(
                instrument_name(name, unit).as_deref(),
                want,
                "{name} in {unit:?}"
            );
        }
    }
}
