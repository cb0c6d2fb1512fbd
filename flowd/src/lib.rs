//! # flowd
//!
//! flow's live daemon. It keeps the trust's plan true as the day unfolds: it ingests
//! live events, never loses one it acknowledged, re-plans when they change the
//! picture, and serves the plan and its metrics.
//!
//! ## Layout
//! - [`server`]: [`run`]`(listener, config, shutdown)` wires everything together; the
//!   binary only binds the listener and passes the signal (as mini-redis does).
//! - [`api`]: the HTTP handlers and their OpenAPI description.
//! - [`dashboard`]: the bed manager's page (`/dashboard`) and its event stream
//!   (`/v1/stream`), rendered from the same views.
//! - [`ingest`]: wire formats → checked events → [`ingest::submit`].
//! - [`engine`]: the state owner thread (group commit, apply, snapshots) and the
//!   debounced re-plan worker that publishes plans through a `watch` channel.
//! - [`store`]: the durable event trail and snapshots behind the [`store::Store`]
//!   trait; SQLite is the embedded default, PostgreSQL (feature `postgres`) the shared
//!   system of record.
//! - [`failover`]: one writer per trust in PostgreSQL: lease, standby, takeover.
//! - [`metrics`]: the Prometheus registry; one struct per telemetry point.
//! - [`config`]: the TOML configuration the `serve` flags mirror.
//!
//! The data path: request → `ingest` → state owner (dedupe, apply, commit, ack) →
//! stale → worker (debounce, solve on the blocking pool, check) → `watch` → API and
//! metrics.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod dashboard;
pub mod engine;
#[cfg(feature = "postgres")]
pub mod failover;
pub mod ingest;
pub mod metrics;
pub mod server;
pub mod store;

pub use config::Config;
pub use server::run;

/// Errors that stop the daemon from starting or running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The scenario is invalid.
    #[error("{path}: {message}")]
    Scenario {
        /// The file.
        path: String,
        /// Every problem, with field paths.
        message: String,
    },
    /// The token file is empty.
    #[error("{0}: the token file is empty")]
    EmptyToken(String),
    /// Listening beyond loopback without a token.
    #[error(
        "refusing to accept unauthenticated writes on {0}: give --token-file, listen on loopback, or pass --allow-open-writes"
    )]
    OpenWrites(std::net::SocketAddr),
    /// The engine failed (store, recovery).
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    /// The metrics registry could not be built.
    #[error("metrics: {0}")]
    Metrics(String),
    /// Serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The store failed before the engine started (database URL, schema).
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Another live daemon holds the trust's lease (start with `--standby` to wait).
    #[error(
        "trust `{trust}` is held by `{owner}` (heartbeat {age_s:.1} s ago); start with --standby to wait for it"
    )]
    LeaseHeld {
        /// The trust.
        trust: String,
        /// The holder's id.
        owner: String,
        /// Seconds since its heartbeat.
        age_s: f64,
    },
    /// This daemon lost its trust's lease to a newer writer and stopped; it committed
    /// nothing after that.
    #[error("stopped: {0}")]
    Fenced(String),
}
