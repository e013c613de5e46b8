//! Query parameters: each endpoint takes the ones it knows, by name, with errors naming the
//! parameter; whatever is left is an unknown parameter, refused.

use std::fmt::Display;
use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};

use agentrace_core::{now_unix_nano, search};
use agentrace_store::{Cursor, Order, StatusFilter, TimeRange};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use crate::http::api_base::ApiError;
use crate::http::scope::PROJECT_PARAMETER;

/// The query string of a request, consumed parameter by parameter.
#[derive(Debug)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
    known: Vec<&'static str>,
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Query(pairs) =
            Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(|e| {
                ApiError::BadRequest(format!("malformed query string: {}", e.body_text()))
            })?;
        // `project` chose the request's project before the handler ran
        // (`crate::http::auth`): no endpoint's parameter.
        let pairs = pairs
            .into_iter()
            .filter(|(name, _)| name != PROJECT_PARAMETER)
            .collect();
        Ok(Self {
            pairs,
            known: Vec::new(),
        })
    }
}

const TIME_FORMS: &str = "expected an RFC 3339 time (2026-11-21T08:00:00Z, \
     2026-11-21T09:00:00.5+01:00), a date (2026-11-21), Unix nanoseconds, `now`, or a time \
     before now (-15m, -24h, -7d)";

/// `text` as Unix nanoseconds: RFC 3339 (any offset), a date, nanoseconds, `now`, `-<duration>`.
pub(crate) fn parse_time(text: &str, now: u64) -> Option<u64> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    if text == "now" {
        return Some(now);
    }
    if let Some(ago) = text.strip_prefix('-') {
        let ago = humantime::parse_duration(ago).ok()?;
        return Some(now.saturating_sub(u64::try_from(ago.as_nanos()).unwrap_or(u64::MAX)));
    }
    let (local, offset_secs) = split_offset(text)?;
    let full = if local.len() == 10 {
        format!("{local}T00:00:00Z")
    } else {
        format!("{local}Z")
    };
    let utc = humantime::parse_rfc3339_weak(&full).ok()?;
    let nanos = u64::try_from(utc.duration_since(UNIX_EPOCH).ok()?.as_nanos()).ok()?;
    let shift = offset_secs.unsigned_abs() * 1_000_000_000;
    if offset_secs >= 0 {
        nanos.checked_sub(shift)
    } else {
        nanos.checked_add(shift)
    }
}

/// Splits an RFC 3339 time into its local part and its offset from UTC in seconds (`Z`, a
/// bare date or no offset: 0).
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(local) = text.strip_suffix(['Z', 'z']) {
        return Some((local, 0));
    }
    let b = text.as_bytes();
    if b.len() > 19 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':' {
        let (local, offset) = text.split_at(text.len() - 6);
        let hours: i64 = offset.get(1..3)?.parse().ok()?;
        let minutes: i64 = offset.get(4..6)?.parse().ok()?;
        if hours > 23 || minutes > 59 {
            return None;
        }
        let secs = hours * 3_600 + minutes * 60;
        return Some((local, if offset.starts_with('-') { -secs } else { secs }));
    }
    Some((text, 0))
}

impl Params {
    /// The value of `name`, taken out of the query; refused if given twice or if it holds a
    /// control character (SQLite would end a text at a NUL, turning a filter into none).
    fn take(&mut self, name: &'static str) -> Result<Option<String>, ApiError> {
        self.known.push(name);
        let mut found = None;
        let mut i = 0;
        while i < self.pairs.len() {
            if self.pairs[i].0 == name {
                let (_, value) = self.pairs.remove(i);
                if value.chars().any(char::is_control) {
                    return Err(ApiError::bad(name, "must not contain control characters"));
                }
                if found.replace(value).is_some() {
                    return Err(ApiError::bad(name, "given more than once"));
                }
            } else {
                i += 1;
            }
        }
        Ok(found)
    }

    /// A non-empty text value.
    pub(crate) fn text(&mut self, name: &'static str) -> Result<Option<String>, ApiError> {
        match self.take(name)? {
            Some(v) if v.is_empty() => Err(ApiError::bad(name, "must not be empty")),
            v => Ok(v),
        }
    }

    /// A value parsed with `FromStr` (its error message is the parameter's).
    pub(crate) fn parsed<T>(&mut self, name: &'static str) -> Result<Option<T>, ApiError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.text(name)?
            .map(|v| v.parse().map_err(|e| ApiError::bad(name, e)))
            .transpose()
    }

    /// A finite number.
    pub(crate) fn finite(&mut self, name: &'static str) -> Result<Option<f64>, ApiError> {
        match self.parsed::<f64>(name)? {
            Some(v) if !v.is_finite() => Err(ApiError::bad(name, "must be a finite number")),
            v => Ok(v),
        }
    }

    /// A time (see [`parse_time`]).
    pub(crate) fn time(&mut self, name: &'static str, now: u64) -> Result<Option<u64>, ApiError> {
        self.text(name)?
            .map(|v| {
                parse_time(&v, now)
                    .ok_or_else(|| ApiError::bad(name, format!("{v:?}: {TIME_FORMS}")))
            })
            .transpose()
    }

    /// `from` and `to`: the range `[from, to)`, open where missing.
    pub(crate) fn range(&mut self) -> Result<TimeRange, ApiError> {
        let now = now_unix_nano();
        let from = self.time("from", now)?;
        let to = self.time("to", now)?;
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(ApiError::bad("to", "must be after `from`"));
        }
        Ok(TimeRange {
            start_unix_nano: from,
            end_unix_nano: to,
        })
    }

    /// A duration such as `250ms`, `1.5s`, `15m`, `1h30m`.
    pub(crate) fn duration(&mut self, name: &'static str) -> Result<Option<Duration>, ApiError> {
        self.text(name)?
            .map(|v| {
                humantime::parse_duration(&v).map_err(|e| {
                    ApiError::bad(name, format!("{v:?}: {e} (examples: 250ms, 1.5s, 15m, 1h)"))
                })
            })
            .transpose()
    }

    /// A duration in nanoseconds.
    pub(crate) fn duration_ns(&mut self, name: &'static str) -> Result<Option<u64>, ApiError> {
        Ok(self
            .duration(name)?
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
    }

    /// A count from 1 to `max`, `default` when missing.
    pub(crate) fn count(
        &mut self,
        name: &'static str,
        default: usize,
        max: usize,
    ) -> Result<usize, ApiError> {
        match self.parsed::<usize>(name)? {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::bad(
                name,
                format!("{n} is not between 1 and {max}"),
            )),
        }
    }

    /// `limit`: a page size from 1 to `max`.
    pub(crate) fn limit(&mut self, default: usize, max: usize) -> Result<usize, ApiError> {
        self.count("limit", default, max)
    }

    /// `q`: a query of the filter syntax (docs/search.md), judged on stored spans, so without
    /// score conditions; an error points at the offending token. An empty `q` is none.
    pub(crate) fn search_query(&mut self) -> Result<Option<search::Query>, ApiError> {
        let Some(text) = self.take("q")? else {
            return Ok(None);
        };
        if text.trim().is_empty() {
            return Ok(None);
        }
        let query =
            search::Query::parse(&text).map_err(|e| ApiError::bad("q", e.pointer(&text)))?;
        query.check_in_memory(&text).map_err(|e| {
            ApiError::bad(
                "q",
                format!(
                    "{}\n(the trace list filters by score: `score`, `score_min`, `score_max`)",
                    e.pointer(&text)
                ),
            )
        })?;
        Ok(Some(query))
    }

    /// `cursor`: where the previous page stopped.
    pub(crate) fn cursor(&mut self) -> Result<Option<Cursor>, ApiError> {
        Ok(self.text("cursor")?.map(Cursor::from))
    }

    /// `status`: `ok` or `error`.
    pub(crate) fn status(&mut self) -> Result<Option<StatusFilter>, ApiError> {
        self.text("status")?
            .map(|v| match v.as_str() {
                "ok" => Ok(StatusFilter::Ok),
                "error" => Ok(StatusFilter::Error),
                _ => Err(ApiError::bad(
                    "status",
                    format!("{v:?}: expected `ok` or `error`"),
                )),
            })
            .transpose()
    }

    /// `desc` (the default) or `asc`.
    pub(crate) fn order(&mut self, name: &'static str) -> Result<Order, ApiError> {
        match self.text(name)?.as_deref() {
            None | Some("desc") => Ok(Order::Desc),
            Some("asc") => Ok(Order::Asc),
            Some(other) => Err(ApiError::bad(
                name,
                format!("{other:?}: expected `desc` (largest or newest first) or `asc`"),
            )),
        }
    }

    /// `true` or `false` (missing: `default`).
    pub(crate) fn flag(&mut self, name: &'static str, default: bool) -> Result<bool, ApiError> {
        match self.text(name)?.as_deref() {
            None => Ok(default),
            Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(ApiError::bad(
                name,
                format!("{other:?}: expected `true` or `false`"),
            )),
        }
    }

    /// Refuses whatever parameter was not taken.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        match self.pairs.into_iter().next() {
            None => Ok(()),
            Some((name, _)) => Err(ApiError::UnknownParameter {
                name,
                expected: if self.known.is_empty() {
                    "no parameters".to_owned()
                } else {
                    let mut known = self.known;
                    known.sort_unstable();
                    known.dedup();
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_763_712_000_000_000_000; // 2025-11-21T08:00:00Z

    #[test]
    fn times_in_every_form() {
        let now = T + 3_600_000_000_000;
        assert_eq!(parse_time("2025-11-21T08:00:00Z", now), Some(T));
        assert_eq!(
            parse_time("2025-11-21T08:00:00.5Z", now),
            Some(T + 500_000_000)
        );
        assert_eq!(parse_time("2025-11-21T09:30:00+01:30", now), Some(T));
        assert_eq!(parse_time("2025-11-21T06:00:00-02:00", now), Some(T));
        assert_eq!(parse_time("2025-11-21T08:00:00+00:00", now), Some(T));
        assert_eq!(
            parse_time("2025-11-21", now),
            Some(T - 8 * 3_600_000_000_000)
        );
        assert_eq!(parse_time(&T.to_string(), now), Some(T));
        assert_eq!(parse_time("now", now), Some(now));
        assert_eq!(parse_time("-1h", now), Some(T));
        assert_eq!(parse_time("-100000000d", now), Some(0));
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            "2025-11-21T08:00:00+25:00",
            "-1 parsec",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_time(bad, now), None, "{bad:?}");
        }
    }
}
