//! The greedy baseline: how a waiting-list office books by hand.
//!
//! Emergency reserve first (whole sessions handed to the emergency stream, see
//! [`Ledger::reserve_whole_sessions`]), then cases are offered in turn — most urgent
//! priority first, longest waiter first within it — and each goes into the first
//! session, in date order, that has its specialty (or is still flexible), the minutes
//! and every bed of its stay. Nothing is ever moved once booked.
//!
//! It is the yardstick the optimiser is measured against, and a fallback that always
//! returns a feasible plan in milliseconds.

use std::collections::HashMap;

pub mod mutual_aid;

use crate::ledger::Ledger;
use crate::plan::{Plan, SolverInfo};
use crate::scenario::Scenario;

/// Treat-in-turn order: priority (P1a first), then date listed, then id.
pub fn treat_in_turn(scenario: &Scenario) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scenario.waiting_list.len()).collect();
    order.sort_by(|&a, &b| {
        let (ca, cb) = (&scenario.waiting_list[a], &scenario.waiting_list[b]);
        (ca.priority, ca.listed, &ca.id).cmp(&(cb.priority, cb.listed, &cb.id))
    });
    order
}

/// Books `order` first-fit into `ledger` as it stands.
pub fn first_fit(ledger: &mut Ledger<'_>, order: &[usize]) {
    for &c in order {
        if ledger.booking(c).is_some() {
            continue;
        }
        for s in 0..ledger.slots.len() {
            if ledger.try_book(c, s) {
                break;
            }
        }
    }
}

/// The greedy plan of `scenario`.
pub fn plan(scenario: &Scenario) -> Plan {
    let mut ledger = Ledger::new(scenario);
    ledger.reserve_whole_sessions();
    first_fit(&mut ledger, &treat_in_turn(scenario));
    let booked = (0..scenario.waiting_list.len())
        .filter(|&c| ledger.booking(c).is_some())
        .count();
    ledger.to_plan(
        SolverInfo {
            backend: "greedy".into(),
            status: "heuristic".into(),
            objective: booked as f64,
            gap: 0.0,
            seconds: 0.0,
        },
        &HashMap::new(),
    )
}
