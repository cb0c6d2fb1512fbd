//! The daemon's entry point: [`run`] wires the store, the engine and the HTTP API
//! together on a listener the caller bound, and stops cleanly when `shutdown`
//! resolves.
//!
//! Shutdown order: stop accepting connections and let in-flight requests finish
//! (their writes are committed and acknowledged), then stop the re-plan worker, then
//! let the state owner drain its queue, write a final snapshot and close the store.
//!
//! With a database URL the store is PostgreSQL: [`crate::failover`] first makes this
//! daemon the trust's writer (or keeps it a standby until it can be), and losing the
//! lease later (fenced by a newer epoch) stops the daemon with [`Error::Fenced`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use flow_core::event::Catalog;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Error;
use crate::api::{self, App};
use crate::config::Config;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

/// Runs the daemon on `listener` until `shutdown` resolves.
///
/// Loads the scenario, opens (or creates) the store in the data directory, recovers
/// the state, starts re-planning and serves the API. Returns once everything acknowledged
/// is durable and the store is closed.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let checked = config.check()?;
    let addr = listener.local_addr()?;
    let token = match &checked.token_file {
        Some(path) => {
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|source| Error::Read {
                    path: path.display().to_string(),
                    source,
                })?;
            let token = text.trim().to_string();
            if token.is_empty() {
                return Err(Error::EmptyToken(path.display().to_string()));
            }
            Some(token)
        }
        None => None,
    };
    if token.is_none() && !addr.ip().is_loopback() && !checked.allow_open_writes {
        return Err(Error::OpenWrites(addr));
    }

    let path = checked.scenario.clone();
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
    let scenario = flow_core::validate::parse_scenario(&text).map_err(|e| Error::Scenario {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    drop(text);
    let catalog = Arc::new(Catalog::new(&scenario));
    let metrics = Metrics::new().map_err(Error::Metrics)?;
    // The shutdown signal, shared by the standby phase and serving.
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        stop_tx.send_replace(true);
    });
    let mut listener = listener;
    let mut fence: Option<watch::Receiver<Option<String>>> = None;
    #[cfg(feature = "postgres")]
    let mut writer_lease = None;
    let store: Box<dyn Store> = match (&checked.database, &checked.data_dir) {
        #[cfg(feature = "postgres")]
        (Some(db), _) => {
            let trust = db.trust.clone().unwrap_or_else(|| scenario.name.clone());
            let (l, writer) =
                crate::failover::become_writer(db, &trust, listener, &metrics, stop.clone())
                    .await?;
            listener = l;
            let Some(writer) = writer else {
                tracing::info!("stopped before taking the lease");
                return Ok(());
            };
            fence = Some(writer.lease.fenced());
            writer_lease = Some(writer.heartbeat);
            Box::new(writer.store)
        }
        (_, Some(dir)) => {
            let data_dir = dir.clone();
            Box::new(
                tokio::task::spawn_blocking(move || SqliteStore::open(&data_dir))
                    .await
                    .map_err(|e| Error::Io(std::io::Error::other(e)))?
                    .map_err(crate::engine::EngineError::from)?,
            )
        }
        _ => return Err(crate::config::ConfigError::Missing("data_dir").into()),
    };
    let engine = Engine::start(
        store,
        Arc::new(scenario),
        catalog.clone(),
        metrics.clone(),
        checked.engine.clone(),
    )
    .await?;

    let closing = Arc::new(AtomicBool::new(false));
    let app = Arc::new(App {
        engine: engine.handle(),
        catalog,
        metrics,
        token,
        max_events: checked.max_events_per_request,
        closing: closing.clone(),
    });
    let router = api::router(app.clone(), checked.max_body_bytes);
    drop(app);
    tracing::info!(%addr, "serving");
    let mut fenced = fence.clone();
    let mut stopping = stop.clone();
    let signal = async move {
        tokio::select! {
            _ = stopping.wait_for(|s| *s) => {
                tracing::info!("shutting down: finishing in-flight requests");
            }
            _ = async {
                match fenced.as_mut() {
                    Some(f) => { let _ = f.wait_for(Option::is_some).await; }
                    None => std::future::pending::<()>().await,
                }
            } => {
                tracing::error!("lease lost: refusing writes and stopping");
            }
        }
        closing.store(true, Ordering::SeqCst);
    };
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await;
    engine.shutdown().await;
    #[cfg(feature = "postgres")]
    if let Some(heartbeat) = writer_lease {
        let _ = tokio::task::spawn_blocking(move || drop(heartbeat)).await;
    }
    served?;
    if let Some(why) = fence.and_then(|f| f.borrow().clone()) {
        return Err(Error::Fenced(why));
    }
    tracing::info!("stopped");
    Ok(())
}
