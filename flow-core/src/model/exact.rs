//! The exact case × session MIP: the yardstick for the decomposition.
//!
//! Variables: `x[c,i]` binary, case `c` booked in session `i` (only pairs the hard
//! constraints allow: specialty, site, first day, length, bed kinds, a day whose
//! sessions are not all taken by the reserve); `y[i,k]` binary, flexible session `i`
//! given to specialty `k`; `z[i]` binary, session `i` handed whole to the emergency
//! stream; `ρ[i]` integer, partial reserve in `i` (`≤ ⌊cap·minutes⌋`).
//!
//! Constraints: each case at most once; `Σ_k y[i,k] + z[i] ≤ 1`; per specialty
//! `Σ_{c∈k} d_c·x[c,i] ≤ cap_i·y[i,k]` on flexible sessions; `Σ_c d_c·x[c,i] + ρ[i] ≤
//! cap_i·(1 − z[i])`; the reserve `Σ minutes·z + Σ ρ ≥ need` per site and day;
//! per pool and night `Σ x` over the stays covering it `≤ room`; and per surgeon and
//! day `Σ d_c·x[c,i]` over the surgeon's cases that day `≤` the job plan's minutes.
//!
//! Objective: [`Objective::Full`] maximises Σ [`super::case_value`] (the planner's
//! objective, so plans are comparable by [`super::score`]); [`Objective::Breaches`]
//! maximises the number of due cases booked on time, i.e. minimises avoidable
//! breaches, with only on-time pairs of due cases as columns.
//!
//! It has one column per allowed (case, session) pair: fine for the tiny generated
//! scenario, about 166,000 columns at medium for the breach objective (tens of
//! seconds), and out of reach at trust scale — which is why the planner decomposes.

use std::collections::{BTreeMap, HashMap};

use good_lp::variable;

use super::{LpModel, ModelStats, SolveOptions, Tier, case_value, solve, tier};
use crate::ledger::{Ledger, capped_minutes};
use crate::plan::{Plan, SolverInfo};
use crate::scenario::Scenario;

/// What the exact model maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// The planner's weighted objective (breaches, overdue, minutes).
    Full,
    /// Due cases booked on time only: the fewest avoidable breaches possible.
    Breaches,
}

/// The built exact model and its column layout.
#[derive(Debug)]
pub struct Exact {
    /// The model, ready for [`super::solve`].
    pub model: LpModel,
    /// `(case, slot, column)` of every `x`.
    pairs: Vec<(usize, usize, usize)>,
    /// `(slot, specialty, column)` of every `y`.
    specialty: Vec<(usize, usize, usize)>,
    /// `(slot, column of z, column of ρ)`.
    reserve: Vec<(usize, Option<usize>, Option<usize>)>,
    /// Slots whose day cannot hold the reserve: reserved whole.
    forced: Vec<usize>,
}

impl Exact {
    /// The model's size.
    pub fn stats(&self) -> ModelStats {
        self.model.stats()
    }
}

/// Builds the exact model of `ledger`'s scenario.
pub fn build(ledger: &Ledger<'_>, objective: Objective) -> Exact {
    let scenario = ledger.scenario;
    let cap_ratio = ledger.cap();
    let mut model = LpModel::new();
    let by_day = ledger.slots_by_site_day();
    let mut forced = Vec::new();
    let mut need_of: HashMap<usize, u32> = HashMap::new();
    for (&(site, day), slots) in &by_day {
        let need = ledger.reserve_need(site, day);
        let total: u32 = slots.iter().map(|&s| ledger.slots[s].minutes).sum();
        if need > 0 && total < need {
            forced.extend(slots.iter().copied());
        }
        for &s in slots {
            need_of.insert(s, need);
        }
    }
    let forced_set: std::collections::BTreeSet<usize> = forced.iter().copied().collect();

    // x columns.
    let mut pairs = Vec::new();
    let mut by_slot: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    let mut bed_rows: BTreeMap<(usize, u32), Vec<(usize, f64)>> = BTreeMap::new();
    let mut surgeon_rows: BTreeMap<(usize, u32), Vec<(usize, f64)>> = BTreeMap::new();
    let horizon = scenario.horizon_days;
    for c in 0..scenario.waiting_list.len() {
        let (Some(k), Some(first)) = (ledger.case_specialty(c), ledger.first_day(c)) else {
            continue;
        };
        let duration = ledger.case(c).duration_min;
        let sites = ledger.case_sites(c);
        let due = tier(scenario, c);
        if objective == Objective::Breaches && !matches!(due, Tier::Due(_)) {
            continue;
        }
        let mut row = Vec::new();
        for (i, slot) in ledger.slots.iter().enumerate() {
            if slot.day < first
                || forced_set.contains(&i)
                || !sites.contains(&slot.site)
                || slot.fixed.is_some_and(|f| f != k)
                || capped_minutes(slot.minutes, cap_ratio) < duration
            {
                continue;
            }
            let value = match objective {
                Objective::Full => case_value(scenario, c, slot.day),
                Objective::Breaches => match due {
                    Tier::Due(d) if slot.day <= d => 1.0,
                    _ => continue,
                },
            };
            let surgeon = ledger.case_surgeon(c);
            if surgeon.is_some_and(|g| ledger.surgeon_left(g, slot.day) < duration) {
                continue;
            }
            let x = model.add(variable().binary(), true);
            model.add_objective(x, value);
            row.push((x, 1.0));
            if let Some(g) = surgeon {
                surgeon_rows
                    .entry((g, slot.day))
                    .or_default()
                    .push((x, f64::from(duration)));
            }
            pairs.push((c, i, x));
            by_slot.entry(i).or_default().push((c, x));
            if let Some(nights) = ledger.stay_pools(c, slot.site) {
                for (o, &pool) in nights.iter().enumerate() {
                    let night = slot.day + o as u32;
                    if night >= horizon {
                        break;
                    }
                    bed_rows.entry((pool, night)).or_default().push((x, 1.0));
                }
            }
        }
        if row.len() > 1 {
            model.leq(&row, 1.0);
        }
    }

    // Surgeons (hard constraint 7): a day's cases of one surgeon within the job plan.
    for ((g, day), row) in surgeon_rows {
        model.leq(&row, f64::from(ledger.surgeon_left(g, day)));
    }

    // Sessions: specialty, reserve, minutes.
    let mut specialty = Vec::new();
    let mut reserve = Vec::new();
    for (i, slot) in ledger.slots.iter().enumerate() {
        if forced_set.contains(&i) {
            continue;
        }
        let cap = capped_minutes(slot.minutes, cap_ratio);
        let need = need_of.get(&i).copied().unwrap_or(0);
        let (z, rho) = if need > 0 {
            let z = model.add(variable().binary(), true);
            let rho = model.add(variable().clamp(0.0, f64::from(cap)), true);
            model.add_objective(z, -1e-4 * f64::from(slot.minutes));
            model.add_objective(rho, -1e-4);
            (Some(z), Some(rho))
        } else {
            (None, None)
        };
        reserve.push((i, z, rho));
        let cases = by_slot.get(&i).map(Vec::as_slice).unwrap_or(&[]);
        let mut all: Vec<(usize, f64)> = cases
            .iter()
            .map(|&(c, x)| (x, f64::from(ledger.case(c).duration_min)))
            .collect();
        if let Some(rho) = rho {
            all.push((rho, 1.0));
        }
        if let Some(z) = z {
            all.push((z, f64::from(cap)));
        }
        model.leq(&all, f64::from(cap));
        if slot.fixed.is_none() {
            let mut ks: BTreeMap<usize, Vec<(usize, f64)>> = BTreeMap::new();
            for &(c, x) in cases {
                if let Some(k) = ledger.case_specialty(c) {
                    ks.entry(k)
                        .or_default()
                        .push((x, f64::from(ledger.case(c).duration_min)));
                }
            }
            let mut one = Vec::new();
            for (k, mut row) in ks {
                let y = model.add(variable().binary(), true);
                model.add_objective(y, -1e-3);
                specialty.push((i, k, y));
                row.push((y, -f64::from(cap)));
                model.leq(&row, 0.0);
                one.push((y, 1.0));
            }
            if let Some(z) = z {
                one.push((z, 1.0));
            }
            if one.len() > 1 {
                model.leq(&one, 1.0);
            }
        }
    }
    for (&(site, day), slots) in &by_day {
        let need = ledger.reserve_need(site, day);
        if need == 0 || slots.iter().any(|s| forced_set.contains(s)) {
            continue;
        }
        let mut row = Vec::new();
        for &(i, z, rho) in &reserve {
            if !slots.contains(&i) {
                continue;
            }
            if let Some(z) = z {
                row.push((z, f64::from(ledger.slots[i].minutes)));
            }
            if let Some(rho) = rho {
                row.push((rho, 1.0));
            }
        }
        model.geq(&row, f64::from(need));
    }
    // Binary columns: a component row with no more terms than room never binds.
    for (row, room) in super::shared_bed_rows(ledger, &bed_rows) {
        if row.len() as f64 > room {
            model.leq(&row, room);
        }
    }
    for ((pool, night), row) in bed_rows {
        let room = ledger.room(pool, night).max(0) as f64;
        if row.len() as f64 > room {
            model.leq(&row, room);
        }
    }
    Exact {
        model,
        pairs,
        specialty,
        reserve,
        forced,
    }
}

/// Solves the exact model of `scenario` and returns its plan; if the solver returns
/// nothing, the greedy plan with status `heuristic`.
pub fn plan_exact(scenario: &Scenario, options: &SolveOptions, objective: Objective) -> Plan {
    let mut ledger = Ledger::new(scenario);
    let exact = build(&ledger, objective);
    let Exact {
        model,
        pairs,
        specialty,
        reserve,
        forced,
    } = exact;
    let solved = match solve(model, options) {
        Ok(s) => s,
        Err(_) => {
            let mut plan = crate::greedy::plan(scenario);
            plan.solver.status = "heuristic".into();
            return plan;
        }
    };
    let v = |c: usize| solved.values.get(c).copied().unwrap_or(0.0);
    for s in forced {
        ledger.set_reserve(s, ledger.slots[s].minutes);
    }
    for (i, k, y) in specialty {
        if v(y) > 0.5 {
            ledger.set_specialty(i, Some(k));
        }
    }
    for (i, z, rho) in reserve {
        let r = if z.is_some_and(|z| v(z) > 0.5) {
            ledger.slots[i].minutes
        } else {
            rho.map_or(0, |r| v(r).round().max(0.0) as u32)
        };
        ledger.set_reserve(i, r);
    }
    for (c, i, x) in pairs {
        if v(x) > 0.5 {
            ledger.try_book(c, i);
        }
    }
    crate::planner::ensure_reserve(&mut ledger, &[]);
    crate::planner::finish(
        &ledger,
        SolverInfo {
            backend: options.backend.as_str().into(),
            status: solved.status.as_str().into(),
            objective: 0.0,
            gap: (solved.gap * 1e6).round() / 1e6,
            seconds: 0.0,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::generate::{GenerateOptions, Profile, Size, generate};
    use crate::planner::{PlanOptions, plan};

    /// The breach-only exact MIP is quick on tiny: its plan is feasible, and the
    /// decomposition reaches the proven minimum (day cases and inpatients apart in
    /// the aggregate is what closed the last breach on seeds 2 and 5).
    #[test]
    fn tiny_breach_minimum_is_feasible_and_reached_by_the_planner() {
        for seed in 1..=5 {
            let s = generate(&GenerateOptions::new(Size::Tiny, seed));
            let min = plan_exact(&s, &SolveOptions::default(), Objective::Breaches);
            let report = check(&s, &min);
            assert!(report.is_ok(), "seed {seed}: {:#?}", report.violations);
            let planned = check(&s, &plan(&s, &PlanOptions::default()).unwrap());
            assert!(
                planned.kpis.avoidable_breaches <= report.kpis.avoidable_breaches,
                "seed {seed}: planner {} vs minimum {}",
                planned.kpis.avoidable_breaches,
                report.kpis.avoidable_breaches
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]

        /// Tight tiny trusts (many cases due inside the horizon, half of them free
        /// only after the start, consultants' job plans): wherever the breach-only
        /// exact MIP proves a plan without an avoidable breach exists, the planner
        /// finds one too.
        #[test]
        fn no_avoidable_breach_where_a_plan_without_one_exists(
            seed in 0u64..100_000,
            cases in 30usize..150,
        ) {
            let options = GenerateOptions::new(Size::Tiny, seed).with_profile(Profile::Tight);
            let mut s = generate(&options);
            s.waiting_list.truncate(cases);
            let exact = SolveOptions { mip_gap: 0.0, ..SolveOptions::default() };
            let min = check(&s, &plan_exact(&s, &exact, Objective::Breaches));
            proptest::prop_assert!(min.is_ok(), "{:#?}", min.violations);
            let planned = check(&s, &plan(&s, &PlanOptions::default()).unwrap());
            proptest::prop_assert!(planned.is_ok(), "{:#?}", planned.violations);
            if min.kpis.avoidable_breaches == 0 {
                proptest::prop_assert_eq!(planned.kpis.avoidable_breaches, 0);
            }
        }
    }

    /// The full exact MIP on tiny (tens of seconds to two minutes a seed): the
    /// decomposition's objective within 10% of it. `cargo test -- --ignored exact`.
    #[test]
    #[ignore]
    fn tiny_exact_objective_gap() {
        let options = SolveOptions {
            mip_gap: 0.0,
            time_limit: Some(120.0),
            ..SolveOptions::default()
        };
        for seed in [1, 2, 3] {
            let s = generate(&GenerateOptions::new(Size::Tiny, seed));
            let exact = plan_exact(&s, &options, Objective::Full);
            assert!(check(&s, &exact).is_ok());
            let planned = plan(&s, &PlanOptions::default()).unwrap();
            let (e, o) = (
                super::super::score(&s, &exact),
                super::super::score(&s, &planned),
            );
            assert!((e - o) / e <= 0.10, "seed {seed}: exact {e}, planner {o}");
        }
    }

    /// Medium: the fewest avoidable breaches possible (exact MIP, breach count alone,
    /// ~5 s with HiGHS) against the planner. `cargo test --release -- --ignored medium_breach`.
    #[test]
    #[ignore]
    fn medium_breach_minimum_against_the_planner() {
        for seed in [1, 2] {
            let s = generate(&GenerateOptions::new(Size::Medium, seed));
            let min = plan_exact(&s, &SolveOptions::default(), Objective::Breaches);
            let report = check(&s, &min);
            assert!(report.is_ok());
            let planned = check(&s, &plan(&s, &PlanOptions::default()).unwrap());
            assert!(
                planned.kpis.avoidable_breaches <= report.kpis.avoidable_breaches + 5,
                "seed {seed}: planner {} vs minimum {}",
                planned.kpis.avoidable_breaches,
                report.kpis.avoidable_breaches
            );
        }
    }
}
