//! The event store: the ordered, append-only audit trail of every event the daemon
//! acknowledged, and the state snapshots that make recovery fast.
//!
//! The daemon talks to its store only through the [`Store`] trait, a small blocking
//! interface called from the state owner's thread (never from the async runtime).
//! [`sqlite::SqliteStore`] is the embedded default; [`postgres::PostgresStore`] (cargo
//! feature `postgres`, on by default) keeps many trusts in one shared database, each
//! written by the one daemon holding that trust's lease (see [`postgres::lease`]).
//!
//! Guarantees every implementation keeps:
//! - [`Store::append`] writes a whole batch in one transaction and returns only once it
//!   is durable (group commit: many requests share one commit). Nothing of a failed
//!   batch is stored.
//! - Sequence numbers are dense and increasing: the first event is 1, and the batch the
//!   caller appends carries them (the state owner assigns them, so it knows each
//!   event's place before the commit).
//! - An event id is stored at most once (the idempotency key is unique).
//! - Snapshots are state after all events up to and including their `seq`.
//! - One group commit is one transaction ([`Store::commit`]): the batch's events, its
//!   message keys (the HL7 idempotency keys, [`NewKey`]; a key is stored at most
//!   once), the audit rows of the messages it refused, the snapshot due after it and
//!   the plan version to record. So a snapshot
//!   never runs ahead of the events it covers, and a fenced writer (PostgreSQL) writes
//!   none of them.

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

use std::collections::HashMap;

/// Errors of the event store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (I/O, corruption, full disk, a lost connection…). The
    /// backend's own error, boxed, so the trait is tied to no backend.
    #[error("event store: {0}")]
    Database(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The database cannot be reached now (the store retries with backoff); nothing
    /// was stored.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// This daemon no longer holds the trust's lease: another took it with a newer
    /// epoch. Nothing was stored; the daemon must stop writing.
    #[error(
        "lease lost: trust `{trust}` is now held by `{owner}` (epoch {epoch}); this daemon commits nothing more"
    )]
    Fenced {
        /// The trust.
        trust: String,
        /// The new holder's id.
        owner: String,
        /// The new holder's epoch.
        epoch: i64,
    },
    /// The database's schema is newer than this build knows.
    #[error(
        "event store: the database schema is version {found}, newer than this flowd knows ({known}); upgrade flowd"
    )]
    SchemaTooNew {
        /// Version in the database.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// The data directory could not be created or used.
    #[error("event store: {path}: {source}")]
    Io {
        /// The path concerned.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Stored data does not read back (a bug or a store written by another version).
    #[error("event store: {0}")]
    Corrupt(String),
}

/// One message key to store with a batch (an HL7 message answered AA).
#[derive(Debug, Clone, Copy)]
pub struct NewKey<'a> {
    /// The key (`MSH-3.1|MSH-4.1|MSH-10`).
    pub key: &'a str,
    /// Digest of the message content (MSH-7 aside), to tell a resend from a conflict.
    pub digest: &'a str,
    /// The event the message became, or the trail's last `seq` when it became none.
    pub seq: u64,
    /// `applied`, `rejected` or `ignored`.
    pub outcome: &'a str,
}

/// A stored message key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingKey {
    /// Digest of the message first stored under the key.
    pub digest: String,
    /// Its `seq` (see [`NewKey::seq`]).
    pub seq: u64,
    /// `applied`, `rejected` or `ignored`.
    pub outcome: String,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

/// Everything one group commit writes ([`Store::commit`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Commit<'a> {
    /// New events, in `seq` order.
    pub events: &'a [NewEvent<'a>],
    /// Message keys of the batch's HL7 messages.
    pub keys: &'a [NewKey<'a>],
    /// A snapshot of the state after these events, and when it was taken; older
    /// snapshots beyond the newest few are dropped.
    pub snapshot: Option<(&'a Snapshot, &'a str)>,
    /// Named values to set (`key`, `value`).
    pub meta: &'a [(&'a str, &'a str)],
    /// Audit rows of refused messages (HL7 AE/AR).
    pub refusals: &'a [NewRefusal<'a>],
}

impl Commit<'_> {
    /// Whether the commit writes nothing.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.keys.is_empty()
            && self.snapshot.is_none()
            && self.meta.is_empty()
            && self.refusals.is_empty()
    }
}

/// The audit row of one refused message (an HL7 AE or AR): when, from where, which
/// message and why. Nothing else of the message is kept (no patient data).
#[derive(Debug, Clone, Copy)]
pub struct NewRefusal<'a> {
    /// When the daemon received it (RFC 3339).
    pub received_at: &'a str,
    /// Who sent it (`hl7:<peer address>`).
    pub source: &'a str,
    /// Its idempotency key (`MSH-3.1|MSH-4.1|MSH-10`), empty when it has none.
    pub key: &'a str,
    /// The trigger (MSH-9.2) as a bounded label: `A01`…`A99`, else `other`.
    pub trigger: &'a str,
    /// `AE` or `AR`.
    pub ack: &'a str,
    /// The HL7 table 0357 error code.
    pub code: u16,
    /// Where (`SEG^seq^field`, ERR-2).
    pub location: &'a str,
    /// The MSA-3 text.
    pub text: &'a str,
}

/// A stored refusal audit row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredRefusal {
    /// Its place among the refusals (increasing).
    pub id: u64,
    /// When the daemon received the message.
    pub received_at: String,
    /// Who sent it.
    pub source: String,
    /// Its idempotency key, empty when it had none.
    pub key: String,
    /// The trigger (`A01`…`A99`, else `other`).
    pub trigger: String,
    /// `AE` or `AR`.
    pub ack: String,
    /// The HL7 table 0357 error code.
    pub code: u16,
    /// Where (`SEG^seq^field`).
    pub location: String,
    /// The MSA-3 text.
    pub text: String,
}

/// One event to append.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// Its place in the trail (the last stored `seq` + 1, + 2, …).
    pub seq: u64,
    /// The idempotency key.
    pub event_id: &'a str,
    /// The event `type`.
    pub kind: &'a str,
    /// The event's own timestamp, as sent.
    pub at: &'a str,
    /// When the daemon received it (RFC 3339, the daemon's clock).
    pub received_at: &'a str,
    /// Who sent it (`http:<peer address>`).
    pub source: &'a str,
    /// The event as sent (one JSON object).
    pub body: &'a str,
    /// `applied` or `rejected`.
    pub outcome: &'a str,
    /// Why it was rejected.
    pub reason: Option<&'a str>,
}

/// One event read back from the trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredEvent {
    /// Its place in the trail.
    pub seq: u64,
    /// The idempotency key.
    pub event_id: String,
    /// The event `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's own timestamp.
    pub at: String,
    /// When the daemon received it.
    pub received_at: String,
    /// Who sent it.
    pub source: String,
    /// The event as sent.
    pub body: String,
    /// `applied` or `rejected`.
    pub outcome: String,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// Where an already-stored event id sits and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// Its place in the trail.
    pub seq: u64,
    /// `applied` or `rejected`.
    pub outcome: String,
}

/// A state snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The last event included.
    pub seq: u64,
    /// The serialised `flow_core::State` (JSON).
    pub state: String,
}

/// A durable, ordered event store with snapshots. Blocking; called from one thread.
pub trait Store: Send + 'static {
    /// The highest stored `seq` (0 when empty).
    fn last_seq(&mut self) -> Result<u64, StoreError>;

    /// Which of `ids` are already stored.
    fn find_existing(&mut self, ids: &[&str]) -> Result<HashMap<String, Existing>, StoreError>;

    /// Writes everything in `commit` in one durable transaction; all or nothing. The
    /// one write every store implements: the provided methods below are its cases.
    fn commit(&mut self, commit: &Commit<'_>) -> Result<(), StoreError>;

    /// Appends `events` in one durable transaction; all or nothing.
    fn append(&mut self, events: &[NewEvent<'_>]) -> Result<(), StoreError> {
        self.commit(&Commit {
            events,
            ..Commit::default()
        })
    }

    /// Calls `f` with every event after `seq`, in order.
    fn replay(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Up to `limit` events after `seq`, in order (for the audit API).
    fn read(&mut self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// The latest snapshot, if any.
    fn latest_snapshot(&mut self) -> Result<Option<Snapshot>, StoreError>;

    /// Stores a snapshot (durably) and drops all but the newest few.
    fn put_snapshot(&mut self, snapshot: &Snapshot, taken_at: &str) -> Result<(), StoreError> {
        self.commit(&Commit {
            snapshot: Some((snapshot, taken_at)),
            ..Commit::default()
        })
    }

    /// A small named value (the scenario the store belongs to, the plan version).
    fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError>;

    /// Sets a named value.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.commit(&Commit {
            meta: &[(key, value)],
            ..Commit::default()
        })
    }

    /// Up to `limit` refusal audit rows after `id`, in order.
    fn read_refusals(&mut self, after: u64, limit: usize)
    -> Result<Vec<StoredRefusal>, StoreError>;

    /// Which of the message `keys` are already stored.
    fn find_keys(&mut self, keys: &[&str]) -> Result<HashMap<String, ExistingKey>, StoreError>;

    /// Appends `events` and stores `keys` in one durable transaction; all or nothing.
    fn append_keyed(
        &mut self,
        events: &[NewEvent<'_>],
        keys: &[NewKey<'_>],
    ) -> Result<(), StoreError> {
        self.commit(&Commit {
            events,
            keys,
            ..Commit::default()
        })
    }
}
