//! The rows this node wrote of spans awaiting their parent (they lack a value and their
//! parent was stored nowhere yet): when the parent arrives at this node, the rewrite that
//! completes them takes them from here instead of reading them back from ClickHouse. A
//! children-first trace's later request saves a statement that reads whole rows.
//!
//! Only a shortcut: a row is taken only if ClickHouse still holds that version of it (another
//! node may have rewritten it since); whatever is not here is read from ClickHouse. Bounded in
//! bytes and in age, oldest first out.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentrace_core::{SpanId, TraceId};

use crate::row::SpanRow;

/// The bytes of rows kept at most (about: [`SpanRow::approximate_size`]). When the parents
/// arrive at other nodes, nothing is taken and this much stays held.
const MAX_BYTES: usize = 32 << 20;

/// How long a row is kept: a parent arriving later is rare, and its children are read back.
const MAX_AGE: Duration = Duration::from_secs(600);

/// See the module's documentation.
#[derive(Debug, Default)]
pub(crate) struct AwaitingRows {
    inner: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    rows: HashMap<(TraceId, SpanId), (SpanRow, usize)>,
    /// When each was kept, oldest first; may name rows already taken.
    order: VecDeque<(Instant, (TraceId, SpanId))>,
    bytes: usize,
}

impl AwaitingRows {
    /// Keeps `rows`, just written.
    pub(crate) fn keep(&self, rows: impl IntoIterator<Item = SpanRow>) {
        let now = Instant::now();
        let mut kept = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for row in rows {
            let id = row.ids();
            let size = row.approximate_size();
            if let Some((_, old)) = kept.rows.insert(id, (row, size)) {
                kept.bytes -= old;
            }
            kept.bytes += size;
            kept.order.push_back((now, id));
        }
        while let Some(&(at, id)) = kept.order.front() {
            if kept.bytes <= MAX_BYTES && now.duration_since(at) <= MAX_AGE {
                break;
            }
            kept.order.pop_front();
            if let Some((_, size)) = kept.rows.remove(&id) {
                kept.bytes -= size;
            }
        }
        // Entries of rows already taken linger in `order`; drop them when they are most of it.
        if kept.order.len() > 1024 && kept.order.len() > 2 * kept.rows.len() {
            let Kept { rows, order, .. } = &mut *kept;
            order.retain(|(_, id)| rows.contains_key(id));
        }
    }

    /// Takes the row of `id` if it is kept at `version` (the stored version now).
    pub(crate) fn take(&self, id: (TraceId, SpanId), version: u64) -> Option<SpanRow> {
        let mut kept = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (row, size) = kept.rows.remove(&id)?;
        kept.bytes -= size;
        (row.version() == version).then_some(row)
    }

    /// How many rows are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .rows
            .len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use agentrace_core::{Resource, SpanRecord};

    use super::*;
    use crate::row::Stamp;

    fn row(id: u8, version: u64, attribute_bytes: usize) -> SpanRow {
        let mut span = SpanRecord::new(
            TraceId::from_bytes([1; 16]),
            SpanId::from_bytes([id; 8]),
            "chat",
            1,
            2,
            Arc::new(Resource::new("svc")),
        );
        span.attributes
            .insert("content", "x".repeat(attribute_bytes));
        SpanRow::new(
            &span,
            false,
            Stamp {
                version,
                node: "n".into(),
                arrived: 1,
            },
        )
    }

    #[test]
    fn a_row_is_taken_once_and_only_at_the_version_stored() {
        let rows = AwaitingRows::default();
        rows.keep([row(1, 10, 0), row(2, 10, 0)]);
        assert_eq!(rows.len(), 2);
        assert!(rows.take(row(1, 0, 0).ids(), 10).is_some());
        assert!(rows.take(row(1, 0, 0).ids(), 10).is_none(), "taken already");
        assert!(
            rows.take(row(2, 0, 0).ids(), 11).is_none(),
            "another node rewrote it: read it back"
        );
        assert_eq!(rows.len(), 0);
    }

    #[test]
    fn taken_rows_leave_no_trace() {
        let rows = AwaitingRows::default();
        for n in 0..3000u32 {
            let r = row((n % 251) as u8, u64::from(n), 0);
            let id = r.ids();
            rows.keep([r]);
            assert!(rows.take(id, u64::from(n)).is_some());
        }
        let kept = rows.inner.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(kept.order.len() <= 1025, "{}", kept.order.len());
        assert_eq!(kept.bytes, 0);
    }

    #[test]
    fn the_oldest_rows_go_first_over_the_bound() {
        let rows = AwaitingRows::default();
        let big = MAX_BYTES / 3;
        rows.keep([row(1, 1, big), row(2, 1, big)]);
        rows.keep([row(3, 1, big), row(4, 1, big)]);
        assert!(
            rows.take(row(1, 0, 0).ids(), 1).is_none(),
            "the oldest went"
        );
        assert!(rows.take(row(4, 0, 0).ids(), 1).is_some());
    }
}
