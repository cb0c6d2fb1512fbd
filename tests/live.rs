//! Helpers for the daemon's end-to-end tests: start the real `flowd serve` on port 0,
//! talk HTTP/1.1 to it over a plain `TcpStream` (keep-alive, no client crate), stop it
//! with SIGTERM or SIGKILL, generate streams of realistic events, and replay the audit
//! trail through `flow_core::State` to compare with what the daemon holds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use flow_core::event::{Catalog, parse_event};
use flow_core::{Plan, Scenario, State};
use serde_json::{Value, json};

use crate::support::flowd_path;

/// One HTTP response.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A minimal HTTP/1.1 client with one keep-alive connection.
pub struct Http {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    token: Option<String>,
}

impl Http {
    /// A client for `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Http {
            addr,
            conn: None,
            token: None,
        }
    }

    /// Sends `Authorization: Bearer token` from now on.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    /// One request; I/O errors (a dead daemon) come back as `Err`.
    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> std::io::Result<Resp> {
        if self.conn.is_none() {
            let s = TcpStream::connect(self.addr)?;
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            s.set_nodelay(true)?;
            self.conn = Some(BufReader::new(s));
        }
        let result = self.exchange(method, path, body);
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn exchange(&mut self, method: &str, path: &str, body: &[u8]) -> std::io::Result<Resp> {
        let conn = self.conn.as_mut().ok_or(std::io::ErrorKind::NotConnected)?;
        let auth = match &self.token {
            Some(t) => format!("Authorization: Bearer {t}\r\n"),
            None => String::new(),
        };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let stream = conn.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut length, mut chunked, mut close) = (0usize, false, false);
        loop {
            line.clear();
            if conn.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            let (name, value) = (name.to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                conn.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| std::io::Error::other("bad chunk size"))?;
                let mut chunk = vec![0; size + 2];
                conn.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length, 0);
            conn.read_exact(&mut body)?;
        }
        if close {
            self.conn = None;
        }
        Ok(Resp { status, body })
    }

    /// GET that must succeed at the transport level.
    pub fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, b"")
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// POST of a JSON value.
    pub fn post(&mut self, path: &str, body: &Value) -> std::io::Result<Resp> {
        self.request("POST", path, body.to_string().as_bytes())
    }
}

/// Where a daemon keeps its trail.
pub enum Backend<'a> {
    /// SQLite in this data directory (its log beside it).
    Sqlite(&'a Path),
    /// PostgreSQL at `url`; the daemon logs to `log`.
    Postgres {
        /// Connection string.
        url: &'a str,
        /// Log file.
        log: &'a Path,
    },
}

/// A running `flowd serve`.
pub struct Daemon {
    child: Option<Child>,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The MLLP address, when started with `--mllp-listen`.
    pub mllp: Option<SocketAddr>,
    /// Where its log goes.
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `flowd serve` on a free loopback port with `args` added; returns once it
    /// printed its address (not necessarily ready: see [`Daemon::wait_ready`]).
    pub fn start(scenario: &str, data_dir: &Path, args: &[&str]) -> Daemon {
        Daemon::start_on(scenario, &Backend::Sqlite(data_dir), args)
    }

    /// As [`Daemon::start`], on `backend`'s store.
    pub fn start_on(scenario: &str, backend: &Backend<'_>, args: &[&str]) -> Daemon {
        let (log, store): (PathBuf, Vec<std::ffi::OsString>) = match backend {
            Backend::Sqlite(dir) => (
                dir.with_extension("log"),
                vec!["--data-dir".into(), dir.as_os_str().to_owned()],
            ),
            Backend::Postgres { url, log } => {
                (log.to_path_buf(), vec!["--database-url".into(), url.into()])
            }
        };
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open daemon log");
        let mut child = Command::new(flowd_path())
            .args(["serve", "--scenario", scenario, "--listen", "127.0.0.1:0"])
            .args(&store)
            .args(if args.contains(&"--debounce-ms") {
                &[][..]
            } else {
                &["--debounce-ms", "20", "--max-delay-ms", "200"][..]
            })
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("spawn flowd serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let want_mllp = args.contains(&"--mllp-listen")
            || args
                .iter()
                .position(|a| *a == "--config")
                .and_then(|i| args.get(i + 1))
                .and_then(|p| std::fs::read_to_string(p).ok())
                .is_some_and(|t| t.contains("[hl7]") && t.contains("listen"));
        let mut addr: Option<SocketAddr> = None;
        let mut mllp = None;
        let addr = loop {
            if let Some(a) = addr
                && (mllp.is_some() || !want_mllp)
            {
                break a;
            }
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(a) = line.strip_prefix("listening on ") {
                        addr = Some(a.trim().parse().expect("address"));
                    } else if let Some(a) = line.strip_prefix("mllp listening on ") {
                        mllp = Some(a.trim().parse().expect("mllp address"));
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "flowd serve did not start:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        };
        Daemon {
            child: Some(child),
            addr,
            mllp,
            log,
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to the daemon, by its PID.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal}");
    }

    /// Waits (up to `limit`) for the daemon to exit by itself.
    pub fn wait_exit(mut self, limit: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the daemon logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// A client for this daemon.
    pub fn http(&self) -> Http {
        Http::new(self.addr)
    }

    /// Waits until `/readyz` answers 200 (state recovered, first plan published).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut http = self.http();
        loop {
            if let Ok(r) = http.request("GET", "/readyz", b"")
                && r.status == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "daemon not ready in time:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "daemon did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A deterministic xorshift generator (tests need no `rand`).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Generates a plausible stream of events against a scenario: admissions and
/// discharges, transfers, trauma, bed changes, cases listed, done, cancelled and
/// delisted. Some events will be rejected by the state (a patient discharged twice
/// by concurrent senders); that is part of the test.
pub struct EventGen {
    prefix: String,
    rng: Rng,
    wards: Vec<String>,
    sites: Vec<String>,
    cases: Vec<Value>,
    patients: Vec<String>,
    n: u64,
    start: chrono::DateTime<chrono::Utc>,
}

impl EventGen {
    /// A generator whose ids start with `prefix`.
    pub fn new(scenario: &Scenario, prefix: &str, seed: u64) -> Self {
        EventGen {
            prefix: prefix.to_string(),
            rng: Rng::new(seed),
            wards: scenario.wards.iter().map(|w| w.id.clone()).collect(),
            sites: scenario.sites.iter().map(|s| s.id.clone()).collect(),
            cases: scenario
                .waiting_list
                .iter()
                .map(|c| serde_json::to_value(c).expect("case"))
                .collect(),
            patients: scenario.inpatients.iter().map(|p| p.id.clone()).collect(),
            n: 0,
            start: format!("{}T06:00:00Z", scenario.start)
                .parse()
                .expect("start"),
        }
    }

    /// The next event.
    pub fn next(&mut self) -> Value {
        self.n += 1;
        let id = format!("{}-{}", self.prefix, self.n);
        // Time moves about 7 minutes per event per generator: the day rolls.
        let at = self.start + chrono::Duration::minutes((self.n * 7) as i64);
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let date = |days: u64| {
            (at[..10].parse::<chrono::NaiveDate>().expect("date")
                + chrono::Duration::days(days as i64))
            .to_string()
        };
        let ward = self.wards[self.rng.below(self.wards.len())].clone();
        let case = self.cases[self.rng.below(self.cases.len())].clone();
        let case_id = case["id"].as_str().unwrap_or("").to_string();
        match self.rng.below(10) {
            0..=2 => {
                let patient = format!("p-{}-{}", self.prefix, self.n);
                self.patients.push(patient.clone());
                let nights = 1 + self.rng.below(6) as u64;
                json!({"id": id, "at": at, "type": "admit", "patient": patient, "ward": ward,
                       "expected_discharge": date(nights), "route": "emergency", "case": null})
            }
            3..=4 => {
                let i = self.rng.below(self.patients.len());
                let patient = self.patients.get(i).cloned().unwrap_or_default();
                json!({"id": id, "at": at, "type": "discharge", "patient": patient})
            }
            5 => {
                let i = self.rng.below(self.patients.len());
                let patient = self.patients.get(i).cloned().unwrap_or_default();
                json!({"id": id, "at": at, "type": "transfer", "patient": patient, "ward": ward})
            }
            6 => {
                let site = self.sites[self.rng.below(self.sites.len())].clone();
                json!({"id": id, "at": at, "type": "trauma_arrival", "site": site,
                       "minutes_est": 30 + self.rng.below(150), "urgency": "urgent"})
            }
            7 => {
                let beds = 5 + self.rng.below(30);
                json!({"id": id, "at": at, "type": "ward_beds", "ward": ward, "beds": beds,
                       "from": date(1), "to": date(1 + self.rng.below(3) as u64)})
            }
            8 => match self.rng.below(3) {
                0 => json!({"id": id, "at": at, "type": "case_done", "case": case_id}),
                1 => json!({"id": id, "at": at, "type": "case_cancelled", "case": case_id,
                            "reason": "no_bed"}),
                _ => json!({"id": id, "at": at, "type": "delisted", "case": case_id}),
            },
            _ => {
                let mut case = case;
                case["id"] = json!(format!("c-{}-{}", self.prefix, self.n));
                json!({"id": id, "at": at, "type": "listed", "case": case})
            }
        }
    }
}

/// Every event of the daemon's audit trail, in order.
pub fn audit_trail(http: &mut Http) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = 0u64;
    loop {
        let r = http.get(&format!("/v1/events?after={after}&limit=1000"));
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        let events = page["events"].as_array().expect("events").clone();
        if events.is_empty() {
            return out;
        }
        after = page["next_after"].as_u64().expect("next_after");
        out.extend(events);
    }
}

/// Replays trail rows (from [`audit_trail`]) from scratch through `State::apply`,
/// checking each recorded outcome; stops after `until` (a sequence number) if given.
pub fn replay(scenario: &Scenario, trail: &[Value], until: Option<u64>) -> State {
    let catalog = Catalog::new(scenario);
    let mut state = State::new(scenario.clone());
    for (i, row) in trail.iter().enumerate() {
        let seq = row["seq"].as_u64().expect("seq");
        assert_eq!(seq, i as u64 + 1, "sequence numbers are dense");
        if until.is_some_and(|u| seq > u) {
            break;
        }
        let body: Value = serde_json::from_str(row["body"].as_str().expect("body")).expect("json");
        let event = parse_event(&body, &catalog).expect("stored events parse");
        let change = state.apply(&event);
        assert_eq!(
            change.outcome.as_str(),
            row["outcome"],
            "outcome of seq {seq}"
        );
    }
    state
}

/// The daemon's whole state.
pub fn full_state(http: &mut Http) -> (Value, State) {
    let r = http.get("/v1/state?full=true");
    assert_eq!(r.status, 200, "{}", r.text());
    let mut v = r.json();
    let state: State = serde_json::from_value(v["state"].take()).expect("state reads back");
    (v, state)
}

/// The plan being served and the sequence number it was made at (consistent pair).
pub fn plan_and_seq(http: &mut Http) -> (Plan, u64) {
    loop {
        let s = http.get("/v1/state").json();
        let r = http.get("/v1/plan");
        assert_eq!(r.status, 200, "{}", r.text());
        let plan: Plan = serde_json::from_slice(&r.body).expect("plan");
        if plan.version == s["plan_version"].as_u64() {
            return (plan, s["plan_seq"].as_u64().expect("plan_seq"));
        }
    }
}
