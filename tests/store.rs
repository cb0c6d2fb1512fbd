//! One conformance suite for every [`Store`]: the same checks run against SQLite and
//! against a real PostgreSQL ([`crate::pg`]), through the trait only. PostgreSQL adds
//! what only a shared database has: trusts kept apart, a fenced writer storing nothing,
//! and a schema newer than the build refused with both versions named.

#![allow(clippy::unwrap_used)] // helpers of #[test] fns: a panic is the failure report

use std::time::Duration;

use flowd::store::postgres::conn::{Conn, Target};
use flowd::store::postgres::lease::{self, Acquire, Lease};
use flowd::store::postgres::{PostgresStore, schema};
use flowd::store::sqlite::SqliteStore;
use flowd::store::{Commit, NewEvent, NewKey, NewRefusal, Snapshot, Store, StoreError};

use crate::pg::Postgres;
use crate::support::{flowd, text};

fn event<'a>(seq: u64, id: &'a str) -> NewEvent<'a> {
    NewEvent {
        seq,
        event_id: id,
        kind: "discharge",
        at: "2026-12-07T08:00:00Z",
        received_at: "2026-12-07T08:00:01Z",
        source: "test",
        body: "{\"id\":\"x\"}",
        outcome: if seq.is_multiple_of(3) {
            "rejected"
        } else {
            "applied"
        },
        reason: if seq.is_multiple_of(3) {
            Some("unknown_patient")
        } else {
            None
        },
    }
}

fn key<'a>(key: &'a str, digest: &'a str, seq: u64) -> NewKey<'a> {
    NewKey {
        key,
        digest,
        seq,
        outcome: "applied",
    }
}

fn refusal(key: &str) -> NewRefusal<'_> {
    NewRefusal {
        received_at: "2026-12-07T08:00:01Z",
        source: "hl7:127.0.0.1:1234",
        key,
        trigger: "A01",
        ack: "AE",
        code: 101,
        location: "PID^1^3",
        text: "required field missing",
    }
}

fn snap(seq: u64, state: &str) -> Snapshot {
    Snapshot {
        seq,
        state: state.into(),
    }
}

/// The guarantees of `flowd::store` (module docs), checked through the trait.
/// `open` opens the same store again (a restart).
fn conformance(open: &mut dyn FnMut() -> Box<dyn Store>) {
    {
        let mut s = open();
        assert_eq!(s.last_seq().unwrap(), 0);
        assert_eq!(s.latest_snapshot().unwrap(), None);
        assert_eq!(s.meta("k").unwrap(), None);
        assert!(s.read(0, 10).unwrap().is_empty());
        s.append(&[event(1, "a"), event(2, "b")]).unwrap();
        // A batch with an id already stored fails whole.
        assert!(s.append(&[event(3, "c"), event(4, "a")]).is_err());
        assert_eq!(s.last_seq().unwrap(), 2);
        // A batch repeating an id inside itself fails whole too.
        assert!(s.append(&[event(3, "c"), event(4, "c")]).is_err());
        assert_eq!(s.last_seq().unwrap(), 2);
        let found = s.find_existing(&["a", "c", "b"]).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found["b"].seq, found["b"].outcome.as_str()),
            (2, "applied")
        );
        assert!(s.find_existing(&[]).unwrap().is_empty());
        // A big batch (one group commit) and a big lookup.
        let ids: Vec<String> = (3..=1502).map(|i| format!("e{i}")).collect();
        let batch: Vec<NewEvent<'_>> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| event(3 + i as u64, id))
            .collect();
        s.append(&batch).unwrap();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(s.find_existing(&refs).unwrap().len(), 1500);
        for (seq, state) in [(1, "one"), (2, "two"), (2, "two!"), (1500, "late")] {
            s.put_snapshot(&snap(seq, state), "t").unwrap();
        }
        s.set_meta("k", "v1").unwrap();
        s.set_meta("k", "v2").unwrap();
        // One group commit: events, message keys, a snapshot and a meta value, in one
        // transaction.
        let late = snap(1504, "after 1504");
        s.commit(&Commit {
            events: &[event(1503, "f1503"), event(1504, "f1504")],
            keys: &[key("MSG|1", "d1", 1503), key("MSG|2", "d2", 1504)],
            snapshot: Some((&late, "t")),
            meta: &[("plan_version", "7")],
            refusals: &[refusal("MSG|0"), refusal("")],
        })
        .unwrap();
        // A repeated key fails the whole commit: no event, snapshot or meta of it.
        let later = snap(1505, "after 1505");
        assert!(
            s.commit(&Commit {
                events: &[event(1505, "f1505")],
                keys: &[key("MSG|1", "d9", 1505)],
                snapshot: Some((&later, "t")),
                meta: &[("plan_version", "8")],
                refusals: &[refusal("MSG|9")],
            })
            .is_err()
        );
        // A commit whose events fail after its keys went in leaves none of it either:
        // not the key, not the snapshot, not the meta value, not the refusal.
        let other = snap(1504, "overwritten?");
        assert!(
            s.commit(&Commit {
                events: &[event(1504, "seq-taken")],
                keys: &[key("MSG|7", "d7", 1504)],
                snapshot: Some((&other, "t")),
                meta: &[("plan_version", "9")],
                refusals: &[refusal("MSG|8")],
            })
            .is_err()
        );
        assert!(s.find_keys(&["MSG|7"]).unwrap().is_empty());
        assert!(s.find_keys(&[]).unwrap().is_empty());
        // Nothing to write is a no-op.
        s.commit(&Commit::default()).unwrap();
    }
    let mut s = open();
    assert_eq!(s.last_seq().unwrap(), 1504);
    assert_eq!(s.latest_snapshot().unwrap(), Some(snap(1504, "after 1504")));
    assert_eq!(s.meta("k").unwrap().as_deref(), Some("v2"));
    assert_eq!(s.meta("plan_version").unwrap().as_deref(), Some("7"));
    let keys = s.find_keys(&["MSG|2", "MSG|3", "MSG|1"]).unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        (keys["MSG|1"].digest.as_str(), keys["MSG|1"].seq),
        ("d1", 1503)
    );
    assert_eq!(keys["MSG|2"].outcome, "applied");
    let refused = s.read_refusals(0, 10).unwrap();
    assert_eq!(
        refused.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        ["MSG|0", ""]
    );
    assert!(refused[0].id < refused[1].id);
    assert_eq!(
        (
            refused[0].code,
            refused[0].location.as_str(),
            refused[0].ack.as_str()
        ),
        (101, "PID^1^3", "AE")
    );
    assert_eq!(s.read_refusals(refused[0].id, 10).unwrap().len(), 1);
    // Replay is in order, dense, from after `seq`, whole rows.
    let mut seen = Vec::new();
    s.replay(1, &mut |e| {
        seen.push(e);
        Ok(())
    })
    .unwrap();
    assert_eq!(seen.len(), 1503);
    assert!(seen.iter().zip(2..).all(|(e, seq)| e.seq == seq));
    assert_eq!(seen[0].event_id, "b");
    let third = &seen[1];
    assert_eq!(
        (
            third.seq,
            third.outcome.as_str(),
            third.reason.as_deref(),
            third.body.as_str()
        ),
        (3, "rejected", Some("unknown_patient"), "{\"id\":\"x\"}")
    );
    // A failing callback stops the replay with its error.
    let mut calls = 0;
    let stopped = s.replay(0, &mut |_| {
        calls += 1;
        Err(StoreError::Corrupt("stop".into()))
    });
    assert!(stopped.is_err());
    assert_eq!(calls, 1);
    // Pages of the audit trail.
    let page = s.read(1000, 5).unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1001, 1002, 1003, 1004, 1005]
    );
    assert!(s.read(1504, 5).unwrap().is_empty());
}

#[test]
fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&mut || Box::new(SqliteStore::open(dir.path()).unwrap()));
}

/// Takes `trust`'s lease for `node` and opens its store.
fn open_pg(target: &Target, trust: &str, node: &str) -> PostgresStore {
    let mut conn = Conn::open(target.clone()).unwrap();
    let client = conn.client().unwrap();
    schema::migrate(client).unwrap();
    let epoch = match lease::try_acquire(client, trust, node, Duration::from_secs(10)).unwrap() {
        Acquire::Acquired(e) => e,
        other => panic!("lease not taken: {other:?}"),
    };
    PostgresStore::open(target.clone(), Lease::new(trust, node, epoch)).unwrap()
}

#[test]
fn postgres_store_conforms() {
    let pg = Postgres::start();
    let target = Target::parse(&pg.url()).unwrap();
    conformance(&mut || Box::new(open_pg(&target, "trust-a", "node-1")));

    // Trusts share the database, not their data.
    let mut b = open_pg(&target, "trust-b", "node-1");
    assert_eq!(b.last_seq().unwrap(), 0);
    assert!(b.find_existing(&["a"]).unwrap().is_empty());
    assert!(b.find_keys(&["MSG|1"]).unwrap().is_empty());
    assert!(b.read_refusals(0, 10).unwrap().is_empty());
    b.append(&[event(1, "a")]).unwrap();
    assert_eq!(b.meta("k").unwrap(), None);

    // Another node cannot take a live lease...
    let mut conn = Conn::open(target.clone()).unwrap();
    let held = lease::try_acquire(
        conn.client().unwrap(),
        "trust-b",
        "node-2",
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(
        matches!(&held, Acquire::HeldBy { owner, .. } if owner == "node-1"),
        "{held:?}"
    );
    // ...but takes an expired one, with a new epoch; the old writer is then fenced:
    // it stores nothing, of any kind.
    std::thread::sleep(Duration::from_millis(300));
    let taken = lease::try_acquire(
        conn.client().unwrap(),
        "trust-b",
        "node-2",
        Duration::from_millis(200),
    )
    .unwrap();
    let Acquire::Acquired(epoch) = taken else {
        panic!("expired lease not taken: {taken:?}");
    };
    let err = b.append(&[event(2, "z")]).unwrap_err();
    assert!(
        matches!(&err, StoreError::Fenced { owner, epoch: e, .. } if owner == "node-2" && *e == epoch),
        "{err}"
    );
    assert!(b.lease().is_fenced());
    assert!(b.put_snapshot(&snap(1, "s"), "t").is_err());
    assert!(b.set_meta("k", "v").is_err());
    assert!(
        b.append_keyed(&[event(2, "z")], &[key("K", "d", 2)])
            .is_err()
    );
    let mut new_writer =
        PostgresStore::open(target.clone(), Lease::new("trust-b", "node-2", epoch)).unwrap();
    assert_eq!(new_writer.last_seq().unwrap(), 1);
    assert_eq!(new_writer.latest_snapshot().unwrap(), None);
    assert!(new_writer.find_keys(&["K"]).unwrap().is_empty());
    new_writer.append(&[event(2, "z")]).unwrap();

    // `flowd db check` reports the schema, the trusts and their lease holders.
    let out = flowd(&["db", "check", "--database-url", &pg.url()], b"");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("schema: version 2"), "{stdout}");
    assert!(stdout.contains("trust-a: 1504 events"), "{stdout}");
    assert!(stdout.contains("trust-b: 2 events"), "{stdout}");
    assert!(stdout.contains("held by node-2"), "{stdout}");
    let out = flowd(&["db", "check", "--database-url", &pg.url(), "--json"], b"");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["trusts"].as_array().unwrap().len(), 2);

    // A schema newer than this build is refused, naming both versions.
    pg.psql("INSERT INTO flowd_schema (version, description) VALUES (99, 'from the future')");
    let mut conn = Conn::open(target.clone()).unwrap();
    let err = schema::migrate(conn.client().unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                known: 2
            }
        ),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("99") && message.contains("(2)"),
        "{message}"
    );
    let out = flowd(&["db", "check", "--database-url", &pg.url()], b"");
    assert_eq!(out.status.code(), Some(1));
}
