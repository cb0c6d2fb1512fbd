//! Stage 1 of the planner: the aggregate MIP over case classes and session groups.
//!
//! ## Index sets
//! - Session groups `g`: elective sessions of one (site, day, length, fixed specialty
//!   or flexible). Sessions in a group are interchangeable for everything but packing,
//!   so the model counts them instead of naming them, which removes the symmetry a
//!   per-session model would branch on.
//! - Case classes `c`: cases of one (specialty, day case or inpatient, set of sites
//!   it may use, first day, tier, priority, surgeon, and for a case that may move its
//!   home site), where the tier is "due on horizon day d", "overdue" or "later".
//!   Demand `D_c` is the class's minutes; its value per minute `w_c` is the class's
//!   total [`super::case_value`] on time divided by `D_c`.
//!
//! ## Variables
//! - `n[g,k]` integer in `0..=|g|`: flexible sessions of group `g` given to specialty `k`
//!   (only specialties with eligible demand at that site by that day);
//! - `z[g]` integer in `0..=|g|`: sessions of `g` handed whole to the emergency stream
//!   (each covers `minutes` of reserve and loses its `⌊cap·minutes⌋` bookable minutes);
//! - `R[s,t,k] ≥ 0`: partial reserve held inside specialty-`k` sessions (costs its
//!   minutes one for one);
//! - `U[s,t,k,i] ≥ 0`: minutes of specialty `k` booked at site `s` on day `t` for
//!   day cases (`i` = 0) or inpatients (`i` = 1): they share the theatre minutes, and
//!   only inpatients need beds, so a full ward does not close a day-case list;
//! - `x[c,s] ≥ 0`: minutes of class `c` booked at site `s` (on time, for a due class).
//!
//! ## Constraints
//! - sessions: `Σ_k n[g,k] + z[g] ≤ |g|` (flexible groups);
//! - theatre minutes: `Σ_i U[s,t,k,i] + R[s,t,k] ≤ Σ_g cap_g·n[g,k] + Σ_{g fixed k} cap_g·(|g| − z[g])`;
//! - emergency reserve (hard constraint 6), per site and day with need
//!   `q = required − emergency-theatre minutes > 0`: `Σ_g minutes_g·z[g] + Σ_k R[s,t,k] ≥ q`,
//!   or every session reserved whole when the day's sessions cannot hold `q`;
//! - demand: `Σ_s x[c,s] ≤ D_c`; balance `Σ_t U[s,t,k,i] = Σ_{c of kind i} x[c,s]`;
//! - deadlines (earliest-deadline-first is optimal for one machine, so the nested
//!   Hall conditions are exact for the fluid relaxation): for every due day `d`,
//!   `Σ_{c due ≤ d} x[c,s] ≤ Σ_{t ≤ d} U[s,t,k,i]`; releases likewise,
//!   `Σ_{c first ≥ r} x[c,s] ≤ Σ_{t ≥ r} U[s,t,k,i]`, and each released due class
//!   within its own window. Written with running totals (offered minutes by day,
//!   demand by due date and by release) so each `x` and `U` appears in a few rows,
//!   not in one row per later deadline: at large this cut the nonzeros from 180k to
//!   57k;
//! - surgeons (hard constraint 7): a surgeon is a second machine its classes pass
//!   through, with the job plan's minutes per day as capacity `M[g,t]`, so the same
//!   nests hold with constants on the right: `Σ_{c of g due ≤ d} x ≤ Σ_{t ≤ d} M[g,t]`,
//!   `Σ_{c of g released ≥ r} x ≤ Σ_{t ≥ r} M[g,t]`, and each due class of `g`
//!   within its own window (classes are split by surgeon; only for scenarios with at
//!   most `SURGEON_NESTS_MAX` surgeons, see there);
//! - network links (hard constraint 8), per directed link `l` carrying electives:
//!   `Σ_{c moved along l} x[c,to]/ℓ_c ≤ cap_l·days_l`, with `ℓ_c` the class's mean
//!   duration (minutes to cases) and `days_l` the days with sessions at `to`: the
//!   daily cap summed over the horizon (booking enforces it per day);
//! - beds (hard constraint 5), per pool and night: `Σ_{k,o} β[s,k,pool,o]·U[s,t−o,k,1] ≤
//!   room(pool, t)`, with `β` the beds per booked minute `o` nights after admission,
//!   averaged over the specialty's due and overdue inpatient cases at that site; on a
//!   network, per bed-sharing component and night, the same sums over its pools within
//!   the room its pooled reserve leaves ([`crate::reserve::shared_reserve`]).
//!
//! ## Objective
//! `max Σ w_c·x[c,s] − μ·Σ_{s ≠ home} x[c,s] − 10⁻⁴·(reserved minutes) − 10⁻³·Σ n`:
//! the contract's order by class (the weights of [`super::WEIGHTS`]), then moves
//! charged by travel (`μ` = [`MOVE_COST`] per minute, below the value of a minute, so a
//! patient moves only to avoid a breach, book an overdue case or, last, fill minutes),
//! then the least reserve and the fewest sessions given away to no purpose, so the
//! optimum is unique in what stage 2 uses.
//!
//! ## Why this shape
//! At trust scale (20,000 cases, 2,500 sessions, 28 days, 5 sites) it has a few
//! thousand columns and a few hundred integers, so HiGHS closes it in well under a
//! second, while still seeing what decides breaches: whose sessions the flexible
//! lists become, on which days, where the reserve sits, and whether the beds behind
//! them exist. Packing individual cases into sessions is left to stage 2, which is
//! exact; the fluid model is an optimistic bound on what packing can achieve.

use std::collections::{BTreeMap, BTreeSet};

use good_lp::variable;

use super::{LpModel, ModelStats, Tier, case_value, tier};
use crate::ledger::{Ledger, capped_minutes};

/// Most surgeons for which the aggregate splits classes by surgeon and writes their
/// nests. A benchmark hospital has a handful of surgeons sharing every session
/// (IHTC-2024: up to ~10), a generated medium trust ~30 consultants: there the nests
/// decide where the minutes go and, measured, even speed the solve up (medium seed 1:
/// 0.35 s with them, 1.8–2.4 s without). A trust-scale list has ~115 consultants:
/// splitting by them nearly doubles the model (large: 21k → 39k columns, solve
/// 7 s → 14 s), so there the aggregate leaves surgeons to booking, which still
/// enforces every surgeon's day exactly.
const SURGEON_NESTS_MAX: usize = 60;

/// Cost of moving one minute of surgery away from a patient's home site: `a + b·travel`
/// with travel in minutes, at most a fifth of the value of a minute
/// ([`super::WEIGHTS`]`.per_minute` = 0.01) for any travel up to two hours, so moves
/// come after the contract's three tiers and the shorter trip wins between them.
const MOVE_COST: (f64, f64) = (5e-4, 1e-5);

/// Sessions of one (site, day, length, fixed specialty or flexible).
#[derive(Debug, Clone)]
struct Group {
    site: usize,
    day: u32,
    minutes: u32,
    cap: u32,
    fixed: Option<usize>,
    slots: Vec<usize>,
    /// `(specialty, column of n[g,k])`.
    n: Vec<(usize, usize)>,
    /// Column of `z[g]`.
    z: Option<usize>,
    /// The day's sessions cannot hold the reserve: every session is reserved whole.
    forced: bool,
}

/// Beds of a specialty at a site: patients per (pool, night after admission), and
/// the minutes of surgery they come from.
type Profile = (BTreeMap<(usize, u32), f64>, f64);

/// What the aggregate model decides, per ledger slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decisions {
    /// Specialty each slot takes (`None`: a flexible session left open).
    pub specialty: Vec<Option<usize>>,
    /// Minutes each slot holds back for the emergency stream.
    pub reserve: Vec<u32>,
}

/// Key of a case class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ClassKey {
    specialty: usize,
    /// Whether the cases stay in a bed (a day case needs none).
    inpatient: bool,
    sites: Vec<usize>,
    release: u32,
    tier: Tier,
    priority: usize,
    /// The surgeon whose operating minutes the cases draw on (`None`: anyone).
    surgeon: Option<usize>,
    /// Home site of cases that may move (`None`: they stay where `sites` says).
    home: Option<usize>,
}

#[derive(Debug, Clone, Default)]
struct Class {
    minutes: f64,
    value: f64,
    cases: Vec<usize>,
}

/// The built aggregate model and what is needed to read its solution back.
#[derive(Debug)]
pub struct Aggregate {
    /// The model, ready for [`super::solve`].
    pub model: LpModel,
    /// How columns map back to sessions.
    pub layout: Layout,
}

/// The column layout of an [`Aggregate`], to turn a solution into [`Decisions`].
#[derive(Debug, Clone)]
pub struct Layout {
    groups: Vec<Group>,
    /// `(site, day, specialty) → column of R`.
    partial: BTreeMap<(usize, u32, usize), usize>,
    slots: usize,
}

impl Aggregate {
    /// The model's size.
    pub fn stats(&self) -> ModelStats {
        self.model.stats()
    }
}

/// Builds the aggregate model of `ledger`'s scenario (see the module documentation).
/// The ledger is only read: its slots, pools and free beds as they stand.
pub fn build(ledger: &Ledger<'_>) -> Aggregate {
    let scenario = ledger.scenario;
    let horizon = scenario.horizon_days;
    let cap_ratio = ledger.cap();
    let mut model = LpModel::new();

    // Session groups, in (site, day, minutes, fixed) order.
    let mut group_map: BTreeMap<(usize, u32, u32, Option<usize>), Vec<usize>> = BTreeMap::new();
    for (i, slot) in ledger.slots.iter().enumerate() {
        group_map
            .entry((slot.site, slot.day, slot.minutes, slot.fixed))
            .or_default()
            .push(i);
    }
    let max_cap = ledger
        .slots
        .iter()
        .map(|s| capped_minutes(s.minutes, cap_ratio))
        .max()
        .unwrap_or(0);
    let mut groups: Vec<Group> = group_map
        .into_iter()
        .map(|((site, day, minutes, fixed), slots)| Group {
            site,
            day,
            minutes,
            cap: capped_minutes(minutes, cap_ratio),
            fixed,
            slots,
            n: Vec::new(),
            z: None,
            forced: false,
        })
        .collect();
    let mut by_site_day: BTreeMap<(usize, u32), Vec<usize>> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        by_site_day
            .entry((group.site, group.day))
            .or_default()
            .push(g);
    }

    // Case classes, split by surgeon only when the scenario has few of them (see
    // `SURGEON_NESTS_MAX`).
    let nest_surgeons = scenario.surgeons.len() <= SURGEON_NESTS_MAX;
    let mut classes: BTreeMap<ClassKey, Class> = BTreeMap::new();
    for c in 0..scenario.waiting_list.len() {
        let (Some(k), Some(first)) = (ledger.case_specialty(c), ledger.first_day(c)) else {
            continue;
        };
        let case = ledger.case(c);
        if case.duration_min == 0 || case.duration_min > max_cap {
            continue;
        }
        let sites = ledger.case_sites(c);
        if sites.is_empty() {
            continue;
        }
        let tier = match tier(scenario, c) {
            Tier::Due(d) if d < first => Tier::Later,
            t => t,
        };
        let class = classes
            .entry(ClassKey {
                specialty: k,
                inpatient: case.stay.iter().any(|segment| segment.nights > 0),
                sites,
                release: first,
                tier,
                priority: case.priority.index(),
                surgeon: ledger.case_surgeon(c).filter(|_| nest_surgeons),
                home: ledger.mover_home(c),
            })
            .or_default();
        class.minutes += f64::from(case.duration_min);
        class.value += case_value(scenario, c, first);
        class.cases.push(c);
    }

    // Earliest release per (site, specialty): no minutes are offered before it.
    let mut release_min: BTreeMap<(usize, usize), u32> = BTreeMap::new();
    let mut stays: BTreeSet<(usize, usize, bool)> = BTreeSet::new();
    for key in classes.keys() {
        for &s in &key.sites {
            stays.insert((s, key.specialty, key.inpatient));
            let r = release_min.entry((s, key.specialty)).or_insert(key.release);
            *r = (*r).min(key.release);
        }
    }
    let specialties = ledger.specialties.len();

    // Sessions, reserve and minutes per (site, day).
    // U per (site, day, specialty, inpatient): day cases and inpatients share the
    // specialty's theatre minutes but only inpatients need beds, so a full ward
    // does not stop a specialty's day-case list.
    let mut used: BTreeMap<(usize, u32, usize, bool), usize> = BTreeMap::new();
    let mut partial: BTreeMap<(usize, u32, usize), usize> = BTreeMap::new();
    for (&(site, day), gs) in &by_site_day {
        let need = ledger.reserve_need(site, day);
        let total: u32 = gs
            .iter()
            .map(|&g| groups[g].minutes * groups[g].slots.len() as u32)
            .sum();
        if need > 0 && total < need {
            for &g in gs {
                groups[g].forced = true;
            }
            continue;
        }
        let has_flexible = gs.iter().any(|&g| groups[g].fixed.is_none());
        let ks: Vec<usize> = (0..specialties)
            .filter(|&k| {
                release_min.get(&(site, k)).is_some_and(|&r| r <= day)
                    && (has_flexible || gs.iter().any(|&g| groups[g].fixed == Some(k)))
            })
            .collect();
        for &k in &ks {
            for inpatient in [false, true] {
                if stays.contains(&(site, k, inpatient)) {
                    let u = model.add(variable().min(0.0), false);
                    used.insert((site, day, k, inpatient), u);
                }
            }
        }
        if need > 0 {
            for &g in gs {
                let z = model.add(variable().clamp(0.0, groups[g].slots.len() as f64), true);
                model.add_objective(z, -1e-4 * f64::from(groups[g].minutes));
                groups[g].z = Some(z);
            }
            for &k in &ks {
                let r = model.add(variable().min(0.0), false);
                model.add_objective(r, -1e-4);
                partial.insert((site, day, k), r);
            }
        }
        for &g in gs {
            if groups[g].fixed.is_some() {
                continue;
            }
            let size = groups[g].slots.len() as f64;
            let mut row = Vec::with_capacity(ks.len() + 1);
            for &k in &ks {
                let n = model.add(variable().clamp(0.0, size), true);
                model.add_objective(n, -1e-3);
                groups[g].n.push((k, n));
                row.push((n, 1.0));
            }
            if let Some(z) = groups[g].z {
                row.push((z, 1.0));
            }
            model.leq(&row, size);
        }
        for &k in &ks {
            let mut row: Vec<(usize, f64)> = [false, true]
                .iter()
                .filter_map(|&inpatient| used.get(&(site, day, k, inpatient)))
                .map(|&u| (u, 1.0))
                .collect();
            if row.is_empty() {
                continue;
            }
            if let Some(&r) = partial.get(&(site, day, k)) {
                row.push((r, 1.0));
            }
            let mut rhs = 0.0;
            for &g in gs {
                let group = &groups[g];
                let cap = f64::from(group.cap);
                match group.fixed {
                    None => {
                        if let Some(&(_, n)) = group.n.iter().find(|(kk, _)| *kk == k) {
                            row.push((n, -cap));
                        }
                    }
                    Some(f) if f == k => {
                        rhs += cap * group.slots.len() as f64;
                        if let Some(z) = group.z {
                            row.push((z, cap));
                        }
                    }
                    Some(_) => {}
                }
            }
            model.leq(&row, rhs);
        }
        if need > 0 {
            let mut row: Vec<(usize, f64)> = gs
                .iter()
                .filter_map(|&g| groups[g].z.map(|z| (z, f64::from(groups[g].minutes))))
                .collect();
            row.extend(
                ks.iter()
                    .filter_map(|&k| partial.get(&(site, day, k)).map(|&r| (r, 1.0))),
            );
            model.geq(&row, f64::from(need));
        }
    }

    // Demand: x[c,s], with deadline and release nests per (site, specialty).
    struct Served {
        column: usize,
        release: u32,
        tier: Tier,
    }
    let mut served: BTreeMap<(usize, usize, bool), Vec<Served>> = BTreeMap::new();
    let mut by_surgeon: BTreeMap<usize, Vec<Served>> = BTreeMap::new();
    // Per directed link: (column of x, cases per minute) of the classes moved along it.
    let mut moves: BTreeMap<usize, Vec<(usize, f64)>> = BTreeMap::new();
    for (key, class) in &classes {
        let last = match key.tier {
            Tier::Due(d) => d,
            _ => horizon.saturating_sub(1),
        };
        let w = if class.minutes > 0.0 {
            class.value / class.minutes
        } else {
            0.0
        };
        let mut row = Vec::new();
        for &s in &key.sites {
            let reachable = (key.release..=last)
                .any(|t| used.contains_key(&(s, t, key.specialty, key.inpatient)));
            if !reachable {
                continue;
            }
            let x = model.add(variable().clamp(0.0, class.minutes), false);
            let link = key
                .home
                .filter(|&h| h != s)
                .and_then(|_| class.cases.first())
                .and_then(|&c| ledger.move_link(c, s));
            let travel = link
                .and_then(|l| ledger.links().get(l))
                .map(|l| f64::from(l.travel_min));
            model.add_objective(x, w - travel.map_or(0.0, |t| MOVE_COST.0 + MOVE_COST.1 * t));
            if let Some(l) = link {
                let cases = class.cases.len() as f64 / class.minutes.max(1.0);
                moves.entry(l).or_default().push((x, cases));
            }
            row.push((x, 1.0));
            served
                .entry((s, key.specialty, key.inpatient))
                .or_default()
                .push(Served {
                    column: x,
                    release: key.release,
                    tier: key.tier,
                });
            if let Some(g) = key.surgeon {
                by_surgeon.entry(g).or_default().push(Served {
                    column: x,
                    release: key.release,
                    tier: key.tier,
                });
            }
        }
        if row.len() > 1 {
            model.leq(&row, class.minutes);
        }
    }
    // Links: moves over the horizon within the daily cap on every day `to` operates.
    for (l, row) in moves {
        let Some(link) = ledger.links().get(l) else {
            continue;
        };
        let days = by_site_day
            .keys()
            .filter(|&&(site, _)| site == link.to)
            .count();
        model.leq(&row, f64::from(link.cap) * days as f64);
    }
    // The nests in cumulative form: one running total of offered minutes per
    // (site, specialty) and day, and running totals of demand by due date and by
    // release, so every x and U sits in a handful of rows instead of one row per
    // later deadline (the nested sums made the LP O(horizon²) dense).
    for (&(site, k, inpatient), xs) in &served {
        // offered[t] = Σ_{t' ≤ t} U[t'], over the days that have a U column.
        let mut offered: Vec<(u32, usize)> = Vec::new();
        for t in 0..horizon {
            if let Some(&u) = used.get(&(site, t, k, inpatient)) {
                let prev = offered.last().map(|&(_, c)| c);
                offered.push((t, running_total(&mut model, prev, [u])));
            }
        }
        // Σ_{t ≤ d} U as a column (None: nothing offered by then).
        let by = |d: u32| {
            offered
                .iter()
                .rev()
                .find(|&&(t, _)| t <= d)
                .map(|&(_, c)| c)
        };
        let Some(&(_, total)) = offered.last() else {
            continue;
        };

        let mut balance: Vec<(usize, f64)> = vec![(total, 1.0)];
        balance.extend(xs.iter().map(|x| (x.column, -1.0)));
        model.eq(&balance, 0.0);

        // Deadlines: due[d] = Σ_{x due ≤ d} x ≤ Σ_{t ≤ d} U.
        let mut due_days: Vec<u32> = xs
            .iter()
            .filter_map(|x| match x.tier {
                Tier::Due(d) => Some(d),
                _ => None,
            })
            .collect();
        due_days.sort_unstable();
        due_days.dedup();
        let mut prev: Option<usize> = None;
        for &d in &due_days {
            let due = xs.iter().filter(|x| x.tier == Tier::Due(d));
            let c = running_total(&mut model, prev, due.map(|x| x.column));
            prev = Some(c);
            let mut row = vec![(c, 1.0)];
            if let Some(o) = by(d) {
                row.push((o, -1.0));
            }
            model.leq(&row, 0.0);
        }

        // Releases: from[r] = Σ_{x released ≥ r} x ≤ Σ_{t ≥ r} U = total − Σ_{t < r} U.
        let mut releases: Vec<u32> = xs.iter().map(|x| x.release).filter(|&r| r > 0).collect();
        releases.sort_unstable();
        releases.dedup();
        let mut prev: Option<usize> = None;
        for &r in releases.iter().rev() {
            let released = xs.iter().filter(|x| x.release == r);
            let c = running_total(&mut model, prev, released.map(|x| x.column));
            prev = Some(c);
            let mut row = vec![(c, 1.0), (total, -1.0)];
            if let Some(o) = by(r - 1) {
                row.push((o, 1.0));
            }
            model.leq(&row, 0.0);
        }
        // A released due class within its own window: x ≤ Σ_{r ≤ t ≤ d} U.
        for x in xs.iter().filter(|x| x.release > 0) {
            if let Tier::Due(d) = x.tier {
                let mut row = vec![(x.column, 1.0)];
                if let Some(o) = by(d) {
                    row.push((o, -1.0));
                }
                if let Some(o) = by(x.release - 1) {
                    row.push((o, 1.0));
                }
                model.leq(&row, 0.0);
            }
        }
    }

    // Surgeons (hard constraint 7): each is a second machine its cases pass through,
    // with the job plan's minutes per day as its capacity, so the same nests bound
    // what it can operate by each deadline, from each release and in each window.
    for (&g, xs) in &by_surgeon {
        let mut offered = Vec::with_capacity(horizon as usize);
        let mut sum = 0.0;
        for t in 0..horizon {
            sum += f64::from(ledger.surgeon_left(g, t));
            offered.push(sum);
        }
        // Σ_{t ≤ d} minutes, 0 before day 0.
        let by = |d: Option<u32>| {
            d.and_then(|d| offered.get(d as usize))
                .copied()
                .unwrap_or(0.0)
        };
        let mut due_days: Vec<u32> = xs
            .iter()
            .filter_map(|x| match x.tier {
                Tier::Due(d) => Some(d),
                _ => None,
            })
            .collect();
        due_days.sort_unstable();
        due_days.dedup();
        let mut prev: Option<usize> = None;
        for &d in &due_days {
            let due = xs.iter().filter(|x| x.tier == Tier::Due(d));
            let c = running_total(&mut model, prev, due.map(|x| x.column));
            prev = Some(c);
            model.leq(&[(c, 1.0)], by(Some(d)));
        }
        let mut releases: Vec<u32> = xs.iter().map(|x| x.release).collect();
        releases.sort_unstable();
        releases.dedup();
        let mut prev: Option<usize> = None;
        for &r in releases.iter().rev() {
            let released = xs.iter().filter(|x| x.release == r);
            let c = running_total(&mut model, prev, released.map(|x| x.column));
            prev = Some(c);
            model.leq(&[(c, 1.0)], sum - by(r.checked_sub(1)));
        }
        for x in xs {
            if let Tier::Due(d) = x.tier {
                model.leq(
                    &[(x.column, 1.0)],
                    by(Some(d)) - by(x.release.checked_sub(1)),
                );
            }
        }
    }

    // Beds: class-average bed profiles per (site, specialty).
    let mut profile: BTreeMap<(usize, usize), Profile> = BTreeMap::new();
    let urgent_only: BTreeMap<usize, bool> = (0..specialties)
        .map(|k| {
            (
                k,
                classes
                    .iter()
                    .any(|(key, _)| key.specialty == k && key.inpatient && key.tier != Tier::Later),
            )
        })
        .collect();
    for (key, class) in &classes {
        if !key.inpatient
            || urgent_only.get(&key.specialty) == Some(&true) && key.tier == Tier::Later
        {
            continue;
        }
        for &s in &key.sites {
            let entry = profile.entry((s, key.specialty)).or_default();
            for &c in &class.cases {
                entry.1 += f64::from(ledger.case(c).duration_min);
                if let Some(nights) = ledger.stay_pools(c, s) {
                    for (o, &pool) in nights.iter().enumerate() {
                        if o as u32 >= horizon {
                            break;
                        }
                        *entry.0.entry((pool, o as u32)).or_default() += 1.0;
                    }
                }
            }
        }
    }
    let mut bed_rows: BTreeMap<(usize, u32), Vec<(usize, f64)>> = BTreeMap::new();
    for (&(site, day, k, inpatient), &u) in &used {
        if !inpatient {
            continue;
        }
        let Some((nights, minutes)) = profile.get(&(site, k)) else {
            continue;
        };
        if *minutes <= 0.0 {
            continue;
        }
        for (&(pool, o), &count) in nights {
            let night = day + o;
            if night < horizon {
                bed_rows
                    .entry((pool, night))
                    .or_default()
                    .push((u, count / minutes));
            }
        }
    }
    // A bed-sharing component of a network: its pools' electives together within
    // the room its pooled reserve leaves.
    for (row, room) in super::shared_bed_rows(ledger, &bed_rows) {
        model.leq(&row, room);
    }
    for ((pool, night), row) in bed_rows {
        model.leq(&row, ledger.room(pool, night).max(0) as f64);
    }

    Aggregate {
        model,
        layout: Layout {
            groups,
            partial,
            slots: ledger.slots.len(),
        },
    }
}

/// A new column `c = prev + Σ terms` (a running total; `prev` is the one before).
fn running_total(
    model: &mut LpModel,
    prev: Option<usize>,
    terms: impl IntoIterator<Item = usize>,
) -> usize {
    let c = model.add(variable().min(0.0), false);
    let mut row = vec![(c, 1.0)];
    row.extend(prev.into_iter().chain(terms).map(|t| (t, -1.0)));
    model.eq(&row, 0.0);
    c
}

impl Layout {
    /// The integer columns that reproduce `decisions` (e.g. the previous plan's),
    /// as a MIP start ([`super::LpModel::set_start`]): per group, the sessions
    /// reserved whole and the sessions each specialty takes. Specialties the model
    /// offers no column for are left out; the solver completes the rest.
    pub fn start(&self, decisions: &Decisions) -> Vec<(usize, f64)> {
        let mut start = Vec::new();
        for group in self.groups.iter().filter(|g| !g.forced) {
            let whole = |s: usize| {
                decisions
                    .reserve
                    .get(s)
                    .is_some_and(|&r| r >= group.minutes)
            };
            if let Some(z) = group.z {
                let n = group.slots.iter().filter(|&&s| whole(s)).count();
                start.push((z, n as f64));
            }
            for &(k, column) in &group.n {
                let n = group
                    .slots
                    .iter()
                    .filter(|&&s| !whole(s) && decisions.specialty.get(s) == Some(&Some(k)))
                    .count();
                start.push((column, n as f64));
            }
        }
        start
    }

    /// Reads a solution (`values[column]`) back into per-slot decisions: whole
    /// reserves on the first sessions of a group, specialties on the next ones, and
    /// partial reserves spread over a specialty's sessions of the day. Rounding can
    /// leave the reserve a minute short; the planner tops it up on the ledger.
    pub fn decode(&self, ledger: &Ledger<'_>, values: &[f64]) -> Decisions {
        let value = |c: usize| values.get(c).copied().unwrap_or(0.0);
        let count = |c: usize, max: usize| (value(c).round().max(0.0) as usize).min(max);
        let mut specialty: Vec<Option<usize>> = ledger.slots.iter().map(|s| s.fixed).collect();
        let mut reserve = vec![0u32; self.slots];
        let mut by_site_day: BTreeMap<(usize, u32), Vec<usize>> = BTreeMap::new();
        for group in &self.groups {
            if group.forced {
                for &s in &group.slots {
                    reserve[s] = group.minutes;
                }
                continue;
            }
            let size = group.slots.len();
            let whole = group.z.map_or(0, |z| count(z, size));
            let mut next = 0;
            for &s in group.slots.iter().take(whole) {
                reserve[s] = group.minutes;
                next += 1;
            }
            if group.fixed.is_none() {
                let mut ns: Vec<(usize, usize)> = group
                    .n
                    .iter()
                    .map(|&(k, col)| (k, count(col, size)))
                    .filter(|&(_, n)| n > 0)
                    .collect();
                ns.sort_by_key(|&(k, n)| (std::cmp::Reverse(n), k));
                for (k, n) in ns {
                    for &s in group.slots.iter().skip(next).take(n) {
                        specialty[s] = Some(k);
                        next += 1;
                    }
                }
            }
            for &s in group.slots.iter().skip(whole) {
                by_site_day
                    .entry((group.site, group.day))
                    .or_default()
                    .push(s);
            }
        }
        for (&(site, day, k), &col) in &self.partial {
            let mut left = (value(col) - 1e-6).ceil().max(0.0) as u32;
            if left == 0 {
                continue;
            }
            let Some(slots) = by_site_day.get(&(site, day)) else {
                continue;
            };
            for &s in slots.iter().rev() {
                if left == 0 {
                    break;
                }
                if specialty[s] != Some(k) || reserve[s] > 0 {
                    continue;
                }
                let cap = capped_minutes(ledger.slots[s].minutes, ledger.cap());
                let take = left.min(cap);
                reserve[s] = take;
                left -= take;
            }
        }
        Decisions { specialty, reserve }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GenerateOptions, Size, generate};
    use crate::model::{SolveOptions, solve};

    /// A MIP start built from decisions decodes back to the same sessions.
    #[test]
    fn a_start_reproduces_its_decisions() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 5));
        let ledger = Ledger::new(&s);
        let aggregate = build(&ledger);
        let layout = aggregate.layout;
        let solved = solve(aggregate.model, &SolveOptions::default()).unwrap();
        let decisions = layout.decode(&ledger, &solved.values);
        assert!(decisions.specialty.iter().any(Option::is_some));

        let mut values = vec![0.0; solved.values.len()];
        for (column, value) in layout.start(&decisions) {
            values[column] = value;
        }
        let again = layout.decode(&ledger, &values);
        assert_eq!(again.specialty, decisions.specialty);
        for (s, slot) in ledger.slots.iter().enumerate() {
            if decisions.reserve[s] >= slot.minutes {
                assert_eq!(again.reserve[s], slot.minutes, "slot {s}");
            }
        }
    }

    /// A start that makes no sense (out of bounds, unknown columns) is ignored: the
    /// solve is as good as without one.
    #[test]
    fn a_nonsense_start_changes_nothing() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 2));
        let ledger = Ledger::new(&s);
        let plain = solve(build(&ledger).model, &SolveOptions::default()).unwrap();
        let mut model = build(&ledger).model;
        let columns = model.stats().columns;
        model.set_start(vec![(0, 1e9), (columns / 2, -7.5), (columns + 10, 1.0)]);
        let started = solve(model, &SolveOptions::default()).unwrap();
        let tolerance = 0.011 * plain.objective.abs().max(1.0);
        assert!(
            (started.objective - plain.objective).abs() <= tolerance,
            "{} vs {}",
            started.objective,
            plain.objective
        );
    }
}
