//! Constraint 8 (network transfers) on the checker's small scenario: case c3 (gensurg,
//! one surgical night, P3) is listed at north and operated at south, moved along the
//! link north → south (40 min, gensurg with surgical stays, one a day). A link
//! north → east with the same terms exists so a transfer can name a wrong `to` that
//! still has a link. Each test breaks one thing.

use super::*;
use crate::plan::{NetworkUse, Transfer, TransferWhy};

fn network_scenario() -> Scenario {
    let mut s = scenario();
    s.sites
        .push(serde_json::from_value(json!({ "id": "east", "name": "East" })).unwrap());
    let electives =
        json!({ "specialties": ["gensurg"], "stay_kinds": ["surgical"], "max_per_day": 1 });
    s.network = Some(
        serde_json::from_value(json!({ "links": [
            { "from": "north", "to": "south", "travel_min": 40, "electives": electives },
            { "from": "north", "to": "east", "travel_min": 40, "electives": electives }
        ]}))
        .unwrap(),
    );
    let c3 = s.waiting_list.iter_mut().find(|c| c.id == "c3").unwrap();
    c3.site = None;
    c3.home_site = Some("north".into());
    c3.travel = Some(crate::scenario::Travel { max_min: 60 });
    s
}

fn transfer() -> Transfer {
    serde_json::from_value(json!({
        "case": "c3", "from": "north", "to": "south", "date": "2026-12-07",
        "travel_min": 40, "why": "minutes"
    }))
    .unwrap()
}

fn moved_plan() -> Plan {
    let mut plan = valid_plan();
    plan.transfers = vec![transfer()];
    plan
}

/// The checker's one verdict on `plan` after `edit` changes the scenario.
fn report(edit: impl FnOnce(&mut Scenario), plan: &Plan) -> Report {
    let mut s = network_scenario();
    edit(&mut s);
    check(&s, plan)
}

fn link_electives(s: &mut Scenario) -> &mut crate::scenario::LinkElectives {
    s.network.as_mut().unwrap().links[0]
        .electives
        .as_mut()
        .unwrap()
}

#[test]
fn a_network_plan_without_transfers_passes() {
    // c3 stays where it must be operated; nothing moves.
    let mut s = network_scenario();
    let c3 = s.waiting_list.iter_mut().find(|c| c.id == "c3").unwrap();
    c3.home_site = Some("south".into());
    let r = check(&s, &valid_plan());
    assert!(r.is_ok(), "{}", render_text(&r));
    // A network and no home sites at all: as before.
    let mut s = scenario();
    s.network = network_scenario().network;
    assert!(check(&s, &valid_plan()).is_ok());
}

#[test]
fn an_allowed_transfer_passes() {
    let r = report(|_| {}, &moved_plan());
    assert!(r.is_ok(), "{}", render_text(&r));
}

#[test]
fn a_move_must_be_listed() {
    let msg = only(&report(|_| {}, &valid_plan()), UntransferredMove);
    assert!(
        msg.contains("case c3: home site north, booked at south"),
        "{msg}"
    );
}

#[test]
fn transfers_name_booked_cases_once() {
    let mut plan = moved_plan();
    plan.transfers.push(transfer());
    let msg = only(&report(|_| {}, &plan), DuplicateTransfer);
    assert!(msg.starts_with("transfers[1] (case c3"), "{msg}");

    let mut plan = moved_plan();
    plan.transfers[0].case = "c5".into();
    let r = report(|_| {}, &plan);
    assert_eq!(kinds(&r), vec![TransferOfUnbookedCase, UntransferredMove]);
    assert!(
        r.violations[0]
            .message
            .contains("the plan does not book it")
    );
    plan.transfers[0].case = "zz".into();
    let r = report(|_| {}, &plan);
    assert!(r.violations[0].message.contains("not on the waiting list"));
}

#[test]
fn a_case_without_consent_does_not_move() {
    let edit = |s: &mut Scenario| s.waiting_list[2].travel = None;
    let msg = only(&report(edit, &moved_plan()), TransferNotMovable);
    assert!(msg.contains("has not agreed to travel"), "{msg}");
}

#[test]
fn a_transfer_starts_at_the_home_site() {
    let edit = |s: &mut Scenario| s.waiting_list[2].home_site = Some("west".into());
    let msg = only(&report(edit, &moved_plan()), TransferWrongFrom);
    assert!(msg.contains("home site is west"), "{msg}");
}

#[test]
fn a_transfer_ends_where_the_case_is_booked() {
    let mut plan = moved_plan();
    plan.transfers[0].to = "east".into();
    let msg = only(&report(|_| {}, &plan), TransferWrongTo);
    assert!(msg.contains("booked at south"), "{msg}");
}

#[test]
fn a_transfer_is_dated_on_admission() {
    let mut plan = moved_plan();
    plan.transfers[0].date = "2026-12-08".parse().unwrap();
    let msg = only(&report(|_| {}, &plan), TransferWrongDate);
    assert!(msg.contains("admitted on 2026-12-07"), "{msg}");
}

#[test]
fn a_transfer_needs_a_direct_link() {
    let msg = only(
        &report(|s| s.network = None, &moved_plan()),
        TransferWithoutLink,
    );
    assert!(
        msg.contains("no network link runs from north to south"),
        "{msg}"
    );
    // The reverse of a one-way link is no link; a bidirectional one is.
    let reversed = |s: &mut Scenario| {
        let link = &mut s.network.as_mut().unwrap().links[0];
        link.from = "south".into();
        link.to = "north".into();
    };
    only(&report(reversed, &moved_plan()), TransferWithoutLink);
    let both_ways = |s: &mut Scenario| {
        reversed(s);
        s.network.as_mut().unwrap().links[0].bidirectional = true;
    };
    assert!(report(both_ways, &moved_plan()).is_ok());
}

#[test]
fn the_link_must_carry_the_specialty_and_the_stay() {
    let edit = |s: &mut Scenario| link_electives(s).specialties = vec!["ortho".into()];
    let msg = only(&report(edit, &moved_plan()), TransferNotAllowed);
    assert!(msg.contains("does not carry gensurg cases"), "{msg}");

    let edit = |s: &mut Scenario| link_electives(s).stay_kinds = vec!["critical_care".into()];
    let msg = only(&report(edit, &moved_plan()), TransferNotAllowed);
    assert!(
        msg.contains("does not carry stays in surgical beds"),
        "{msg}"
    );

    let edit = |s: &mut Scenario| s.network.as_mut().unwrap().links[0].electives = None;
    let msg = only(&report(edit, &moved_plan()), TransferNotAllowed);
    assert!(msg.contains("carries no elective work"), "{msg}");
}

#[test]
fn a_transfer_stays_within_the_radius() {
    let edit = |s: &mut Scenario| {
        s.waiting_list[2].travel = Some(crate::scenario::Travel { max_min: 39 });
    };
    let msg = only(&report(edit, &moved_plan()), TransferBeyondRadius);
    assert!(
        msg.contains("40 min of travel, beyond the patient's 39 min"),
        "{msg}"
    );
}

#[test]
fn a_transfer_reports_its_link_travel() {
    let mut plan = moved_plan();
    plan.transfers[0].travel_min = 20;
    only(&report(|_| {}, &plan), TransferTravelMismatch);
}

#[test]
fn a_link_carries_at_most_its_daily_cap() {
    let edit = |s: &mut Scenario| link_electives(s).max_per_day = 0;
    let r = report(edit, &moved_plan());
    let msg = only(&r, LinkOverCap);
    assert!(
        msg.contains(
            "link north → south (network.links[0]) on 2026-12-07: 1 cases moved > max_per_day 0"
        ),
        "{msg}"
    );
    assert_eq!(r.violations[0].constraint, 8);
    assert!(
        render_text(&r).contains("constraint 8, network transfers"),
        "{}",
        render_text(&r)
    );
}

#[test]
fn plans_without_transfers_write_no_network_fields_and_plans_with_them_round_trip() {
    let text = serde_json::to_string(&valid_plan()).unwrap();
    assert!(
        !text.contains("transfers") && !text.contains("\"network\""),
        "{text}"
    );
    let mut plan = moved_plan();
    plan.transfers[0].why = TransferWhy::AvoidsBreach;
    plan.network = Some(NetworkUse {
        links: vec![
            serde_json::from_value(json!({
                "from": "north", "to": "south", "date": "2026-12-07", "used": 1, "cap": 1
            }))
            .unwrap(),
        ],
        reserve: vec![
            serde_json::from_value(json!({
                "kind": "surgical", "date": "2026-12-07", "pools": ["north", "south"],
                "separate": 6, "pooled": 5
            }))
            .unwrap(),
        ],
    });
    plan.unscheduled[0].reason = crate::plan::Reason::LinkFull;
    let text = serde_json::to_string(&plan).unwrap();
    assert!(
        text.contains("\"why\":\"avoids_breach\"") && text.contains("\"link_full\""),
        "{text}"
    );
    let again = crate::validate::parse_plan(&text).unwrap();
    assert_eq!(again, plan);
}

/// The checker's scenario with north lending south's surgical beds: the link
/// north → south lends 3 surgical beds at south to north's overflow (no electives
/// move). North keeps its reserve less 3 (r = 2, 3, 4 → 0, 0, 1); the two pools
/// keep the quantile of their summed census together (south has no emergencies, so
/// the pooled reserve is north's own: 2, 3, 4).
fn lending_scenario(north_beds: u32, south_beds: u32) -> Scenario {
    let mut s = scenario();
    s.network = Some(
        serde_json::from_value(json!({ "links": [
            { "from": "north", "to": "south", "travel_min": 30,
              "beds": [{ "kind": "surgical", "lend": 3 }] }
        ]}))
        .unwrap(),
    );
    for ward in &mut s.wards {
        match ward.id.as_str() {
            "n-surg" => ward.beds = north_beds,
            "s-surg" => ward.beds = south_beds,
            _ => {}
        }
    }
    s
}

#[test]
fn lending_pools_keep_their_reserve_less_what_they_borrow_and_the_pooled_one_together() {
    let s = lending_scenario(10, 6);
    let reserve = crate::reserve::bed_reserve(&s);
    let pool = |site: &str| PoolKey {
        site: site.into(),
        kind: "surgical".into(),
    };
    let keep: Vec<u32> = reserve[&pool("north")].iter().map(|n| n.keep()).collect();
    assert_eq!(keep, [0, 0, 1]);
    assert!(reserve[&pool("south")].iter().all(|n| n.borrow == 0));
    let shared = crate::reserve::shared_reserve(&s, &reserve);
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].pools, [pool("north"), pool("south")]);
    let pooled: Vec<(u32, u32, u32)> = shared[0]
        .nights
        .iter()
        .map(|n| (n.separate, n.pooled, n.room()))
        .collect();
    assert_eq!(pooled, [(2, 2, 14), (3, 3, 13), (4, 4, 12)]);

    // Each pool filled to its own room is over the shared room every night.
    let table = |north: u32, south: u32| -> Vec<BedNight> {
        (0..3)
            .flat_map(|t| {
                [("north", north), ("south", south)].map(|(site, elective)| BedNight {
                    site: site.into(),
                    kind: "surgical".into(),
                    date: s.date(t),
                    beds: 0,
                    current: 0,
                    emergency_mean: 0.0,
                    emergency_reserve: 0,
                    room: 0,
                    elective,
                    headroom: 0,
                })
            })
            .collect()
    };
    let mut out = Vec::new();
    crate::check::network::check_shared_beds(&s, &table(10, 6), &mut out);
    assert_eq!(out.len(), 3, "{out:#?}");
    assert!(
        out.iter()
            .all(|v| v.kind == SharedBedsOverRoom && v.constraint == 5)
    );
    assert!(
        out[0].message.contains("pooled reserve 2") && out[0].message.contains("over by 2"),
        "{}",
        out[0].message
    );
    out.clear();
    crate::check::network::check_shared_beds(&s, &table(8, 4), &mut out);
    assert!(out.is_empty(), "{out:#?}");
}

#[test]
fn a_plan_over_the_pooled_reserve_is_caught() {
    // North 3 beds (room 3, 3, 2 after its keep), south 1: together open 4, pooled
    // reserve 2, 3, 4 → shared room 2, 1, 0. The valid plan has two surgical patients
    // at north on 12-08 (c1, c4): within north's own room, over the shared room by 1.
    let s = lending_scenario(3, 1);
    let report = check(&s, &valid_plan());
    let msg = only(&report, SharedBedsOverRoom);
    assert!(
        msg.contains("night 2026-12-08") && msg.contains("over by 1"),
        "{msg}"
    );
    assert_eq!(report.count(BedsOverRoom), 0, "{:#?}", report.violations);
    // Kept apart, north's own reserve leaves it no room that night at all.
    let mut apart = s.clone();
    apart.network = None;
    assert!(check(&apart, &valid_plan()).count(BedsOverRoom) > 0);
}

#[test]
fn a_chain_of_lending_links_is_one_component_built_by_hand() {
    // north → south lends 3 surgical beds, south → east 1: north, south and east form
    // one component though north and east are not linked. East has its own stream
    // (0.5 a day, L = 2: m = 0.5, 0.75, 0.875), north its 1 a day (m = 1, 1.5, 1.75).
    let mut s = lending_scenario(10, 6);
    s.sites
        .push(serde_json::from_value(json!({ "id": "east", "name": "East" })).unwrap());
    s.wards.push(
        serde_json::from_value(
            json!({ "id": "e-surg", "site": "east", "kind": "surgical", "beds": 5 }),
        )
        .unwrap(),
    );
    s.emergency.admissions.push(
        serde_json::from_value(json!({ "site": "east", "kind": "surgical",
                                        "per_day": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], "los_mean_nights": 2.0 }))
        .unwrap(),
    );
    s.network.as_mut().unwrap().links.push(
        serde_json::from_value(json!({ "from": "south", "to": "east", "travel_min": 20,
                                        "beds": [{ "kind": "surgical", "lend": 1 }] }))
        .unwrap(),
    );
    let reserve = crate::reserve::bed_reserve(&s);
    let pool = |site: &str| PoolKey {
        site: site.into(),
        kind: "surgical".into(),
    };
    let borrow = |site: &str| reserve[&pool(site)][0].borrow;
    assert_eq!(
        (borrow("north"), borrow("south"), borrow("east")),
        (3, 1, 0)
    );
    let shared = crate::reserve::shared_reserve(&s, &reserve);
    assert_eq!(shared.len(), 1, "{shared:#?}");
    assert_eq!(
        shared[0].pools,
        [pool("east"), pool("north"), pool("south")]
    );
    let q = |m: f64| crate::reserve::poisson_quantile(m, 0.9);
    for (t, (north, east)) in [(1.0, 0.5), (1.5, 0.75), (1.75, 0.875)].iter().enumerate() {
        let night = shared[0].nights[t];
        assert!(
            (night.emergency_mean - (north + east)).abs() < 1e-9,
            "night {t}"
        );
        assert_eq!(night.pooled, q(north + east), "night {t}");
        assert_eq!(night.separate, q(*north) + q(*east), "night {t}");
        // Open beds: 10 + 6 + 5, nobody in.
        assert_eq!(night.open, 21, "night {t}");
    }
}
