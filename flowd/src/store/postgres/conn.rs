//! Connections to PostgreSQL: parsing the URL (TLS by its `sslmode`), connecting with
//! a bounded backoff after a failure, and redacting the password from anything that
//! might be logged.
//!
//! [`Conn`] holds at most one client and reconnects lazily: an operation on a lost
//! connection fails with [`StoreError::Unavailable`] (the engine answers 503 and
//! acknowledges nothing), and the next operation reconnects, no sooner than the backoff
//! allows (100 ms doubling to 5 s), so a database outage costs a refused request, not
//! a spinning thread.

use std::str::FromStr;
use std::time::{Duration, Instant};

use postgres::Client;
use postgres_native_tls::MakeTlsConnector;

use crate::store::StoreError;

/// First wait after a failed connection attempt.
const BACKOFF_START: Duration = Duration::from_millis(100);
/// Longest wait between attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Connection timeout when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `url` with any password replaced by `***`: safe to log. Handles the URL form
/// (`postgres://user:secret@host/db?password=…`) and the key/value form
/// (`host=… password=secret`).
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = &out[rest..rest + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    // `password=…` as a query parameter or a key/value pair.
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("password=") {
        let starts_key = i == 0 || matches!(rest.as_bytes()[i - 1], b'?' | b'&' | b' ');
        let value = i + "password=".len();
        result.push_str(&rest[..value]);
        rest = &rest[value..];
        if starts_key {
            let end = rest.find(['&', ' ']).unwrap_or(rest.len());
            result.push_str("***");
            rest = &rest[end..];
        }
    }
    result.push_str(rest);
    result
}

/// A parsed database URL and the TLS connector its `sslmode` may use.
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
    tls: MakeTlsConnector,
    redacted: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.redacted)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Parses `url` (`postgres://user:password@host:port/db?sslmode=require`, or the
    /// key/value form). With `sslmode=require` the server's certificate is verified
    /// against the system's roots; `prefer` (the default) tries TLS first.
    pub fn parse(url: &str) -> Result<Target, StoreError> {
        let redacted = redact(url);
        let mut config = postgres::Config::from_str(url).map_err(|e| {
            StoreError::Unavailable(format!(
                "database URL `{redacted}`: {}",
                redact(&e.to_string())
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("flowd");
        }
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(10));
        let connector = native_tls::TlsConnector::builder()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("TLS: {e}")))?;
        Ok(Target {
            config,
            tls: MakeTlsConnector::new(connector),
            redacted,
        })
    }

    /// Sessions opened through this target are ended by the server when idle inside a
    /// transaction longer than `limit`, so a writer paused mid-transaction cannot hold
    /// its trust's lease row locked past the lease timeout.
    pub fn with_idle_transaction_timeout(mut self, limit: Duration) -> Target {
        let setting = format!(
            "-c idle_in_transaction_session_timeout={}",
            limit.as_millis().max(1)
        );
        let options = match self.config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} {setting}"),
            _ => setting,
        };
        self.config.options(&options);
        self
    }

    /// The URL with its password redacted.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// One connection attempt.
    pub fn connect(&self) -> Result<Client, StoreError> {
        self.config
            .connect(self.tls.clone())
            .map_err(|e| StoreError::Unavailable(format!("{}: {}", self.redacted, e)))
    }
}

/// A lazily (re)connecting client with backoff.
pub struct Conn {
    target: Target,
    client: Option<Client>,
    next_try: Option<Instant>,
    delay: Duration,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("target", &self.target)
            .field("connected", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// A connection to `target`, opened now.
    pub fn open(target: Target) -> Result<Conn, StoreError> {
        let client = target.connect()?;
        Ok(Conn {
            target,
            client: Some(client),
            next_try: None,
            delay: BACKOFF_START,
        })
    }

    /// A connection that will be opened on first use.
    pub fn lazy(target: Target) -> Conn {
        Conn {
            target,
            client: None,
            next_try: None,
            delay: BACKOFF_START,
        }
    }

    /// The client, reconnecting if the last one was lost and the backoff allows.
    pub fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            if let Some(at) = self.next_try
                && Instant::now() < at
            {
                return Err(StoreError::Unavailable(format!(
                    "{}: reconnecting (next attempt in {} ms)",
                    self.target.redacted(),
                    at.saturating_duration_since(Instant::now()).as_millis()
                )));
            }
            match self.target.connect() {
                Ok(c) => {
                    tracing::info!(database = self.target.redacted(), "database connected");
                    self.client = Some(c);
                    self.next_try = None;
                    self.delay = BACKOFF_START;
                }
                Err(e) => {
                    self.next_try = Some(Instant::now() + self.delay);
                    self.delay = (self.delay * 2).min(BACKOFF_MAX);
                    return Err(e);
                }
            }
        }
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("no connection".into()))
    }

    /// Maps a failed operation's error, dropping the client if the connection is gone
    /// (the next operation reconnects).
    pub fn error(&mut self, e: postgres::Error) -> StoreError {
        let lost = e.is_closed() || self.client.as_ref().is_none_or(Client::is_closed);
        if lost || e.as_db_error().is_none() {
            self.client = None;
            if self.next_try.is_none() {
                self.next_try = Some(Instant::now());
            }
            return StoreError::Unavailable(format!("{}: {e}", self.target.redacted()));
        }
        StoreError::Database(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact("postgres://flow:s3cr:et@db.example:5432/flow?sslmode=require"),
            "postgres://flow:***@db.example:5432/flow?sslmode=require"
        );
        assert_eq!(
            redact("postgres://flow@db/flow?password=hunter2&sslmode=require"),
            "postgres://flow@db/flow?password=***&sslmode=require"
        );
        assert_eq!(
            redact("host=db user=flow password=hunter2 dbname=flow"),
            "host=db user=flow password=*** dbname=flow"
        );
        assert_eq!(redact("postgres://db/flow"), "postgres://db/flow");
        assert_eq!(redact("postgres://a@b/c"), "postgres://a@b/c");
    }

    #[test]
    fn a_bad_url_is_reported_without_its_password() {
        let e = Target::parse("postgres://u:topsecret@host:notaport/db")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("topsecret"), "{e}");
    }
}
