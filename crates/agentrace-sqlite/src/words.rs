//! Writing the search indexes (`span_words`, `piece_words`: see [`crate::search`]): what the
//! writer, retention and repairs do as they store, delete and rewrite spans and pieces.
//!
//! Three things keep indexing cheap on the write path (measured with the throughput bench,
//! 500,000 spans of 10-span traces: 86 k spans/s before any, 172 k without the index):
//!
//! - **Words go in last.** FTS5 writes what it holds in memory as a new segment whenever a
//!   statement of the transaction opens a savepoint, which every statement that may have to be
//!   undone halfway does (a span insert with triggers). Indexed span by span, a batch made a
//!   segment a span, and merging them cost more than storing the spans. A transaction gathers
//!   its words in a [`Batch`] and indexes them after its last other statement: one segment a
//!   batch.
//! - **Frequent lines are left out.** Most of a span's text repeats from span to span: its
//!   name, model, finish reason, a temperature. A line (a value of the indexed text, see
//!   [`indexed_text`](agentrace_store::search::indexed_text)) seen [`FREQUENT_AT`] times is
//!   recorded in `frequent_lines` and no later span's index entry holds it. A word such a line
//!   holds has more candidates than a lookup takes anyway ([`MAX_CANDIDATES`]): search scans
//!   for it, as it did before, and looks its other words up instead when it can.
//! - **Spans share entries.** An FTS5 insert costs about as much as the trigrams of a short
//!   span's own words (a response id), so the spans a batch stores go in entries of up to
//!   [`GROUP`], consecutive rows: the entry's rowid is the first row, `span_word_groups` names
//!   the last. A word's lookup finds the entries, and search judges every span they cover (up
//!   to 32 for one hit). A rewritten span's new words are an entry of its own (rowid: minus its
//!   row), its words as first stored staying in its batch's entry: the index may hold more than
//!   a span's words, never less. Retention forgets an entry once none of its spans is left.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Db, DbError};
use crate::fnv::Fnv;

/// The most candidate spans (or chain nodes) a word's lookup gathers before search scans
/// instead (a word that common finds its hits among the newest spans).
pub(crate) const MAX_CANDIDATES: usize = 20_000;

/// The times a line is seen before it is frequent: a word of it then finds more candidates
/// than a lookup gathers, so search scans for it whether or not the index holds it.
pub(crate) const FREQUENT_AT: u32 = MAX_CANDIDATES as u32;

/// Lines counted at most; past it the rarest are forgotten.
const MAX_COUNTED: usize = 1 << 18;

/// The spans stored one after another that one entry of `span_words` holds at most: the entry
/// of a batch's first span covers the rows up to its last (`span_word_groups`).
pub(crate) const GROUP: usize = 32;

/// The words one transaction indexes, gathered as it stores spans and pieces and indexed by
/// [`Batch::index`] after its last other statement (see the module's docs).
#[derive(Debug, Default)]
pub(crate) struct Batch<'a> {
    /// (row, indexed text) of each span stored, rows in the order stored.
    spans: Vec<(i64, Cow<'a, str>)>,
    /// (row, indexed text) of each span rewritten.
    rewritten: Vec<(i64, Cow<'a, str>)>,
    /// (id, text) of each piece stored.
    pieces: Vec<(i64, &'a str)>,
}

impl<'a> Batch<'a> {
    /// The span stored as row `rowid` (after every row stored before in this batch), its
    /// indexed text `text`.
    pub(crate) fn span(&mut self, rowid: i64, text: impl Into<Cow<'a, str>>) {
        self.spans.push((rowid, text.into()));
    }

    /// The span of row `rowid` rewritten, its new indexed text `text`: an entry of its own
    /// (`-rowid`), its words as stored staying where they are (the index may hold more than a
    /// span's words, never less).
    pub(crate) fn rewritten(&mut self, rowid: i64, text: impl Into<Cow<'a, str>>) {
        self.rewritten.push((rowid, text.into()));
    }

    /// The content piece `id`.
    pub(crate) fn piece(&mut self, id: i64, text: &'a str) {
        self.pieces.push((id, text));
    }

    /// Indexes every span and piece gathered, the spans' lines `frequent` knows left out,
    /// counting the others; answers the lines that became frequent in this transaction, to
    /// hand to [`FrequentLines::committed`] once it commits. The spans stored go in entries
    /// of up to [`GROUP`] spans (one FTS5 insert costs about as much as the trigrams of a
    /// short span: 102 → 121 k spans/s at the store with 32, means of seven rounds).
    pub(crate) fn index(
        self,
        tx: &Connection,
        frequent: &mut FrequentLines,
    ) -> Result<Vec<String>, DbError> {
        if !self.spans.is_empty() || !self.rewritten.is_empty() {
            frequent.load(tx)?;
        }
        let mut promoted = Vec::new();
        let mut kept = String::new();
        for group in self.spans.chunks(GROUP) {
            kept.clear();
            for (_, text) in group {
                frequent.keep(tx, text, &mut kept, &mut promoted)?;
            }
            if let ([(first, _), ..], [.., (last, _)]) = (group, group) {
                index_entry(tx, *first, *last, &kept)?;
            }
        }
        for (rowid, text) in &self.rewritten {
            kept.clear();
            frequent.keep(tx, text, &mut kept, &mut promoted)?;
            index_entry(tx, -rowid, -rowid, &kept)?;
        }
        for (id, text) in self.pieces {
            insert(tx, "piece_words", id, text)?;
        }
        Ok(promoted)
    }
}

/// Indexes `text` as the entry `first` of `span_words`, covering the rows `first` to `last`
/// (recorded in `span_word_groups` unless it is one row's, `first` = `last` > 0).
fn index_entry(tx: &Connection, first: i64, last: i64, text: &str) -> Result<(), DbError> {
    if text.is_empty() {
        return Ok(());
    }
    insert(tx, "span_words", first, text)?;
    if first != last || first < 0 {
        tx.prepare_cached("INSERT INTO span_word_groups (first, last) VALUES (?1, ?2)")
            .db()?
            .execute([first, last])
            .db()?;
    }
    Ok(())
}

/// Indexes `text` as row `rowid` of the FTS5 table `table`.
fn insert(tx: &Connection, table: &str, rowid: i64, text: &str) -> Result<(), DbError> {
    tx.prepare_cached(&format!(
        "INSERT INTO {table} (rowid, text) VALUES (?1, ?2)"
    ))
    .db()?
    .execute(rusqlite::params![rowid, text])
    .db()?;
    Ok(())
}

/// What the writer knows of frequent lines: those recorded (committed) in `frequent_lines`,
/// and how often it has seen the others, by hash.
///
/// A line is left out of an index entry only if it is recorded: [`FrequentLines::known`] is
/// reloaded after a failed transaction, and a line joins it once the transaction recording it
/// has committed. Another store writing the same file may record lines this one does not
/// know: it then indexes them still, which only makes more candidates.
#[derive(Debug, Default)]
pub(crate) struct FrequentLines {
    known: HashSet<String>,
    loaded: bool,
    counts: HashMap<u64, u32>,
}

impl FrequentLines {
    fn load(&mut self, conn: &Connection) -> Result<(), DbError> {
        if self.loaded {
            return Ok(());
        }
        let mut stmt = conn
            .prepare_cached("SELECT text FROM frequent_lines")
            .db()?;
        let mut rows = stmt.query([]).db()?;
        self.known.clear();
        while let Some(row) = rows.next().db()? {
            self.known.insert(row.get(0).db()?);
        }
        self.loaded = true;
        Ok(())
    }

    /// Appends to `kept` the lines of `text` an entry holds: those of three characters or
    /// more (fewer hold no trigram) not recorded as frequent, each followed by a line feed;
    /// counts each, recording in `promoted` (and `frequent_lines`) those that become frequent.
    fn keep(
        &mut self,
        tx: &Connection,
        text: &str,
        kept: &mut String,
        promoted: &mut Vec<String>,
    ) -> Result<(), DbError> {
        // Split at every line feed only (`lines` would drop a `\r` before one).
        for line in text.split('\n') {
            if line.chars().nth(2).is_none() || self.known.contains(line) {
                continue;
            }
            if self.count(line) {
                tx.prepare_cached("INSERT OR IGNORE INTO frequent_lines (text) VALUES (?1)")
                    .db()?
                    .execute([line])
                    .db()?;
                promoted.push(line.to_owned());
            }
            kept.push_str(line);
            kept.push('\n');
        }
        Ok(())
    }

    /// Counts one more sight of `line`; whether it has just become frequent.
    fn count(&mut self, line: &str) -> bool {
        let mut hash = Fnv::new();
        hash.bytes(line.as_bytes());
        if self.counts.len() >= MAX_COUNTED {
            // Forget the rarest: those seen once, then twice, … until half are left.
            let mut floor = 2;
            while self.counts.len() > MAX_COUNTED / 2 {
                self.counts.retain(|_, seen| *seen >= floor);
                floor = floor.saturating_mul(2);
            }
        }
        let seen = self.counts.entry(hash.finish()).or_default();
        *seen += 1;
        *seen == FREQUENT_AT
    }

    /// The lines [`Batch::index`] recorded, now committed.
    pub(crate) fn committed(&mut self, promoted: Vec<String>) {
        self.known.extend(promoted);
    }

    /// Forgets what may not be committed: reloads the recorded lines before the next batch.
    pub(crate) fn forget(&mut self) {
        self.loaded = false;
    }
}

/// Indexes the words of the span stored as row `rowid`, all its lines (spans stored before
/// the index, by the migration that made it).
pub(crate) fn index_span(tx: &Connection, rowid: i64, text: &str) -> Result<(), DbError> {
    insert(tx, "span_words", rowid, text)
}

/// Forgets the words of the span of row `rowid` before its rewrite indexes its new ones: its
/// entry of an earlier rewrite.
pub(crate) fn forget_rewrite(tx: &Connection, rowid: i64) -> Result<(), DbError> {
    let removed = tx
        .prepare_cached("DELETE FROM span_word_groups WHERE first = ?1")
        .db()?
        .execute([-rowid])
        .db()?;
    if removed > 0 {
        delete(tx, -rowid)?;
    }
    Ok(())
}

/// Forgets the words of the spans of `rows` (deleted): each one's rewrite entry, and the
/// entries covering them of which no span is left.
pub(crate) fn forget_spans(tx: &Connection, rows: &[i64]) -> Result<(), DbError> {
    let mut covering = tx
        .prepare_cached(
            "SELECT first, last FROM span_word_groups WHERE first BETWEEN 1 AND ?1 \
             ORDER BY first DESC LIMIT 1",
        )
        .db()?;
    let mut left = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM spans WHERE rowid BETWEEN ?1 AND ?2)")
        .db()?;
    for &rowid in rows {
        forget_rewrite(tx, rowid)?;
        let group: Option<(i64, i64)> = covering
            .query_row([rowid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .db()?
            .filter(|&(_, last)| last >= rowid);
        let (first, last) = group.unwrap_or((rowid, rowid));
        if left
            .query_row([first, last], |r| r.get::<_, bool>(0))
            .db()?
        {
            continue;
        }
        delete(tx, first)?;
        if group.is_some() {
            tx.prepare_cached("DELETE FROM span_word_groups WHERE first = ?1")
                .db()?
                .execute([first])
                .db()?;
        }
    }
    Ok(())
}

/// Deletes the entry `rowid` of `span_words`.
fn delete(tx: &Connection, rowid: i64) -> Result<(), DbError> {
    tx.prepare_cached("DELETE FROM span_words WHERE rowid = ?1")
        .db()?
        .execute([rowid])
        .db()?;
    Ok(())
}
