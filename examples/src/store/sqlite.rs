//! [`SqliteStore`]: the server's [`Store`] in one SQLite file (PROTOCOL.md R-8.3, R-8.6, R-8.13, R-8.16).
//!
//! # Schema
//!
//! - `schema_version(id = 1, version)`: one row, the number of [`MIGRATIONS`] applied.
//! - `accounts(name PRIMARY KEY, password_hash, created_ms)`: registration order is the rowid order.
//! - `kept(id, user, at_ms, verb, sender, recipient, text)`: messages kept for offline users; `id` orders
//!   them, index `kept_by_user(user)` finds (and deletes) one user's.
//! - `history(id, at_ms, verb, sender, recipient, text)`: every broadcast, room and private message; `id`
//!   orders them. Indexes `history_by_verb(verb)`, `history_by_recipient(verb, recipient)` and
//!   `history_by_sender(verb, sender)` serve [`Store::history`]: each part of the visibility rule reads its
//!   newest rows straight off one index (an index ends in the rowid, so rows with equal keys are in `id`
//!   order), so a request costs about `limit` rows per part however long the history is.
//!
//! Verbs are stored as their `u32`, times as ms since the Unix epoch.
//!
//! # Durability
//!
//! Every write is one SQLite transaction that has been committed, and fsynced, when the call returns; see
//! [`SqliteStore::open`] for the settings and why.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatproto::chat::{Entry, Kept, Store, StoreError};
use chatproto::Verb;
use rusqlite::types::ToSql;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

/// The database file [`SqliteStore::open`] creates in its directory.
pub const DB_FILE: &str = "chatproto.db";

/// The schema, one step per version: step `i` takes the database from version `i` to `i + 1`. Steps are
/// only ever appended; a released step is never edited.
const MIGRATIONS: &[&str] = &[
    // Version 1.
    "CREATE TABLE accounts (
         name          TEXT PRIMARY KEY NOT NULL,
         password_hash TEXT NOT NULL,
         created_ms    INTEGER NOT NULL
     );
     CREATE TABLE kept (
         id        INTEGER PRIMARY KEY AUTOINCREMENT,
         user      TEXT NOT NULL,
         at_ms     INTEGER NOT NULL,
         verb      INTEGER NOT NULL,
         sender    TEXT NOT NULL,
         recipient TEXT NOT NULL,
         text      TEXT NOT NULL
     );
     CREATE INDEX kept_by_user ON kept (user);
     CREATE TABLE history (
         id        INTEGER PRIMARY KEY AUTOINCREMENT,
         at_ms     INTEGER NOT NULL,
         verb      INTEGER NOT NULL,
         sender    TEXT NOT NULL,
         recipient TEXT NOT NULL,
         text      TEXT NOT NULL
     );
     CREATE INDEX history_by_verb ON history (verb);
     CREATE INDEX history_by_recipient ON history (verb, recipient);
     CREATE INDEX history_by_sender ON history (verb, sender);",
    // Version 2: the sender's packet number travels with a kept message, for DELIVERED (R-8.12).
    "ALTER TABLE kept ADD COLUMN number INTEGER NOT NULL DEFAULT 0;",
];

/// Up to this many rooms, [`Store::history`] reads each room's messages off the index separately (newest
/// `limit` each); beyond it, one `IN` over all of them, for which SQLite picks a plan that may read many
/// more rows. SQLite allows at most 500 terms in a compound SELECT, and 32766 parameters (so rooms) in
/// one statement.
const ROOM_BRANCHES: usize = 32;

/// How long a write waits for a lock another process holds before failing. Only another process opening
/// the same file (a second server, the `sqlite3` shell) can hold one.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The server's [`Store`]: accounts, messages kept for offline users and history, in the SQLite database
/// `chatproto.db` ([`DB_FILE`]) of a data directory.
///
/// Each method is its own transaction, committed and fsynced before it returns, so the hub may confirm a
/// message as soon as the call is back (R-8.13). `Store::keep_and_record` does the work of
/// [`Store::keep_for`] and [`Store::append_history`] in one transaction.
///
/// It is [`Send`] but not [`Sync`]: one task (the hub's) owns it.
///
/// ```
/// use chatproto::chat::{Entry, Store};
/// use chatproto::Verb;
/// use chatproto_examples::store::SqliteStore;
///
/// let dir = tempfile::tempdir()?;
/// let entry = Entry {
///     at_ms: 1,
///     verb: Verb::BROADCAST,
///     from: "ann".into(),
///     to: "ALL".into(),
///     text: "hi".into(),
///     number: 0,
/// };
/// SqliteStore::open(dir.path())?.append_history(&entry)?;
/// let reopened = SqliteStore::open(dir.path())?;
/// assert_eq!(reopened.history("bob", &[], 50)?, vec![entry]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: Option<PathBuf>,
}

// The trait requires it; fail here rather than in the server if a field ever breaks it.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<SqliteStore>();
};

/// A `map_err` for a failed `op`: the store's error, saying what was being done.
fn failed(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |error| StoreError(format!("{op}: {error}"))
}

impl SqliteStore {
    /// Opens the store in `dir`, creating the directory and the database file [`DB_FILE`] in it if need
    /// be, and bringing the schema up to date.
    ///
    /// The database runs with `journal_mode=WAL` and `synchronous=FULL`. In WAL mode a commit appends to
    /// the write-ahead log; with `FULL`, SQLite fsyncs the log at every commit, so a write that has
    /// returned survives a SIGKILL or a power loss. With `NORMAL` (the usual WAL pairing) the log is only
    /// synced at checkpoints: still safe against a crash of the process, but a power loss could undo the
    /// last commits, messages the server had already confirmed, which R-8.13 ("durable before CONFIRM")
    /// forbids. The price is one fsync per message, which a chat server's rate easily affords. WAL rather
    /// than a rollback journal because a commit is then one sequential append and one fsync, instead of
    /// writing the journal and the database with several fsyncs.
    ///
    /// Fails if the directory or file cannot be created or opened, is not a database, or was written by a
    /// newer version of this store.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("open: creating {}: {e}", dir.display())))?;
        let path = dir.join(DB_FILE);
        let is_new = !path.exists();
        let conn = Connection::open(&path)
            .map_err(|e| StoreError(format!("open {}: {e}", path.display())))?;
        let mut store = SqliteStore {
            conn,
            path: Some(path),
        };
        store.configure()?;
        if is_new {
            sync_dir(dir)?;
        }
        Ok(store)
    }

    /// A store in memory, for tests: the same schema and SQL, and nothing survives the value.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().map_err(failed("open in memory"))?;
        let mut store = SqliteStore { conn, path: None };
        store.configure()?;
        Ok(store)
    }

    /// The database file, or `None` for [`SqliteStore::in_memory`].
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Connection settings, then the schema.
    fn configure(&mut self) -> Result<(), StoreError> {
        let conn = &self.conn;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(failed("open: busy_timeout"))?;
        // See `open` for why WAL and FULL. An in-memory database has no log: it answers "memory".
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(failed("open: journal_mode"))?;
        if self.path.is_some() && !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError(format!(
                "open: the database refused WAL mode (journal_mode is {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(failed("open: synchronous"))?;
        // On macOS fsync does not reach the disk's platters; F_FULLFSYNC does. Ignored elsewhere.
        conn.pragma_update(None, "fullfsync", true)
            .map_err(failed("open: fullfsync"))?;
        conn.pragma_update(None, "checkpoint_fullfsync", true)
            .map_err(failed("open: checkpoint_fullfsync"))?;
        // `history` prepares one statement per number of rooms, up to ROOM_BRANCHES + 1 shapes.
        conn.set_prepared_statement_cache_capacity(ROOM_BRANCHES + 16);
        self.migrate()
    }

    /// Applies the migrations the database has not had, in one transaction.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed("migrate"))?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (
                 id      INTEGER PRIMARY KEY CHECK (id = 1),
                 version INTEGER NOT NULL
             )",
        )
        .map_err(failed("migrate: schema_version"))?;
        let version: i64 = tx
            .query_row(
                "SELECT version FROM schema_version WHERE id = 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(failed("migrate: reading the schema version"))?
            .unwrap_or(0);
        let known = MIGRATIONS.len();
        let version = usize::try_from(version)
            .ok()
            .filter(|&v| v <= known)
            .ok_or_else(|| {
                StoreError(format!(
                    "migrate: the database has schema version {version}, this server knows up to \
                     {known}; it was written by a newer server"
                ))
            })?;
        if version == known {
            return Ok(());
        }
        for step in &MIGRATIONS[version..] {
            tx.execute_batch(step)
                .map_err(failed("migrate: applying a step"))?;
        }
        tx.execute(
            "INSERT INTO schema_version (id, version) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            [known as i64],
        )
        .map_err(failed("migrate: recording the schema version"))?;
        tx.commit().map_err(failed("migrate: commit"))
    }
}

/// Makes a new file's directory entry durable: without it, a power loss right after creating the database
/// could leave the directory without the file.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError(format!("open: syncing {}: {e}", dir.display())))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn insert_kept(conn: &Connection, user: &str, entry: &Entry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO kept (user, at_ms, verb, sender, recipient, text, number)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        user,
        entry.at_ms,
        entry.verb.to_u32(),
        entry.from,
        entry.to,
        entry.text,
        entry.number
    ])?;
    Ok(())
}

fn insert_history(conn: &Connection, entry: &Entry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO history (at_ms, verb, sender, recipient, text) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        entry.at_ms,
        entry.verb.to_u32(),
        entry.from,
        entry.to,
        entry.text
    ])?;
    Ok(())
}

/// An entry from a row of `at_ms, verb, sender, recipient, text`.
fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        at_ms: row.get(0)?,
        verb: Verb::from_u32(row.get(1)?),
        from: row.get(2)?,
        to: row.get(3)?,
        text: row.get(4)?,
        number: 0,
    })
}

/// A kept message: the history columns, then the sender's packet number, then its id.
fn kept_from_row(row: &Row<'_>) -> rusqlite::Result<Kept> {
    Ok(Kept {
        id: row.get(6)?,
        entry: Entry {
            number: row.get(5)?,
            ..entry_from_row(row)?
        },
    })
}

/// The SQL of [`Store::history`] for `rooms` distinct rooms. Parameters: `?1` the limit, `?2` the viewer,
/// `?3…` the rooms.
///
/// It is [`chatproto::chat::visible_to`] as a union of disjoint parts, each the newest `limit` rows of one
/// index: broadcasts; private messages from the viewer; private messages to the viewer from someone else
/// (the sender test keeps a message to oneself from counting twice); and messages to each room. The
/// newest `limit` of the union, turned oldest first, are the newest `limit` visible messages.
fn history_sql(rooms: usize) -> String {
    const COLUMNS: &str = "id, at_ms, verb, sender, recipient, text";
    let part = |condition: &str| {
        format!(
            "SELECT * FROM (SELECT {COLUMNS} FROM history WHERE {condition} \
             ORDER BY id DESC LIMIT ?1)"
        )
    };
    let broadcast = Verb::BROADCAST.to_u32();
    let private = Verb::PRIVATE_MESSAGE.to_u32();
    let room = Verb::ROOM_MESSAGE.to_u32();
    let mut parts = vec![
        part(&format!("verb = {broadcast}")),
        part(&format!("verb = {private} AND sender = ?2")),
        part(&format!(
            "verb = {private} AND recipient = ?2 AND sender <> ?2"
        )),
    ];
    if rooms > ROOM_BRANCHES {
        let list: Vec<String> = (0..rooms).map(|i| format!("?{}", i + 3)).collect();
        parts.push(part(&format!(
            "verb = {room} AND recipient IN ({})",
            list.join(", ")
        )));
    } else {
        for i in 0..rooms {
            parts.push(part(&format!("verb = {room} AND recipient = ?{}", i + 3)));
        }
    }
    format!(
        "SELECT at_ms, verb, sender, recipient, text FROM ({} ORDER BY id DESC LIMIT ?1) ORDER BY id",
        parts.join(" UNION ALL ")
    )
}

impl Store for SqliteStore {
    /// One transaction: both or neither are stored (R-8.6).
    fn keep_and_record(&mut self, user: &str, entry: &Entry) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed("keep_and_record"))?;
        insert_kept(&tx, user, entry).map_err(failed("keep_and_record"))?;
        insert_history(&tx, entry).map_err(failed("keep_and_record"))?;
        tx.commit().map_err(failed("keep_and_record"))
    }

    fn password_hash(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT password_hash FROM accounts WHERE name = ?1")
            .and_then(|mut stmt| stmt.query_row([name], |row| row.get(0)).optional())
            .map_err(failed("password_hash"))
    }

    fn create_account(&mut self, name: &str, password_hash: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO accounts (name, password_hash, created_ms) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut stmt| stmt.execute(params![name, password_hash, now_ms()]))
            .map(drop)
            .map_err(failed("create_account"))
    }

    fn accounts(&self) -> Result<Vec<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT name FROM accounts ORDER BY rowid")
            .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
            .map_err(failed("accounts"))
    }

    /// One transaction of its own (autocommit), durable on return.
    fn keep_for(&mut self, user: &str, entry: &Entry) -> Result<(), StoreError> {
        insert_kept(&self.conn, user, entry).map_err(failed("keep_for"))
    }

    /// Reads only: a kept message is deleted once its recipient's session has confirmed it (R-8.6).
    fn kept(&self, user: &str) -> Result<Vec<Kept>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT at_ms, verb, sender, recipient, text, number, id FROM kept WHERE user = ?1 ORDER BY id",
            )
            .and_then(|mut stmt| stmt.query_map([user], kept_from_row)?.collect())
            .map_err(failed("kept"))
    }

    /// One transaction of its own (autocommit), durable on return.
    fn forget_kept(&mut self, user: &str, id: u64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM kept WHERE user = ?1 AND id = ?2")
            .and_then(|mut stmt| stmt.execute(rusqlite::params![user, id]))
            .map(drop)
            .map_err(failed("forget_kept"))
    }

    /// One transaction of its own (autocommit), durable on return.
    fn append_history(&mut self, entry: &Entry) -> Result<(), StoreError> {
        insert_history(&self.conn, entry).map_err(failed("append_history"))
    }

    fn history(
        &self,
        viewer: &str,
        rooms: &[&str],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        // `visible_to` asks whether a room is in the list; a room listed twice must not count twice.
        let mut rooms = rooms.to_vec();
        rooms.sort_unstable();
        rooms.dedup();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut values: Vec<&dyn ToSql> = vec![&limit, &viewer];
        values.extend(rooms.iter().map(|room| room as &dyn ToSql));
        self.conn
            .prepare_cached(&history_sql(rooms.len()))
            .and_then(|mut stmt| stmt.query_map(values.as_slice(), entry_from_row)?.collect())
            .map_err(failed("history"))
    }

    /// Checkpoints the write-ahead log into the database file and truncates it. Everything was durable
    /// already; this leaves one self-contained file.
    fn flush(&mut self) -> Result<(), StoreError> {
        let (busy, _log, _moved): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(failed("flush"))?;
        if busy != 0 {
            return Err(StoreError(
                "flush: the checkpoint was blocked by another connection; the log stays, nothing is \
                 lost"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragma(store: &SqliteStore, name: &str) -> String {
        store
            .conn
            .pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
            .map(|value| match value {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .expect("the pragma answers")
    }

    #[test]
    fn a_file_store_runs_in_wal_mode_with_full_sync() -> Result<(), StoreError> {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(tmp.path())?;
        assert_eq!(pragma(&store, "journal_mode"), "wal");
        assert_eq!(pragma(&store, "synchronous"), "2", "FULL");
        Ok(())
    }

    #[test]
    fn the_schema_is_versioned_and_migrated_once() -> Result<(), StoreError> {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let version = |store: &SqliteStore| -> i64 {
            store
                .conn
                .query_row("SELECT version FROM schema_version", [], |row| row.get(0))
                .expect("a version")
        };
        let store = SqliteStore::open(tmp.path())?;
        assert_eq!(version(&store), MIGRATIONS.len() as i64);
        drop(store);
        // Reopening applies nothing again (a second CREATE TABLE would fail).
        let store = SqliteStore::open(tmp.path())?;
        assert_eq!(version(&store), MIGRATIONS.len() as i64);
        let rows: i64 = store
            .conn
            .query_row("SELECT count(*) FROM schema_version", [], |row| row.get(0))
            .expect("a count");
        assert_eq!(rows, 1);
        // A database from a newer server is refused rather than misread.
        store
            .conn
            .execute("UPDATE schema_version SET version = 99", [])
            .expect("an update");
        drop(store);
        let error = SqliteStore::open(tmp.path()).unwrap_err();
        assert!(error.0.contains("schema version 99"), "{error}");
        Ok(())
    }

    /// Every part of the history query searches an index, newest first, and stops at the limit; the
    /// sorts in the plan are of those parts' output (at most `limit` rows each) and of the union.
    #[test]
    fn history_reads_indexes_not_the_whole_table() -> Result<(), StoreError> {
        let store = SqliteStore::in_memory()?;
        for rooms in [0, 1, 3, ROOM_BRANCHES, ROOM_BRANCHES + 1] {
            let sql = format!("EXPLAIN QUERY PLAN {}", history_sql(rooms));
            let mut stmt = store.conn.prepare(&sql).expect("the plan");
            let mut values: Vec<rusqlite::types::Value> = vec![50.into(), "ann".to_owned().into()];
            values.extend((0..rooms).map(|i| format!("room{i}").into()));
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(values), |row| row.get(3))
                .and_then(|rows| rows.collect())
                .expect("the plan rows");
            let scans: Vec<&String> = plan
                .iter()
                .filter(|line| line.contains("history"))
                .collect();
            let parts = if rooms > ROOM_BRANCHES { 4 } else { 3 + rooms };
            assert_eq!(scans.len(), parts, "{plan:#?}");
            if rooms <= ROOM_BRANCHES {
                // Private messages to the viewer, and each room.
                let by_recipient = scans
                    .iter()
                    .filter(|line| line.contains("history_by_recipient"))
                    .count();
                assert_eq!(by_recipient, 1 + rooms, "{plan:#?}");
            }
            for line in scans {
                assert!(
                    line.starts_with("SEARCH history USING"),
                    "{rooms} rooms: {line}\n{plan:#?}"
                );
            }
        }
        Ok(())
    }
}
