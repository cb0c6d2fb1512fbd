//! The embedded event store: SQLite in the data directory, in WAL mode with
//! `synchronous=FULL`, so a commit has reached the disk when `COMMIT` returns.
//!
//! Tables:
//! - `events(seq, event_id UNIQUE, type, at, received_at, source, body, outcome,
//!   reason)` — the audit trail, append-only: rows are never updated or deleted.
//! - `snapshots(seq, taken_at, state)` — serialised state after event `seq`; the
//!   newest [`KEEP_SNAPSHOTS`] are kept.
//! - `meta(key, value)` — the scenario the store belongs to, the last plan version.
//! - `message_keys(key PRIMARY KEY, digest, seq, outcome)` — the HL7 idempotency keys
//!   of messages answered AA, written in the same transaction as their events.
//! - `message_refusals(id, received_at, source, key, trigger, ack, code, location,
//!   text)` — the audit row of every message answered AE or AR, append-only.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::{
    Commit, Existing, ExistingKey, Snapshot, Store, StoreError, StoredEvent, StoredRefusal,
};

/// Snapshots kept; older ones are deleted when a new one is written.
pub const KEEP_SNAPSHOTS: i64 = 2;

/// The database file's name inside the data directory.
pub const FILE_NAME: &str = "flowd.sqlite";

/// Ids looked up per `SELECT … IN (…)` (SQLite's default limit on parameters is
/// 32,766; stay well below).
const LOOKUP_CHUNK: usize = 500;

/// SQLite event store.
pub struct SqliteStore {
    conn: Connection,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.display().to_string(),
            source,
        })?;
        let conn = Connection::open(data_dir.join(FILE_NAME))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "could not switch to WAL mode (got {mode})"
            )));
        }
        conn.execute_batch(
            "PRAGMA synchronous=FULL;
             PRAGMA foreign_keys=ON;
             PRAGMA cache_size=-32768;
             PRAGMA wal_autocheckpoint=8192;
             CREATE TABLE IF NOT EXISTS events (
                 seq INTEGER PRIMARY KEY,
                 event_id TEXT NOT NULL UNIQUE,
                 type TEXT NOT NULL,
                 at TEXT NOT NULL,
                 received_at TEXT NOT NULL,
                 source TEXT NOT NULL,
                 body TEXT NOT NULL,
                 outcome TEXT NOT NULL,
                 reason TEXT
             );
             CREATE TABLE IF NOT EXISTS snapshots (
                 seq INTEGER PRIMARY KEY,
                 taken_at TEXT NOT NULL,
                 state TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS meta (
                 key TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS message_keys (
                 key TEXT PRIMARY KEY,
                 digest TEXT NOT NULL,
                 seq INTEGER NOT NULL,
                 outcome TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS message_refusals (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 received_at TEXT NOT NULL,
                 source TEXT NOT NULL,
                 key TEXT NOT NULL,
                 trigger TEXT NOT NULL,
                 ack TEXT NOT NULL,
                 code INTEGER NOT NULL,
                 location TEXT NOT NULL,
                 text TEXT NOT NULL
             );",
        )?;
        Ok(SqliteStore { conn })
    }
}

fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn stored(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        seq: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
        event_id: row.get(1)?,
        kind: row.get(2)?,
        at: row.get(3)?,
        received_at: row.get(4)?,
        source: row.get(5)?,
        body: row.get(6)?,
        outcome: row.get(7)?,
        reason: row.get(8)?,
    })
}

const SELECT_EVENTS: &str =
    "SELECT seq, event_id, type, at, received_at, source, body, outcome, reason
     FROM events WHERE seq > ?1 ORDER BY seq";

impl Store for SqliteStore {
    fn last_seq(&mut self) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    }

    fn find_existing(&mut self, ids: &[&str]) -> Result<HashMap<String, Existing>, StoreError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql =
                format!("SELECT event_id, seq, outcome FROM events WHERE event_id IN ({marks})");
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(chunk.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (id, seq, outcome) = row?;
                let seq = u64::try_from(seq).unwrap_or(0);
                found.insert(id, Existing { seq, outcome });
            }
        }
        Ok(found)
    }

    fn find_keys(&mut self, keys: &[&str]) -> Result<HashMap<String, ExistingKey>, StoreError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(LOOKUP_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT key, digest, seq, outcome FROM message_keys WHERE key IN ({marks})"
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(chunk.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            for row in rows {
                let (key, digest, seq, outcome) = row?;
                let seq = u64::try_from(seq).unwrap_or(0);
                found.insert(
                    key,
                    ExistingKey {
                        digest,
                        seq,
                        outcome,
                    },
                );
            }
        }
        Ok(found)
    }

    fn commit(&mut self, c: &Commit<'_>) -> Result<(), StoreError> {
        if c.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        if !c.keys.is_empty() {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO message_keys (key, digest, seq, outcome) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for k in c.keys {
                stmt.execute(params![k.key, k.digest, seq_to_sql(k.seq), k.outcome])?;
            }
        }
        if !c.events.is_empty() {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO events (seq, event_id, type, at, received_at, source, body, outcome, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for e in c.events {
                stmt.execute(params![
                    seq_to_sql(e.seq),
                    e.event_id,
                    e.kind,
                    e.at,
                    e.received_at,
                    e.source,
                    e.body,
                    e.outcome,
                    e.reason
                ])?;
            }
        }
        if let Some((snapshot, taken_at)) = c.snapshot {
            tx.execute(
                "INSERT OR REPLACE INTO snapshots (seq, taken_at, state) VALUES (?1, ?2, ?3)",
                params![seq_to_sql(snapshot.seq), taken_at, snapshot.state],
            )?;
            tx.execute(
                "DELETE FROM snapshots WHERE seq NOT IN
                     (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?1)",
                [KEEP_SNAPSHOTS],
            )?;
        }
        for (key, value) in c.meta {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        if !c.refusals.is_empty() {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO message_refusals
                     (received_at, source, key, trigger, ack, code, location, text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in c.refusals {
                stmt.execute(params![
                    r.received_at,
                    r.source,
                    r.key,
                    r.trigger,
                    r.ack,
                    r.code,
                    r.location,
                    r.text
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn replay(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(SELECT_EVENTS)?;
        let mut rows = stmt.query([seq_to_sql(after)])?;
        while let Some(row) = rows.next()? {
            f(stored(row)?)?;
        }
        Ok(())
    }

    fn read(&mut self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!("{SELECT_EVENTS} LIMIT ?2");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![seq_to_sql(after), limit], stored)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn latest_snapshot(&mut self) -> Result<Option<Snapshot>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, state FROM snapshots ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok(Snapshot {
                        seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        state: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn read_refusals(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredRefusal>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, received_at, source, key, trigger, ack, code, location, text
             FROM message_refusals WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![seq_to_sql(after), limit], |r| {
            Ok(StoredRefusal {
                id: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                received_at: r.get(1)?,
                source: r.get(2)?,
                key: r.get(3)?,
                trigger: r.get(4)?,
                ack: r.get(5)?,
                code: r.get(6)?,
                location: r.get(7)?,
                text: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewEvent, NewKey};

    fn event<'a>(seq: u64, id: &'a str) -> NewEvent<'a> {
        NewEvent {
            seq,
            event_id: id,
            kind: "discharge",
            at: "2026-12-07T08:00:00Z",
            received_at: "2026-12-07T08:00:01Z",
            source: "test",
            body: "{}",
            outcome: "applied",
            reason: None,
        }
    }

    #[test]
    fn appends_dedupes_snapshots_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = SqliteStore::open(dir.path()).unwrap();
            assert_eq!(s.last_seq().unwrap(), 0);
            s.append(&[event(1, "a"), event(2, "b")]).unwrap();
            // A batch with a repeated id fails whole.
            assert!(s.append(&[event(3, "c"), event(4, "a")]).is_err());
            assert_eq!(s.last_seq().unwrap(), 2);
            let found = s.find_existing(&["a", "c", "b"]).unwrap();
            assert_eq!(found.len(), 2);
            assert_eq!(found["b"].seq, 2);
            s.put_snapshot(
                &Snapshot {
                    seq: 1,
                    state: "one".into(),
                },
                "t",
            )
            .unwrap();
            s.put_snapshot(
                &Snapshot {
                    seq: 2,
                    state: "two".into(),
                },
                "t",
            )
            .unwrap();
            s.put_snapshot(
                &Snapshot {
                    seq: 2,
                    state: "two!".into(),
                },
                "t",
            )
            .unwrap();
            s.set_meta("k", "v1").unwrap();
            s.set_meta("k", "v2").unwrap();
        }
        let mut s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(s.last_seq().unwrap(), 2);
        assert_eq!(s.latest_snapshot().unwrap().unwrap().state, "two!");
        assert_eq!(s.meta("k").unwrap().as_deref(), Some("v2"));
        let mut seen = Vec::new();
        s.replay(1, &mut |e| {
            seen.push(e.event_id);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["b"]);
        assert_eq!(s.read(0, 1).unwrap()[0].event_id, "a");
    }

    #[test]
    fn message_keys_commit_with_their_events_and_stay_unique() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = SqliteStore::open(dir.path()).unwrap();
            let key = |k: &'static str, seq| NewKey {
                key: k,
                digest: "d1",
                seq,
                outcome: "applied",
            };
            s.append_keyed(&[event(1, "a")], &[key("k1", 1), key("k2", 1)])
                .unwrap();
            // A repeated key fails the whole batch, its event included.
            assert!(s.append_keyed(&[event(2, "b")], &[key("k1", 2)]).is_err());
            assert_eq!(s.last_seq().unwrap(), 1);
        }
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let found = s.find_keys(&["k1", "k3", "k2"]).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found["k1"].digest, "d1");
        assert_eq!(found["k2"].seq, 1);
    }
}
