//! The ledger's view of a clinical network (hard constraint 8): the directed links
//! that carry elective work, which of them each movable case may use, and the plan's
//! `transfers` and `network.links` from the moves booked. The checker reads links on
//! its own (`check/network.rs`); this is the planner side.

use std::collections::HashMap;

use super::Ledger;
use crate::model::{Tier, tier};
use crate::plan::{LinkUse, NetworkUse, PooledReserve, Transfer, TransferWhy};
use crate::scenario::{Case, Scenario};

/// A directed network link that carries elective work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectedLink {
    /// Site a moved case leaves (its home site).
    pub from: usize,
    /// Site it is operated at.
    pub to: usize,
    /// Travel time in minutes.
    pub travel_min: u32,
    /// Most moves per admission day (`electives.max_per_day`).
    pub cap: u32,
}

impl Ledger<'_> {
    /// The moves booked, in waiting-list order, each link's use per day and each
    /// bed-sharing component's reserve per night (`None` when nothing moves and no
    /// pools share beds, so a plan without a network is written as before).
    ///
    /// `why` is the tier the booking serves: `avoids_breach` for a case due inside the
    /// horizon and booked by its due date, `overdue` for a case due before the start,
    /// `minutes` otherwise. That the move is needed (no home session would keep that
    /// value) is the planner's doing (`planner/network.rs`, `bring_home`).
    pub(super) fn transfers(&self) -> (Vec<Transfer>, Option<NetworkUse>) {
        let scenario = self.scenario;
        let mut transfers = Vec::new();
        for (c, case) in scenario.waiting_list.iter().enumerate() {
            let (Some(s), Some(home)) = (self.booking(c), self.case_home[c]) else {
                continue;
            };
            let slot = &self.slots[s];
            let Some(link) = self.move_link(c, slot.site).and_then(|l| self.links.get(l)) else {
                continue;
            };
            let why = match tier(scenario, c) {
                Tier::Overdue => TransferWhy::Overdue,
                Tier::Due(d) if slot.day <= d => TransferWhy::AvoidsBreach,
                _ => TransferWhy::Minutes,
            };
            transfers.push(Transfer {
                case: case.id.clone(),
                from: self.sites[home].clone(),
                to: self.sites[slot.site].clone(),
                date: scenario.date(slot.day),
                travel_min: link.travel_min,
                why,
            });
        }
        if transfers.is_empty() && self.shared_reserve.is_empty() {
            return (transfers, None);
        }
        let mut links = Vec::new();
        for (l, link) in self.links.iter().enumerate() {
            for day in 0..scenario.horizon_days {
                let used = self.link_used(l, day);
                if used > 0 {
                    links.push(LinkUse {
                        from: self.sites[link.from].clone(),
                        to: self.sites[link.to].clone(),
                        date: scenario.date(day),
                        used,
                        cap: link.cap,
                    });
                }
            }
        }
        let mut reserve = Vec::new();
        for shared in &self.shared_reserve {
            let pools: Vec<String> = shared.pools.iter().map(|p| p.site.clone()).collect();
            for (t, night) in shared.nights.iter().enumerate() {
                reserve.push(PooledReserve {
                    kind: shared.kind.clone(),
                    date: scenario.date(t as u32),
                    pools: pools.clone(),
                    separate: night.separate,
                    pooled: night.pooled,
                });
            }
        }
        let network = NetworkUse { links, reserve };
        (transfers, Some(network))
    }
}

/// The directed links of `scenario`, the first link per direction (validation
/// refuses duplicates), in link order; a `bidirectional` link gives both directions.
/// A direction is taken by its first link even without electives, as the checker
/// reads it; such a direction has cap 0 and carries no moves.
pub(super) fn directed_links(
    scenario: &Scenario,
    site_index: &HashMap<&str, usize>,
) -> Vec<DirectedLink> {
    let mut out: Vec<DirectedLink> = Vec::new();
    let links = scenario.network.as_ref().map_or(&[][..], |n| &n.links[..]);
    for link in links {
        let (Some(&a), Some(&b)) = (
            site_index.get(link.from.as_str()),
            site_index.get(link.to.as_str()),
        ) else {
            continue;
        };
        let cap = link.electives.as_ref().map_or(0, |e| e.max_per_day);
        let mut add = |from: usize, to: usize| {
            if from != to && !out.iter().any(|d| (d.from, d.to) == (from, to)) {
                out.push(DirectedLink {
                    from,
                    to,
                    travel_min: link.travel_min,
                    cap,
                });
            }
        };
        add(a, b);
        if link.bidirectional {
            add(b, a);
        }
    }
    out
}

/// `(site, link)` for every site movable `case` (home site `home`) may be operated
/// at away from home: direct links from home that carry its specialty and every bed
/// kind of its stay, within its radius. Empty for a case that does not move (no home,
/// no `travel`, or a `site` of its own).
pub(super) fn movable_links(
    scenario: &Scenario,
    links: &[DirectedLink],
    case: &Case,
    home: Option<usize>,
) -> Vec<(usize, usize)> {
    let (Some(home), Some(travel), None) = (home, &case.travel, &case.site) else {
        return Vec::new();
    };
    let terms = scenario.network.as_ref().map_or(&[][..], |n| &n.links[..]);
    let mut out = Vec::new();
    for (l, link) in links.iter().enumerate() {
        if link.from != home || link.travel_min > travel.max_min || link.cap == 0 {
            continue;
        }
        let (Some(from), Some(to)) = (scenario.sites.get(link.from), scenario.sites.get(link.to))
        else {
            continue;
        };
        // The scenario link this direction came from: the first joining the two sites
        // in this direction.
        let Some(term) = terms.iter().find(|t| {
            (t.from == from.id && t.to == to.id)
                || (t.bidirectional && t.from == to.id && t.to == from.id)
        }) else {
            continue;
        };
        let Some(e) = &term.electives else {
            continue;
        };
        let carries = e.specialties.contains(&case.specialty)
            && case.stay.iter().all(|seg| e.stay_kinds.contains(&seg.kind));
        if carries {
            out.push((link.to, l));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::generate::{GenerateOptions, Size, generate};
    use crate::plan::SolverInfo;

    fn network(seed: u64) -> Scenario {
        generate(&GenerateOptions::new(Size::Network, seed).with_movers(100))
    }

    fn site(ledger: &Ledger<'_>, id: &str) -> usize {
        ledger.sites.iter().position(|s| s == id).unwrap()
    }

    fn info() -> SolverInfo {
        SolverInfo {
            backend: "test".into(),
            status: "heuristic".into(),
            objective: 0.0,
            gap: 0.0,
            seconds: 0.0,
        }
    }

    /// The first (case, slot) in case order that moves `home` → `to` and fits now.
    fn a_move(ledger: &Ledger<'_>, home: usize, to: usize, skip: &[usize]) -> (usize, usize) {
        for c in 0..ledger.scenario.waiting_list.len() {
            if skip.contains(&c)
                || ledger.case_home[c] != Some(home)
                || ledger.move_link(c, to).is_none()
            {
                continue;
            }
            for (s, slot) in ledger.slots.iter().enumerate() {
                if slot.site == to && ledger.fits_session(c, s) && ledger.fits_beds(c, to, slot.day)
                {
                    return (c, s);
                }
            }
        }
        panic!("no case moves here");
    }

    #[test]
    fn a_booked_move_is_a_transfer_the_checker_accepts() {
        let s = network(1);
        let mut ledger = Ledger::new(&s);
        ledger.reserve_whole_sessions();
        let (north, hub) = (site(&ledger, "north"), site(&ledger, "hub"));
        let (c, slot) = a_move(&ledger, north, hub, &[]);
        assert!(ledger.try_book(c, slot));
        let day = ledger.slots[slot].day;
        let l = ledger.move_link(c, hub).unwrap();
        assert_eq!(ledger.link_used(l, day), 1);
        let plan = ledger.to_plan(info(), &HashMap::new());
        let report = check(&s, &plan);
        assert!(report.is_ok(), "{:#?}", report.violations);
        assert_eq!(plan.transfers.len(), 1);
        let t = &plan.transfers[0];
        assert_eq!(t.case, s.waiting_list[c].id);
        assert_eq!((t.from.as_str(), t.to.as_str()), ("north", "hub"));
        assert_eq!(t.travel_min, 35);
        let links = &plan.network.as_ref().unwrap().links;
        assert_eq!(links.len(), 1);
        assert_eq!((links[0].used, links[0].cap), (1, 4));
        // Unbooking uncounts: a plan without moves keeps only the pooled reserve of
        // the pools that lend each other beds, and without lending no network part.
        ledger.unbook(c, true);
        assert_eq!(ledger.link_used(l, day), 0);
        let plan = ledger.to_plan(info(), &HashMap::new());
        let network = plan.network.as_ref().unwrap();
        assert!(plan.transfers.is_empty() && network.links.is_empty());
        assert!(!network.reserve.is_empty());
        let mut alone = s.clone();
        for link in &mut alone.network.as_mut().unwrap().links {
            link.beds.clear();
        }
        let plan = Ledger::new(&alone).to_plan(info(), &HashMap::new());
        assert!(plan.transfers.is_empty() && plan.network.is_none());
    }

    #[test]
    fn try_book_refuses_a_move_beyond_the_daily_cap() {
        let mut s = network(2);
        for link in &mut s.network.as_mut().unwrap().links {
            if let Some(e) = &mut link.electives {
                e.max_per_day = 1;
            }
        }
        let mut ledger = Ledger::new(&s);
        let (north, hub) = (site(&ledger, "north"), site(&ledger, "hub"));
        let (a, slot) = a_move(&ledger, north, hub, &[]);
        let day = ledger.slots[slot].day;
        assert!(ledger.try_book(a, slot));
        // Another north case that could go to the hub that day is refused by the cap
        // alone: once the first move is unbooked it fits.
        let same_day: Vec<usize> = (0..ledger.slots.len())
            .filter(|&x| ledger.slots[x].site == hub && ledger.slots[x].day == day)
            .collect();
        let mut tried = 0;
        for b in 0..s.waiting_list.len() {
            if b == a || ledger.case_home[b] != Some(north) || ledger.move_link(b, hub).is_none() {
                continue;
            }
            assert!(!ledger.fits_link(b, hub, day));
            for &x in &same_day {
                assert!(!ledger.try_book(b, x), "case {b} slot {x}");
            }
            let mut free = ledger.clone();
            free.unbook(a, false);
            if same_day.iter().any(|&x| free.try_book(b, x)) {
                tried += 1;
            }
        }
        assert!(tried > 0, "no second move to refuse");
        // North's own sessions and other days stay open to it.
        assert!(ledger.fits_link(a, north, day));
    }

    #[test]
    fn unbooked_cases_name_a_full_link_or_a_home_they_may_not_leave() {
        use crate::plan::Reason;
        let mut s = network(4);
        for link in &mut s.network.as_mut().unwrap().links {
            if let Some(e) = &mut link.electives {
                e.max_per_day = 1;
            }
        }
        let mut ledger = Ledger::new(&s);
        let (north, hub) = (site(&ledger, "north"), site(&ledger, "hub"));
        // North closed (every session held back whole), the hub open on one day only,
        // and one north → hub move booked that day.
        let (a, slot) = a_move(&ledger, north, hub, &[]);
        let day = ledger.slots[slot].day;
        for x in 0..ledger.slots.len() {
            let here = &ledger.slots[x];
            if here.site == north || (here.site == hub && here.day != day) {
                let minutes = here.minutes;
                assert!(ledger.set_reserve(x, minutes));
            }
        }
        assert!(ledger.try_book(a, slot));
        let mut free = ledger.clone();
        free.unbook(a, false);
        let waiting: Vec<usize> = (0..s.waiting_list.len())
            .filter(|&b| b != a && ledger.booking(b).is_none())
            .collect();
        // Movers that would fit that day if the link had a move left: link full.
        let blocked: Vec<usize> = waiting
            .iter()
            .copied()
            .filter(|&b| {
                ledger.case_home[b] == Some(north)
                    && ledger.move_link(b, hub).is_some()
                    && free.explain(b) == Reason::LowerPriority
            })
            .collect();
        assert!(!blocked.is_empty());
        for &b in &blocked {
            assert_eq!(ledger.explain(b), Reason::LinkFull, "case {b}");
        }
        // After first fit, a case that may not move and finds no room at home is not
        // movable; without links it is short of time or beds.
        let order = crate::greedy::treat_in_turn(&s);
        let mut busy = Ledger::new(&s);
        busy.reserve_whole_sessions();
        crate::greedy::first_fit(&mut busy, &order);
        let mut alone = s.clone();
        alone.network = None;
        let mut plain = Ledger::new(&alone);
        plain.reserve_whole_sessions();
        crate::greedy::first_fit(&mut plain, &order);
        let mut not_movable = 0;
        for (c, case) in s.waiting_list.iter().enumerate() {
            let linked = busy.case_home[c]
                .is_some_and(|home| busy.links.iter().any(|l| l.from == home && l.cap > 0));
            if busy.booking(c).is_some() || case.travel.is_some() || case.site.is_some() || !linked
            {
                continue;
            }
            let reason = busy.explain(c);
            assert!(
                !matches!(
                    reason,
                    Reason::NoBed | Reason::NoSurgeonTime | Reason::NoTheatreTime
                ),
                "{}: {reason:?}",
                case.id
            );
            if reason == Reason::NotMovable {
                not_movable += 1;
            }
            assert_ne!(plain.explain(c), Reason::NotMovable);
        }
        assert!(not_movable > 0);
    }

    #[test]
    fn a_case_that_does_not_move_is_never_booked_away_from_home() {
        let s = network(3);
        let ledger = Ledger::new(&s);
        let mut movers_away = 0;
        for (c, case) in s.waiting_list.iter().enumerate() {
            let home = ledger.case_home[c].unwrap();
            let sites = ledger.case_sites(c);
            if case.travel.is_none() || case.site.is_some() {
                assert!(sites.iter().all(|&x| x == home), "{}", case.id);
                for (x, slot) in ledger.slots.iter().enumerate() {
                    if slot.site != home {
                        assert!(!ledger.fits_session(c, x), "{} in {x}", case.id);
                    }
                }
            } else if sites.iter().any(|&x| x != home) {
                movers_away += 1;
                // Only along a link that carries it: never critical care, never urology.
                assert!(case.stay.iter().all(|g| g.kind != "critical_care"));
                assert!(["ortho", "gensurg"].contains(&case.specialty.as_str()));
            }
        }
        assert!(movers_away > 0);
    }

    #[test]
    fn every_plan_of_a_generated_network_passes_the_checker() {
        use crate::{PlanOptions, Strategy, plan};
        for opts in [
            GenerateOptions::new(Size::Network, 1),
            GenerateOptions::new(Size::Network, 2)
                .with_balanced(true)
                .with_movers(100),
        ] {
            let s = generate(&opts);
            for strategy in [Strategy::Greedy, Strategy::default()] {
                let p = plan(&s, &PlanOptions::with_strategy(strategy)).unwrap();
                let report = check(&s, &p);
                assert!(
                    report.is_ok(),
                    "{} {strategy:?}: {:#?}",
                    s.name,
                    report.violations
                );
                assert!(!p.transfers.is_empty(), "{} {strategy:?}", s.name);
            }
            let m = crate::greedy::mutual_aid::plan(&s);
            let report = check(&s, &m);
            assert!(
                report.is_ok(),
                "{} mutual aid: {:#?}",
                s.name,
                report.violations
            );
        }
        // Few movers and a tight list, by hand.
        let s = generate(
            &GenerateOptions::new(Size::Network, 3)
                .with_movers(10)
                .with_profile(crate::generate::Profile::Tight),
        );
        for p in [crate::greedy::plan(&s), crate::greedy::mutual_aid::plan(&s)] {
            let report = check(&s, &p);
            assert!(
                report.is_ok(),
                "{}: {:#?}",
                p.solver.backend,
                report.violations
            );
        }
    }

    #[test]
    fn a_replan_keeps_its_moves_within_the_links() {
        use crate::{PlanOptions, plan};
        let s = network(5);
        let first = plan(&s, &PlanOptions::default()).unwrap();
        assert!(!first.transfers.is_empty());
        let mut tighter = s.clone();
        for link in &mut tighter.network.as_mut().unwrap().links {
            if let Some(e) = &mut link.electives {
                e.max_per_day = 1;
            }
        }
        for scenario in [&s, &tighter] {
            let options = PlanOptions {
                previous: Some(first.clone()),
                ..PlanOptions::default()
            };
            let again = plan(scenario, &options).unwrap();
            let report = check(scenario, &again);
            assert!(report.is_ok(), "{:#?}", report.violations);
            assert!(!again.transfers.is_empty());
        }
    }
}
