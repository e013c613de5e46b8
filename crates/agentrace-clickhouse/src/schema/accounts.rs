//! Schema version 8, people and the audit log: users, their roles in projects, their login
//! sessions, invitations, and the audit log, in the registry beside `projects`
//! (`crate::organization`).
//!
//! The people's tables are `ReplacingMergeTree`s, as the registry's are: a change is a newer
//! version of a row; a deleted user stays, marked, so that their id (`max(id) + 1`) is never
//! given again; a role removed, a session ended, an invitation taken are newer rows, marked.
//! Reads keep the newest version (`FINAL`) of rows unmarked, of live users and projects. What
//! must be checked before it is written (an e-mail free, an invitation not yet taken) is
//! checked and written under the registry's lock. Sessions and invitations have no TTL: an
//! ended one stays until the server removes it (as SQLite's do), so that expiry is the reader's
//! to judge. The audit log is append-only: a `ReplacingMergeTree` on `(at, id)`
//! (an entry appended twice is one), partitioned by month, expired by lightweight deletes.

use super::{MergeTree, Migration, ReplicaPath, Statement, Table};

/// Migration 8: see the module's documentation.
pub(crate) const ACCOUNTS: Migration = Migration {
    version: 8,
    statements: &[
        Statement::Table(Table {
            name: "users",
            columns: "(
            id UInt64,
            email String,
            name String,
            role LowCardinality(String),
            password_hash Nullable(String),
            subject Nullable(String),
            created DateTime64(9, 'UTC'),
            last_login Nullable(DateTime64(9, 'UTC')),
            deleted UInt8,
            version UInt64
        )",
            engine: MergeTree::Replacing {
                version: Some("version"),
            },
            clauses: "ORDER BY id",
            shard_key: "id",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Table(Table {
            name: "user_grants",
            columns: "(
            user UInt64,
            project UInt32,
            role LowCardinality(String),
            deleted UInt8,
            version UInt64
        )",
            engine: MergeTree::Replacing {
                version: Some("version"),
            },
            clauses: "ORDER BY (user, project)",
            shard_key: "user",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Table(Table {
            name: "login_sessions",
            columns: "(
            hash FixedString(32),
            user UInt64,
            created DateTime64(9, 'UTC'),
            expires DateTime64(9, 'UTC'),
            address String,
            user_agent String,
            deleted UInt8,
            version UInt64
        )",
            engine: MergeTree::Replacing {
                version: Some("version"),
            },
            clauses: "ORDER BY hash",
            shard_key: "cityHash64(hash)",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Table(Table {
            name: "invitations",
            columns: "(
            hash FixedString(32),
            email String,
            role LowCardinality(String),
            grants String,
            created_by String,
            created DateTime64(9, 'UTC'),
            expires DateTime64(9, 'UTC'),
            taken UInt8,
            version UInt64
        )",
            engine: MergeTree::Replacing {
                version: Some("version"),
            },
            clauses: "ORDER BY hash",
            shard_key: "cityHash64(hash)",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Table(Table {
            name: "audit_log",
            columns: "(
            at DateTime64(9, 'UTC'),
            id UInt64,
            actor_kind LowCardinality(String),
            actor_id Nullable(UInt64),
            actor_name String,
            action LowCardinality(String),
            target String,
            project Nullable(UInt32),
            address Nullable(String),
            status UInt16,
            before Nullable(String),
            after Nullable(String)
        )",
            engine: MergeTree::Replacing { version: None },
            clauses: "PARTITION BY toYYYYMM(at)
        ORDER BY (at, id)",
            shard_key: "id",
            replica_path: ReplicaPath::Uuid,
        }),
    ],
};
