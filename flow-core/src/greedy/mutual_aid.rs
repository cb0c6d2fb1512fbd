//! The hand mutual-aid baseline for clinical networks: how a network's waiting-list
//! offices help each other without an optimiser.
//!
//! Emergency reserve first (whole sessions, as [`super::plan`]), then cases are
//! offered in treat-in-turn order. Each goes into the first session at its home site
//! (first fit, date order); only when its home site cannot take it in time — by its
//! due date for a case due inside the horizon, inside the horizon at all otherwise —
//! is a movable case moved, to the earliest session at a site one allowed link away
//! within its radius (the link's daily cap respected), if that is sooner than home.
//! Nothing moves once booked. A scenario without links plans as [`super::plan`].

use std::collections::HashMap;

use crate::ledger::Ledger;
use crate::model::{Tier, tier};
use crate::plan::{Plan, SolverInfo};
use crate::scenario::Scenario;

/// The first slot, in date order, at a site `allowed` accepts that case `c` fits now.
fn first_slot(ledger: &Ledger<'_>, c: usize, allowed: impl Fn(usize) -> bool) -> Option<usize> {
    (0..ledger.slots.len()).find(|&s| {
        let slot = &ledger.slots[s];
        allowed(slot.site) && ledger.fits_session(c, s) && ledger.fits_beds(c, slot.site, slot.day)
    })
}

/// Books `order` into `ledger`: home first, a move only when home is too late.
pub fn book(ledger: &mut Ledger<'_>, order: &[usize]) {
    let home_of: Vec<Option<usize>> = ledger
        .scenario
        .waiting_list
        .iter()
        .map(|case| {
            let home = case.site.as_deref().or(case.home_site.as_deref())?;
            ledger.sites.iter().position(|s| s == home)
        })
        .collect();
    for &c in order {
        if ledger.booking(c).is_some() {
            continue;
        }
        let Some(home) = home_of.get(c).copied().flatten() else {
            // No home: any site, as the greedy books it.
            if let Some(s) = first_slot(ledger, c, |_| true) {
                ledger.try_book(c, s);
            }
            continue;
        };
        let at_home = first_slot(ledger, c, |site| site == home);
        let in_time = match (at_home, tier(ledger.scenario, c)) {
            (None, _) => false,
            (Some(s), Tier::Due(d)) => ledger.slots[s].day <= d,
            (Some(_), _) => true,
        };
        let choice = if in_time {
            at_home
        } else {
            let away = first_slot(ledger, c, |site| {
                site != home && ledger.move_link(c, site).is_some()
            });
            match (at_home, away) {
                (Some(h), Some(a)) if ledger.slots[a].day < ledger.slots[h].day => Some(a),
                (Some(h), _) => Some(h),
                (None, a) => a,
            }
        };
        if let Some(s) = choice {
            ledger.try_book(c, s);
        }
    }
}

/// The mutual-aid baseline plan of `scenario` (backend `mutual-aid`).
pub fn plan(scenario: &Scenario) -> Plan {
    let mut ledger = Ledger::new(scenario);
    ledger.reserve_whole_sessions();
    book(&mut ledger, &super::treat_in_turn(scenario));
    let booked = (0..scenario.waiting_list.len())
        .filter(|&c| ledger.booking(c).is_some())
        .count();
    ledger.to_plan(
        SolverInfo {
            backend: "mutual-aid".into(),
            status: "heuristic".into(),
            objective: booked as f64,
            gap: 0.0,
            seconds: 0.0,
        },
        &HashMap::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::generate::{GenerateOptions, Size, generate};

    #[test]
    fn mutual_aid_plans_pass_the_checker_and_move_only_when_home_is_late() {
        let s = generate(&GenerateOptions::new(Size::Network, 1));
        let p = plan(&s);
        let report = check(&s, &p);
        assert!(report.is_ok(), "{:#?}", report.violations);
        assert!(!p.transfers.is_empty());
        // No network: every case at home, the same as the greedy.
        let mut alone = s.clone();
        alone.network = None;
        let a = plan(&alone);
        assert!(a.transfers.is_empty());
        assert_eq!(a.sessions, super::super::plan(&alone).sessions);
        // Every move is of a case its home could not take in time.
        let ledger = Ledger::new(&s);
        for t in &p.transfers {
            let c = s.waiting_list.iter().position(|x| x.id == t.case).unwrap();
            assert!(
                ledger
                    .move_link(c, ledger.sites.iter().position(|x| *x == t.to).unwrap())
                    .is_some()
            );
        }
    }

    #[test]
    fn a_scenario_without_links_plans_as_the_greedy() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 2));
        assert_eq!(plan(&s).sessions, super::super::plan(&s).sessions);
    }
}
