//! The daemon's entry point: [`run`] wires the store, the engine and the HTTP API
//! together on a listener the caller bound, and stops cleanly when `shutdown`
//! resolves.
//!
//! Shutdown order: stop accepting connections and let in-flight requests finish
//! (their writes are committed and acknowledged), then stop the re-plan worker, then
//! let the state owner drain its queue, write a final snapshot and close the store.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use flow_core::event::Catalog;
use tokio::net::TcpListener;

use crate::Error;
use crate::api::{self, App};
use crate::config::Config;
use crate::engine::Engine;
use crate::metrics::Metrics;
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
    let metrics = Metrics::new().map_err(Error::Metrics)?;
    let data_dir = checked.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&data_dir))
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))?
        .map_err(crate::engine::EngineError::from)?;
    let engine = Engine::start(
        Box::new(store),
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
        strict: checked.strict,
        closing: closing.clone(),
    });
    let router = api::router(app.clone(), checked.max_body_bytes);
    drop(app);
    tracing::info!(%addr, "serving");
    let signal = async move {
        shutdown.await;
        closing.store(true, Ordering::SeqCst);
        tracing::info!("shutting down: finishing in-flight requests");
    };
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await;
    engine.shutdown().await;
    served?;
    tracing::info!("stopped");
    Ok(())
}
