//! Writing the search indexes (`span_words`, `piece_words`: see [`crate::search`]): what the
//! writer, retention and repairs do as they store, delete and rewrite spans and pieces.

use rusqlite::Connection;

use crate::error::{Db, DbError};

/// Indexes the words of the span stored as row `rowid`.
pub(crate) fn index_span(tx: &Connection, rowid: i64, text: &str) -> Result<(), DbError> {
    tx.prepare_cached("INSERT INTO span_words (rowid, text) VALUES (?1, ?2)")
        .db()?
        .execute(rusqlite::params![rowid, text])
        .db()?;
    Ok(())
}

/// Indexes the words of the span stored as row `rowid` again (its attributes were rewritten).
pub(crate) fn reindex_span(tx: &Connection, rowid: i64, text: &str) -> Result<(), DbError> {
    forget_span(tx, rowid)?;
    index_span(tx, rowid, text)
}

/// Forgets the words of the span stored as row `rowid` (deleted).
pub(crate) fn forget_span(tx: &Connection, rowid: i64) -> Result<(), DbError> {
    tx.prepare_cached("DELETE FROM span_words WHERE rowid = ?1")
        .db()?
        .execute([rowid])
        .db()?;
    Ok(())
}

/// Indexes the words of the content piece `id`.
pub(crate) fn index_piece(tx: &Connection, id: i64, text: &str) -> Result<(), DbError> {
    tx.prepare_cached("INSERT INTO piece_words (rowid, text) VALUES (?1, ?2)")
        .db()?
        .execute(rusqlite::params![id, text])
        .db()?;
    Ok(())
}
