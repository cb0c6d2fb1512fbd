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
//! strict = false                       # unknown fields: warnings (false) or errors
//! ```
//!
//! [`Config`] is the raw, serde form; [`Config::check`] validates it once, so the rest
//! of the daemon reads values it can trust.

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
    /// Directory of the event store (required; created if missing).
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
            strict: false,
        }
    }
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Store directory.
    pub data_dir: PathBuf,
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
        let data_dir = self
            .data_dir
            .clone()
            .ok_or(ConfigError::Missing("data_dir"))?;
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
        Ok(Checked {
            scenario,
            data_dir,
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
}
