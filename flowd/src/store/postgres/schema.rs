//! The PostgreSQL schema: versioned migrations that flowd applies itself, and the
//! report behind `flowd db check`.
//!
//! `flowd_schema(version, applied_at, description)` records every migration applied.
//! [`migrate`] runs under a transaction-scoped advisory lock (two daemons starting at
//! once do not race), applies the missing ones in order, and refuses a database whose
//! schema is newer than this build knows, naming both versions. Every other table is
//! keyed by the trust, so one database holds a region's trusts.

use postgres::Client;
use serde::Serialize;

use crate::store::StoreError;

/// Advisory lock key held while migrating ("flowd" in ASCII).
const MIGRATION_LOCK: i64 = 0x0066_6c6f_7764;

/// The migrations, in order: version, description, SQL.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "events, snapshots, meta and leases, keyed by trust",
        "CREATE TABLE flowd_events (
         trust TEXT NOT NULL,
         seq BIGINT NOT NULL,
         event_id TEXT NOT NULL,
         type TEXT NOT NULL,
         at TEXT NOT NULL,
         received_at TEXT NOT NULL,
         source TEXT NOT NULL,
         body TEXT NOT NULL,
         outcome TEXT NOT NULL,
         reason TEXT,
         PRIMARY KEY (trust, seq),
         UNIQUE (trust, event_id)
     );
     CREATE TABLE flowd_snapshots (
         trust TEXT NOT NULL,
         seq BIGINT NOT NULL,
         taken_at TEXT NOT NULL,
         state TEXT NOT NULL,
         PRIMARY KEY (trust, seq)
     );
     CREATE TABLE flowd_meta (
         trust TEXT NOT NULL,
         key TEXT NOT NULL,
         value TEXT NOT NULL,
         PRIMARY KEY (trust, key)
     );
     CREATE TABLE flowd_lease (
         trust TEXT PRIMARY KEY,
         owner TEXT NOT NULL,
         epoch BIGINT NOT NULL,
         heartbeat TIMESTAMPTZ NOT NULL,
         acquired_at TIMESTAMPTZ NOT NULL
     );",
    ),
    (
        2,
        "HL7 message keys and refusal audit rows, keyed by trust",
        "CREATE TABLE flowd_message_keys (
         trust TEXT NOT NULL,
         key TEXT NOT NULL,
         digest TEXT NOT NULL,
         seq BIGINT NOT NULL,
         outcome TEXT NOT NULL,
         PRIMARY KEY (trust, key)
     );
     CREATE TABLE flowd_message_refusals (
         trust TEXT NOT NULL,
         id BIGINT GENERATED ALWAYS AS IDENTITY,
         received_at TEXT NOT NULL,
         source TEXT NOT NULL,
         key TEXT NOT NULL,
         trigger TEXT NOT NULL,
         ack TEXT NOT NULL,
         code INTEGER NOT NULL,
         location TEXT NOT NULL,
         text TEXT NOT NULL,
         PRIMARY KEY (trust, id)
     );",
    ),
];

/// The newest schema version this build knows.
pub fn known_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

fn db(e: postgres::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}

/// The schema version recorded in the database (0: none yet).
pub fn current_version(client: &mut Client) -> Result<i64, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('flowd_schema') IS NOT NULL", &[])
        .map_err(db)?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM flowd_schema", &[])
        .map_err(db)?
        .get(0))
}

/// Brings the schema to [`known_version`]; returns it. Refuses a newer schema.
pub fn migrate(client: &mut Client) -> Result<i64, StoreError> {
    let mut tx = client.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS flowd_schema (
             version BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
             description TEXT NOT NULL
         )",
    )
    .map_err(db)?;
    let found: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM flowd_schema", &[])
        .map_err(db)?
        .get(0);
    let known = known_version();
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (version, description, sql) in MIGRATIONS {
        if *version <= found {
            continue;
        }
        tx.batch_execute(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO flowd_schema (version, description) VALUES ($1, $2)",
            &[version, description],
        )
        .map_err(db)?;
        tracing::info!(version, description, "database schema migrated");
    }
    tx.commit().map_err(db)?;
    Ok(known)
}

/// One trust as `flowd db check` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct TrustReport {
    /// The trust id.
    pub trust: String,
    /// Events in its trail.
    pub events: i64,
    /// Its last `seq`.
    pub last_seq: i64,
    /// `seq` of its latest snapshot (0: none).
    pub snapshot_seq: i64,
    /// Events a takeover would replay after that snapshot.
    pub events_since_snapshot: i64,
    /// The lease holder's id (none: never leased).
    pub owner: Option<String>,
    /// The lease epoch.
    pub epoch: Option<i64>,
    /// Seconds since the holder's last heartbeat.
    pub heartbeat_age_s: Option<f64>,
}

/// One replica streaming from this server (`pg_stat_replication`).
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaReport {
    /// The replica's `application_name`.
    pub name: String,
    /// Its streaming state.
    pub state: String,
    /// Replay lag, seconds (none when idle or unknown).
    pub replay_lag_s: Option<f64>,
}

/// What `flowd db check` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The database, password redacted.
    pub database: String,
    /// The schema version in the database.
    pub schema_version: i64,
    /// The newest this build knows.
    pub known_version: i64,
    /// Whether this server is a replica (in recovery).
    pub in_recovery: bool,
    /// On a replica: seconds since the last replayed transaction.
    pub replica_lag_s: Option<f64>,
    /// Replicas streaming from this server.
    pub replicas: Vec<ReplicaReport>,
    /// Every trust in the database.
    pub trusts: Vec<TrustReport>,
}

/// Reads the report (read-only: migrates nothing).
pub fn check(client: &mut Client, database: &str) -> Result<CheckReport, StoreError> {
    let schema_version = current_version(client)?;
    let in_recovery: bool = client
        .query_one("SELECT pg_is_in_recovery()", &[])
        .map_err(db)?
        .get(0);
    let replica_lag_s: Option<f64> = if in_recovery {
        client
            .query_one(
                "SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8",
                &[],
            )
            .map_err(db)?
            .get(0)
    } else {
        None
    };
    // Needs pg_monitor to see other sessions' details; an empty list otherwise.
    let replicas = client
        .query(
            "SELECT COALESCE(application_name, ''), COALESCE(state, ''),
                    EXTRACT(EPOCH FROM replay_lag)::float8
             FROM pg_stat_replication ORDER BY 1",
            &[],
        )
        .map(|rows| {
            rows.iter()
                .map(|r| ReplicaReport {
                    name: r.get(0),
                    state: r.get(1),
                    replay_lag_s: r.get(2),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut trusts = Vec::new();
    if schema_version >= 1 {
        let rows = client
            .query(
                "WITH t AS (
                     SELECT trust FROM flowd_lease
                     UNION SELECT trust FROM flowd_meta
                 )
                 SELECT t.trust,
                        (SELECT COUNT(*) FROM flowd_events e WHERE e.trust = t.trust),
                        (SELECT COALESCE(MAX(seq), 0) FROM flowd_events e WHERE e.trust = t.trust),
                        (SELECT COALESCE(MAX(seq), 0) FROM flowd_snapshots s WHERE s.trust = t.trust),
                        l.owner, l.epoch,
                        EXTRACT(EPOCH FROM clock_timestamp() - l.heartbeat)::float8
                 FROM t LEFT JOIN flowd_lease l ON l.trust = t.trust
                 ORDER BY t.trust",
                &[],
            )
            .map_err(db)?;
        for r in rows {
            let last_seq: i64 = r.get(2);
            let snapshot_seq: i64 = r.get(3);
            trusts.push(TrustReport {
                trust: r.get(0),
                events: r.get(1),
                last_seq,
                snapshot_seq,
                events_since_snapshot: last_seq - snapshot_seq,
                owner: r.get(4),
                epoch: r.get(5),
                heartbeat_age_s: r.get(6),
            });
        }
    }
    Ok(CheckReport {
        database: database.to_string(),
        schema_version,
        known_version: known_version(),
        in_recovery,
        replica_lag_s,
        replicas,
        trusts,
    })
}

impl CheckReport {
    /// The report as text, one trust a line.
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "database: {}", self.database);
        let status = match self.schema_version.cmp(&self.known_version) {
            std::cmp::Ordering::Equal => "up to date",
            std::cmp::Ordering::Less => "older: flowd serve migrates it",
            std::cmp::Ordering::Greater => "NEWER than this flowd: upgrade flowd",
        };
        let _ = writeln!(
            out,
            "schema: version {} (this flowd knows {}; {status})",
            self.schema_version, self.known_version
        );
        match (self.in_recovery, self.replica_lag_s) {
            (true, Some(lag)) => {
                let _ = writeln!(out, "server: replica, {lag:.1} s behind its primary");
            }
            (true, None) => {
                let _ = writeln!(out, "server: replica (nothing replayed yet)");
            }
            (false, _) => {
                let _ = writeln!(out, "server: primary, {} replica(s)", self.replicas.len());
            }
        }
        for r in &self.replicas {
            let lag = r
                .replay_lag_s
                .map_or_else(|| "-".to_string(), |l| format!("{l:.3} s"));
            let _ = writeln!(out, "  replica {}: {}, replay lag {lag}", r.name, r.state);
        }
        let _ = writeln!(out, "trusts: {}", self.trusts.len());
        for t in &self.trusts {
            let holder = match (&t.owner, t.epoch, t.heartbeat_age_s) {
                (Some(o), Some(e), Some(age)) => {
                    format!("held by {o} (epoch {e}, heartbeat {age:.1} s ago)")
                }
                _ => "no lease".to_string(),
            };
            let _ = writeln!(
                out,
                "  {}: {} events (last seq {}), snapshot at {} ({} to replay), {holder}",
                t.trust, t.events, t.last_seq, t.snapshot_seq, t.events_since_snapshot
            );
        }
        out
    }
}
