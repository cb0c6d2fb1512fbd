//! Load figures for the daemon: durable ingest throughput (batches of 100; single
//! events from 16 concurrent clients), event-to-new-plan latency at a steady 50 events/s
//! on a medium scenario, and the daemon's memory on the large scenario.
//!
//! Ignored by default (they take minutes and want a release build). Run them with
//!
//! ```sh
//! cargo build --release --workspace
//! cargo test --release --test tests load_ -- --ignored --nocapture --test-threads 1
//! ```
//!
//! `FLOW_LOAD_SECS` sets the latency run's length (default 30 s). Every figure is
//! printed as a `load:` line. Clients run on the same machine as the daemon and
//! share its cores, so the figures are for the whole system, not the daemon alone.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flow_core::generate::Size;
use serde_json::Value;

use crate::live::{Daemon, EventGen};
use crate::support::{scenario, scenario_file};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sends pre-built bodies from `clients` threads as fast as answers come back;
/// returns (events acknowledged, elapsed, per-request latencies in ms).
fn blast(
    daemon: &Daemon,
    bodies: Vec<Vec<Vec<u8>>>,
    per_body: usize,
) -> (usize, Duration, Vec<f64>) {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let handles: Vec<_> = bodies
        .into_iter()
        .map(|mine| {
            let mut http = daemon.http();
            let latencies = latencies.clone();
            std::thread::spawn(move || {
                let mut local = Vec::with_capacity(mine.len());
                for body in mine {
                    let t = Instant::now();
                    let r = http.request("POST", "/v1/events", &body).expect("post");
                    assert_eq!(r.status, 200, "{}", r.text());
                    local.push(t.elapsed().as_secs_f64() * 1e3);
                }
                latencies.lock().expect("latencies").extend(local);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client");
    }
    let elapsed = started.elapsed();
    let mut l = Arc::try_unwrap(latencies)
        .expect("clients done")
        .into_inner()
        .expect("latencies");
    l.sort_by(f64::total_cmp);
    (l.len() * per_body, elapsed, l)
}

fn bodies(
    s: &flow_core::Scenario,
    clients: usize,
    requests: usize,
    per: usize,
) -> Vec<Vec<Vec<u8>>> {
    (0..clients)
        .map(|c| {
            let mut g = EventGen::new(s, &format!("L{c}"), 7 + c as u64);
            (0..requests)
                .map(|_| {
                    let events: Vec<Value> = (0..per).map(|_| g.next()).collect();
                    if per == 1 {
                        events[0].to_string().into_bytes()
                    } else {
                        Value::Array(events).to_string().into_bytes()
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
#[ignore = "load figure; run in release (see module docs)"]
fn load_ingest_batches_of_100() {
    let s = scenario(Size::Medium, 1);
    let (dir, path) = scenario_file(&s);
    let d = Daemon::start(
        &path,
        &dir.path().join("data"),
        &["--snapshot-every", "100000"],
    );
    d.wait_ready();
    let (clients, requests) = (4, env_or("FLOW_LOAD_BATCHES", 500) as usize);
    let (events, elapsed, lat) = blast(&d, bodies(&s, clients, requests, 100), 100);
    println!(
        "load: durable ingest, batches of 100 from {clients} clients (medium scenario): {events} events in {:.2}s = {:.0} events/s; request p50 {:.1} ms, p99 {:.1} ms",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    commit_figures(&d);
    d.terminate();
}

/// Prints the daemon's own figures: commits, events per commit, time per commit.
fn commit_figures(d: &Daemon) {
    let metrics = d.http().get("/metrics").text();
    let value = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let commits = value("flowd_store_commit_seconds_count");
    println!(
        "load:   {commits} commits, {:.1} events per commit, {:.2} ms per commit; {} re-plans, {:.1} ms per re-plan",
        value("flowd_store_commit_batch_events_sum") / commits,
        value("flowd_store_commit_seconds_sum") / commits * 1e3,
        value("flowd_solve_duration_seconds_count"),
        value("flowd_solve_duration_seconds_sum") / value("flowd_solve_duration_seconds_count")
            * 1e3,
    );
}

#[test]
#[ignore = "load figure; run in release (see module docs)"]
fn load_ingest_single_events_16_clients() {
    let s = scenario(Size::Medium, 1);
    let (dir, path) = scenario_file(&s);
    let d = Daemon::start(
        &path,
        &dir.path().join("data"),
        &["--snapshot-every", "100000"],
    );
    d.wait_ready();
    let (clients, requests) = (16, env_or("FLOW_LOAD_REQUESTS", 1500) as usize);
    let (events, elapsed, lat) = blast(&d, bodies(&s, clients, requests, 1), 1);
    println!(
        "load: durable ingest, single-event requests from {clients} clients (medium scenario): {events} requests in {:.2}s = {:.0} requests/s; p50 {:.2} ms, p99 {:.2} ms",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    commit_figures(&d);
    d.terminate();
}

#[test]
#[ignore = "load figure; run in release (see module docs)"]
fn load_event_to_plan_latency_medium_50_per_s() {
    let s = scenario(Size::Medium, 1);
    let (dir, path) = scenario_file(&s);
    let d = Daemon::start(
        &path,
        &dir.path().join("data"),
        // The defaults, spelled out.
        &["--debounce-ms", "50", "--max-delay-ms", "200"],
    );
    d.wait_ready();
    let secs = env_or("FLOW_LOAD_SECS", 30);
    let total = (secs * 50) as usize;
    // A watcher records when each plan (by the last event it includes) appears.
    let seen: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (seen, stop, mut http) = (seen.clone(), stop.clone(), d.http());
        std::thread::spawn(move || {
            let mut last = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let v = http.get("/v1/state").json();
                let seq = v["plan_seq"].as_u64().unwrap_or(0);
                if seq != last {
                    seen.lock().expect("seen").push((seq, Instant::now()));
                    last = seq;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let mut http = d.http();
    let mut gen_ = EventGen::new(&s, "lat", 3);
    let mut sent: Vec<(u64, Instant)> = Vec::with_capacity(total);
    let t0 = Instant::now();
    for i in 0..total {
        let due = t0 + Duration::from_millis(20 * i as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let t = Instant::now();
        let r = http.post("/v1/events", &gen_.next()).expect("post").json();
        if r["results"][0]["outcome"] == "applied" {
            sent.push((r["results"][0]["seq"].as_u64().expect("seq"), t));
        }
    }
    let last = sent.last().map(|s| s.0).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().expect("seen").last().map(|s| s.0).unwrap_or(0) < last {
        assert!(Instant::now() < deadline, "the plan never caught up");
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    watcher.join().expect("watcher");
    let seen = seen.lock().expect("seen").clone();
    let mut lat: Vec<f64> = sent
        .iter()
        .filter_map(|(seq, t)| {
            seen.iter()
                .find(|(s, _)| s >= seq)
                .map(|(_, at)| at.duration_since(*t).as_secs_f64() * 1e3)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let metrics = d.http().get("/metrics").text();
    let solve: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("flowd_solve_duration_seconds_sum")
                || l.starts_with("flowd_solve_duration_seconds_count")
        })
        .collect();
    println!(
        "load: event-to-new-plan latency, medium scenario, 50 events/s for {secs}s ({} applied events, {} plans): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {solve:?}",
        lat.len(),
        seen.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    // Quality: the plan served at the end of the stream, and after the refinement
    // rounds that follow it.
    let solver = |http: &mut crate::live::Http| {
        let plan = http.get("/v1/plan").json();
        format!(
            "version {} status {} gap {} objective {}",
            plan["version"],
            plan["solver"]["status"],
            plan["solver"]["gap"],
            plan["solver"]["objective"]
        )
    };
    println!("load: plan at the end of the stream: {}", solver(&mut http));
    std::thread::sleep(Duration::from_secs(5));
    println!("load: plan 5 s later: {}", solver(&mut http));
    d.terminate();
}

#[test]
#[ignore = "load figure; run in release (see module docs)"]
fn load_rss_large() {
    let s = scenario(Size::Large, 1);
    let (dir, path) = scenario_file(&s);
    let started = Instant::now();
    let d = Daemon::start(
        &path,
        &dir.path().join("data"),
        &["--snapshot-every", "500"],
    );
    d.wait_ready();
    let ready = started.elapsed();
    let mut http = d.http();
    let mut gen_ = EventGen::new(&s, "rss", 5);
    for _ in 0..20 {
        let batch: Vec<Value> = (0..100).map(|_| gen_.next()).collect();
        assert_eq!(
            http.post("/v1/events", &Value::Array(batch))
                .expect("post")
                .status,
            200
        );
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while http.get("/v1/state").json()["plan_seq"].as_u64() != Some(2000) {
        assert!(Instant::now() < deadline, "no re-plan");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
            .unwrap_or_else(|| "?".into())
    };
    let plan_bytes = http.get("/v1/plan").body.len();
    let restarted = {
        let t = Instant::now();
        assert_eq!(d.terminate().code(), Some(0));
        let d = Daemon::start(&path, &dir.path().join("data"), &[]);
        d.wait_ready();
        let took = t.elapsed();
        d.terminate();
        took
    };
    println!(
        "load: large scenario ({} cases, {} theatres): ready in {:.1}s; after 2,000 events and a re-plan RSS {} kB (peak {} kB); plan JSON {} kB; stop + restart to ready {:.1}s",
        s.waiting_list.len(),
        s.theatres.len(),
        ready.as_secs_f64(),
        field("VmRSS:"),
        field("VmHWM:"),
        plan_bytes / 1024,
        restarted.as_secs_f64()
    );
}

/// Seconds until `d` answers `/readyz` 200.
fn ready_after(d: &Daemon, since: Instant) -> f64 {
    d.wait_ready();
    since.elapsed().as_secs_f64()
}

#[test]
#[ignore = "load figure; run in release (see module docs)"]
fn load_postgres_and_sqlite() {
    use crate::live::Backend;
    let pg = crate::pg::Postgres::start();
    let url = pg.url();
    let s = scenario(Size::Medium, 1);
    let (dir, path) = scenario_file(&s);
    let batches = env_or("FLOW_LOAD_BATCHES", 250) as usize;
    let singles = env_or("FLOW_LOAD_REQUESTS", 1000) as usize;
    for name in ["sqlite", "postgres"] {
        let data = dir.path().join(format!("data-{name}"));
        let log = dir.path().join(format!("{name}-a.log"));
        let backend = if name == "sqlite" {
            Backend::Sqlite(&data)
        } else {
            Backend::Postgres {
                url: &url,
                log: &log,
            }
        };
        let args = [
            "--snapshot-every",
            "100000",
            "--node-id",
            "load-a",
            "--lease-timeout-s",
            "2",
        ];
        let args: &[&str] = if name == "sqlite" { &args[..2] } else { &args };
        let d = Daemon::start_on(&path, &backend, args);
        d.wait_ready();
        let (events, elapsed, lat) = blast(&d, bodies(&s, 4, batches, 100), 100);
        println!(
            "load: {name}: durable ingest, batches of 100 from 4 clients: {events} events in {:.2}s = {:.0} events/s; request p50 {:.1} ms, p99 {:.1} ms",
            elapsed.as_secs_f64(),
            events as f64 / elapsed.as_secs_f64(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
        let mut single = bodies(&s, 16, singles, 1);
        // Fresh ids: the batch run used the same generators.
        for (c, mine) in single.iter_mut().enumerate() {
            let mut g = EventGen::new(&s, &format!("S{c}"), 70 + c as u64);
            for b in mine.iter_mut() {
                *b = g.next().to_string().into_bytes();
            }
        }
        let (events, elapsed, lat) = blast(&d, single, 1);
        println!(
            "load: {name}: durable ingest, single events from 16 clients: {events} requests in {:.2}s = {:.0} requests/s; p50 {:.2} ms, p99 {:.2} ms",
            elapsed.as_secs_f64(),
            events as f64 / elapsed.as_secs_f64(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
        commit_figures(&d);
        // Takeover: kill -9 the writer; for PostgreSQL a standby on another node id
        // takes the lease after the 2 s timeout; for SQLite the same daemon restarts
        // on the same directory (it has no standby).
        let stored = d.http().get("/v1/state").json()["last_seq"].as_u64();
        if name == "sqlite" {
            d.kill9();
            let t = Instant::now();
            let again = Daemon::start_on(&path, &backend, args);
            let took = ready_after(&again, t);
            println!(
                "load: sqlite: kill -9, restart on the same data directory to ready (plan served) in {took:.2}s ({stored:?} events)"
            );
            again.terminate();
        } else {
            let log_b = dir.path().join("postgres-b.log");
            let standby = Daemon::start_on(
                &path,
                &Backend::Postgres {
                    url: &url,
                    log: &log_b,
                },
                &["--node-id", "load-b", "--lease-timeout-s", "2", "--standby"],
            );
            std::thread::sleep(Duration::from_millis(500));
            d.kill9();
            let t = Instant::now();
            let took = ready_after(&standby, t);
            println!(
                "load: postgres: kill -9 the writer, standby ready (lease timeout 2 s, recovery, first plan) in {took:.2}s ({stored:?} events)"
            );
            standby.terminate();
        }
    }
}
