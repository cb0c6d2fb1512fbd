//! Tests of the live state: events applied, rejected, replayed and round-tripped.

use serde_json::json;

use super::*;
use crate::check;
use crate::event::{Catalog, parse_event};
use crate::generate::{GenerateOptions, Size, generate};

fn setup() -> (Scenario, Catalog, State) {
    let s = generate(&GenerateOptions::new(Size::Tiny, 5));
    let c = Catalog::new(&s);
    let st = State::new(s.clone());
    (s, c, st)
}

fn ev(c: &Catalog, v: serde_json::Value) -> Event {
    parse_event(&v, c).unwrap_or_else(|e| panic!("{v}: {e}"))
}

#[test]
fn new_state_plans_the_scenario_itself() {
    let (s, _, st) = setup();
    let mut derived = st.scenario();
    let mut original = s.clone();
    derived.waiting_list.sort_by(|a, b| a.id.cmp(&b.id));
    original.waiting_list.sort_by(|a, b| a.id.cmp(&b.id));
    derived.inpatients.sort_by(|a, b| a.id.cmp(&b.id));
    original.inpatients.sort_by(|a, b| a.id.cmp(&b.id));
    for p in &mut original.inpatients {
        p.expected_discharge = p.expected_discharge.max(s.start.succ_opt().unwrap());
    }
    assert_eq!(derived, original);
}

#[test]
fn opel_declarations_replace_per_site_and_leave_the_plan_alone() {
    let (s, c, mut st) = setup();
    let site = &s.sites[0].id;
    let decl = |id: &str, site: serde_json::Value, level: u8| {
        ev(
            &c,
            json!({"id":id,"at":"2026-12-07T08:00:00Z","type":"opel_declared",
                   "site":site,"level":level,"by":"duty manager"}),
        )
    };
    let change = st.apply(&decl("o1", json!(site), 2));
    assert!(change.is_applied() && !change.stale);
    st.apply(&decl("o2", json!(null), 3));
    st.apply(&decl("o3", json!(site), 4));
    let levels: Vec<(Option<&str>, u8)> = st
        .opel()
        .iter()
        .map(|l| (l.site.as_deref(), l.level))
        .collect();
    assert_eq!(levels, [(None, 3), (Some(site.as_str()), 4)]);
    // Snapshots round-trip, and older snapshots without the field still read.
    let mut v = serde_json::to_value(&st).unwrap();
    assert_eq!(serde_json::from_value::<State>(v.clone()).unwrap(), st);
    v.as_object_mut().unwrap().remove("opel");
    assert!(
        serde_json::from_value::<State>(v)
            .unwrap()
            .opel()
            .is_empty()
    );
}

#[test]
fn admissions_discharges_and_rejections() {
    let (s, c, mut st) = setup();
    let ward = &s.wards[0].id;
    let before = st.wards()[0].occupied;
    let admit = ev(
        &c,
        json!({"id":"e1","at":"2026-12-07T08:00:00Z","type":"admit","patient":"p-new",
               "ward":ward,"expected_discharge":"2026-12-09","route":"emergency"}),
    );
    assert!(st.apply(&admit).is_applied());
    assert_eq!(st.wards()[0].occupied, before + 1);
    // Admitting the same patient again is rejected, deterministically.
    let again = st.apply(&admit);
    assert_eq!(
        again.outcome,
        Outcome::Rejected(Rejection::PatientAlreadyIn)
    );
    assert!(!again.stale);
    let discharge = ev(
        &c,
        json!({"id":"e2","at":"2026-12-07T09:00:00Z","type":"discharge","patient":"p-new"}),
    );
    assert!(st.apply(&discharge).is_applied());
    assert_eq!(
        st.apply(&discharge).outcome,
        Outcome::Rejected(Rejection::PatientNotIn)
    );
    assert_eq!(st.wards()[0].occupied, before);
    assert_eq!(st.counts().applied, 2);
    assert_eq!(st.counts().rejected, 2);
}

#[test]
fn the_day_rolls_with_event_time() {
    let (s, c, mut st) = setup();
    assert_eq!(st.plan_start(), s.start);
    let case = &s.waiting_list[0].id;
    let e = ev(
        &c,
        json!({"id":"e1","at":"2026-12-09T00:30:00+01:00","type":"case_done","case":case}),
    );
    let change = st.apply(&e);
    assert!(change.day_rolled && change.stale);
    assert_eq!(st.plan_start(), s.start + chrono::Duration::days(2));
    let derived = st.scenario();
    assert_eq!(derived.start, st.plan_start());
    assert_eq!(derived.horizon_days, s.horizon_days);
    assert!(derived.waiting_list.iter().all(|x| &x.id != case));
    assert!(
        derived
            .theatres
            .iter()
            .flat_map(|t| &t.sessions)
            .all(|x| x.date >= derived.start)
    );
    // An older event does not move the clock back.
    let old = ev(
        &c,
        json!({"id":"e2","at":"2026-12-07T10:00:00Z","type":"delisted","case":&s.waiting_list[1].id}),
    );
    assert!(!st.apply(&old).day_rolled);
    assert_eq!(st.plan_start(), derived.start);
    // The derived problem still plans to a plan the checker accepts.
    let plan = crate::greedy::plan(&st.scenario());
    let report = check::check(&st.scenario(), &plan);
    assert!(report.is_ok(), "{}", check::render_text(&report));
}

#[test]
fn ward_beds_and_trauma_change_the_problem() {
    let (s, c, mut st) = setup();
    let ward = &s.wards[0];
    let e = ev(
        &c,
        json!({"id":"e1","at":"2026-12-07T06:00:00Z","type":"ward_beds","ward":ward.id,
               "beds":2,"from":"2026-12-08","to":"2026-12-09"}),
    );
    assert!(st.apply(&e).stale);
    let derived = st.scenario();
    let w = derived.wards.iter().find(|w| w.id == ward.id).unwrap();
    let open = |d: &str| w.open_beds(d.parse().unwrap());
    assert_eq!(open("2026-12-08"), 2);
    assert_eq!(open("2026-12-09"), 2);

    let site = &s.sites[0].id;
    // Elective session minutes on the first day of a derived problem.
    let elective_minutes = |p: &Scenario| -> u32 {
        p.theatres
            .iter()
            .filter(|t| !t.emergency)
            .flat_map(|t| &t.sessions)
            .filter(|x| x.date == s.start)
            .map(|x| x.minutes)
            .sum()
    };
    let minutes_before = elective_minutes(&derived);
    let trauma = ev(
        &c,
        json!({"id":"e2","at":"2026-12-07T10:00:00Z","type":"trauma_arrival","site":site,
               "minutes_est":1440,"urgency":"immediate"}),
    );
    assert!(st.apply(&trauma).stale);
    let after = st.scenario();
    let minutes_after = elective_minutes(&after);
    assert!(minutes_after < minutes_before || minutes_before == 0);
    let plan = crate::greedy::plan(&after);
    assert!(check::check(&after, &plan).is_ok());
}

#[test]
fn case_lifecycle() {
    let (s, c, mut st) = setup();
    let case = s.waiting_list[3].clone();
    let ward = &s.wards[0].id;
    let n = st.waiting_len();
    let admit = ev(
        &c,
        json!({"id":"e1","at":"2026-12-07T07:00:00Z","type":"admit","patient":"p-el",
               "ward":ward,"expected_discharge":"2026-12-08","route":"elective","case":case.id}),
    );
    assert!(st.apply(&admit).is_applied());
    assert_eq!((st.waiting_len(), st.admitted_len()), (n - 1, 1));
    let cancel = ev(
        &c,
        json!({"id":"e2","at":"2026-12-07T08:00:00Z","type":"case_cancelled","case":case.id,"reason":"no_bed"}),
    );
    assert!(st.apply(&cancel).is_applied());
    assert_eq!((st.waiting_len(), st.admitted_len()), (n, 0));
    let listed = ev(
        &c,
        json!({"id":"e3","at":"2026-12-07T08:00:00Z","type":"listed","case":case}),
    );
    assert_eq!(
        st.apply(&listed).outcome,
        Outcome::Rejected(Rejection::CaseAlreadyListed)
    );
    let done = ev(
        &c,
        json!({"id":"e4","at":"2026-12-07T12:00:00Z","type":"case_done","case":case.id}),
    );
    assert!(st.apply(&done).is_applied());
    assert_eq!(
        st.apply(&done).outcome,
        Outcome::Rejected(Rejection::CaseNotListed)
    );
    assert!(st.apply(&listed).is_applied());
    assert_eq!(st.waiting_len(), n);
}

#[test]
fn running_counts_stay_in_step() {
    let (s, c, mut st) = setup();
    let ward = |i: usize| s.wards[i % s.wards.len()].id.clone();
    let mut n = 0;
    for i in 0..200usize {
        n += 1;
        let v = match i % 6 {
            0 | 1 => {
                json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "admit",
                "patient": format!("p{}", i % 37), "ward": ward(i), "expected_discharge": "2026-12-09",
                "route": "elective", "case": s.waiting_list[i % 40].id})
            }
            2 => {
                json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "discharge",
                "patient": format!("p{}", (i * 7) % 37)})
            }
            3 => {
                json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "transfer",
                "patient": format!("p{}", (i * 5) % 37), "ward": ward(i / 3)})
            }
            4 => {
                json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "case_cancelled",
                "case": s.waiting_list[i % 40].id})
            }
            _ => {
                json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "delisted",
                "case": s.waiting_list[(i * 3) % 60].id})
            }
        };
        st.apply(&ev(&c, v));
        let mut occupied: BTreeMap<String, u32> = BTreeMap::new();
        for bed in st.inpatients.values() {
            *occupied.entry(bed.ward.clone()).or_default() += 1;
        }
        for w in st.wards() {
            assert_eq!(
                w.occupied,
                occupied.get(&w.id).copied().unwrap_or(0),
                "step {i}"
            );
        }
        let mut waiting = [0u64; 5];
        for case in st.waiting.values() {
            waiting[case.priority.index()] += 1;
        }
        assert_eq!(st.waiting_by_priority(), waiting, "step {i}");
    }
}

#[test]
fn movements_cancellations_and_stale_events() {
    let (s, c, mut st) = setup();
    let (w0, w1) = (s.wards[0].id.clone(), s.wards[1].id.clone());
    let mut n = 0;
    let mut apply = |st: &mut State, at: &str, body: serde_json::Value| {
        n += 1;
        let mut v = body;
        v["id"] = json!(format!("m{n}"));
        v["at"] = json!(at);
        st.apply(&ev(&c, v)).outcome
    };
    let ok = Outcome::Applied;
    let rejected = |r| Outcome::Rejected(r);
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T08:00:00Z",
            json!({"type":"admit","patient":"p","ward":w0,"expected_discharge":"2026-12-09","route":"emergency"})
        ),
        ok
    );
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T10:00:00Z",
            json!({"type":"transfer","patient":"p","ward":w1})
        ),
        ok
    );
    // Older than the last movement: not moved.
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T09:00:00Z",
            json!({"type":"transfer","patient":"p","ward":w0})
        ),
        rejected(Rejection::Stale)
    );
    assert_eq!(st.ward_of("p"), Some(w1.as_str()));
    // The latest transfer is cancelled once.
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T11:00:00Z",
            json!({"type":"transfer_cancelled","patient":"p"})
        ),
        ok
    );
    assert_eq!(st.ward_of("p"), Some(w0.as_str()));
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T11:05:00Z",
            json!({"type":"transfer_cancelled","patient":"p"})
        ),
        rejected(Rejection::NothingToCancel)
    );
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T11:10:00Z",
            json!({"type":"update","patient":"p","expected_discharge":"2026-12-12"})
        ),
        ok
    );
    assert_eq!(
        st.inpatients["p"].expected_discharge.to_string(),
        "2026-12-12"
    );
    // Discharge, then its cancellation restores the bed.
    let before = st.wards()[0].occupied;
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T12:00:00Z",
            json!({"type":"discharge","patient":"p"})
        ),
        ok
    );
    assert_eq!(st.wards()[0].occupied, before - 1);
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T11:30:00Z",
            json!({"type":"discharge_cancelled","patient":"p"})
        ),
        rejected(Rejection::Stale)
    );
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T13:00:00Z",
            json!({"type":"discharge_cancelled","patient":"p"})
        ),
        ok
    );
    assert_eq!(st.ward_of("p"), Some(w0.as_str()));
    assert_eq!(st.wards()[0].occupied, before);
    // An admission cancelled: the bed is freed, nothing to restore afterwards.
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T14:00:00Z",
            json!({"type":"admit_cancelled","patient":"p"})
        ),
        ok
    );
    assert_eq!(st.ward_of("p"), None);
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T14:10:00Z",
            json!({"type":"discharge_cancelled","patient":"p"})
        ),
        rejected(Rejection::PatientNotIn)
    );
    // Unknown patients: a transfer that may admit does; one that may not is a no-op.
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T15:00:00Z",
            json!({"type":"transfer","patient":"q","ward":w1})
        ),
        rejected(Rejection::PatientNotIn)
    );
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T15:00:00Z",
            json!({"type":"transfer","patient":"q","ward":w1,
        "admit_unknown":{"expected_discharge":"2026-12-09","route":"elective"}})
        ),
        ok
    );
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T15:01:00Z",
            json!({"type":"discharge_cancelled","patient":"r","ward":w0,
        "admit_unknown":{"expected_discharge":"2026-12-09","route":"elective"}})
        ),
        ok
    );
    // Swap: both move at once.
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T16:00:00Z",
            json!({"type":"swap","patient":"q","other":"r"})
        ),
        ok
    );
    assert_eq!(
        (st.ward_of("q"), st.ward_of("r")),
        (Some(w0.as_str()), Some(w1.as_str()))
    );
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T16:00:00Z",
            json!({"type":"swap","patient":"q","other":"nobody"})
        ),
        rejected(Rejection::PatientNotIn)
    );
    // Pre-admissions: recorded, cancelled, not planned.
    let stale_before = st.apply(&ev(&c, json!({"id":"pa","at":"2026-12-07T16:30:00Z","type":"pre_admit","patient":"z","route":"elective"})));
    assert!(stale_before.is_applied() && !stale_before.stale);
    assert_eq!(st.pre_admitted_len(), 1);
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T16:40:00Z",
            json!({"type":"pre_admit_cancelled","patient":"z"})
        ),
        ok
    );
    assert_eq!(
        apply(
            &mut st,
            "2026-12-07T16:41:00Z",
            json!({"type":"pre_admit_cancelled","patient":"z"})
        ),
        rejected(Rejection::NothingToCancel)
    );
    // The occupancy counts stayed in step, and the state replays alike.
    let mut occupied: BTreeMap<String, u32> = BTreeMap::new();
    for bed in st.inpatients.values() {
        *occupied.entry(bed.ward.clone()).or_default() += 1;
    }
    for w in st.wards() {
        assert_eq!(w.occupied, occupied.get(&w.id).copied().unwrap_or(0));
    }
    let text = serde_json::to_string(&st).unwrap();
    assert_eq!(serde_json::from_str::<State>(&text).unwrap(), st);
}

#[test]
fn state_round_trips_through_json() {
    let (s, c, mut st) = setup();
    let e = ev(
        &c,
        json!({"id":"e1","at":"2026-12-08T06:00:00Z","type":"ward_beds","ward":s.wards[0].id,
               "beds":3,"from":"2026-12-08","to":"2026-12-10"}),
    );
    st.apply(&e);
    let text = serde_json::to_string(&st).unwrap();
    let back: State = serde_json::from_str(&text).unwrap();
    assert_eq!(back, st);
}
