//! The due-case booking MIP: on an instance small enough, the cases due inside the
//! horizon are booked by an exact assignment on the ledger as it stands, instead of
//! by the sweep's rule of thumb.
//!
//! Stage 1 (the aggregate) has given every flexible session its specialty and every
//! session its emergency reserve; frozen bookings are in place. What is left for the
//! due cases is an assignment: each case to at most one session of its window, within
//! each session's free minutes, each surgeon's minutes per day and each pool's free
//! beds per night. Heuristics (earliest-due-date, latest fit) solve it well when
//! windows nest and stays are short, and can leave avoidable breaches when release
//! windows, surgeons' job plans and long stays interlock — which is exactly what the
//! IHTC-2024 benchmark instances are made of. The assignment is small there (a few
//! thousand case × session pairs), so it is solved exactly.
//!
//! Variables: `x[c,s]` binary for every due case `c` and session `s` of its on-time
//! window that could hold it (specialty, site, minutes, surgeon's day); `y[s,k]`
//! binary for an open flexible session `s` (one nothing is booked in yet, whatever
//! specialty the aggregate chose) taken by specialty `k`.
//! Constraints: `Σ_s x[c,s] ≤ 1`; per session `Σ_c d_c·x[c,s] ≤ free_s` (open
//! sessions: `≤ free_s·y[s,k]` per specialty, `Σ_k y[s,k] ≤ 1`); per surgeon and day
//! `Σ d_c·x ≤ minutes left`; per pool and night `Σ x` over the stays covering it
//! `≤ beds left`.
//! Objective: the contract's first tier — avoided breaches weighted by priority
//! ([`super::WEIGHTS`]`.breach`) — then, a thousand times smaller, booked minutes,
//! then, smaller still, earlier days (patients treated sooner).

use std::collections::BTreeMap;

use good_lp::variable;

use super::{LpModel, SolveOptions, WEIGHTS, solve};
use crate::ledger::Ledger;

/// Whether the assignment may give `slot` any specialty: a flexible session nothing
/// is booked in yet, whatever specialty the aggregate chose for it (the aggregate's
/// fluid choice is only an estimate of where the due cases fit).
pub fn is_open(slot: &crate::ledger::Slot) -> bool {
    slot.fixed.is_none() && slot.cases.is_empty()
}

/// A due case to book and its on-time window `(first day, due day)`.
pub type Window = (usize, u32, u32);

/// The bookings the exact assignment chose: `(case, slot)` pairs, and whether the
/// solver proved them optimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueBookings {
    /// `(case, slot)` to book.
    pub bookings: Vec<(usize, usize)>,
    /// The solver proved optimality (else it stopped at a limit with an incumbent).
    pub optimal: bool,
}

/// Books `due` exactly on `ledger` as it stands (see the module documentation), or
/// `None` when the model would exceed `max_pairs` case × session pairs or the solver
/// returns nothing. The ledger is only read.
pub fn book_due(
    ledger: &Ledger<'_>,
    due: &[Window],
    max_pairs: usize,
    options: &SolveOptions,
) -> Option<DueBookings> {
    let cap = ledger.cap();
    let horizon = ledger.scenario.horizon_days;
    // Candidate pairs first, so an oversized model is refused before it is built.
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    for &(c, lo, hi) in due {
        let Some(k) = ledger.case_specialty(c) else {
            continue;
        };
        let duration = ledger.case(c).duration_min;
        let sites = ledger.case_sites(c);
        let start = ledger.slots.partition_point(|s| s.day < lo);
        for (s, slot) in ledger.slots.iter().enumerate().skip(start) {
            if slot.day > hi {
                break;
            }
            let specialty_ok = slot.specialty == Some(k) || is_open(slot);
            if specialty_ok
                && sites.contains(&slot.site)
                && duration <= slot.free(cap)
                && ledger.fits_surgeon(c, slot.day)
            {
                candidates.push((c, s));
            }
        }
        if candidates.len() > max_pairs {
            return None;
        }
    }
    if candidates.is_empty() {
        return Some(DueBookings {
            bookings: Vec::new(),
            optimal: true,
        });
    }

    let mut model = LpModel::new();
    let mut pairs = Vec::with_capacity(candidates.len());
    let mut per_case: BTreeMap<usize, Vec<(usize, f64)>> = BTreeMap::new();
    let mut per_slot: BTreeMap<usize, Vec<(usize, usize, f64)>> = BTreeMap::new();
    let mut per_surgeon: BTreeMap<(usize, u32), Vec<(usize, f64)>> = BTreeMap::new();
    let mut per_bed: BTreeMap<(usize, u32), Vec<(usize, f64)>> = BTreeMap::new();
    let lightest = WEIGHTS.breach.iter().copied().fold(f64::INFINITY, f64::min);
    for &(c, s) in &candidates {
        let case = ledger.case(c);
        let slot = &ledger.slots[s];
        let duration = f64::from(case.duration_min);
        let value = WEIGHTS.breach[case.priority.index()] / lightest
            + 1e-3 * duration / 60.0
            + 1e-5 * f64::from(horizon - slot.day.min(horizon));
        let x = model.add(variable().binary(), true);
        model.add_objective(x, value);
        pairs.push((c, s, x));
        per_case.entry(c).or_default().push((x, 1.0));
        if let Some(k) = ledger.case_specialty(c) {
            per_slot.entry(s).or_default().push((k, x, duration));
        }
        if let Some(g) = ledger.case_surgeon(c) {
            per_surgeon
                .entry((g, slot.day))
                .or_default()
                .push((x, duration));
        }
        if let Some(nights) = ledger.stay_pools(c, slot.site) {
            for (i, &pool) in nights.iter().enumerate() {
                let night = slot.day + i as u32;
                if night >= horizon {
                    break;
                }
                per_bed.entry((pool, night)).or_default().push((x, 1.0));
            }
        }
    }
    for row in per_case.values() {
        if row.len() > 1 {
            model.leq(row, 1.0);
        }
    }
    for (&s, terms) in &per_slot {
        let slot = &ledger.slots[s];
        let free = f64::from(slot.free(cap));
        if !is_open(slot) {
            let row: Vec<(usize, f64)> = terms.iter().map(|&(_, x, d)| (x, d)).collect();
            model.leq(&row, free);
            continue;
        }
        // An open flexible session: one specialty takes it.
        let mut by_k: BTreeMap<usize, Vec<(usize, f64)>> = BTreeMap::new();
        for &(k, x, d) in terms {
            by_k.entry(k).or_default().push((x, d));
        }
        let mut one = Vec::with_capacity(by_k.len());
        for (_, mut row) in by_k {
            let y = model.add(variable().binary(), true);
            row.push((y, -free));
            model.leq(&row, 0.0);
            one.push((y, 1.0));
        }
        if one.len() > 1 {
            model.leq(&one, 1.0);
        }
    }
    for (&(g, day), row) in &per_surgeon {
        model.leq(row, f64::from(ledger.surgeon_left(g, day)));
    }
    for (&(pool, night), row) in &per_bed {
        let room = ledger.room(pool, night).max(0) as f64;
        if row.len() as f64 > room {
            model.leq(row, room);
        }
    }
    // Binary columns: a component row with no more terms than room never binds.
    for (row, room) in super::shared_bed_rows(ledger, &per_bed) {
        if row.len() as f64 > room {
            model.leq(&row, room);
        }
    }

    let solved = solve(model, options).ok()?;
    let bookings = pairs
        .into_iter()
        .filter(|&(_, _, x)| solved.values.get(x).copied().unwrap_or(0.0) > 0.5)
        .map(|(c, s, _)| (c, s))
        .collect();
    Some(DueBookings {
        bookings,
        optimal: solved.status == super::SolveStatus::Optimal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GenerateOptions, Size, generate};
    use crate::model::{Tier, tier};

    /// Every pair the model chooses is one the ledger accepts, in order.
    #[test]
    fn chosen_bookings_fit_the_ledger() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 4));
        let mut ledger = Ledger::new(&s);
        ledger.reserve_whole_sessions();
        let due: Vec<Window> = (0..s.waiting_list.len())
            .filter_map(|c| match tier(&s, c) {
                Tier::Due(d) => ledger.first_day(c).filter(|&f| f <= d).map(|f| (c, f, d)),
                _ => None,
            })
            .collect();
        assert!(!due.is_empty());
        let chosen = book_due(&ledger, &due, 100_000, &SolveOptions::default()).unwrap();
        assert!(!chosen.bookings.is_empty());
        for (c, slot) in chosen.bookings {
            assert!(ledger.try_book(c, slot), "case {c} slot {slot}");
        }
        assert!(book_due(&ledger, &due, 0, &SolveOptions::default()).is_none());
    }
}
