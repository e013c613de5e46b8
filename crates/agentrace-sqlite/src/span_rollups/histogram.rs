//! Log-linear histograms of span durations, for percentiles from rollups.
//!
//! A duration `d` (ns) falls in a bucket: exact below 32 ns, then 16 buckets per power of two
//! (`[m·2^s, (m+1)·2^s)` for `m` in 16..32). A bucket's midpoint is within 1/32 (3.1 %) of
//! every duration in it, which bounds the error of a percentile read from a histogram. Bucket
//! numbers go from 0 to 975 (`u64::MAX`).
//!
//! Stored as a BLOB of the non-zero buckets in increasing order, each as two LEB128 varints:
//! the bucket's distance from the previous one, then its count (zigzag, so that a writer's
//! delta can be negative). The writer connection merges BLOBs with the SQL function
//! [`MERGE_FUNCTION`].

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;

use agentrace_store::Percentiles;

pub(crate) use agentrace_store::series::duration_bucket as bucket;
use agentrace_store::series::{LAST_BUCKET as LAST, histogram_percentiles};

/// The SQL function `agentrace_hist_merge(a, b)`: the histogram with the counts of both (NULL
/// is empty), registered on the writer connection.
pub(crate) const MERGE_FUNCTION: &str = "agentrace_hist_merge";

/// A malformed histogram BLOB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed duration histogram")
    }
}

impl std::error::Error for Malformed {}

/// Counts by bucket, dense over the range of buckets seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Histogram {
    first: u16,
    counts: Vec<i64>,
}

impl Histogram {
    /// Adds `n` (possibly negative) to a bucket.
    pub(crate) fn add(&mut self, bucket: u16, n: i64) {
        if self.counts.is_empty() {
            self.first = bucket;
        }
        if bucket < self.first {
            let grow = usize::from(self.first - bucket);
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.first = bucket;
        }
        let i = usize::from(bucket - self.first);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] = self.counts[i].saturating_add(n);
    }

    /// Adds every count of `other`, times `sign`.
    pub(crate) fn merge(&mut self, other: &Self, sign: i64) {
        for (b, n) in other.iter() {
            self.add(b, n.saturating_mul(sign));
        }
    }

    /// Adds the counts of an encoded histogram.
    pub(crate) fn merge_encoded(&mut self, mut blob: &[u8]) -> Result<(), Malformed> {
        let mut bucket = 0u64;
        while !blob.is_empty() {
            bucket = bucket.saturating_add(varint(&mut blob)?);
            let n = zigzag_decode(varint(&mut blob)?);
            if bucket > LAST {
                return Err(Malformed);
            }
            self.add(u16::try_from(bucket).map_err(|_| Malformed)?, n);
        }
        Ok(())
    }

    /// The non-zero buckets, in increasing order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, i64)> + Clone + '_ {
        (self.first..)
            .zip(&self.counts)
            .filter(|(_, n)| **n != 0)
            .map(|(b, n)| (b, *n))
    }

    /// The BLOB form (see the module documentation).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.counts.len() * 3);
        let mut previous = None;
        for (b, n) in self.iter() {
            let step = previous.map_or(u64::from(b), |p: u16| u64::from(b - p));
            put_varint(&mut out, step);
            put_varint(&mut out, zigzag_encode(n));
            previous = Some(b);
        }
        out
    }

    /// Nearest-rank percentiles (the bucket holding rank ⌈p·n/100⌉), reported as the bucket's
    /// midpoint clamped to `[min, max]`, the smallest and largest durations added.
    pub(crate) fn percentiles(&self, min: u64, max: u64) -> Percentiles {
        histogram_percentiles(self.iter(), min, max)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint(blob: &mut &[u8]) -> Result<u64, Malformed> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = blob.split_first().ok_or(Malformed)?;
        *blob = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(Malformed)
}

const fn zigzag_encode(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

const fn zigzag_decode(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Registers [`MERGE_FUNCTION`] on a connection.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        MERGE_FUNCTION,
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let mut h = Histogram::default();
            for i in 0..2 {
                match ctx.get_raw(i) {
                    ValueRef::Blob(b) => h
                        .merge_encoded(b)
                        .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?,
                    ValueRef::Null => {}
                    _ => {
                        return Err(rusqlite::Error::UserFunctionError(Box::new(Malformed)));
                    }
                }
            }
            Ok(h.encode())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrace_store::series::bucket_midpoint as midpoint;

    #[test]
    fn buckets_are_exact_then_within_one_thirty_second() {
        for d in 0..32 {
            assert_eq!(midpoint(bucket(d)), d);
        }
        let mut previous = 0;
        for d in (32..5_000_000u64)
            .step_by(997)
            .chain([1 << 40, u64::MAX / 3, u64::MAX])
        {
            let b = bucket(d);
            assert!(b >= previous, "buckets grow with durations");
            previous = b;
            let m = midpoint(b);
            let error = m.abs_diff(d) as f64 / d as f64;
            assert!(error <= 1.0 / 32.0, "{d}: midpoint {m}, error {error}");
        }
        assert_eq!(u64::from(bucket(u64::MAX)), LAST);
        // Neighbouring buckets tile the line: the last value of one is just below the next.
        assert_eq!(bucket(33), bucket(32));
        assert_eq!(bucket(34), bucket(32) + 1);
    }

    #[test]
    fn encodes_merges_and_subtracts() -> Result<(), Malformed> {
        let mut a = Histogram::default();
        a.add(bucket(1_000), 3);
        a.add(bucket(5), 1);
        a.add(bucket(u64::MAX), 2);
        let mut b = Histogram::default();
        b.merge_encoded(&a.encode())?;
        assert_eq!(b.encode(), a.encode());
        b.merge(&a, -1);
        assert!(b.encode().is_empty(), "counts that cancel disappear");
        b.merge_encoded(&a.encode())?;
        b.merge_encoded(&a.encode())?;
        assert_eq!(b.percentiles(0, u64::MAX).p50_ns, midpoint(bucket(1_000)));
        Ok(())
    }

    #[test]
    fn malformed_blobs_are_errors_not_panics() {
        let mut h = Histogram::default();
        assert_eq!(h.merge_encoded(&[0x80]), Err(Malformed));
        assert_eq!(h.merge_encoded(&[0xff; 11]), Err(Malformed));
        assert_eq!(h.merge_encoded(&[0xe8, 0x07, 0x02]), Err(Malformed)); // bucket 1000
        assert_eq!(h.merge_encoded(&[0x05]), Err(Malformed)); // count missing
    }

    #[test]
    fn percentiles_are_nearest_rank_and_clamped() {
        let mut h = Histogram::default();
        for d in 1..=100u64 {
            h.add(bucket(d * 1_000_000), 1);
        }
        let p = h.percentiles(1_000_000, 100_000_000);
        for (got, want) in [(p.p50_ns, 50e6), (p.p95_ns, 95e6), (p.p99_ns, 99e6)] {
            assert!(
                (got as f64 - want).abs() / want <= 1.0 / 32.0,
                "{got} vs {want}"
            );
        }
        let mut one = Histogram::default();
        one.add(bucket(12_345_678), 1);
        let p = one.percentiles(12_345_678, 12_345_678);
        assert_eq!(p.p99_ns, 12_345_678, "a single value is exact");
        assert_eq!(
            Histogram::default().percentiles(0, 0),
            Percentiles::default()
        );
    }
}
