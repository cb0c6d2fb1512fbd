//! The planner: a scenario (and optionally the previous plan) in, a feasible
//! `flow.plan/1` out, as good as possible in the contract's order.
//!
//! [`plan`] runs one of three strategies:
//! - [`Strategy::Optimise`] (default), the decomposition documented in [`crate::model`]:
//!   1. the aggregate MIP ([`crate::model::aggregate`]) decides the specialty of every
//!      flexible session and the emergency reserve inside elective sessions;
//!   2. cases are booked on the exact [`Ledger`]: cases due inside the horizon by a
//!      day-by-day sweep, the case due soonest first among those released (see
//!      `sweep`: every release window respected), then each moved as late as its
//!      window allows (`shift_late`), then overdue cases treat-in-turn (priority,
//!      then longest wait) into the earliest session that fits;
//!   3. repair: each due case still unbooked may evict less valuable bookings from a
//!      session that would fit it, which are then re-placed elsewhere if possible —
//!      committed only when the plan's value rises;
//!   4. flexible sessions the aggregate gave away but nobody used are opened to every
//!      specialty, and everything left is offered again (late due cases and cases not
//!      yet due last);
//!   5. optionally the breach floor ([`PlanOptions::floor_seconds`], on in `flowd
//!      plan`): when due cases are still late and the instance is small enough, the
//!      exact breach-count model's plan is re-planned as the previous plan, and kept
//!      when it has fewer avoidable breaches.
//! - [`Strategy::Greedy`], the treat-in-turn first-fit baseline of [`crate::greedy`].
//! - [`Strategy::Exact`], the case-level MIP of [`crate::model::exact`] — small
//!   instances only; it measures what the decomposition gives away.
//!
//! Re-planning: with [`PlanOptions::previous`], the previous plan's bookings are
//! booked first (those inside the freeze window before any other), so they are kept
//! unless they became infeasible; a non-frozen booking may still be moved by the
//! repair when that avoids a breach (the contract ranks breaches above stability).
//! The previous plan's session decisions (specialties, whole-session reserves) are
//! also the aggregate MIP's start ([`crate::model::LpModel::set_start`]): after a
//! few events the optimum rarely moves far, and with a good incumbent from the first
//! node HiGHS closed the gap in a fraction of a cold solve (medium before consultants:
//! 0.1–0.15 s against 0.9–1 s; with them the cold solve itself takes ~0.3 s and the
//! re-plan about as long; see `benches/plan.rs`, `replan`). Trust-scale models start
//! cold (see `START_MAX_COLUMNS`).
//! The plan's `changes` extension counts kept, moved, cancelled and added cases.
//!
//! Parts: this file holds [`plan`], the aggregate stage and re-planning; `book.rs`
//! stages 2 to 4 (booking, repair, filling); `network.rs` who travels on a clinical
//! network (movers booked at home first; moves that make room; moves undone that a
//! home session no longer needs).
//!
//! Every step books through [`Ledger::try_book`], so the plan satisfies every hard
//! constraint by construction; a solver that fails or runs out of time degrades the
//! plan (status `heuristic`), never into an error. Same input and options, same plan
//! (HiGHS runs single-threaded with a fixed seed; a time limit that actually bites
//! depends on machine speed, which is the price of a limit).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::greedy;
use crate::ledger::{Ledger, capped_minutes};
use crate::model::{self, Backend, SolveOptions, Tier, case_value, tier};
use crate::plan::{Changes, Plan, SolverInfo};
use crate::scenario::Scenario;

mod book;
mod network;
#[cfg(test)]
mod tests;

use self::book::book;

/// How the plan is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Aggregate MIP, then exact booking and repair (the default).
    #[default]
    Optimise,
    /// Treat-in-turn first fit, no solver.
    Greedy,
    /// The full case × session MIP (small instances only).
    Exact,
}

/// Options of [`plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    /// Which planner runs.
    pub strategy: Strategy,
    /// Solver backend; `None` for the build's default ([`Backend::default_available`]).
    pub backend: Option<Backend>,
    /// Seconds the solver may spend, measured by the solver itself; `None` for no limit.
    pub time_limit: Option<f64>,
    /// Relative MIP gap at which the solver may stop.
    pub mip_gap: f64,
    /// The plan being revised, whose bookings are kept where still feasible.
    pub previous: Option<Plan>,
    /// Days from the start inside which previous bookings are never moved (unless
    /// they became infeasible).
    pub freeze_days: u32,
    /// The breach floor ([`Strategy::Optimise`], no `previous`): seconds the exact
    /// breach-count model may spend when the plan leaves due cases late; its plan,
    /// re-planned as the previous plan (so the overdue backlog and minutes are booked
    /// around its on-time bookings), replaces the first when it has fewer avoidable
    /// breaches. `None` (the default, and the daemon's) skips it: it takes seconds
    /// where the planner takes a fraction of one. Skipped on instances too large for
    /// the exact model ([`FLOOR_MAX_PAIRS`]).
    pub floor_seconds: Option<f64>,
}

/// Largest exact breach model the floor builds, as (due cases inside the horizon) ×
/// (elective sessions): a tight medium trust has ~290 × 400, where HiGHS proves the
/// minimum in 5–20 s; a trust-scale list (~2,500 × 2,500) is out of its reach.
pub const FLOOR_MAX_PAIRS: usize = 1_000_000;

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            strategy: Strategy::Optimise,
            backend: None,
            time_limit: None,
            mip_gap: 0.01,
            previous: None,
            freeze_days: 2,
            floor_seconds: None,
        }
    }
}

impl PlanOptions {
    /// Default options with `strategy`.
    pub fn with_strategy(strategy: Strategy) -> Self {
        PlanOptions {
            strategy,
            ..PlanOptions::default()
        }
    }
}

/// Input the planner cannot plan at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The scenario breaks the contract in a way that makes a plan meaningless.
    #[error("invalid scenario: {path}: {message}")]
    InvalidScenario {
        /// Field path of the problem.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The requested solver backend is not compiled in.
    #[error("solver backend `{0}` is not enabled in this build")]
    BackendUnavailable(Backend),
}

/// Plans `scenario` (see the module documentation).
pub fn plan(scenario: &Scenario, options: &PlanOptions) -> Result<Plan, PlanError> {
    check_input(scenario)?;
    let backend = options.backend.unwrap_or_else(Backend::default_available);
    if options.strategy != Strategy::Greedy && !backend.available() {
        return Err(PlanError::BackendUnavailable(backend));
    }
    let solve = SolveOptions {
        backend,
        time_limit: options.time_limit,
        mip_gap: options.mip_gap.max(0.0),
    };
    let mut plan = match options.strategy {
        Strategy::Greedy => {
            let mut ledger = Ledger::new(scenario);
            ledger.reserve_whole_sessions();
            load_previous(&mut ledger, options);
            greedy::first_fit(&mut ledger, &greedy::treat_in_turn(scenario));
            finish(
                &ledger,
                SolverInfo {
                    backend: "greedy".into(),
                    status: "heuristic".into(),
                    objective: 0.0,
                    gap: 0.0,
                    seconds: 0.0,
                },
            )
        }
        Strategy::Optimise => {
            let first = optimise(scenario, options, &solve);
            match options.floor_seconds {
                Some(limit) if limit > 0.0 && options.previous.is_none() => {
                    floor(scenario, options, &solve, first, limit)
                }
                _ => first,
            }
        }
        Strategy::Exact => {
            model::exact::plan_exact(scenario, &solve, model::exact::Objective::Full)
        }
    };
    if let Some(previous) = &options.previous {
        plan.changes = Some(changes(scenario, previous, &plan));
    }
    Ok(plan)
}

/// The breach floor (see [`PlanOptions::floor_seconds`]): when `first` leaves due
/// cases late and the instance is small enough, the exact breach-count model's plan
/// is re-planned as the previous plan (its on-time bookings kept, its session
/// decisions the MIP's start, the backlog and minutes booked around them); the result
/// replaces `first` when it has fewer avoidable breaches, or as few with more value.
fn floor(
    scenario: &Scenario,
    options: &PlanOptions,
    solve: &SolveOptions,
    first: Plan,
    limit: f64,
) -> Plan {
    let late = late_cases(scenario, &first);
    let due = (0..scenario.waiting_list.len())
        .filter(|&c| matches!(tier(scenario, c), Tier::Due(_)))
        .count();
    let sessions = scenario
        .theatres
        .iter()
        .filter(|t| !t.emergency)
        .map(|t| t.sessions.len())
        .sum::<usize>();
    if late == 0 || due.saturating_mul(sessions) > FLOOR_MAX_PAIRS {
        return first;
    }
    let exact = SolveOptions {
        mip_gap: 0.0,
        time_limit: Some(limit),
        ..*solve
    };
    let minimum = model::exact::plan_exact(scenario, &exact, model::exact::Objective::Breaches);
    if late_cases(scenario, &minimum) >= late {
        return first;
    }
    let around = PlanOptions {
        previous: Some(minimum),
        floor_seconds: None,
        ..options.clone()
    };
    let mut again = optimise(scenario, &around, solve);
    let (a, b) = (late_cases(scenario, &again), late);
    if a < b || a == b && model::score(scenario, &again) > model::score(scenario, &first) {
        again.changes = None;
        again.solver.seconds += first.solver.seconds;
        again
    } else {
        first
    }
}

/// Due cases inside the horizon that `plan` leaves unbooked or books after their due
/// date (its avoidable breaches).
fn late_cases(scenario: &Scenario, plan: &Plan) -> usize {
    let mut day: HashMap<&str, u32> = HashMap::new();
    for session in &plan.sessions {
        if let Some(t) = scenario.day_in_horizon(session.date) {
            for id in &session.cases {
                day.insert(id.as_str(), t);
            }
        }
    }
    (0..scenario.waiting_list.len())
        .filter(|&c| match tier(scenario, c) {
            Tier::Due(d) => day
                .get(scenario.waiting_list[c].id.as_str())
                .is_none_or(|&t| t > d),
            _ => false,
        })
        .count()
}

/// The few contract rules without which no plan is meaningful (the validator checks
/// the rest): unique case ids and unique sessions.
fn check_input(scenario: &Scenario) -> Result<(), PlanError> {
    let mut ids = BTreeSet::new();
    for (i, case) in scenario.waiting_list.iter().enumerate() {
        if !ids.insert(case.id.as_str()) {
            return Err(PlanError::InvalidScenario {
                path: format!("waiting_list[{i}].id"),
                message: format!("duplicate case id `{}`", case.id),
            });
        }
    }
    let mut sessions = BTreeSet::new();
    for (t, theatre) in scenario.theatres.iter().enumerate() {
        for (s, session) in theatre.sessions.iter().enumerate() {
            if !sessions.insert((theatre.id.as_str(), session.date, session.period)) {
                return Err(PlanError::InvalidScenario {
                    path: format!("theatres[{t}].sessions[{s}]"),
                    message: format!(
                        "duplicate session {} {} {}",
                        theatre.id, session.date, session.period
                    ),
                });
            }
        }
    }
    let cap = scenario.policy.theatre_utilisation_cap;
    if !(0.0..=1.0).contains(&cap) {
        return Err(PlanError::InvalidScenario {
            path: "policy.theatre_utilisation_cap".into(),
            message: format!("must lie in [0, 1], not {cap}"),
        });
    }
    Ok(())
}

/// The ledger as a plan: every unbooked case explained, the objective the plan's value.
pub(crate) fn finish(ledger: &Ledger<'_>, mut solver: SolverInfo) -> Plan {
    solver.objective = (model::ledger_score(ledger) * 100.0).round() / 100.0;
    ledger.to_plan(solver, &HashMap::new())
}

/// Largest aggregate model (in columns) that re-planning starts from the previous
/// decisions. HiGHS completes a start by solving the LP with its integers fixed,
/// which at medium (≈2,600 columns) is cheap and makes a re-plan about 6× faster, but at
/// large (≈21,000 columns) takes as long as the root LP itself (2.8 s) and made
/// re-plans slower than cold solves.
const START_MAX_COLUMNS: usize = 8_000;

/// Stage 1 to 4 of the module documentation.
fn optimise(scenario: &Scenario, options: &PlanOptions, solve: &SolveOptions) -> Plan {
    let mut ledger = Ledger::new(scenario);
    let aggregate = model::build(&ledger);
    let layout = aggregate.layout;
    let mut lp = aggregate.model;
    let before = options
        .previous
        .as_ref()
        .map(|previous| previous_decisions(&ledger, previous));
    if let Some(before) = &before
        && lp.stats().columns <= START_MAX_COLUMNS
    {
        lp.set_start(layout.start(before));
    }
    let (decisions, mut info) = match model::solve(lp, solve) {
        Ok(solved) => (
            Some(layout.decode(&ledger, &solved.values)),
            SolverInfo {
                backend: solve.backend.as_str().into(),
                status: solved.status.as_str().into(),
                objective: 0.0,
                gap: (solved.gap * 1e6).round() / 1e6,
                seconds: 0.0,
            },
        ),
        Err(_) => (
            None,
            SolverInfo {
                backend: solve.backend.as_str().into(),
                status: "heuristic".into(),
                objective: 0.0,
                gap: 1.0,
                seconds: 0.0,
            },
        ),
    };
    // Without a solution (a limit too short, a solver failure) a re-plan keeps the
    // previous plan's session decisions; a first plan reserves whole sessions.
    match decisions.as_ref().or(before.as_ref()) {
        Some(d) => apply_decisions(&mut ledger, d, options),
        None => ledger.reserve_whole_sessions(),
    }
    let frozen = load_previous(&mut ledger, options);
    ensure_reserve(&mut ledger, &frozen);
    book(&mut ledger, &frozen, solve);
    info.objective = 0.0;
    finish(&ledger, info)
}

/// Writes the aggregate's specialties and reserves into the ledger; sessions that
/// carry previous bookings keep their specialty and enough room for them.
fn apply_decisions(ledger: &mut Ledger<'_>, decisions: &model::Decisions, options: &PlanOptions) {
    let previous = previous_minutes(ledger, options);
    let cap = ledger.cap();
    for s in 0..ledger.slots.len() {
        let mut specialty = decisions.specialty.get(s).copied().flatten();
        let mut reserve = decisions.reserve.get(s).copied().unwrap_or(0);
        if let Some(&(k, minutes)) = previous.get(&s) {
            specialty = Some(k);
            let capmin = capped_minutes(ledger.slots[s].minutes, cap);
            reserve = reserve.min(capmin.saturating_sub(minutes));
        }
        if ledger.slots[s].fixed.is_none() {
            ledger.set_specialty(s, specialty);
        }
        ledger.set_reserve(s, reserve);
    }
}

/// The previous plan's session decisions on this ledger's slots (sessions it no
/// longer has are dropped): the aggregate's MIP start when re-planning, since one
/// event rarely moves the optimum far.
fn previous_decisions(ledger: &Ledger<'_>, previous: &Plan) -> model::Decisions {
    let (_, slots) = indexes(ledger);
    let mut decisions = model::Decisions {
        specialty: ledger.slots.iter().map(|s| s.fixed).collect(),
        reserve: vec![0; ledger.slots.len()],
    };
    for session in &previous.sessions {
        let Some(&s) = slots.get(&(session.theatre.as_str(), session.date, session.period)) else {
            continue;
        };
        if ledger.slots[s].fixed.is_none() {
            decisions.specialty[s] = session
                .specialty
                .as_deref()
                .and_then(|k| ledger.specialties.iter().position(|x| x == k));
        }
        decisions.reserve[s] = session.reserved_emergency_min;
    }
    decisions
}

/// Per slot, the specialty and minutes of the previous plan's still-valid bookings.
fn previous_minutes(ledger: &Ledger<'_>, options: &PlanOptions) -> BTreeMap<usize, (usize, u32)> {
    let mut out = BTreeMap::new();
    let Some(previous) = &options.previous else {
        return out;
    };
    let (cases, slots) = indexes(ledger);
    for session in &previous.sessions {
        let Some(&s) = slots.get(&(session.theatre.as_str(), session.date, session.period)) else {
            continue;
        };
        for id in &session.cases {
            let Some(&c) = cases.get(id.as_str()) else {
                continue;
            };
            let Some(k) = ledger.case_specialty(c) else {
                continue;
            };
            let entry = out.entry(s).or_insert((k, 0));
            if entry.0 == k {
                entry.1 += ledger.case(c).duration_min;
            }
        }
    }
    out
}

type SlotKey<'s> = (&'s str, chrono::NaiveDate, crate::scenario::Period);

fn indexes<'l>(ledger: &'l Ledger<'_>) -> (HashMap<&'l str, usize>, HashMap<SlotKey<'l>, usize>) {
    let cases = ledger
        .scenario
        .waiting_list
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let slots = ledger
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                (s.theatre.as_str(), ledger.scenario.date(s.day), s.period),
                i,
            )
        })
        .collect();
    (cases, slots)
}

/// Books the previous plan's bookings that are still feasible, frozen ones first;
/// returns which cases are frozen (never moved by this plan).
fn load_previous(ledger: &mut Ledger<'_>, options: &PlanOptions) -> Vec<bool> {
    let mut frozen = vec![false; ledger.scenario.waiting_list.len()];
    let Some(previous) = &options.previous else {
        return frozen;
    };
    let mut wanted: Vec<(bool, u32, usize, usize)> = Vec::new();
    {
        let (cases, slots) = indexes(ledger);
        for session in &previous.sessions {
            let Some(&s) = slots.get(&(session.theatre.as_str(), session.date, session.period))
            else {
                continue;
            };
            let day = ledger.slots[s].day;
            for id in &session.cases {
                if let Some(&c) = cases.get(id.as_str()) {
                    wanted.push((day >= options.freeze_days, day, s, c));
                }
            }
        }
    }
    wanted.sort_unstable();
    for (movable, _, s, c) in wanted {
        if ledger.slots[s].specialty.is_none() && ledger.slots[s].fixed.is_none() {
            ledger.set_specialty(s, ledger.case_specialty(c));
        }
        if ledger.try_book(c, s) && !movable {
            frozen[c] = true;
        }
    }
    frozen
}

/// Makes every (site, day) meet hard constraint 6 on the ledger as it stands: partial
/// reserve in the free minutes of its sessions (cheapest: a minute for a minute),
/// then whole empty sessions; where even that is short, bookings that are not frozen
/// (then frozen ones) are removed until it fits, and where the day's sessions cannot
/// hold the need at all, every session is reserved whole.
pub(crate) fn ensure_reserve(ledger: &mut Ledger<'_>, frozen: &[bool]) {
    let cap = ledger.cap();
    for ((site, day), slots) in ledger.slots_by_site_day() {
        let need = ledger.reserve_need(site, day);
        if need == 0 {
            continue;
        }
        let total: u32 = slots.iter().map(|&s| ledger.slots[s].minutes).sum();
        if total < need {
            for &s in &slots {
                let cases = ledger.slots[s].cases.clone();
                for c in cases {
                    ledger.unbook(c, true);
                }
                ledger.set_reserve(s, ledger.slots[s].minutes);
            }
            continue;
        }
        loop {
            let reserved: u32 = slots.iter().map(|&s| ledger.slots[s].reserved).sum();
            let mut deficit = need.saturating_sub(reserved);
            if deficit == 0 {
                break;
            }
            // Partial reserve in free minutes, largest free first.
            let mut order = slots.clone();
            order.sort_by_key(|&s| (std::cmp::Reverse(ledger.slots[s].free(cap)), s));
            for &s in &order {
                if deficit == 0 {
                    break;
                }
                let free = ledger.slots[s].free(cap);
                let add = deficit.min(free);
                if add > 0 {
                    let r = ledger.slots[s].reserved + add;
                    ledger.set_reserve(s, r);
                    deficit -= add;
                }
            }
            // Whole empty sessions: beyond the cap a session's minutes still count.
            let mut empty: Vec<usize> = slots
                .iter()
                .copied()
                .filter(|&s| ledger.slots[s].cases.is_empty())
                .collect();
            empty.sort_by_key(|&s| (std::cmp::Reverse(ledger.slots[s].minutes), s));
            for s in empty {
                if deficit == 0 {
                    break;
                }
                let slot = &ledger.slots[s];
                let gain = slot.minutes - slot.reserved;
                if gain > 0 {
                    ledger.set_reserve(s, slot.minutes);
                    deficit = deficit.saturating_sub(gain);
                }
            }
            if deficit == 0 {
                break;
            }
            // Still short: remove the least valuable booking of the day and retry.
            let victim = slots
                .iter()
                .flat_map(|&s| ledger.slots[s].cases.iter().map(move |&c| (s, c)))
                .min_by(|&(sa, a), &(sb, b)| {
                    let va = (
                        frozen.get(a) == Some(&true),
                        case_value(ledger.scenario, a, ledger.slots[sa].day),
                    );
                    let vb = (
                        frozen.get(b) == Some(&true),
                        case_value(ledger.scenario, b, ledger.slots[sb].day),
                    );
                    va.0.cmp(&vb.0).then(va.1.total_cmp(&vb.1)).then(a.cmp(&b))
                });
            match victim {
                Some((_, c)) => ledger.unbook(c, false),
                None => break,
            }
        }
    }
}

/// What changed between `previous` and `plan` (case ids compared by session).
pub fn changes(scenario: &Scenario, previous: &Plan, plan: &Plan) -> Changes {
    let listed: BTreeSet<&str> = scenario
        .waiting_list
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let sessions =
        |p: &Plan| -> BTreeMap<String, (String, chrono::NaiveDate, crate::scenario::Period)> {
            p.sessions
                .iter()
                .flat_map(|s| {
                    s.cases
                        .iter()
                        .map(move |c| (c.clone(), (s.theatre.clone(), s.date, s.period)))
                })
                .collect()
        };
    let before = sessions(previous);
    let after = sessions(plan);
    let mut out = Changes::default();
    for (case, at) in &before {
        if !listed.contains(case.as_str()) {
            continue;
        }
        match after.get(case) {
            Some(now) if now == at => out.kept += 1,
            Some(_) => out.moved += 1,
            None => out.cancelled += 1,
        }
    }
    out.added = after.keys().filter(|c| !before.contains_key(*c)).count() as u32;
    out
}
