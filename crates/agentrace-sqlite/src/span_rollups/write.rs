//! Keeping the rollups up to date: the contributions of a write are summed per row in memory,
//! then added to each row with one upsert (the histogram merged by SQL function).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::LazyLock;

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use super::histogram::MERGE_FUNCTION;
use super::key::{DIM_COLUMNS, DIMS, Facts, Key};
use super::measures::{COUNTERS, Measures, N};
use super::{Tier, floor};
use crate::codec::to_sql;
use crate::error::{Db, DbError};
use crate::fnv::Fnv;
use agentrace_store::series::error_pattern as pattern;

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// `rollup_keys` ids remembered by the writer before the cache is reset.
const MAX_CACHED_KEYS: usize = 100_000;

/// The writer's cache of `rollup_keys` ids. Keys are never deleted, so a cached id stays valid
/// unless the transaction that created it rolled back: clear the cache after a failed write.
#[derive(Debug, Default)]
pub(crate) struct KeyIds {
    by_hash: HashMap<i64, Vec<(Key<String>, i64)>>,
    len: usize,
}

static FIND_KEY: LazyLock<String> = LazyLock::new(|| {
    let mut sql = "SELECT id FROM rollup_keys WHERE key_hash = ?1 AND billable = ?2".to_owned();
    for (i, column) in DIM_COLUMNS.iter().enumerate() {
        sql.push_str(&format!(" AND {column} IS ?{}", i + 3));
    }
    sql
});

static CREATE_KEY: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<_> = (1..=DIMS + 2).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO rollup_keys (key_hash, billable, {}) VALUES ({})",
        DIM_COLUMNS.join(", "),
        placeholders.join(", ")
    )
});

impl KeyIds {
    pub(crate) fn clear(&mut self) {
        self.by_hash.clear();
        self.len = 0;
    }

    /// The id of `key`, created if new.
    fn id(&mut self, conn: &Connection, key: &Key<&str>) -> Result<i64, DbError> {
        let hash = key.hash();
        let cached = self
            .by_hash
            .get(&hash)
            .and_then(|keys| keys.iter().find(|(k, _)| k.same_as(key)))
            .map(|(_, id)| *id);
        if let Some(id) = cached {
            return Ok(id);
        }
        let mut values = Vec::with_capacity(DIMS + 2);
        values.push(Value::Integer(hash));
        values.push(Value::Integer(i64::from(key.billable)));
        for i in 0..DIMS {
            values.push(
                key.dim(i)
                    .map_or(Value::Null, |d| Value::Text(d.to_owned())),
            );
        }
        let found: Option<i64> = {
            let mut stmt = conn.prepare_cached(&FIND_KEY).db()?;
            let mut rows = stmt.query(params_from_iter(&values)).db()?;
            match rows.next().db()? {
                Some(row) => Some(row.get(0).db()?),
                None => None,
            }
        };
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached(&CREATE_KEY)
                    .db()?
                    .execute(params_from_iter(&values))
                    .db()?;
                conn.last_insert_rowid()
            }
        };
        if self.len >= MAX_CACHED_KEYS {
            self.clear();
        }
        let owned = Key {
            billable: key.billable,
            dims: key.dims.map(|d| d.map(str::to_owned)),
        };
        self.by_hash.entry(hash).or_default().push((owned, id));
        self.len += 1;
        Ok(id)
    }
}

static UPSERT_ROW: LazyLock<String> = LazyLock::new(|| {
    let columns = COUNTERS.join(", ");
    let placeholders: Vec<_> = (1..=N + 6).map(|i| format!("?{i}")).collect();
    let sums: Vec<_> = COUNTERS
        .iter()
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO rollups (tier, bucket_ns, key_id, {columns}, duration_min, duration_max, \
         histogram) VALUES ({}) \
         ON CONFLICT (tier, bucket_ns, key_id) DO UPDATE SET {}, \
         duration_min = min(duration_min, excluded.duration_min), \
         duration_max = max(duration_max, excluded.duration_max), \
         histogram = {MERGE_FUNCTION}(histogram, excluded.histogram)",
        placeholders.join(", "),
        sums.join(", ")
    )
});

const UPSERT_ERROR: &str = "INSERT INTO rollup_errors (tier, bucket_ns, key_id, error_type, \
     pattern, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
     ON CONFLICT (tier, bucket_ns, key_id, error_type, pattern) \
     DO UPDATE SET count = count + excluded.count";

/// What removed contributions may leave empty.
const PRUNE_ROW: &str = "DELETE FROM rollups WHERE tier = ?1 AND bucket_ns = ?2 AND key_id = ?3 \
     AND spans <= 0";
const PRUNE_ERROR: &str = "DELETE FROM rollup_errors WHERE tier = ?1 AND bucket_ns = ?2 \
     AND key_id = ?3 AND error_type = ?4 AND pattern = ?5 AND count <= 0";

/// Failures of one key, minute, type and pattern.
type ErrorKey<'a> = (Key<&'a str>, i64, &'a str, String);

/// The contributions of one write (spans added, removed, or repriced), by row.
#[derive(Debug, Default)]
pub(crate) struct Batch<'a> {
    rows: FastMap<(Key<&'a str>, i64), Measures>,
    errors: FastMap<ErrorKey<'a>, i64>,
    removes: bool,
}

impl<'a> Batch<'a> {
    /// Adds (`sign` 1) or removes (`sign` −1) a span's contribution.
    pub(crate) fn add(&mut self, f: &Facts<'a>, sign: i64) {
        let minute = to_sql(floor(f.start, Tier::Minute.width_ns()));
        self.rows
            .entry((f.key(), minute))
            .or_default()
            .add_span(f, sign);
        if f.is_error {
            let key = (
                f.key(),
                minute,
                f.error_type.unwrap_or(""),
                pattern(f.message.unwrap_or("")),
            );
            *self.errors.entry(key).or_default() += sign;
        }
        self.removes |= sign < 0;
    }

    /// Writes the contributions: every minute row, then every hour row.
    pub(crate) fn apply(self, conn: &Connection, ids: &mut KeyIds) -> Result<(), DbError> {
        let mut hours: FastMap<(i64, i64), Measures> = FastMap::default();
        for ((key, minute), m) in self.rows {
            let id = ids.id(conn, &key)?;
            write_row(conn, Tier::Minute, minute, id, &m, self.removes)?;
            hours
                .entry((hour_of(minute), id))
                .or_default()
                .merge(&m, true);
        }
        for ((hour, id), m) in hours {
            write_row(conn, Tier::Hour, hour, id, &m, self.removes)?;
        }
        let mut error_hours: FastMap<(i64, i64, &str, String), i64> = FastMap::default();
        for ((key, minute, error_type, pattern), n) in self.errors {
            let id = ids.id(conn, &key)?;
            write_error(conn, (Tier::Minute, minute, id, error_type, &pattern), n)?;
            *error_hours
                .entry((hour_of(minute), id, error_type, pattern))
                .or_default() += n;
        }
        for ((hour, id, error_type, pattern), n) in error_hours {
            write_error(conn, (Tier::Hour, hour, id, error_type, &pattern), n)?;
        }
        Ok(())
    }
}

fn hour_of(minute: i64) -> i64 {
    to_sql(floor(crate::codec::from_sql(minute), Tier::Hour.width_ns()))
}

fn write_row(
    conn: &Connection,
    tier: Tier,
    bucket: i64,
    key_id: i64,
    m: &Measures,
    prune: bool,
) -> Result<(), DbError> {
    let mut values = Vec::with_capacity(N + 6);
    values.extend(
        [tier.to_sql(), bucket, key_id]
            .into_iter()
            .map(Value::Integer),
    );
    values.extend(m.counters.iter().map(|c| Value::Integer(*c)));
    values.push(Value::Integer(m.min));
    values.push(Value::Integer(m.max));
    values.push(Value::Blob(m.hist.encode()));
    conn.prepare_cached(&UPSERT_ROW)
        .db()?
        .execute(params_from_iter(&values))
        .db()?;
    if prune {
        conn.prepare_cached(PRUNE_ROW)
            .db()?
            .execute(params![tier.to_sql(), bucket, key_id])
            .db()?;
    }
    Ok(())
}

fn write_error(
    conn: &Connection,
    (tier, bucket, key_id, error_type, pattern): (Tier, i64, i64, &str, &str),
    n: i64,
) -> Result<(), DbError> {
    let tier = tier.to_sql();
    conn.prepare_cached(UPSERT_ERROR)
        .db()?
        .execute(params![tier, bucket, key_id, error_type, pattern, n])
        .db()?;
    if n < 0 {
        conn.prepare_cached(PRUNE_ERROR)
            .db()?
            .execute(params![tier, bucket, key_id, error_type, pattern])
            .db()?;
    }
    Ok(())
}
