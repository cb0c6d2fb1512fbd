//! Hard constraint 8, clinical networks: every transfer a plan lists is a case moved
//! from its `home_site` to the site that operates it, along one direct network link
//! that carries its specialty and stay, within the patient's radius, on its admission
//! date, and no directed link carries more than `electives.max_per_day` moves a day.
//!
//! Only direct links count: a move is one journey, so a chain of links (A → B → C) is
//! not a route for a case even when each leg is allowed. A `bidirectional` link is two
//! directed links with the same terms, each with its own daily cap. A booked case with
//! a `home_site` operated at another site must appear in `transfers`, or the caps could
//! be side-stepped by leaving moves out.
//!
//! Hard constraint 5 on a network ([`check_shared_beds`]): the pools of a bed-sharing
//! component together keep the component's pooled reserve, on the arithmetic of
//! [`crate::reserve::shared_reserve`] that the planner stands on too (as for every
//! reserve); each pool's own room, less what others lend it, is checked with the rest
//! of constraint 5.
//!
//! Constraint 8 reads the scenario's links itself and shares nothing with the planner
//! or with [`crate::network`], so a bug in either cannot hide a bad move here. The
//! pooled reserve comes from `reserve`, which reads the bed components from
//! [`crate::network`] (the contract's graph, not a planner); a test builds the
//! expected components and reserves by hand.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;

use super::{BedNight, Booked, Violation, ViolationKind};
use crate::plan::Plan;
use crate::scenario::{Link, Scenario};

/// A directed link: `(from, to)` → the link's index and terms (the first such link).
fn directed(scenario: &Scenario) -> HashMap<(&str, &str), (usize, &Link)> {
    let mut out = HashMap::new();
    let links = scenario.network.as_ref().map_or(&[][..], |n| &n.links[..]);
    for (i, link) in links.iter().enumerate() {
        out.entry((link.from.as_str(), link.to.as_str()))
            .or_insert((i, link));
        if link.bidirectional {
            out.entry((link.to.as_str(), link.from.as_str()))
                .or_insert((i, link));
        }
    }
    out
}

/// Constraint 8 over `plan.transfers`, in plan order, then the daily caps by link and
/// date, then the booked cases moved without a transfer, in waiting-list order.
pub(super) fn check_transfers(
    scenario: &Scenario,
    booked: &Booked<'_>,
    plan: &Plan,
    out: &mut Vec<Violation>,
) {
    use ViolationKind::*;
    let links = directed(scenario);
    let known_cases: HashSet<&str> = scenario
        .waiting_list
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut used: BTreeMap<(&str, &str, NaiveDate), u32> = BTreeMap::new();
    for (i, t) in plan.transfers.iter().enumerate() {
        let label = format!(
            "transfers[{i}] (case {}, {} → {} on {})",
            t.case, t.from, t.to, t.date
        );
        if !seen.insert(t.case.as_str()) {
            out.push(Violation::new(
                DuplicateTransfer,
                format!("{label}: the case is already transferred earlier in the list"),
            ));
            continue;
        }
        let Some(booking) = booked.cases.get(t.case.as_str()) else {
            let why = if known_cases.contains(t.case.as_str()) {
                "the plan does not book it"
            } else {
                "it is not on the waiting list"
            };
            out.push(Violation::new(
                TransferOfUnbookedCase,
                format!("{label}: {why}"),
            ));
            continue;
        };
        let case = booking.case;
        let (Some(home), Some(travel)) = (&case.home_site, &case.travel) else {
            let why = if case.home_site.is_none() {
                "names no home_site"
            } else {
                "has not agreed to travel (no `travel`)"
            };
            out.push(Violation::new(
                TransferNotMovable,
                format!("{label}: the case {why}, so it does not move"),
            ));
            continue;
        };
        if &t.from != home {
            out.push(Violation::new(
                TransferWrongFrom,
                format!("{label}: the case's home site is {home}"),
            ));
        }
        if let Some(site) = booking.site
            && t.to != site
        {
            out.push(Violation::new(
                TransferWrongTo,
                format!("{label}: the case is booked at {site}"),
            ));
        }
        if t.date != booking.date {
            out.push(Violation::new(
                TransferWrongDate,
                format!("{label}: the case is admitted on {}", booking.date),
            ));
        }
        let Some(&(l, link)) = links.get(&(t.from.as_str(), t.to.as_str())) else {
            out.push(Violation::new(
                TransferWithoutLink,
                format!("{label}: no network link runs from {} to {}", t.from, t.to),
            ));
            continue;
        };
        *used
            .entry((t.from.as_str(), t.to.as_str(), t.date))
            .or_default() += 1;
        match &link.electives {
            None => out.push(Violation::new(
                TransferNotAllowed,
                format!("{label}: network.links[{l}] carries no elective work"),
            )),
            Some(e) => {
                if !e.specialties.contains(&case.specialty) {
                    out.push(Violation::new(
                        TransferNotAllowed,
                        format!(
                            "{label}: network.links[{l}] does not carry {} cases",
                            case.specialty
                        ),
                    ));
                }
                let mut kinds: Vec<&str> = Vec::new();
                for segment in &case.stay {
                    let kind = segment.kind.as_str();
                    if !e.stay_kinds.iter().any(|allowed| allowed == kind) && !kinds.contains(&kind)
                    {
                        kinds.push(kind);
                    }
                }
                if !kinds.is_empty() {
                    out.push(Violation::new(
                        TransferNotAllowed,
                        format!(
                            "{label}: network.links[{l}] does not carry stays in {} beds",
                            kinds.join(", ")
                        ),
                    ));
                }
            }
        }
        if link.travel_min > travel.max_min {
            out.push(Violation::new(
                TransferBeyondRadius,
                format!(
                    "{label}: {} min of travel, beyond the patient's {} min",
                    link.travel_min, travel.max_min
                ),
            ));
        }
        if t.travel_min != link.travel_min {
            out.push(Violation::new(
                TransferTravelMismatch,
                format!(
                    "{label}: travel_min {} but network.links[{l}] takes {} min",
                    t.travel_min, link.travel_min
                ),
            ));
        }
    }
    for ((from, to, date), n) in used {
        let Some(&(l, link)) = links.get(&(from, to)) else {
            continue;
        };
        // A link without electives has each of its moves reported already.
        if let Some(e) = &link.electives
            && n > e.max_per_day
        {
            out.push(Violation::new(
                LinkOverCap,
                format!(
                    "link {from} → {to} (network.links[{l}]) on {date}: {n} cases moved > \
                     max_per_day {}, over by {}",
                    e.max_per_day,
                    n - e.max_per_day
                ),
            ));
        }
    }
    for case in &scenario.waiting_list {
        let (Some(home), Some(booking)) = (&case.home_site, booked.cases.get(case.id.as_str()))
        else {
            continue;
        };
        if let Some(site) = booking.site
            && site != home
            && !seen.contains(case.id.as_str())
        {
            out.push(Violation::new(
                UntransferredMove,
                format!(
                    "case {}: home site {home}, booked at {site} on {}, but no transfer lists it",
                    case.id, booking.date
                ),
            ));
        }
    }
}

/// Constraint 5, pooled: per bed-sharing component and night, the electives of its
/// pools (from `beds`, the checker's own count per pool and night) within the
/// component's open beds less its pooled reserve. In component order, then night.
pub(super) fn check_shared_beds(scenario: &Scenario, beds: &[BedNight], out: &mut Vec<Violation>) {
    let reserve = crate::reserve::bed_reserve(scenario);
    let mut elective: HashMap<(&str, &str, NaiveDate), u32> = HashMap::new();
    for night in beds {
        *elective
            .entry((night.site.as_str(), night.kind.as_str(), night.date))
            .or_default() += night.elective;
    }
    for shared in crate::reserve::shared_reserve(scenario, &reserve) {
        let names: Vec<&str> = shared.pools.iter().map(|p| p.site.as_str()).collect();
        for (t, night) in shared.nights.iter().enumerate() {
            let date = scenario.date(t as u32);
            let taken: u32 = shared
                .pools
                .iter()
                .map(|p| {
                    elective
                        .get(&(p.site.as_str(), p.kind.as_str(), date))
                        .copied()
                        .unwrap_or(0)
                })
                .sum();
            if taken > night.room() {
                out.push(Violation::new(
                    ViolationKind::SharedBedsOverRoom,
                    format!(
                        "{} beds shared by {} night {date}: {taken} elective beds > room {} \
                         (open {} − pooled reserve {}), over by {}",
                        shared.kind,
                        names.join(", "),
                        night.room(),
                        night.open,
                        night.pooled,
                        taken - night.room()
                    ),
                ));
            }
        }
    }
}
