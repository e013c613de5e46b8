//! Search on SQLite: the words of every span and every content piece in FTS5 trigram indexes,
//! so that a word of any language, or a part of an identifier, finds its spans without reading
//! the others.
//!
//! - `span_words`: the span's name, status message, attribute values but its content kept
//!   apart, and its span events ([`agentrace_store::search::indexed_text`]), a line each, but
//!   the lines frequent enough to be left out ([`crate::words`]); an entry holds the words of
//!   up to [`GROUP`](crate::words::GROUP) spans stored one after another (rowid: the first
//!   one's row; `span_word_groups` names the last, else it is that row's alone), or a
//!   rewritten span's new words (rowid: minus its row);
//! - `piece_words` (rowid: the piece's id): each content piece, once.
//!
//! Both are contentless, `detail = 'none'`: they keep which rows hold each trigram (three
//! characters, case-folded), no positions, no text. A word of three characters or more is
//! looked up as the rows holding all its trigrams — a superset of its matches — and every
//! candidate is judged by the query itself, as a scan would judge it; a query whose match must
//! hold one word of an `OR` of words (`kind:tool (timeout OR failed)`) looks up each, its
//! candidates the rows holding any ([`required_word_choices`]). A piece's matches reach
//! their spans through the chains that go on from it (`content_nodes`) and the spans that end
//! one of those (`content_refs`): a message found once finds every later call whose history
//! repeats it.
//!
//! The word looked up is one the index finds wherever it is: not in a resource's attributes
//! (every span of the resource matches it: no index narrows that), nor in a frequent line.
//! When a query has no such word (or `OR` of words), or when the word's candidates pass
//! [`MAX_CANDIDATES`], the search scans instead ([`agentrace_store::search::scan`]): a word
//! that common finds its hits among the newest spans.

use std::collections::HashSet;

use agentrace_store::QueryError;
use agentrace_store::content::ContentValues;
use agentrace_store::search::{
    SCAN_BUDGET, SearchCursor, SearchHit, SearchPage, SearchQuery, indexed_text,
    required_word_choices,
};
use rusqlite::{Connection, OptionalExtension};

use crate::codec::{self, ReadCache, SPAN_COLUMN_COUNT, SPAN_COLUMNS};
use crate::error::Db;
use crate::words::{MAX_CANDIDATES, index_span};

/// Migration 14 → 15: indexes the words of the spans stored before, their content inline with
/// them (so found by their own words).
pub(crate) fn index_stored_spans(conn: &Connection) -> Result<(), QueryError> {
    let mut after = i64::MIN;
    let none = ContentValues::default();
    loop {
        let mut batch = Vec::new();
        {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {SPAN_COLUMNS}, s.rowid FROM spans AS s WHERE s.rowid > ?1 \
                     ORDER BY s.rowid LIMIT 10000"
                ))
                .db()?;
            let mut rows = stmt.query([after]).db()?;
            let mut cache = ReadCache::default();
            while let Some(row) = rows.next().db()? {
                after = row.get(SPAN_COLUMN_COUNT).db()?;
                let span = codec::span(row, conn, &mut cache)?;
                batch.push((after, indexed_text(&span, &none)));
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        for (rowid, text) in batch {
            index_span(conn, rowid, &text)?;
        }
    }
}

/// The FTS5 query of the rows holding every trigram of `word` (at least three characters).
fn trigrams(word: &str) -> Option<String> {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let mut grams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    grams.sort();
    grams.dedup();
    Some(
        grams
            .iter()
            .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

/// The text no index entry holds, case-folded as the query's words are: the resources'
/// attributes (every span of a resource matches a word of them) and the lines left out of
/// the span words' index as frequent ([`crate::words`]).
fn unindexed_text(conn: &Connection) -> Result<Vec<String>, QueryError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT attributes FROM resources WHERE attributes IS NOT NULL \
             UNION ALL SELECT text FROM frequent_lines",
        )
        .db()?;
    let mut rows = stmt.query([]).db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        let text = row
            .get_ref(0)
            .db()?
            .as_str()
            .map_err(|e| QueryError::decode("text", e))?;
        out.push(text.chars().flat_map(char::to_lowercase).collect());
    }
    Ok(out)
}

/// The rows of the spans that may hold `word`: by their own words, and by the content pieces
/// their chains go through; `None` past [`MAX_CANDIDATES`].
fn candidates(conn: &Connection, word: &str) -> Result<Option<HashSet<i64>>, QueryError> {
    let Some(fts) = trigrams(word) else {
        return Ok(None);
    };
    let over = i64::try_from(MAX_CANDIDATES + 1).unwrap_or(i64::MAX);
    let mut spans = HashSet::new();
    {
        // An entry covers its rows up to its group's last, or its own row (a rewrite's: -row).
        let mut stmt = conn
            .prepare_cached(
                "SELECT span_words.rowid, g.last FROM span_words \
                 LEFT JOIN span_word_groups AS g ON g.first = span_words.rowid \
                 WHERE span_words MATCH ?1 LIMIT ?2",
            )
            .db()?;
        let mut rows = stmt.query(rusqlite::params![fts, over]).db()?;
        while let Some(row) = rows.next().db()? {
            let entry = row.get::<_, i64>(0).db()?;
            let last = row.get::<_, Option<i64>>(1).db()?;
            if entry < 0 {
                spans.insert(-entry);
                continue;
            }
            for rowid in entry..=last.unwrap_or(entry) {
                spans.insert(rowid);
                if spans.len() > MAX_CANDIDATES {
                    return Ok(None);
                }
            }
        }
    }
    let mut nodes = Vec::new();
    {
        let mut stmt = conn
            .prepare_cached(
                "WITH RECURSIVE hit (id) AS ( \
                     SELECT n.id FROM content_nodes AS n WHERE n.piece IN \
                         (SELECT rowid FROM piece_words WHERE piece_words MATCH ?1) \
                     UNION SELECT c.id FROM content_nodes AS c JOIN hit ON c.prev = hit.id \
                     LIMIT ?2) \
                 SELECT id FROM hit",
            )
            .db()?;
        let mut rows = stmt.query(rusqlite::params![fts, over]).db()?;
        while let Some(row) = rows.next().db()? {
            nodes.push(row.get::<_, i64>(0).db()?);
        }
    }
    if nodes.len() > MAX_CANDIDATES {
        return Ok(None);
    }
    let mut refs = conn
        .prepare_cached("SELECT span FROM content_refs WHERE node = ?1")
        .db()?;
    for node in nodes {
        let mut rows = refs.query([node]).db()?;
        while let Some(row) = rows.next().db()? {
            spans.insert(row.get::<_, i64>(0).db()?);
        }
        if spans.len() > MAX_CANDIDATES {
            return Ok(None);
        }
    }
    Ok((spans.len() <= MAX_CANDIDATES).then_some(spans))
}

/// Answers `q` from the index, or `None` where it scans instead (see the module's docs).
pub(crate) fn from_index(
    conn: &Connection,
    q: &SearchQuery,
) -> Result<Option<SearchPage>, QueryError> {
    let unindexed = unindexed_text(conn)?;
    // The choices whose every word the index finds: three characters or more, on one line,
    // in no text the index leaves out.
    let choices: Vec<Vec<String>> = required_word_choices(&q.query)
        .into_iter()
        .filter(|choice| {
            choice.iter().all(|w| {
                w.chars().count() >= 3
                    && !w.contains('\n')
                    && !unindexed.iter().any(|text| text.contains(w.as_str()))
            })
        })
        .collect();
    // A word alone, the longest; else the OR of words whose shortest is longest.
    let Some(driver) = choices.iter().max_by_key(|choice| {
        (
            choice.len() == 1,
            choice.iter().map(|w| w.chars().count()).min(),
        )
    }) else {
        return Ok(None);
    };
    let mut rows = HashSet::new();
    for word in driver {
        let Some(found) = candidates(conn, word)? else {
            return Ok(None);
        };
        rows.extend(found);
        if rows.len() > MAX_CANDIDATES {
            return Ok(None);
        }
    }
    let resume = q.cursor.as_ref().map(SearchCursor::read).transpose()?;
    // (start, row) of the candidates in the range and after the cursor, newest first.
    let mut order: Vec<(u64, i64)> = Vec::with_capacity(rows.len());
    {
        let mut start = conn
            .prepare_cached("SELECT start_ns FROM spans WHERE rowid = ?1")
            .db()?;
        for row in rows {
            let Some(ns) = start
                .query_row([row], |r| r.get::<_, i64>(0))
                .optional()
                .db()?
            else {
                continue;
            };
            let ns = codec::from_sql(ns);
            if q.range.contains(ns) && resume.is_none_or(|c| ns <= c.start) {
                order.push((ns, row));
            }
        }
    }
    order.sort_unstable_by(|a, b| b.cmp(a));
    let mut skip = resume.map_or(0, |c| c.seen_at_start);
    let mut position = resume;
    let mut page = SearchPage {
        hits: Vec::new(),
        next_cursor: None,
        judged: 0,
    };
    let mut read = conn
        .prepare_cached(&format!(
            "SELECT {SPAN_COLUMNS} FROM spans AS s WHERE s.rowid = ?1"
        ))
        .db()?;
    let mut cache = ReadCache::default();
    for (i, &(ns, row)) in order.iter().enumerate() {
        if skip > 0 && resume.is_some_and(|c| c.start == ns) {
            skip -= 1;
            continue;
        }
        skip = 0;
        SearchCursor::advance(&mut position, ns);
        let mut rows = read.query([row]).db()?;
        let Some(r) = rows.next().db()? else {
            continue;
        };
        let span = codec::span(r, conn, &mut cache)?;
        page.judged += 1;
        if q.query.matches(&span) {
            page.hits.push(SearchHit::of(&span, &q.query));
        }
        let more = i + 1 < order.len();
        if more && (page.hits.len() >= q.limit || page.judged >= SCAN_BUDGET) {
            page.next_cursor = position.map(SearchCursor::cursor);
            break;
        }
    }
    Ok(Some(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_looked_up_by_its_trigrams_quoted() {
        assert_eq!(trigrams("ab"), None);
        assert_eq!(trigrams("abcb").as_deref(), Some(r#""abc" AND "bcb""#));
        assert_eq!(trigrams("a\"b").as_deref(), Some(r#""a""b""#));
        assert_eq!(trigrams("ééé").as_deref(), Some(r#""ééé""#));
    }
}
