//! The daemon's entry point: [`run`] wires the store, the engine and the HTTP API
//! together on a listener the caller bound, and stops cleanly when `shutdown`
//! resolves.
//!
//! Shutdown order: stop accepting connections and let in-flight requests finish
//! (their writes are committed and acknowledged), then stop the re-plan worker, then
//! let the state owner drain its queue, write a final snapshot and close the store.
//! The MLLP listener (when `[hl7] listen` is set) stops with HTTP: it stops accepting,
//! its connections finish the frame in hand, and it ends before the engine stops.
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
    let parsed =
        flow_core::validate::parse_scenario_with_warnings(&text).map_err(|e| Error::Scenario {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    if checked.strict && !parsed.unknown_fields.is_empty() {
        return Err(Error::Scenario {
            path: path.display().to_string(),
            message: flow_core::FieldErrors(parsed.unknown_fields).to_string(),
        });
    }
    for unknown in &parsed.unknown_fields {
        // A field path of the scenario document, never an id.
        tracing::warn!(field = %unknown.path, "scenario: {}", unknown.message);
    }
    let scenario = parsed.value;
    drop(text);
    let catalog = Arc::new(Catalog::new(&scenario));
    if let Some((code, ward)) = checked
        .hl7
        .iter()
        .flat_map(|(_, h)| &h.locations)
        .find(|(_, ward)| !catalog.has_ward(ward))
    {
        return Err(Error::Config(crate::config::ConfigError::Invalid {
            field: "hl7.locations",
            message: format!("`{code}` maps to `{ward}`, which is not a ward of the scenario"),
        }));
    }
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

    let (hl7_stop, hl7_stopped) = tokio::sync::watch::channel(false);
    let hl7_task = match checked.hl7.clone() {
        Some((hl7_addr, settings)) => {
            let mllp = TcpListener::bind(hl7_addr).await?;
            let bound = mllp.local_addr()?;
            tracing::info!(addr = %bound, "mllp listening");
            {
                use std::io::Write;
                // Tests read the bound port from here; a closed stdout is no error.
                let mut out = std::io::stdout();
                let _ = writeln!(out, "mllp listening on {bound}");
                let _ = out.flush();
            }
            let shared = Arc::new(crate::ingest::hl7::listen::Shared::new(
                engine.handle(),
                catalog.clone(),
                Arc::new(settings),
                metrics.clone(),
            ));
            Some(tokio::spawn(crate::ingest::hl7::listen::serve(
                mllp,
                shared,
                hl7_stopped,
            )))
        }
        None => None,
    };

    let closing = Arc::new(AtomicBool::new(false));
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let app = Arc::new(App {
        engine: engine.handle(),
        catalog,
        metrics,
        token,
        max_events: checked.max_events_per_request,
        strict: checked.strict,
        closing: closing.clone(),
        dashboard: checked.dashboard.clone(),
        stopping,
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
        let _ = hl7_stop.send(true);
        stopping_tx.send_replace(true);
    };
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await;
    if let Some(task) = hl7_task {
        let _ = task.await;
    }
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
