//! Time buckets, shared by every store: widths, alignment, a series' automatic width, and
//! error messages as patterns.

use serde::{Deserialize, Serialize};

use crate::time_range::TimeRange;

/// A minute, in nanoseconds.
pub const MINUTE_NS: u64 = 60_000_000_000;
/// An hour, in nanoseconds.
pub const HOUR_NS: u64 = 3_600_000_000_000;

/// The start of the bucket of width `width` (> 0) holding `t`.
pub const fn floor(t: u64, width: u64) -> u64 {
    t - t % width
}

/// The end of that bucket, unless `t` starts one (saturating).
pub const fn ceil(t: u64, width: u64) -> u64 {
    if t.is_multiple_of(width) {
        t
    } else {
        floor(t, width).saturating_add(width)
    }
}

/// Refuses a bucket width (`what`: which) that is not a whole, non-zero number of minutes.
pub fn whole_minutes(width_ns: Option<u64>, what: &str) -> Result<(), crate::QueryError> {
    match width_ns {
        Some(w) if w == 0 || !w.is_multiple_of(MINUTE_NS) => Err(crate::QueryError::Invalid(
            format!("{what} must be a whole number of minutes, not {w} ns"),
        )),
        _ => Ok(()),
    }
}

/// `range` widened to whole minutes: the start rounded down, the end up.
pub fn align(range: TimeRange) -> TimeRange {
    TimeRange {
        start_unix_nano: range.start_unix_nano.map(|s| floor(s, MINUTE_NS)),
        end_unix_nano: range.end_unix_nano.map(|e| ceil(e, MINUTE_NS)),
    }
}

/// Series bucket widths tried, smallest first, for about 60 points or fewer.
pub const AUTO_WIDTHS: [u64; 7] = [
    MINUTE_NS,
    5 * MINUTE_NS,
    15 * MINUTE_NS,
    HOUR_NS,
    6 * HOUR_NS,
    24 * HOUR_NS,
    7 * 24 * HOUR_NS,
];
/// The points an automatic width aims at, at most.
pub const AUTO_POINTS: u64 = 60;
/// The most points a series may have.
pub const MAX_POINTS: u64 = 10_000;

/// Where a time series' points fall: `points` buckets of `width_ns` from `start_unix_nano`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesLayout {
    /// The first bucket's start (a multiple of the width).
    pub start_unix_nano: u64,
    /// How many buckets.
    pub points: u64,
    /// The buckets' width.
    pub width_ns: u64,
}

impl SeriesLayout {
    /// The series over `extent` (start, end; `None`: no data, no point) in buckets of
    /// `bucket_ns`, or of [`auto_width`] of the extent.
    ///
    /// # Errors
    /// [`QueryError::Invalid`](crate::QueryError::Invalid) for more than [`MAX_POINTS`].
    pub fn of(
        extent: Option<(u64, u64)>,
        bucket_ns: Option<u64>,
    ) -> Result<Self, crate::QueryError> {
        let width_ns =
            bucket_ns.unwrap_or_else(|| auto_width(extent.map_or(0, |(s, e)| e.saturating_sub(s))));
        let (start_unix_nano, points) = match extent {
            Some((s, e)) => {
                let start = floor(s, width_ns);
                (start, e.saturating_sub(start).div_ceil(width_ns))
            }
            None => (0, 0),
        };
        if points > MAX_POINTS {
            return Err(crate::QueryError::Invalid(format!(
                "a series of {points} points of {} s is too long (at most {MAX_POINTS}): widen the buckets or narrow the range",
                width_ns / 1_000_000_000
            )));
        }
        Ok(Self {
            start_unix_nano,
            points,
            width_ns,
        })
    }

    /// Each bucket's start, in order.
    pub fn starts(self) -> impl Iterator<Item = u64> {
        (0..self.points).map(move |i| self.start_unix_nano + i * self.width_ns)
    }
}

/// The width of a series over `span` ns: the smallest of [`AUTO_WIDTHS`] giving at most
/// [`AUTO_POINTS`] points, else whole days.
pub fn auto_width(span: u64) -> u64 {
    AUTO_WIDTHS
        .into_iter()
        .find(|w| span.div_ceil(*w) <= AUTO_POINTS)
        .unwrap_or_else(|| ceil(span.div_ceil(AUTO_POINTS), 24 * HOUR_NS))
}

/// Error messages are kept as patterns, at most this long (bytes).
const MAX_PATTERN: usize = 200;

/// An error message as a pattern: words (runs of ASCII letters, digits and `-`) that look like
/// ids (8 or more hex digits and dashes, with a digit) become `<id>`, other runs of digits
/// `<n>`; cut to 200 bytes. `"timeout after 30s"` → `"timeout after <n>s"`.
pub fn error_pattern(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_PATTERN));
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        if out.len() >= MAX_PATTERN {
            break;
        }
        if !is_word(c) {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        rest = tail;
        let is_id = word.len() >= 8
            && word.bytes().any(|b| b.is_ascii_digit())
            && word.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if is_id {
            out.push_str("<id>");
            continue;
        }
        let mut in_digits = false;
        for c in word.chars() {
            if c.is_ascii_digit() {
                if !in_digits {
                    out.push_str("<n>");
                }
                in_digits = true;
            } else {
                out.push(c);
                in_digits = false;
            }
        }
    }
    if out.len() > MAX_PATTERN {
        let mut cut = MAX_PATTERN;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// Durations in log-linear buckets, for percentiles within 3.1 % from rollups: exact below
/// 32 ns, then 16 buckets per power of two (`[m·2^s, (m+1)·2^s)` for `m` in 16..32); a bucket's
/// midpoint is within 1/32 of every duration in it. Bucket numbers go from 0 to 975.
/// Sub-buckets per power of two, as bits.
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// The last bucket (that of `u64::MAX`).
pub const LAST_BUCKET: u64 = (64 - SUB_BITS as u64) * SUB + SUB - 1;

/// The bucket of a duration.
pub fn duration_bucket(d: u64) -> u16 {
    let b = if d < 2 * SUB {
        d
    } else {
        let shift = 63 - d.leading_zeros() - SUB_BITS;
        (u64::from(shift) + 1) * SUB + ((d >> shift) - SUB)
    };
    u16::try_from(b).unwrap_or(u16::MAX)
}

/// Span durations counted by [`duration_bucket`]: what the rollups keep of them, so that a
/// share of spans within a duration reads the same from the rollups and from the spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DurationHistogram {
    /// `(bucket, spans)`, buckets increasing, none empty.
    buckets: Vec<(u16, u64)>,
}

impl DurationHistogram {
    /// From buckets' counts in any order (counts may be negative deltas, summed; a bucket
    /// summing to zero or less is dropped).
    pub fn from_buckets(buckets: impl IntoIterator<Item = (u16, i64)>) -> Self {
        let mut summed: std::collections::BTreeMap<u16, i64> = std::collections::BTreeMap::new();
        for (b, n) in buckets {
            *summed.entry(b).or_default() += n;
        }
        Self {
            buckets: summed
                .into_iter()
                .filter_map(|(b, n)| Some((b, u64::try_from(n).ok().filter(|&n| n > 0)?)))
                .collect(),
        }
    }

    /// From the durations themselves (ns); sorted ones (as the percentiles sort them) cost one
    /// map entry per bucket, not per duration.
    pub fn from_durations(durations: impl IntoIterator<Item = u64>) -> Self {
        let mut runs: Vec<(u16, i64)> = Vec::new();
        for b in durations.into_iter().map(duration_bucket) {
            match runs.last_mut() {
                Some((last, n)) if *last == b => *n += 1,
                _ => runs.push((b, 1)),
            }
        }
        Self::from_buckets(runs)
    }

    /// The spans at most `threshold_ns` long, to the bucket: every span of the threshold's
    /// bucket counts (up to 1/16 longer than the threshold; spans shorter than 32 ns exactly).
    pub fn at_most(&self, threshold_ns: u64) -> u64 {
        let limit = duration_bucket(threshold_ns);
        self.buckets
            .iter()
            .take_while(|(b, _)| *b <= limit)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The duration reported for a bucket: its midpoint.
pub fn bucket_midpoint(bucket: u16) -> u64 {
    let b = u64::from(bucket).min(LAST_BUCKET);
    if b < 2 * SUB {
        return b;
    }
    let shift = b / SUB - 1;
    let low = (b % SUB + SUB) << shift;
    low + ((1u64 << shift) - 1) / 2
}

/// Nearest-rank percentiles of durations counted by bucket (in increasing bucket order; counts
/// may be negative deltas, summed): the bucket holding rank ⌈p·n/100⌉, reported as its
/// midpoint clamped to `[min, max]`.
pub fn histogram_percentiles(
    buckets: impl Iterator<Item = (u16, i64)> + Clone,
    min: u64,
    max: u64,
) -> Percentiles {
    let n: i64 = buckets.clone().map(|(_, c)| c.max(0)).sum();
    let n = u64::try_from(n).unwrap_or(0);
    let at = |p: u64| -> u64 {
        let rank = u64::try_from((u128::from(p) * u128::from(n)).div_ceil(100))
            .unwrap_or(u64::MAX)
            .max(1);
        let mut seen = 0u64;
        for (b, c) in buckets.clone() {
            seen += u64::try_from(c).unwrap_or(0);
            if seen >= rank {
                return bucket_midpoint(b).clamp(min, max.max(min));
            }
        }
        0
    };
    Percentiles {
        p50_ns: at(50),
        p95_ns: at(95),
        p99_ns: at(99),
    }
}

/// Nearest-rank percentiles of span durations: the value at rank ⌈p·n/100⌉ of the sorted
/// durations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50_ns: u64,
    /// 95th percentile.
    pub p95_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_the_spans_within_a_duration_to_its_bucket() {
        let ms = 1_000_000;
        let h =
            DurationHistogram::from_durations([10, 900 * ms, 1_010 * ms, 1_020 * ms, 2_000 * ms]);
        assert_eq!(h.at_most(0), 0);
        assert_eq!(h.at_most(10), 1);
        assert_eq!(h.at_most(1_000 * ms), 2);
        // 1,020 ms shares 1,015 ms's bucket: [30·2^25, 31·2^25) ns, 1,006.6 to 1,040.2 ms.
        assert_eq!(h.at_most(1_015 * ms), 4);
        assert_eq!(h.at_most(1_500 * ms), 4);
        assert_eq!(h.at_most(u64::MAX), 5);
        let deltas = DurationHistogram::from_buckets([
            (duration_bucket(900 * ms), 2),
            (duration_bucket(10), 1),
            (duration_bucket(900 * ms), -1),
            (duration_bucket(2_000 * ms), -1),
        ]);
        assert_eq!(deltas, DurationHistogram::from_durations([10, 900 * ms]));
    }

    #[test]
    fn patterns_hide_numbers_and_ids() {
        assert_eq!(error_pattern("timeout after 30s"), "timeout after <n>s");
        assert_eq!(
            error_pattern("request 4bf92f3577b34da6 failed: HTTP 503"),
            "request <id> failed: HTTP <n>"
        );
        assert_eq!(
            error_pattern("id 123e4567-e89b-12d3-a456-426614174000 not found"),
            "id <id> not found"
        );
        assert_eq!(
            error_pattern("gpt-4o rate-limited"),
            "gpt-<n>o rate-limited"
        );
        assert_eq!(error_pattern("Ünïcödé 12 ✓"), "Ünïcödé <n> ✓");
        let long = error_pattern(&"é".repeat(500));
        assert!(long.len() <= MAX_PATTERN && long.chars().all(|c| c == 'é'));
    }
}
