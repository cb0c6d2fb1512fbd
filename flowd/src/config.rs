//! The daemon's configuration: a TOML file whose keys the `serve` flags mirror one for
//! one (a flag given on the command line wins over the file).
//!
//! ```toml
//! scenario = "scenario.json"
//! data_dir = "/var/lib/flowd"
//! listen = "127.0.0.1:7878"
//! # token_file = "/etc/flowd/token"   # bearer token required for writes
//! debounce_ms = 50
//! max_delay_ms = 200
//! solve_time_limit_s = 30.0           # a cold solve (the first plan)
//! replan_time_limit_s = 0.3            # a re-plan, which starts from the plan served
//! freeze_days = 1
//! snapshot_every = 10000
//! max_body_bytes = 4194304
//! log_format = "text"                  # or "json"
//! log = "info"
//!
//! [hl7]                                # HL7 v2 ADT over MLLP (off unless `listen` is set)
//! listen = "127.0.0.1:2575"
//! allow = ["10.1.0.0/16"]              # source networks besides loopback
//! max_frame_bytes = 1048576
//! max_connections = 16
//! processing_ids = ["P"]
//! enhanced_ack = false
//! time_zone = "Europe/London"
//! [hl7.locations]                      # PV1-3.1 point of care → ward id
//! "PREOP" = "n-surg-1"
//! [hl7.route]                          # PV1-4 local codes → elective | emergency
//! "W" = "elective"
//! sse_keep_alive_ms = 15000            # keep-alive comments on GET /v1/stream
//!
//! [bed_pressure]                       # flow's defaults, not NHS England's OPEL
//! general_acute_occupancy_pct = [85.0, 92.0, 97.0]
//! critical_care_occupancy_pct = [75.0, 85.0, 95.0]
//! headroom_beds = [5, 0, -5]           # level up when headroom falls below
//! over_capacity_nights = [1, 2, 3]     # of the first 3 nights
//! critical_care_kinds = ["critical_care"]
//! # PostgreSQL instead of SQLite in data_dir (then data_dir is not needed):
//! # database_url = "postgres://flowd@db.example/flow?sslmode=require"
//! # trust = "rxx"                       # default: the scenario's name
//! # node_id = "flowd-a"                 # default: the host name
//! # standby = true                      # wait for the trust's lease instead of failing
//! # lease_timeout_s = 10.0
//! strict = false                       # unknown fields: warnings (false) or errors
//! ```
//!
//! [`Config`] is the raw, serde form; [`Config::check`] validates it once, so the rest
//! of the daemon reads values it can trust.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::EngineSettings;

/// Default listen address: loopback only, so an unauthenticated daemon is not exposed.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// Errors reading or checking the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (names the key).
        message: String,
    },
    /// A required setting is missing.
    #[error("`{0}` is required (flag --{flag} or key `{0}` in the config file)", flag = .0.replace('_', "-"))]
    Missing(&'static str),
    /// A setting is out of range.
    #[error("`{field}`: {message}")]
    Invalid {
        /// The key.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything `flowd serve` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Scenario file the state starts from (required).
    pub scenario: Option<PathBuf>,
    /// Directory of the SQLite event store (created if missing; required unless
    /// `database_url` is set).
    pub data_dir: Option<PathBuf>,
    /// Address to listen on (`host:port`; port 0 picks a free one).
    pub listen: String,
    /// File holding the bearer token writes (and the audit trail) require.
    pub token_file: Option<PathBuf>,
    /// Allow listening beyond loopback without a token.
    pub allow_open_writes: bool,
    /// Quiet time after a change before re-planning, in milliseconds.
    pub debounce_ms: u64,
    /// Longest a change waits for a re-plan to start, in milliseconds.
    pub max_delay_ms: u64,
    /// Time limit of a cold solve (the first plan, or one without a plan to start
    /// from), in seconds.
    pub solve_time_limit_s: f64,
    /// Time limit of a re-plan, which starts from the plan being served, in seconds.
    /// When it bites, the worker refines in the next rounds.
    pub replan_time_limit_s: f64,
    /// Days whose bookings a re-plan keeps (passed to the planner).
    pub freeze_days: u32,
    /// Events between state snapshots.
    pub snapshot_every: u64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Most events in one request.
    pub max_events_per_request: usize,
    /// Most events in one group commit.
    pub max_batch_events: usize,
    /// Plan versions kept for `GET /v1/plan/changes`.
    pub plan_history: usize,
    /// Check every plan with the independent checker before serving it.
    pub verify_plans: bool,
    /// Log line format.
    pub log_format: LogFormat,
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `flowd=debug`).
    pub log: String,
    /// Fields the contract does not know, in the scenario or in posted events, are
    /// errors (the daemon does not start; a request is refused with 400 naming them)
    /// instead of warnings.
    pub strict: bool,
    /// PostgreSQL connection string: the store is then the shared database (keyed by
    /// trust) instead of SQLite in `data_dir`. TLS per its `sslmode`.
    pub database_url: Option<String>,
    /// The trust this daemon serves in a shared database (default: the scenario's
    /// name).
    pub trust: Option<String>,
    /// This daemon's id in the trust's lease (default: the host name).
    pub node_id: Option<String>,
    /// Start as a standby: serve 503 and wait for the trust's lease to expire.
    pub standby: bool,
    /// A lease whose heartbeat is older than this, in seconds, may be taken over.
    pub lease_timeout_s: f64,
    /// Interval of keep-alive comments on `GET /v1/stream`, in milliseconds.
    pub sse_keep_alive_ms: u64,
    /// Cut points of the dashboard's bed-pressure level.
    pub bed_pressure: crate::dashboard::pressure::Cuts,
    /// The HL7 v2 MLLP listener.
    pub hl7: Hl7Config,
}

/// Default MLLP listen address when one is asked for without a port.
pub const DEFAULT_MLLP_LISTEN: &str = "127.0.0.1:2575";

/// `[hl7]`: the HL7 v2 ADT listener over MLLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Hl7Config {
    /// Address to listen on for MLLP (`host:port`); none: no listener.
    pub listen: Option<String>,
    /// Source networks allowed besides loopback (CIDR); required to listen beyond
    /// loopback.
    pub allow: Vec<String>,
    /// Largest frame payload, bytes (beyond it the connection is closed).
    pub max_frame_bytes: usize,
    /// Most connections at once (more are closed at once).
    pub max_connections: usize,
    /// Accepted MSH-11.1 processing ids.
    pub processing_ids: Vec<String>,
    /// Honour MSH-15 (enhanced mode, CA/CE/CR); otherwise original-mode ACKs always.
    pub enhanced_ack: bool,
    /// IANA zone of timestamps without an offset.
    pub time_zone: String,
    /// Seconds after which an unfinished frame is dropped (and the connection closed).
    pub frame_timeout_s: u64,
    /// Seconds of silence after which a connection is closed.
    pub idle_timeout_s: u64,
    /// PV1-3.1 location code → ward id.
    pub locations: BTreeMap<String, String>,
    /// PV1-4 admission type → route, before HL7 table 0007.
    pub route: BTreeMap<String, flow_core::event::Route>,
}

impl Default for Hl7Config {
    fn default() -> Self {
        Hl7Config {
            listen: None,
            allow: Vec::new(),
            max_frame_bytes: 1 << 20,
            max_connections: 16,
            processing_ids: vec!["P".into()],
            enhanced_ack: false,
            time_zone: "Europe/London".into(),
            frame_timeout_s: 60,
            idle_timeout_s: 30 * 60,
            locations: BTreeMap::new(),
            route: BTreeMap::new(),
        }
    }
}

impl Hl7Config {
    /// The listen address and the listener's settings, when a listener is configured.
    pub fn check(
        &self,
    ) -> Result<Option<(std::net::SocketAddr, crate::ingest::hl7::Settings)>, ConfigError> {
        let Some(listen) = &self.listen else {
            return Ok(None);
        };
        let invalid =
            |field: &'static str, message: String| ConfigError::Invalid { field, message };
        let text = listen.trim();
        let text = match text.strip_prefix("localhost:") {
            Some(port) => format!("127.0.0.1:{port}"),
            None => text.to_string(),
        };
        let addr: std::net::SocketAddr = text.parse().map_err(|e| {
            invalid(
                "hl7.listen",
                format!("`{listen}`: {e} (e.g. 127.0.0.1:2575)"),
            )
        })?;
        let allow = self
            .allow
            .iter()
            .map(|c| c.parse())
            .collect::<Result<Vec<crate::ingest::hl7::Cidr>, String>>()
            .map_err(|e| invalid("hl7.allow", e))?;
        if !addr.ip().is_loopback() && allow.is_empty() {
            return Err(invalid(
                "hl7.allow",
                format!(
                    "listening on {addr} beyond loopback needs the source networks allowed, e.g. allow = [\"10.1.0.0/16\"]"
                ),
            ));
        }
        if self.max_frame_bytes == 0 || self.max_connections == 0 {
            return Err(invalid(
                "hl7.max_frame_bytes",
                "max_frame_bytes and max_connections must be at least 1".into(),
            ));
        }
        if self.processing_ids.is_empty() {
            return Err(invalid(
                "hl7.processing_ids",
                "must name at least one (e.g. [\"P\"])".into(),
            ));
        }
        let time_zone: chrono_tz::Tz = self.time_zone.parse().map_err(|_| {
            invalid(
                "hl7.time_zone",
                format!("`{}` is not an IANA time zone", self.time_zone),
            )
        })?;
        if self.frame_timeout_s == 0 || self.idle_timeout_s == 0 {
            return Err(invalid(
                "hl7.frame_timeout_s",
                "timeouts must be at least 1 s".into(),
            ));
        }
        let settings = crate::ingest::hl7::Settings {
            allow,
            max_frame_bytes: self.max_frame_bytes,
            max_connections: self.max_connections,
            processing_ids: self.processing_ids.clone(),
            enhanced_ack: self.enhanced_ack,
            time_zone,
            locations: self.locations.clone(),
            routes: self.route.clone(),
            frame_timeout: Duration::from_secs(self.frame_timeout_s),
            idle_timeout: Duration::from_secs(self.idle_timeout_s),
            ..crate::ingest::hl7::Settings::default()
        };
        Ok(Some((addr, settings)))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scenario: None,
            data_dir: None,
            listen: DEFAULT_LISTEN.to_string(),
            token_file: None,
            allow_open_writes: false,
            debounce_ms: 50,
            max_delay_ms: 200,
            solve_time_limit_s: 30.0,
            replan_time_limit_s: 0.3,
            freeze_days: 1,
            snapshot_every: 10_000,
            max_body_bytes: 4 << 20,
            max_events_per_request: 10_000,
            max_batch_events: 50_000,
            plan_history: 16,
            verify_plans: true,
            log_format: LogFormat::Text,
            log: "info".to_string(),
            hl7: Hl7Config::default(),
            sse_keep_alive_ms: 15_000,
            bed_pressure: crate::dashboard::pressure::Cuts::default(),
            database_url: None,
            trust: None,
            node_id: None,
            standby: false,
            lease_timeout_s: 10.0,
            strict: false,
        }
    }
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Store directory (SQLite; `None` with a database URL).
    pub data_dir: Option<PathBuf>,
    /// The shared database (PostgreSQL), if given instead of a data directory.
    pub database: Option<Database>,
    /// Token file, if writes need a token.
    pub token_file: Option<PathBuf>,
    /// Allow listening beyond loopback without a token.
    pub allow_open_writes: bool,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Most events per request.
    pub max_events_per_request: usize,
    /// Unknown fields are errors, not warnings.
    pub strict: bool,
    /// How the engine runs.
    pub engine: EngineSettings,
    /// The MLLP listen address and settings, when HL7 is on.
    pub hl7: Option<(std::net::SocketAddr, crate::ingest::hl7::Settings)>,
    /// The dashboard and its event stream.
    pub dashboard: crate::dashboard::Settings,
}

/// A checked PostgreSQL setting. Its `Debug` never shows the password.
#[derive(Clone)]
pub struct Database {
    /// The connection string (holds the password, if any: never log it).
    pub url: String,
    /// The trust id, if set (else the scenario's name).
    pub trust: Option<String>,
    /// This daemon's id in the lease.
    pub node_id: String,
    /// Start as a standby.
    pub standby: bool,
    /// Lease timeout.
    pub lease_timeout: Duration,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &redact_url(&self.url))
            .field("trust", &self.trust)
            .field("node_id", &self.node_id)
            .field("standby", &self.standby)
            .field("lease_timeout", &self.lease_timeout)
            .finish()
    }
}

/// The connection string with its password hidden.
pub fn redact_url(url: &str) -> String {
    #[cfg(feature = "postgres")]
    {
        crate::store::postgres::conn::redact(url)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = url;
        "(hidden)".to_string()
    }
}

/// This machine's host name (the default node id).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "flowd".to_string())
}

impl Config {
    /// Reads a TOML configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML text; unknown keys are errors (a typo must not pass silently).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "config".into(),
            message: e.to_string(),
        })
    }

    /// Validates the settings.
    pub fn check(&self) -> Result<Checked, ConfigError> {
        let scenario = self
            .scenario
            .clone()
            .ok_or(ConfigError::Missing("scenario"))?;
        let database = match &self.database_url {
            None => None,
            Some(_) if self.data_dir.is_some() => {
                return Err(ConfigError::Invalid {
                    field: "database_url",
                    message: "give either data_dir (SQLite) or database_url (PostgreSQL), not both"
                        .into(),
                });
            }
            Some(_) if !cfg!(feature = "postgres") => {
                return Err(ConfigError::Invalid {
                    field: "database_url",
                    message: "this flowd was built without the `postgres` feature".into(),
                });
            }
            Some(url) => {
                let lease = self.lease_timeout_s;
                if !(lease.is_finite() && (0.5..=3600.0).contains(&lease)) {
                    return Err(ConfigError::Invalid {
                        field: "lease_timeout_s",
                        message: "must be a number of seconds in [0.5, 3600]".into(),
                    });
                }
                let named = |field: &'static str, v: &Option<String>| match v {
                    Some(s) if s.trim().is_empty() || s.len() > 200 => Err(ConfigError::Invalid {
                        field,
                        message: "must be 1 to 200 characters".into(),
                    }),
                    other => Ok(other.clone()),
                };
                Some(Database {
                    url: url.clone(),
                    trust: named("trust", &self.trust)?,
                    node_id: named("node_id", &self.node_id)?.unwrap_or_else(host_name),
                    standby: self.standby,
                    lease_timeout: Duration::from_secs_f64(lease),
                })
            }
        };
        let data_dir = match (&self.data_dir, &database) {
            (Some(d), _) => Some(d.clone()),
            (None, Some(_)) => None,
            (None, None) => return Err(ConfigError::Missing("data_dir")),
        };
        let positive = |field: &'static str, v: u64| {
            if v == 0 {
                Err(ConfigError::Invalid {
                    field,
                    message: "must be at least 1".into(),
                })
            } else {
                Ok(())
            }
        };
        positive("snapshot_every", self.snapshot_every)?;
        positive("max_body_bytes", self.max_body_bytes as u64)?;
        positive("max_events_per_request", self.max_events_per_request as u64)?;
        positive("max_batch_events", self.max_batch_events as u64)?;
        positive("plan_history", self.plan_history as u64)?;
        let seconds = |field: &'static str, value: f64| {
            if value.is_finite() && value > 0.0 && value <= 86_400.0 {
                Ok(Duration::from_secs_f64(value))
            } else {
                Err(ConfigError::Invalid {
                    field,
                    message: "must be a number of seconds in (0, 86400]".into(),
                })
            }
        };
        let time_limit = seconds("solve_time_limit_s", self.solve_time_limit_s)?;
        let replan_time_limit = seconds("replan_time_limit_s", self.replan_time_limit_s)?;
        let hl7 = self.hl7.check()?;
        positive("sse_keep_alive_ms", self.sse_keep_alive_ms)?;
        self.bed_pressure
            .check()
            .map_err(|message| ConfigError::Invalid {
                field: "bed_pressure",
                message,
            })?;
        Ok(Checked {
            hl7,
            scenario,
            data_dir,
            database,
            token_file: self.token_file.clone(),
            allow_open_writes: self.allow_open_writes,
            max_body_bytes: self.max_body_bytes,
            max_events_per_request: self.max_events_per_request,
            strict: self.strict,
            engine: EngineSettings {
                debounce: Duration::from_millis(self.debounce_ms),
                max_delay: Duration::from_millis(self.max_delay_ms.max(self.debounce_ms)),
                time_limit,
                replan_time_limit,
                freeze_days: self.freeze_days,
                snapshot_every: self.snapshot_every,
                max_batch_events: self.max_batch_events,
                plan_history: self.plan_history,
                verify_plans: self.verify_plans,
                planner: crate::engine::plan,
            },
            dashboard: crate::dashboard::Settings {
                keep_alive: Duration::from_millis(self.sse_keep_alive_ms),
                cuts: self.bed_pressure.clone(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_and_errors() {
        let c = Config::from_toml(
            "scenario = \"s.json\"\ndata_dir = \"d\"\ndebounce_ms = 50\nlog_format = \"json\"\n",
        )
        .unwrap();
        assert_eq!(c.debounce_ms, 50);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.listen, DEFAULT_LISTEN);
        let checked = c.check().unwrap();
        assert_eq!(checked.engine.debounce, Duration::from_millis(50));
        let text = toml::to_string(&c).unwrap();
        assert_eq!(Config::from_toml(&text).unwrap(), c);

        let err = Config::from_toml("debounse_ms = 5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("debounse_ms"), "{err}");
        let err = Config::default().check().unwrap_err().to_string();
        assert!(err.contains("--scenario"), "{err}");
        let bad = Config {
            scenario: Some("s".into()),
            data_dir: Some("d".into()),
            solve_time_limit_s: -1.0,
            ..Config::default()
        };
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("solve_time_limit_s")
        );
        let bad = Config {
            solve_time_limit_s: 1.0,
            replan_time_limit_s: f64::NAN,
            ..bad
        };
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("replan_time_limit_s")
        );
    }

    #[test]
    fn hl7_section() {
        let c = Config::from_toml(
            "scenario = \"s\"\ndata_dir = \"d\"\n[hl7]\nlisten = \"127.0.0.1:2575\"\ntime_zone = \"Europe/Paris\"\n[hl7.locations]\nPREOP = \"w-1\"\n[hl7.route]\nW = \"elective\"\n",
        )
        .unwrap();
        let (addr, settings) = c.check().unwrap().hl7.unwrap();
        assert_eq!(addr.port(), 2575);
        assert_eq!(settings.locations["PREOP"], "w-1");
        assert_eq!(settings.max_connections, 16);
        let text = toml::to_string(&c).unwrap();
        assert_eq!(Config::from_toml(&text).unwrap(), c);
        let open = Hl7Config {
            listen: Some("0.0.0.0:2575".into()),
            ..Hl7Config::default()
        };
        assert!(open.check().unwrap_err().to_string().contains("hl7.allow"));
        let open = Hl7Config {
            allow: vec!["10.1.0.0/16".into()],
            ..open
        };
        assert!(open.check().unwrap().is_some());
        let bad = Hl7Config {
            time_zone: "Mars/Olympus".into(),
            ..open
        };
        assert!(bad.check().is_err());
        assert!(Hl7Config::default().check().unwrap().is_none());
    }

    #[test]
    fn a_database_url_replaces_the_data_dir() {
        let c = Config::from_toml(
            "scenario = \"s.json\"\ndatabase_url = \"postgres://flowd:hunter2@db/flow\"\nstandby = true\nlease_timeout_s = 2.5\n",
        )
        .unwrap();
        let checked = c.check().unwrap();
        assert!(checked.data_dir.is_none());
        let db = checked.database.clone().unwrap();
        assert!(db.standby);
        assert_eq!(db.lease_timeout, Duration::from_millis(2500));
        assert!(!db.node_id.is_empty());
        assert_eq!(db.trust, None);
        // The password never shows in a debug print.
        let printed = format!("{checked:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        let both = Config {
            data_dir: Some("d".into()),
            ..c.clone()
        };
        let err = both.check().unwrap_err().to_string();
        assert!(err.contains("not both"), "{err}");
        let bad = Config {
            lease_timeout_s: 0.0,
            ..c
        };
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("lease_timeout_s")
        );
    }
}
