//! One writer per trust against a real PostgreSQL ([`crate::pg`]): two `flowd serve`
//! for one trust, the second `--standby`, with a 2 s lease timeout.
//!
//! - Fencing: the standby stores and acknowledges nothing (503 naming the writer);
//!   SIGSTOP the writer past the lease timeout and the standby takes over; SIGCONT the
//!   old writer and it commits nothing (a request it held gets no 200) and exits
//!   non-zero, logging the lost lease; every acknowledged event is in the trail once
//!   and the state equals a replay.
//! - Failover: kill -9 the writer under a stream from four clients that retry what got
//!   no answer (against either daemon); the standby serves a checked plan within the
//!   lease timeout + 5 s, and the trail holds exactly the acknowledged ids.

#![allow(clippy::unwrap_used)] // helpers of #[test] fns: a panic is the failure report

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flow_core::check;
use flow_core::generate::Size;
use serde_json::Value;

use crate::live::{Backend, Daemon, EventGen, Http, audit_trail, full_state, plan_and_seq, replay};
use crate::pg::Postgres;
use crate::support::{scenario, scenario_file};

/// Lease timeout of these tests, seconds.
const LEASE_S: u64 = 2;

fn start(pg_url: &str, scenario: &str, log: &std::path::Path, node: &str, standby: bool) -> Daemon {
    let lease = LEASE_S.to_string();
    let mut args = vec![
        "--node-id",
        node,
        "--lease-timeout-s",
        &lease,
        "--snapshot-every",
        "25",
    ];
    if standby {
        args.push("--standby");
    }
    Daemon::start_on(scenario, &Backend::Postgres { url: pg_url, log }, &args)
}

fn ids(body: &Value) -> Vec<String> {
    match body {
        Value::Array(items) => items
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect(),
        e => vec![e["id"].as_str().unwrap().to_string()],
    }
}

fn trail_ids(http: &mut Http) -> Vec<String> {
    audit_trail(http)
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until `d` answers `/readyz` with 503 as a standby naming `owner`.
fn wait_standby(d: &Daemon, owner: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut http = d.http();
    loop {
        if let Ok(r) = http.request("GET", "/readyz", b"")
            && r.status == 503
            && r.json()["owner"] == owner
        {
            assert_eq!(r.json()["role"], "standby");
            return;
        }
        assert!(Instant::now() < deadline, "no standby:\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_paused_writer_is_fenced_and_the_standby_takes_over() {
    let pg = Postgres::start();
    let s = scenario(Size::Tiny, 31);
    let (dir, path) = scenario_file(&s);
    let url = pg.url();
    let a = start(&url, &path, &dir.path().join("a.log"), "node-a", false);
    a.wait_ready();
    let b = start(&url, &path, &dir.path().join("b.log"), "node-b", true);
    wait_standby(&b, "node-a");

    let mut gen_ = EventGen::new(&s, "f", 1);
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let mut ha = a.http();
    let mut hb = b.http();
    for _ in 0..10 {
        let e = gen_.next();
        let r = ha.post("/v1/events", &e).unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        acked.extend(ids(&e));
    }
    // The standby acknowledges nothing and names the writer.
    let refused = gen_.next();
    let r = hb.post("/v1/events", &refused).unwrap();
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("node-a"), "{}", r.text());
    assert_eq!(hb.get("/v1/plan").status, 503);
    assert!(!trail_ids(&mut ha).contains(&ids(&refused)[0]));

    // Pause the writer past the lease timeout: the standby takes over.
    a.signal("STOP");
    let stopped = Instant::now();
    // A request the paused writer holds (accepted by the kernel, never answered yet).
    let held = gen_.next();
    let held_sender = {
        let (addr, body) = (a.addr, held.clone());
        std::thread::spawn(move || Http::new(addr).post("/v1/events", &body).map(|r| r.status))
    };
    b.wait_ready();
    eprintln!(
        "fencing test: standby ready {:.2} s after the writer was paused",
        stopped.elapsed().as_secs_f64()
    );
    assert!(
        stopped.elapsed() >= Duration::from_secs(LEASE_S),
        "taken before the lease expired"
    );
    // The standby router closed its connections when it became the writer.
    let mut hb = b.http();
    for _ in 0..10 {
        let e = gen_.next();
        let r = hb.post("/v1/events", &e).unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        acked.extend(ids(&e));
    }

    // Wake the old writer: it commits nothing and exits non-zero.
    a.signal("CONT");
    let held_status = held_sender.join().unwrap();
    assert!(
        !matches!(held_status, Ok(200)),
        "the fenced writer acknowledged a request: {held_status:?}"
    );
    let status = a
        .wait_exit(Duration::from_secs(30))
        .expect("the fenced writer exits");
    assert!(!status.success(), "exit status {status:?}");
    let log = std::fs::read_to_string(dir.path().join("a.log")).unwrap();
    assert!(log.contains("lease lost"), "{log}");

    // Every acknowledged event once; nothing else; the state equals a replay.
    let trail = audit_trail(&mut hb);
    let stored = trail_ids(&mut hb);
    let unique: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(unique.len(), stored.len(), "an event stored twice");
    assert_eq!(unique, acked);
    assert_eq!(full_state(&mut hb).1, replay(&s, &trail, None));
    assert_eq!(b.terminate().code(), Some(0));
    drop(pg);
}

/// A client that sends batches to whichever daemon answers, retrying every request
/// that got no 200 until one does.
fn client(
    addrs: [std::net::SocketAddr; 2],
    mut gen_: EventGen,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<BTreeSet<String>>>,
    n: usize,
) {
    let mut https = [Http::new(addrs[0]), Http::new(addrs[1])];
    let mut target = 0;
    while !stop.load(Ordering::Relaxed) {
        let events: Vec<Value> = (0..n).map(|_| gen_.next()).collect();
        let body = Value::Array(events);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match https[target].post("/v1/events", &body) {
                Ok(r) if r.status == 200 => {
                    acked.lock().unwrap().extend(ids(&body));
                    break;
                }
                Ok(r) => assert_eq!(r.status, 503, "{}", r.text()),
                Err(_) => {}
            }
            assert!(Instant::now() < deadline, "no daemon took the request");
            target = 1 - target;
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

#[test]
fn the_standby_takes_over_from_a_killed_writer() {
    let pg = Postgres::start();
    let s = scenario(Size::Tiny, 32);
    let (dir, path) = scenario_file(&s);
    let url = pg.url();
    let a = start(&url, &path, &dir.path().join("a.log"), "node-a", false);
    a.wait_ready();
    let b = start(&url, &path, &dir.path().join("b.log"), "node-b", true);
    wait_standby(&b, "node-a");

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let addrs = [a.addr, b.addr];
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let (stop, acked) = (stop.clone(), acked.clone());
            let g = EventGen::new(&s, &format!("k{i}"), 40 + i);
            std::thread::spawn(move || client(addrs, g, stop, acked, 1 + i as usize))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let before = acked.lock().unwrap().len();
    a.kill9();
    let killed = Instant::now();
    b.wait_ready();
    let mut hb = b.http();
    let (plan, seq) = plan_and_seq(&mut hb);
    let takeover = killed.elapsed();
    eprintln!(
        "failover test: {before} events acknowledged before kill -9; standby served a plan {:.2} s after it",
        takeover.as_secs_f64()
    );
    assert!(
        takeover < Duration::from_secs(LEASE_S + 5),
        "takeover took {takeover:?}"
    );
    // Let the clients go on against the new writer, then stop them.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let trail = audit_trail(&mut hb);
    let at_plan = replay(&s, &trail, Some(seq));
    let report = check::check(&at_plan.scenario(), &plan);
    assert!(report.is_ok(), "{}", check::render_text(&report));
    let stored = trail_ids(&mut hb);
    let unique: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(unique.len(), stored.len(), "an event stored twice");
    assert_eq!(unique, *acked.lock().unwrap());
    assert!(before > 0, "the clients got through before the kill");
    assert_eq!(full_state(&mut hb).1, replay(&s, &trail, None));
    assert_eq!(b.terminate().code(), Some(0));
}
