//! PostgreSQL as the system of record: many trusts in one database, each written by
//! the one daemon holding its lease.
//!
//! Tables (see [`schema`]; every one keyed by `trust`, the scenario's name or
//! `--trust`):
//! - `flowd_events(trust, seq, event_id, type, at, received_at, source, body, outcome,
//!   reason)`, primary key `(trust, seq)`, `UNIQUE (trust, event_id)` — the audit trail
//!   and its idempotency keys, append-only;
//! - `flowd_snapshots(trust, seq, taken_at, state)` — the newest
//!   [`KEEP_SNAPSHOTS`](crate::store::sqlite::KEEP_SNAPSHOTS) per trust are kept;
//! - `flowd_meta(trust, key, value)` — the scenario, the last plan version;
//! - `flowd_message_keys(trust, key, digest, seq, outcome)`, primary key
//!   `(trust, key)` — the HL7 idempotency keys (schema version 2);
//! - `flowd_message_refusals(trust, id, received_at, source, key, trigger, ack, code,
//!   location, text)` — the audit rows of messages answered AE or AR (version 2);
//! - `flowd_lease(trust, owner, epoch, heartbeat, acquired_at)` — see [`lease`].
//!
//! Every write ([`Store::commit`]: a group commit's events, message keys, the snapshot
//! due after them and the plan version) is one transaction that first renews the
//! lease *conditional on this daemon's epoch*; if the epoch
//! moved on, it rolls back, fences the [`lease::Lease`] and fails with
//! [`StoreError::Fenced`]. Group commit: one round trip inserts the whole batch
//! (`UNNEST` of arrays), and `COMMIT` returns once PostgreSQL made it durable (and
//! replicated, where `synchronous_commit` says so).
//!
//! The connection is re-opened with backoff after a failure ([`conn`]); an operation
//! during an outage fails with [`StoreError::Unavailable`] and stores nothing.

pub mod conn;
pub mod lease;
pub mod schema;

use std::collections::HashMap;
use std::sync::Arc;

use postgres::Transaction;

use self::conn::{Conn, Target};
use self::lease::Lease;
use super::{
    Commit, Existing, ExistingKey, Snapshot, Store, StoreError, StoredEvent, StoredRefusal,
};
use crate::store::sqlite::KEEP_SNAPSHOTS;

/// Ids looked up per `= ANY($2)`.
const LOOKUP_CHUNK: usize = 10_000;
/// Events fetched per query while replaying.
const REPLAY_PAGE: i64 = 5_000;

/// PostgreSQL event store for one trust.
pub struct PostgresStore {
    conn: Conn,
    lease: Arc<Lease>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("trust", &self.lease.trust)
            .field("epoch", &self.lease.epoch)
            .finish_non_exhaustive()
    }
}

fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn seq_from_sql(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
}

const SELECT_EVENTS: &str =
    "SELECT seq, event_id, type, at, received_at, source, body, outcome, reason
     FROM flowd_events WHERE trust = $1 AND seq > $2 ORDER BY seq LIMIT $3";

fn stored(row: &postgres::Row) -> StoredEvent {
    StoredEvent {
        seq: seq_from_sql(row.get(0)),
        event_id: row.get(1),
        kind: row.get(2),
        at: row.get(3),
        received_at: row.get(4),
        source: row.get(5),
        body: row.get(6),
        outcome: row.get(7),
        reason: row.get(8),
    }
}

impl PostgresStore {
    /// The store of `lease.trust`, written under `lease` (already acquired; the schema
    /// already migrated).
    pub fn open(target: Target, lease: Arc<Lease>) -> Result<Self, StoreError> {
        Ok(PostgresStore {
            conn: Conn::open(target)?,
            lease,
        })
    }

    /// The lease this store writes under.
    pub fn lease(&self) -> &Arc<Lease> {
        &self.lease
    }

    /// Runs `body` in one transaction that first proves this daemon still holds the
    /// lease (and renews its heartbeat). Fenced: rolls back, fences, fails.
    fn write<T>(
        &mut self,
        body: impl FnOnce(&mut Transaction<'_>, &str) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        if self.lease.is_fenced() {
            return Err(self.fenced_error(None));
        }
        let lease = self.lease.clone();
        let client = self.conn.client()?;
        let outcome = (|| {
            let mut tx = client.transaction()?;
            let held = tx.execute(
                "UPDATE flowd_lease SET heartbeat = clock_timestamp()
                 WHERE trust = $1 AND epoch = $2",
                &[&lease.trust, &lease.epoch],
            )?;
            if held != 1 {
                let now = tx
                    .query_opt(
                        "SELECT owner, epoch FROM flowd_lease WHERE trust = $1",
                        &[&lease.trust],
                    )?
                    .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)));
                tx.rollback()?;
                return Ok(Err(now));
            }
            let value = body(&mut tx, &lease.trust)?;
            tx.commit()?;
            Ok(Ok(value))
        })();
        match outcome {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(now)) => {
                let e = self.fenced_error(now);
                self.lease.fence(&e.to_string());
                Err(e)
            }
            Err(e) => Err(self.conn.error(e)),
        }
    }

    fn fenced_error(&self, now: Option<(String, i64)>) -> StoreError {
        let (owner, epoch) = now.unwrap_or_else(|| ("unknown".into(), 0));
        StoreError::Fenced {
            trust: self.lease.trust.clone(),
            owner,
            epoch,
        }
    }

    /// A read on the current connection.
    fn read_op<T>(
        &mut self,
        body: impl FnOnce(&mut postgres::Client, &str) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let trust = self.lease.trust.clone();
        let client = self.conn.client()?;
        body(client, &trust).map_err(|e| self.conn.error(e))
    }
}

impl Store for PostgresStore {
    fn last_seq(&mut self) -> Result<u64, StoreError> {
        self.read_op(|c, trust| {
            let seq: i64 = c
                .query_one(
                    "SELECT COALESCE(MAX(seq), 0) FROM flowd_events WHERE trust = $1",
                    &[&trust],
                )?
                .get(0);
            Ok(seq_from_sql(seq))
        })
    }

    fn find_existing(&mut self, ids: &[&str]) -> Result<HashMap<String, Existing>, StoreError> {
        self.read_op(|c, trust| {
            let mut found = HashMap::new();
            for chunk in ids.chunks(LOOKUP_CHUNK) {
                let rows = c.query(
                    "SELECT event_id, seq, outcome FROM flowd_events
                     WHERE trust = $1 AND event_id = ANY($2)",
                    &[&trust, &chunk],
                )?;
                for r in rows {
                    found.insert(
                        r.get(0),
                        Existing {
                            seq: seq_from_sql(r.get(1)),
                            outcome: r.get(2),
                        },
                    );
                }
            }
            Ok(found)
        })
    }

    fn find_keys(&mut self, keys: &[&str]) -> Result<HashMap<String, ExistingKey>, StoreError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        self.read_op(|c, trust| {
            let mut found = HashMap::new();
            for chunk in keys.chunks(LOOKUP_CHUNK) {
                let rows = c.query(
                    "SELECT key, digest, seq, outcome FROM flowd_message_keys
                     WHERE trust = $1 AND key = ANY($2)",
                    &[&trust, &chunk],
                )?;
                for r in rows {
                    found.insert(
                        r.get(0),
                        ExistingKey {
                            digest: r.get(1),
                            seq: seq_from_sql(r.get(2)),
                            outcome: r.get(3),
                        },
                    );
                }
            }
            Ok(found)
        })
    }

    fn commit(&mut self, c: &Commit<'_>) -> Result<(), StoreError> {
        if c.is_empty() {
            return Ok(());
        }
        let events = c.events;
        let seqs: Vec<i64> = events.iter().map(|e| seq_to_sql(e.seq)).collect();
        let ids: Vec<&str> = events.iter().map(|e| e.event_id).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
        let ats: Vec<&str> = events.iter().map(|e| e.at).collect();
        let received: Vec<&str> = events.iter().map(|e| e.received_at).collect();
        let sources: Vec<&str> = events.iter().map(|e| e.source).collect();
        let bodies: Vec<&str> = events.iter().map(|e| e.body).collect();
        let outcomes: Vec<&str> = events.iter().map(|e| e.outcome).collect();
        let reasons: Vec<Option<&str>> = events.iter().map(|e| e.reason).collect();
        let keys: Vec<&str> = c.keys.iter().map(|k| k.key).collect();
        let digests: Vec<&str> = c.keys.iter().map(|k| k.digest).collect();
        let key_seqs: Vec<i64> = c.keys.iter().map(|k| seq_to_sql(k.seq)).collect();
        let key_outcomes: Vec<&str> = c.keys.iter().map(|k| k.outcome).collect();
        let r = c.refusals;
        let r_received: Vec<&str> = r.iter().map(|x| x.received_at).collect();
        let r_sources: Vec<&str> = r.iter().map(|x| x.source).collect();
        let r_keys: Vec<&str> = r.iter().map(|x| x.key).collect();
        let r_triggers: Vec<&str> = r.iter().map(|x| x.trigger).collect();
        let r_acks: Vec<&str> = r.iter().map(|x| x.ack).collect();
        let r_codes: Vec<i32> = r.iter().map(|x| i32::from(x.code)).collect();
        let r_locations: Vec<&str> = r.iter().map(|x| x.location).collect();
        let r_texts: Vec<&str> = r.iter().map(|x| x.text).collect();
        self.write(|tx, trust| {
            if !keys.is_empty() {
                tx.execute(
                    "INSERT INTO flowd_message_keys (trust, key, digest, seq, outcome)
                     SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::text[])",
                    &[&trust, &keys, &digests, &key_seqs, &key_outcomes],
                )?;
            }
            if !events.is_empty() {
                tx.execute(
                    "INSERT INTO flowd_events
                         (trust, seq, event_id, type, at, received_at, source, body, outcome, reason)
                     SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[],
                                              $6::text[], $7::text[], $8::text[], $9::text[],
                                              $10::text[])",
                    &[
                        &trust, &seqs, &ids, &kinds, &ats, &received, &sources, &bodies,
                        &outcomes, &reasons,
                    ],
                )?;
            }
            if let Some((snapshot, taken_at)) = c.snapshot {
                let seq = seq_to_sql(snapshot.seq);
                tx.execute(
                    "INSERT INTO flowd_snapshots (trust, seq, taken_at, state)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (trust, seq) DO UPDATE
                     SET taken_at = excluded.taken_at, state = excluded.state",
                    &[&trust, &seq, &taken_at, &snapshot.state],
                )?;
                tx.execute(
                    "DELETE FROM flowd_snapshots WHERE trust = $1 AND seq NOT IN
                         (SELECT seq FROM flowd_snapshots WHERE trust = $1
                          ORDER BY seq DESC LIMIT $2)",
                    &[&trust, &KEEP_SNAPSHOTS],
                )?;
            }
            for (key, value) in c.meta {
                tx.execute(
                    "INSERT INTO flowd_meta (trust, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (trust, key) DO UPDATE SET value = excluded.value",
                    &[&trust, key, value],
                )?;
            }
            if !r.is_empty() {
                tx.execute(
                    "INSERT INTO flowd_message_refusals
                         (trust, received_at, source, key, trigger, ack, code, location, text)
                     SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[],
                                              $6::text[], $7::int[], $8::text[], $9::text[])",
                    &[
                        &trust,
                        &r_received,
                        &r_sources,
                        &r_keys,
                        &r_triggers,
                        &r_acks,
                        &r_codes,
                        &r_locations,
                        &r_texts,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn replay(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut after = seq_to_sql(after);
        loop {
            let page =
                self.read_op(|c, trust| c.query(SELECT_EVENTS, &[&trust, &after, &REPLAY_PAGE]))?;
            let n = page.len();
            for row in &page {
                let e = stored(row);
                after = seq_to_sql(e.seq);
                f(e)?;
            }
            if i64::try_from(n).unwrap_or(0) < REPLAY_PAGE {
                return Ok(());
            }
        }
    }

    fn read(&mut self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows =
            self.read_op(|c, trust| c.query(SELECT_EVENTS, &[&trust, &seq_to_sql(after), &limit]))?;
        Ok(rows.iter().map(stored).collect())
    }

    fn latest_snapshot(&mut self) -> Result<Option<Snapshot>, StoreError> {
        let row = self.read_op(|c, trust| {
            c.query_opt(
                "SELECT seq, state FROM flowd_snapshots WHERE trust = $1
                 ORDER BY seq DESC LIMIT 1",
                &[&trust],
            )
        })?;
        Ok(row.map(|r| Snapshot {
            seq: seq_from_sql(r.get(0)),
            state: r.get(1),
        }))
    }

    fn read_refusals(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredRefusal>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.read_op(|c, trust| {
            c.query(
                "SELECT id, received_at, source, key, trigger, ack, code, location, text
                 FROM flowd_message_refusals WHERE trust = $1 AND id > $2
                 ORDER BY id LIMIT $3",
                &[&trust, &seq_to_sql(after), &limit],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| StoredRefusal {
                id: seq_from_sql(r.get(0)),
                received_at: r.get(1),
                source: r.get(2),
                key: r.get(3),
                trigger: r.get(4),
                ack: r.get(5),
                code: u16::try_from(r.get::<_, i32>(6)).unwrap_or(0),
                location: r.get(7),
                text: r.get(8),
            })
            .collect())
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        let row = self.read_op(|c, trust| {
            c.query_opt(
                "SELECT value FROM flowd_meta WHERE trust = $1 AND key = $2",
                &[&trust, &key],
            )
        })?;
        Ok(row.map(|r| r.get(0)))
    }
}
