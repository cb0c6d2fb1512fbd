//! Becoming a trust's writer in a shared PostgreSQL database: connect (retrying with
//! backoff), migrate the schema, then take the trust's lease, or, as a standby, wait
//! for it while answering HTTP with 503.
//!
//! Until this daemon holds the lease, a small standby router answers on the listener:
//! `GET /healthz` 200, `GET /readyz` 503 (`role`, the holder's id), `GET /metrics`,
//! and everything else 503 naming the holder (no patient data), with `Retry-After`,
//! so clients and load balancers go to the writer. Without `--standby`, a lease held
//! by a live daemon is an error at start. Once the lease is taken (free, expired after
//! `lease_timeout_s`, or held by this same node before a restart), the standby router
//! stops and [`crate::run`] recovers the state from the latest snapshot and the events
//! after it, plans and serves, renewing the lease on a timer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Error;
use crate::config::Database;
use crate::metrics::Metrics;
use crate::store::StoreError;
use crate::store::postgres::PostgresStore;
use crate::store::postgres::conn::{Conn, Target};
use crate::store::postgres::lease::{self, Acquire, Heartbeat, Lease};
use crate::store::postgres::schema;

/// What the standby router says.
#[derive(Debug, Clone, Default)]
struct Status {
    /// The lease holder's id, when known.
    owner: Option<String>,
    /// What this daemon is waiting for.
    waiting_for: &'static str,
}

/// `GET /readyz` of a daemon that does not hold its trust's lease.
#[derive(Debug, Serialize)]
struct StandbyReady {
    ready: bool,
    plan_version: Option<u64>,
    role: &'static str,
    trust: String,
    owner: Option<String>,
    waiting_for: &'static str,
}

#[derive(Debug)]
struct StandbyApp {
    trust: String,
    status: watch::Receiver<Status>,
    metrics: Metrics,
}

fn standby_router(app: Arc<StandbyApp>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(standby_ready))
        .route(
            "/metrics",
            get(|State(app): State<Arc<StandbyApp>>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    app.metrics.render(),
                )
            }),
        )
        .fallback(standby_refusal)
        .with_state(app)
}

async fn standby_ready(State(app): State<Arc<StandbyApp>>) -> Response {
    let status = app.status.borrow().clone();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(StandbyReady {
            ready: false,
            plan_version: None,
            role: "standby",
            trust: app.trust.clone(),
            owner: status.owner,
            waiting_for: status.waiting_for,
        }),
    )
        .into_response()
}

async fn standby_refusal(
    State(app): State<Arc<StandbyApp>>,
    // Read (and drop) the body, so the connection stays usable after the 503.
    _body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let status = app.status.borrow().clone();
    let error = match &status.owner {
        Some(owner) => format!(
            "standby for trust `{}`: the writer is `{owner}`; nothing was stored",
            app.trust
        ),
        None => format!(
            "standby for trust `{}`: {}; nothing was stored",
            app.trust, status.waiting_for
        ),
    };
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({"error": error, "owner": status.owner})),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// This daemon as its trust's writer: the store, the lease and its heartbeat.
#[derive(Debug)]
pub struct Writer {
    /// The store, writing under the lease.
    pub store: PostgresStore,
    /// The lease (watch it for fencing).
    pub lease: Arc<Lease>,
    /// Renews the lease until dropped.
    pub heartbeat: Heartbeat,
}

/// How often a standby (or a daemon waiting for the database) tries again.
fn poll_interval(timeout: Duration) -> Duration {
    (timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(1))
}

/// Waits until this daemon holds `trust`'s lease (serving the standby router on
/// `listener` meanwhile). `None` if `stop` fired first. Errors: a bad URL, a schema
/// newer than this build, a lease held by a live daemon without `--standby`.
pub async fn become_writer(
    db: &Database,
    trust: &str,
    listener: TcpListener,
    metrics: &Metrics,
    stop: watch::Receiver<bool>,
) -> Result<(TcpListener, Option<Writer>), Error> {
    let target = Target::parse(&db.url)?.with_idle_transaction_timeout(db.lease_timeout);
    let (status_tx, status) = watch::channel(Status {
        owner: None,
        waiting_for: "connecting to the database",
    });
    // Serve the standby router on a clone of the listening socket until done.
    let std_listener = listener.into_std()?;
    let standby_listener = TcpListener::from_std(std_listener.try_clone()?)?;
    let listener = TcpListener::from_std(std_listener)?;
    let (done_tx, mut done) = watch::channel(false);
    let app = Arc::new(StandbyApp {
        trust: trust.to_string(),
        status,
        metrics: metrics.clone(),
    });
    let serve = axum::serve(
        standby_listener,
        standby_router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = done.wait_for(|d| *d).await;
    });
    let standby = tokio::spawn(async move { serve.await });

    let (db, trust_id) = (db.clone(), trust.to_string());
    let acquired = tokio::task::spawn_blocking(move || {
        acquire_loop(&target, &db, &trust_id, &status_tx, &stop).map(|epoch| {
            epoch.map(|epoch| {
                let lease = Lease::new(&trust_id, &db.node_id, epoch);
                let heartbeat =
                    lease::spawn_heartbeat(target.clone(), lease.clone(), db.lease_timeout / 3)?;
                let store = PostgresStore::open(target, lease.clone())?;
                Ok::<_, StoreError>(Writer {
                    store,
                    lease,
                    heartbeat,
                })
            })
        })
    })
    .await
    .map_err(|e| Error::Io(std::io::Error::other(e)));
    let _ = done_tx.send(true);
    let _ = standby.await;
    let writer = match acquired?? {
        None => None,
        Some(w) => Some(w?),
    };
    Ok((listener, writer))
}

/// Connects, migrates and takes the lease (blocking). `Ok(None)`: stopped first.
fn acquire_loop(
    target: &Target,
    db: &Database,
    trust: &str,
    status: &watch::Sender<Status>,
    stop: &watch::Receiver<bool>,
) -> Result<Option<i64>, Error> {
    let mut conn = Conn::lazy(target.clone());
    let mut migrated = false;
    let mut announced: Option<String> = None;
    let pause = poll_interval(db.lease_timeout);
    loop {
        if *stop.borrow() {
            return Ok(None);
        }
        let step = (|| -> Result<Option<Acquire>, StoreError> {
            let client = conn.client()?;
            if !migrated {
                let version = schema::migrate(client)?;
                tracing::info!(
                    database = target.redacted(),
                    schema_version = version,
                    "database ready"
                );
                migrated = true;
            }
            lease::try_acquire(client, trust, &db.node_id, db.lease_timeout).map(Some)
        })();
        match step {
            Ok(Some(Acquire::Acquired(epoch))) => {
                tracing::info!(
                    trust,
                    node = db.node_id,
                    epoch,
                    "lease taken: this daemon is the trust's writer"
                );
                return Ok(Some(epoch));
            }
            Ok(Some(Acquire::HeldBy {
                owner,
                epoch,
                age_s,
            })) => {
                if !db.standby {
                    return Err(Error::LeaseHeld {
                        trust: trust.to_string(),
                        owner,
                        age_s,
                    });
                }
                if announced.as_deref() != Some(owner.as_str()) {
                    tracing::info!(
                        trust,
                        owner,
                        epoch,
                        "standby: the trust's lease is held; waiting for it to expire"
                    );
                    announced = Some(owner.clone());
                }
                status.send_replace(Status {
                    owner: Some(owner),
                    waiting_for: "the lease to expire",
                });
            }
            Ok(Some(Acquire::Busy)) | Ok(None) => {}
            Err(e @ StoreError::SchemaTooNew { .. }) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "database not reachable; retrying with backoff");
                status.send_modify(|s| s.waiting_for = "the database to answer");
            }
        }
        std::thread::sleep(pause);
    }
}
