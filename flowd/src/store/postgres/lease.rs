//! One writer per trust: the lease row `flowd_lease(trust, owner, epoch, heartbeat)`.
//!
//! - [`try_acquire`] takes the lease when it is free, when its holder's heartbeat is
//!   older than the lease timeout, or when this node held it (a restart after a crash
//!   need not wait), always with a new epoch; otherwise it names the holder. The row is
//!   locked (`SELECT … FOR UPDATE`) while deciding, so two contenders serialise.
//! - The holder renews the heartbeat on a timer ([`spawn_heartbeat`]); every write
//!   transaction of [`super::PostgresStore`] first runs
//!   `UPDATE flowd_lease SET heartbeat = … WHERE trust = $1 AND epoch = $2` and
//!   commits only if that touched the row. That row lock orders the write against a
//!   takeover: a takeover waiting on it re-reads the fresh heartbeat and backs off; a
//!   write after a takeover finds the epoch changed and stores nothing.
//! - When either finds the epoch changed, the [`Lease`] is *fenced*: the daemon stops
//!   (exit non-zero, logged) instead of forking the trust's history.
//!
//! Heartbeats and ages use the database's clock only, so the daemons' clocks may differ.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use postgres::Client;
use tokio::sync::watch;

use super::conn::{Conn, Target};
use crate::store::StoreError;

/// What an attempt to take the lease found.
#[derive(Debug, Clone, PartialEq)]
pub enum Acquire {
    /// Taken, with this epoch.
    Acquired(i64),
    /// Another node holds it and is alive.
    HeldBy {
        /// The holder's id.
        owner: String,
        /// Its epoch.
        epoch: i64,
        /// Seconds since its last heartbeat.
        age_s: f64,
    },
    /// The lease row is locked by a write in progress; try again.
    Busy,
}

/// The lease this daemon holds, shared by the store and the heartbeat thread.
#[derive(Debug)]
pub struct Lease {
    /// The trust.
    pub trust: String,
    /// This node's id.
    pub owner: String,
    /// The epoch it holds.
    pub epoch: i64,
    fenced: watch::Sender<Option<String>>,
}

impl Lease {
    /// A lease held at `epoch`.
    pub fn new(trust: &str, owner: &str, epoch: i64) -> Arc<Lease> {
        Arc::new(Lease {
            trust: trust.to_string(),
            owner: owner.to_string(),
            epoch,
            fenced: watch::channel(None).0,
        })
    }

    /// Marks the lease lost (once; logged).
    pub fn fence(&self, why: &str) {
        if self.fenced.borrow().is_none() {
            tracing::error!(
                trust = self.trust,
                epoch = self.epoch,
                why,
                "lease lost: this daemon commits nothing more and stops"
            );
            self.fenced.send_replace(Some(why.to_string()));
        }
    }

    /// Whether the lease was lost.
    pub fn is_fenced(&self) -> bool {
        self.fenced.borrow().is_some()
    }

    /// Resolves (with the reason) once the lease is lost.
    pub fn fenced(&self) -> watch::Receiver<Option<String>> {
        self.fenced.subscribe()
    }
}

fn db(e: postgres::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}

/// Tries once to take `trust`'s lease for `node` (see the module docs).
pub fn try_acquire(
    client: &mut Client,
    trust: &str,
    node: &str,
    timeout: Duration,
) -> Result<Acquire, StoreError> {
    let attempt = (|| -> Result<Acquire, postgres::Error> {
        let mut tx = client.transaction()?;
        // A writer holds the row during each commit; never queue behind a stuck one.
        tx.batch_execute("SET LOCAL lock_timeout = '500ms'")?;
        tx.execute(
            "INSERT INTO flowd_lease (trust, owner, epoch, heartbeat, acquired_at)
             VALUES ($1, '', 0, to_timestamp(0), clock_timestamp())
             ON CONFLICT (trust) DO NOTHING",
            &[&trust],
        )?;
        let row = tx.query_one(
            "SELECT owner, epoch, EXTRACT(EPOCH FROM clock_timestamp() - heartbeat)::float8
             FROM flowd_lease WHERE trust = $1 FOR UPDATE",
            &[&trust],
        )?;
        let (owner, epoch, age_s): (String, i64, f64) = (row.get(0), row.get(1), row.get(2));
        if epoch > 0 && owner != node && age_s <= timeout.as_secs_f64() {
            tx.commit()?;
            return Ok(Acquire::HeldBy {
                owner,
                epoch,
                age_s,
            });
        }
        let epoch: i64 = tx
            .query_one(
                "UPDATE flowd_lease
                 SET owner = $2, epoch = epoch + 1, heartbeat = clock_timestamp(),
                     acquired_at = clock_timestamp()
                 WHERE trust = $1 RETURNING epoch",
                &[&trust, &node],
            )?
            .get(0);
        tx.commit()?;
        Ok(Acquire::Acquired(epoch))
    })();
    match attempt {
        Ok(a) => Ok(a),
        Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
            Ok(Acquire::Busy)
        }
        Err(e) => Err(db(e)),
    }
}

/// The current holder of `trust`'s lease and its epoch.
pub fn holder(client: &mut Client, trust: &str) -> Result<Option<(String, i64)>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT owner, epoch FROM flowd_lease WHERE trust = $1",
            &[&trust],
        )
        .map_err(db)?
        .map(|r| (r.get(0), r.get(1))))
}

/// Renews the heartbeat; `false` when the epoch is no longer ours.
pub fn renew(client: &mut Client, trust: &str, epoch: i64) -> Result<bool, postgres::Error> {
    let n = client.execute(
        "UPDATE flowd_lease SET heartbeat = clock_timestamp() WHERE trust = $1 AND epoch = $2",
        &[&trust, &epoch],
    )?;
    Ok(n == 1)
}

/// Handle of the heartbeat thread; stops it when dropped.
#[derive(Debug)]
pub struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Renews `lease` every `every` on its own connection until dropped or fenced.
pub fn spawn_heartbeat(
    target: Target,
    lease: Arc<Lease>,
    every: Duration,
) -> Result<Heartbeat, StoreError> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("flowd-lease".into())
        .spawn(move || {
            let mut conn = Conn::lazy(target);
            let step = Duration::from_millis(50).min(every);
            let mut waited = Duration::ZERO;
            while !flag.load(Ordering::SeqCst) && !lease.is_fenced() {
                std::thread::sleep(step);
                waited += step;
                if waited < every {
                    continue;
                }
                waited = Duration::ZERO;
                let renewed = match conn.client() {
                    Ok(c) => renew(c, &lease.trust, lease.epoch).map_err(|e| conn.error(e)),
                    Err(e) => Err(e),
                };
                match renewed {
                    Ok(true) => {}
                    Ok(false) => {
                        let now = conn
                            .client()
                            .ok()
                            .and_then(|c| holder(c, &lease.trust).ok().flatten());
                        let why = match now {
                            Some((owner, epoch)) => {
                                format!("trust now held by `{owner}` at epoch {epoch}")
                            }
                            None => "lease row gone".to_string(),
                        };
                        lease.fence(&why);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not renew the lease; retrying");
                    }
                }
            }
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot start the lease thread: {e}")))?;
    Ok(Heartbeat {
        stop,
        thread: Some(thread),
    })
}
