//! The crash test: under a stream of concurrent POSTs, `kill -9` the daemon at
//! pseudo-random moments, restart it on the same data directory, and check after every
//! restart that
//! - every acknowledged event is in the audit trail exactly once (and, once senders
//!   have retried what was in flight, the trail holds exactly the acknowledged ids);
//! - the recovered state equals a replay of the trail from scratch through
//!   `State::apply`, with the same outcome recorded for every event;
//! - the plan being served passes the independent checker against the state at the
//!   event it was made from.
//!
//! Snapshots are taken every 40 events so recovery exercises snapshot + replay.
//! Rounds: `FLOW_CRASH_ROUNDS` (default 20). Run alone with
//! `cargo test --test tests crash -- --nocapture`.
//!
//! The same test runs against PostgreSQL (a real server from [`crate::pg`]), fewer
//! rounds (`FLOW_CRASH_ROUNDS_PG`, default 6): the restarted daemon has the same node
//! id, so it takes its lease back at once with a new epoch.

#![allow(clippy::unwrap_used)] // helpers of #[test] fns: a panic is the failure report

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flow_core::check;
use flow_core::generate::Size;
use serde_json::Value;

use crate::live::{
    Backend, Daemon, EventGen, Http, Rng, audit_trail, full_state, plan_and_seq, replay,
};
use crate::pg::Postgres;
use crate::support::{scenario, scenario_file};

/// What the senders know: acknowledged ids, and requests that got no answer.
#[derive(Default)]
struct Ledger {
    acked: BTreeSet<String>,
    unanswered: Vec<Value>,
}

fn sender(
    mut http: Http,
    mut gen_: EventGen,
    mut rng: Rng,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) -> EventGen {
    let mut mine: Vec<Value> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let n = 1 + rng.below(4);
        let mut events: Vec<Value> = (0..n).map(|_| gen_.next()).collect();
        // Now and then, resend an event already acknowledged: it must stay single.
        if !mine.is_empty() && rng.below(5) == 0 {
            events.push(mine[rng.below(mine.len())].clone());
        }
        let body = if events.len() == 1 {
            events[0].clone()
        } else {
            Value::Array(events.clone())
        };
        match http.post("/v1/events", &body) {
            Ok(r) if r.status == 200 => {
                let mut l = ledger.lock().expect("ledger");
                for e in &events {
                    l.acked.insert(e["id"].as_str().expect("id").to_string());
                }
                mine.extend(events);
            }
            Ok(r) => panic!("unexpected answer {}: {}", r.status, r.text()),
            Err(_) => {
                // The daemon died with the request in flight: retry it later.
                ledger.lock().expect("ledger").unanswered.push(body);
                break;
            }
        }
    }
    gen_
}

fn rounds(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn acknowledged_events_survive_kill_9() {
    let s = scenario(Size::Tiny, 21);
    let (dir, path) = scenario_file(&s);
    let data = dir.path().join("data");
    crash_rounds(
        &s,
        &path,
        &Backend::Sqlite(&data),
        &["--snapshot-every", "40"],
        rounds("FLOW_CRASH_ROUNDS", 20),
    );
}

#[test]
fn acknowledged_events_survive_kill_9_postgres() {
    let pg = Postgres::start();
    let s = scenario(Size::Tiny, 21);
    let (dir, path) = scenario_file(&s);
    let (url, log) = (pg.url(), dir.path().join("flowd.log"));
    let backend = Backend::Postgres {
        url: &url,
        log: &log,
    };
    let args = [
        "--snapshot-every",
        "40",
        "--node-id",
        "crash",
        "--lease-timeout-s",
        "2",
    ];
    crash_rounds(
        &s,
        &path,
        &backend,
        &args,
        rounds("FLOW_CRASH_ROUNDS_PG", 6),
    );
}

fn crash_rounds(
    s: &flow_core::Scenario,
    path: &str,
    backend: &Backend<'_>,
    args: &[&str],
    rounds: usize,
) {
    let s = s.clone();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rng = Rng::new(2026);
    let mut gens: Vec<EventGen> = (0..4)
        .map(|i| EventGen::new(&s, &format!("g{i}"), 100 + i))
        .collect();
    let mut daemon = Daemon::start_on(path, backend, args);
    daemon.wait_ready();
    let mut kills = 0;
    let mut plans_checked = 0;
    let mut retried = 0;
    for round in 0..rounds {
        // A stream of POSTs from four senders...
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = gens
            .drain(..)
            .enumerate()
            .map(|(i, g)| {
                let (http, stop, ledger) = (daemon.http(), stop.clone(), ledger.clone());
                let r = Rng::new((round * 10 + i + 1) as u64);
                std::thread::spawn(move || sender(http, g, r, stop, ledger))
            })
            .collect();
        // ...killed at a random moment.
        std::thread::sleep(Duration::from_millis(30 + rng.below(250) as u64));
        daemon.kill9();
        kills += 1;
        stop.store(true, Ordering::Relaxed);
        gens = handles.into_iter().map(|h| h.join().unwrap()).collect();

        daemon = Daemon::start_on(path, backend, args);
        daemon.wait_ready();
        let mut http = daemon.http();

        // Every acknowledged event is there, once.
        let trail = audit_trail(&mut http);
        let ids: Vec<&str> = trail
            .iter()
            .map(|r| r["event_id"].as_str().unwrap())
            .collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "an event id stored twice");
        {
            let l = ledger.lock().unwrap();
            for id in &l.acked {
                assert!(
                    unique.contains(id.as_str()),
                    "round {round}: acknowledged {id} lost"
                );
            }
        }
        // The state equals a replay of the trail from scratch.
        let (view, state) = full_state(&mut http);
        assert_eq!(
            state,
            replay(&s, &trail, None),
            "round {round}: state differs from replay"
        );
        assert_eq!(view["last_seq"].as_u64().unwrap() as usize, trail.len());
        assert_eq!(
            (view["events_applied"].as_u64().unwrap() + view["events_rejected"].as_u64().unwrap())
                as usize,
            trail.len()
        );

        // Senders retry what got no answer; afterwards the trail holds exactly the
        // acknowledged ids.
        let unanswered = std::mem::take(&mut ledger.lock().unwrap().unanswered);
        retried += unanswered.len();
        for body in unanswered {
            let r = http.post("/v1/events", &body).unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            let mut l = ledger.lock().unwrap();
            match &body {
                Value::Array(items) => {
                    for e in items {
                        l.acked.insert(e["id"].as_str().unwrap().to_string());
                    }
                }
                e => {
                    l.acked.insert(e["id"].as_str().unwrap().to_string());
                }
            }
        }
        let trail = audit_trail(&mut http);
        let stored: BTreeSet<String> = trail
            .iter()
            .map(|r| r["event_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(stored, ledger.lock().unwrap().acked, "round {round}");
        assert_eq!(full_state(&mut http).1, replay(&s, &trail, None));

        // The served plan passes the checker against the state it was made from.
        let (plan, seq) = plan_and_seq(&mut http);
        let at_plan = replay(&s, &trail, Some(seq));
        let report = check::check(&at_plan.scenario(), &plan);
        assert!(
            report.is_ok(),
            "round {round}: {}",
            check::render_text(&report)
        );
        plans_checked += 1;
    }
    let acked = ledger.lock().unwrap().acked.len();
    let outcomes: HashMap<String, usize> =
        audit_trail(&mut daemon.http())
            .iter()
            .fold(HashMap::new(), |mut m, r| {
                *m.entry(r["outcome"].as_str().unwrap().to_string())
                    .or_default() += 1;
                m
            });
    eprintln!(
        "crash test: {kills} kill -9 rounds, {acked} acknowledged events, outcomes {outcomes:?}, {retried} requests cut off by a kill and retried, {plans_checked} plans checked"
    );
    assert!(acked > rounds, "the senders got through");
    assert!(retried > 0, "some kill landed with requests in flight");
    assert_eq!(daemon.terminate().code(), Some(0));
}
