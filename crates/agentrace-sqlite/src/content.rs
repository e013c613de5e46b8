//! Content kept once per file: the pieces and chains of [`agentrace_store::content`] in two
//! tables, and a span's `content` column naming the chains its values end with.
//!
//! - `content_pieces`: one row per distinct piece (`hash` unique), its text LZ4-compressed when
//!   that makes it shorter (`lz4` = 1);
//! - `content_nodes`: one row per distinct chain node (`hash` unique): the node before it and
//!   its piece;
//! - `spans.content`: JSON `[[position, key, last node id, tail], …]`, the values taken out of
//!   `spans.attributes`, given back at their positions when the span is read.
//!
//! - `content_refs`: (last node, span row) for each value, what search finds spans by and
//!   retention keeps nodes alive by.
//!
//! Nothing points at a node or a piece but spans and later nodes: [`collect_garbage`] deletes
//! those that no span reaches any more, after retention deleted spans.

use std::collections::HashMap;
use std::sync::Arc;

use agentrace_core::Attributes;
use agentrace_store::content::{ContentHash, ContentValues};
use agentrace_store::{QueryError, WriteError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Db;
use crate::words::Batch;

/// Pieces shorter than this are stored as they are: LZ4 gains nothing on them.
const COMPRESSED_FROM: usize = 256;

/// Node ids remembered by the writer before it forgets them all.
const MAX_CACHED_NODES: usize = 200_000;

/// The node ids the writer has looked up or made, by hash.
#[derive(Debug, Default)]
pub(crate) struct NodeIds(HashMap<ContentHash, i64>);

impl NodeIds {
    /// Forgets every id: after a failed transaction, or one that may have deleted nodes.
    pub(crate) fn forget(&mut self) {
        self.0.clear();
    }

    fn find(&mut self, tx: &Connection, hash: &ContentHash) -> Result<Option<i64>, QueryError> {
        if let Some(&id) = self.0.get(hash) {
            return Ok(Some(id));
        }
        let id = id_by_hash(tx, "SELECT id FROM content_nodes WHERE hash = ?1", hash)?;
        if let Some(id) = id {
            self.remember(*hash, id);
        }
        Ok(id)
    }

    fn remember(&mut self, hash: ContentHash, id: i64) {
        if self.0.len() >= MAX_CACHED_NODES {
            self.0.clear();
        }
        self.0.insert(hash, id);
    }
}

/// What a span keeps of its content values: its `content` column, and the last node of each
/// chain (what `content_refs` links to the span).
#[derive(Debug, Default)]
pub(crate) struct Kept {
    pub(crate) column: Option<String>,
    pub(crate) last_nodes: Vec<i64>,
}

impl Kept {
    /// Links the span stored as row `span` to its chains, for search and retention.
    pub(crate) fn link(&self, tx: &Connection, span: i64) -> Result<(), WriteError> {
        for node in &self.last_nodes {
            tx.prepare_cached("INSERT OR IGNORE INTO content_refs (node, span) VALUES (?1, ?2)")
                .db()?
                .execute([node, &span])
                .db()?;
        }
        Ok(())
    }
}

/// Stores the pieces and nodes of `values` (cut from `attributes`) that the file does not hold
/// yet (each new piece's words gathered in `words`), and answers what the span keeps.
pub(crate) fn store<'a>(
    tx: &Connection,
    ids: &mut NodeIds,
    attributes: &'a Attributes,
    values: &ContentValues,
    words: &mut Batch<'a>,
) -> Result<Kept, WriteError> {
    if values.is_empty() {
        return Ok(Kept::default());
    }
    let mut column = Vec::with_capacity(values.values().len());
    let mut last_nodes = Vec::with_capacity(values.values().len());
    for value in values.values() {
        let Some(text) = attributes.get(value.key()).and_then(|v| v.as_str()) else {
            continue;
        };
        let pieces = value.pieces();
        // The longest stored beginning of the chain: a history one message longer than the
        // last call's finds all but its last node.
        let mut stored = None;
        let mut from = pieces.len();
        while from > 0 {
            if let Some(id) = ids.find(tx, &pieces[from - 1].node)? {
                stored = Some(id);
                break;
            }
            from -= 1;
        }
        let mut last = stored;
        for piece in &pieces[from..] {
            let body = text.get(piece.range.0..piece.range.1).unwrap_or_default();
            let piece_id = piece_id(tx, &piece.hash, body, words)?;
            tx.prepare_cached("INSERT INTO content_nodes (hash, prev, piece) VALUES (?1, ?2, ?3)")
                .db()?
                .execute(params![&piece.node[..], last, piece_id])
                .db()?;
            let id = tx.last_insert_rowid();
            ids.remember(piece.node, id);
            last = Some(id);
        }
        column.push(serde_json::json!([
            value.position(),
            value.key(),
            last,
            value.tail(text)
        ]));
        last_nodes.extend(last);
    }
    Ok(Kept {
        column: Some(agentrace_store::json(&column, "content references")?),
        last_nodes,
    })
}

/// The id `select` (a node's or a piece's, by `?1`) finds for `hash`.
fn id_by_hash(
    tx: &Connection,
    select: &str,
    hash: &ContentHash,
) -> Result<Option<i64>, QueryError> {
    Ok(tx
        .prepare_cached(select)
        .db()?
        .query_row([&hash[..]], |r| r.get::<_, i64>(0))
        .optional()
        .db()?)
}

/// The id of the piece hashed `hash`, stored now (its words gathered in `words`) if it is new.
fn piece_id<'a>(
    tx: &Connection,
    hash: &ContentHash,
    text: &'a str,
    words: &mut Batch<'a>,
) -> Result<i64, WriteError> {
    if let Some(id) = id_by_hash(tx, "SELECT id FROM content_pieces WHERE hash = ?1", hash)? {
        return Ok(id);
    }
    let compressed = (text.len() >= COMPRESSED_FROM)
        .then(|| lz4_flex::compress(text.as_bytes()))
        .filter(|c| c.len() < text.len());
    let (lz4, body) = match &compressed {
        Some(c) => (1, c.as_slice()),
        None => (0, text.as_bytes()),
    };
    tx.prepare_cached("INSERT INTO content_pieces (hash, size, lz4, body) VALUES (?1, ?2, ?3, ?4)")
        .db()?
        .execute(params![&hash[..], text.len() as i64, lz4, body])
        .db()?;
    let id = tx.last_insert_rowid();
    words.piece(id, text);
    Ok(id)
}

/// The nodes of a chain, last first: (piece id) for each.
const CHAIN: &str = "WITH RECURSIVE chain (prev, piece, depth) AS ( \
     SELECT prev, piece, 0 FROM content_nodes WHERE id = ?1 \
     UNION ALL SELECT n.prev, n.piece, c.depth + 1 FROM content_nodes AS n \
     JOIN chain AS c ON n.id = c.prev) \
     SELECT piece FROM chain ORDER BY depth DESC";

/// Pieces read during one query, by id.
#[derive(Debug, Default)]
pub(crate) struct PieceCache {
    by_id: HashMap<i64, Arc<str>>,
}

impl PieceCache {
    /// Puts the values named by `column` (a span's `content`) back into `attributes` at their
    /// positions.
    pub(crate) fn restore(
        &mut self,
        conn: &Connection,
        column: &str,
        attributes: &mut Attributes,
    ) -> Result<(), QueryError> {
        let entries: Vec<(usize, String, i64, String)> = serde_json::from_str(column)
            .map_err(|e| QueryError::decode("content references", e))?;
        for (position, key, last, tail) in entries {
            let mut text = self.chain(conn, last)?;
            text.push_str(&tail);
            attributes.insert_at(position, key, text);
        }
        Ok(())
    }

    /// The text of the chain ending with node `last`.
    fn chain(&mut self, conn: &Connection, last: i64) -> Result<String, QueryError> {
        let mut stmt = conn.prepare_cached(CHAIN).db()?;
        let mut rows = stmt.query([last]).db()?;
        let mut text = String::new();
        let mut found = false;
        while let Some(row) = rows.next().db()? {
            found = true;
            let piece: i64 = row.get(0).db()?;
            text.push_str(&self.piece(conn, piece)?);
        }
        if !found {
            return Err(QueryError::decode(
                "content",
                format!("content node {last} is missing"),
            ));
        }
        Ok(text)
    }

    fn piece(&mut self, conn: &Connection, id: i64) -> Result<Arc<str>, QueryError> {
        if let Some(text) = self.by_id.get(&id) {
            return Ok(text.clone());
        }
        let (size, lz4, body): (i64, bool, Vec<u8>) = conn
            .prepare_cached("SELECT size, lz4, body FROM content_pieces WHERE id = ?1")
            .db()?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .db()?
            .ok_or_else(|| {
                QueryError::decode("content", format!("content piece {id} is missing"))
            })?;
        let bytes = if lz4 {
            lz4_flex::decompress(&body, usize::try_from(size).unwrap_or(0))
                .map_err(|e| QueryError::decode("content piece", e))?
        } else {
            body
        };
        let text: Arc<str> = String::from_utf8(bytes)
            .map_err(|e| QueryError::decode("content piece", e))?
            .into();
        self.by_id.insert(id, text.clone());
        Ok(text)
    }
}

/// Deletes the links of deleted spans, the nodes no span's chain reaches any more and the
/// pieces no node names (and their words); answers how many nodes and pieces went. Reads every
/// link: run after retention deleted spans, not on every write.
pub(crate) fn collect_garbage(tx: &Connection) -> Result<(usize, usize), QueryError> {
    tx.execute_batch(
        "DELETE FROM content_refs WHERE span NOT IN (SELECT rowid FROM spans); \
         CREATE TEMP TABLE IF NOT EXISTS live_nodes (id INTEGER PRIMARY KEY); \
         DELETE FROM temp.live_nodes; \
         WITH RECURSIVE live (id) AS ( \
             SELECT DISTINCT node FROM content_refs \
             UNION SELECT n.prev FROM content_nodes AS n JOIN live ON n.id = live.id \
             WHERE n.prev IS NOT NULL) \
         INSERT OR IGNORE INTO temp.live_nodes SELECT id FROM live;",
    )
    .db()?;
    let nodes = tx
        .execute(
            "DELETE FROM content_nodes WHERE id NOT IN (SELECT id FROM temp.live_nodes)",
            [],
        )
        .db()?;
    let mut pieces = 0;
    {
        let mut deleted = tx
            .prepare(
                "DELETE FROM content_pieces AS p WHERE NOT EXISTS \
                 (SELECT 1 FROM content_nodes AS n WHERE n.piece = p.id) RETURNING id",
            )
            .db()?;
        let mut rows = deleted.query([]).db()?;
        let mut forget = tx
            .prepare_cached("DELETE FROM piece_words WHERE rowid = ?1")
            .db()?;
        while let Some(row) = rows.next().db()? {
            let id: i64 = row.get(0).db()?;
            forget.execute([id]).db()?;
            pieces += 1;
        }
    }
    tx.execute("DELETE FROM temp.live_nodes", []).db()?;
    Ok((nodes, pieces))
}
