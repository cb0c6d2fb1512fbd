//! The optimisation models behind the planner: what is decided, what limits it, and
//! what a plan is worth.
//!
//! A plain case × session MIP does not reach trust scale (20,000 cases × ~2,500
//! sessions is 50 million columns before beds), so the planner decomposes:
//!
//! 1. [`aggregate`] — a small MIP over *case classes* and *session groups* decides
//!    which specialty takes each flexible session and how many minutes of which
//!    sessions are held back for the emergency stream, with the bed census and
//!    every class's deadline in view (a few thousand columns at trust scale).
//! 2. The planner ([`crate::planner`]) then books individual cases against the exact
//!    [`crate::ledger::Ledger`] in deadline order and repairs what is left.
//!
//! [`booking`] is the exact assignment of the due cases on the ledger the aggregate
//! leaves, which the planner solves instead of its booking heuristics when it is
//! small (benchmark-sized instances). [`exact`] is the full case-level MIP, used on
//! small instances to measure how far the decomposition is from the optimum. [`backend`] runs either model on the
//! good_lp backend the crate was built with.
//!
//! ## The objective, shared by all models and by [`score`]
//! The contract judges plans lexicographically: (1) fewest avoidable breaches from
//! P1a down, (2) most overdue cases booked from P1a down, longest waiters first,
//! (3) most theatre minutes. The models use weights that keep that order for any
//! realistic trade (a breach is worth at least 3⅓ overdue bookings, an overdue
//! booking at least 100 full sessions of minutes) while keeping coefficients within
//! seven orders of magnitude, which MIP solvers handle without numerical trouble.
//! A case booked on horizon day `t` is worth [`case_value`]:
//! - due inside the horizon and `t ≤ due`: `breach[p]` (an avoided breach);
//! - already overdue at the start: `overdue[p] × (1 + wait_bonus × min(1, wait/730 d))`;
//! - plus `per_minute × duration` for every booked case.
//!
//! Pure functions of their input: no clock, no threads, no global state.

pub mod aggregate;
pub mod backend;
pub mod booking;
pub mod exact;

use good_lp::{Constraint, Expression, ProblemVariables, Variable, VariableDefinition};

use crate::ledger::Ledger;
use crate::plan::Plan;
use crate::scenario::{Priority, Scenario};

/// The bed rows of each bed-sharing component of a network and night: the terms of
/// its pools' rows in `rows` (keyed by pool and night) together, and the room its
/// pooled reserve leaves ([`Ledger::shared_rooms`]). Empty rows are left out.
pub(crate) fn shared_bed_rows(
    ledger: &Ledger<'_>,
    rows: &std::collections::BTreeMap<(usize, u32), Vec<(usize, f64)>>,
) -> Vec<(Vec<(usize, f64)>, f64)> {
    let mut out = Vec::new();
    for (pools, room) in ledger.shared_rooms() {
        for (night, &room) in room.iter().enumerate() {
            let row: Vec<(usize, f64)> = pools
                .iter()
                .filter_map(|&p| rows.get(&(p, night as u32)))
                .flatten()
                .copied()
                .collect();
            if !row.is_empty() {
                out.push((row, room.max(0) as f64));
            }
        }
    }
    out
}

pub use aggregate::{Aggregate, Decisions, build};
pub use backend::{Backend, SolveError, SolveOptions, SolveStatus, Solved, solve};

/// Objective weights (see the module documentation for why these values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Value of booking a case due inside the horizon on or before its due date,
    /// by priority (P1a first).
    pub breach: [f64; 5],
    /// Value of booking an already-overdue case, by priority.
    pub overdue: [f64; 5],
    /// Extra share of `overdue` for the longest waiters (reached at two years).
    pub wait_bonus: f64,
    /// Value of each booked theatre minute.
    pub per_minute: f64,
}

/// The weights every model and [`score`] use.
pub const WEIGHTS: Weights = Weights {
    breach: [50_000.0, 20_000.0, 8_000.0, 4_000.0, 2_000.0],
    overdue: [500.0, 400.0, 300.0, 200.0, 100.0],
    wait_bonus: 0.2,
    per_minute: 0.01,
};

/// Where a case stands against its due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Due on this horizon day: booked later (or not at all) is an avoidable breach.
    Due(u32),
    /// Due before the horizon starts: booking it counts as an overdue case booked.
    Overdue,
    /// Due after the horizon, or never (P4 without `due`).
    Later,
}

/// Where `scenario`'s case `c` stands against its due date.
pub fn tier(scenario: &Scenario, c: usize) -> Tier {
    let Some(case) = scenario.waiting_list.get(c) else {
        return Tier::Later;
    };
    match case.due_date().map(|d| scenario.day_index(d)) {
        Some(d) if d < 0 => Tier::Overdue,
        Some(d) if d < i64::from(scenario.horizon_days) => Tier::Due(d as u32),
        _ => Tier::Later,
    }
}

/// Value of booking case `c` of `scenario` on horizon day `day` (see the module
/// documentation); 0 for an unknown case.
pub fn case_value(scenario: &Scenario, c: usize, day: u32) -> f64 {
    let Some(case) = scenario.waiting_list.get(c) else {
        return 0.0;
    };
    let p = case.priority.index();
    let minutes = WEIGHTS.per_minute * f64::from(case.duration_min);
    match tier(scenario, c) {
        Tier::Due(d) if day <= d => WEIGHTS.breach[p] + minutes,
        Tier::Due(_) | Tier::Later => minutes,
        Tier::Overdue => WEIGHTS.overdue[p] * wait_factor(scenario, c) + minutes,
    }
}

/// `1 + wait_bonus × min(1, days waited at the start / 730)`.
fn wait_factor(scenario: &Scenario, c: usize) -> f64 {
    let waited = scenario
        .waiting_list
        .get(c)
        .map(|case| (scenario.start - case.listed).num_days().max(0))
        .unwrap_or(0);
    1.0 + WEIGHTS.wait_bonus * (waited as f64 / 730.0).min(1.0)
}

/// The objective value of `plan` for `scenario`: Σ [`case_value`] over booked cases.
/// Cases or sessions the scenario does not know are ignored (the checker reports them).
pub fn score(scenario: &Scenario, plan: &Plan) -> f64 {
    let index: std::collections::HashMap<&str, usize> = scenario
        .waiting_list
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut total = 0.0;
    for session in &plan.sessions {
        let Some(day) = scenario.day_in_horizon(session.date) else {
            continue;
        };
        for id in &session.cases {
            if let Some(&c) = index.get(id.as_str()) {
                total += case_value(scenario, c, day);
            }
        }
    }
    total
}

/// Σ [`case_value`] over the cases booked in `ledger`.
pub fn ledger_score(ledger: &Ledger<'_>) -> f64 {
    ledger
        .slots
        .iter()
        .flat_map(|slot| {
            slot.cases
                .iter()
                .map(move |&c| case_value(ledger.scenario, c, slot.day))
        })
        .sum()
}

/// Whether `priority` has a breach weight at least as large as `other`'s
/// (used to order evictions).
pub fn more_urgent(priority: Priority, other: Priority) -> bool {
    priority.index() <= other.index()
}

/// A linear model in good_lp terms, independent of any solver: its variables (in
/// creation order, so a column's index is its position), objective (maximised) and
/// constraints.
pub struct LpModel {
    vars: ProblemVariables,
    columns: Vec<Variable>,
    objective: Expression,
    objective_terms: Vec<(usize, f64)>,
    constraints: Vec<Constraint>,
    integers: usize,
    start: Vec<(usize, f64)>,
}

/// Size of a built model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelStats {
    /// Variables.
    pub columns: usize,
    /// Integer or binary variables among them.
    pub integers: usize,
    /// Constraints.
    pub rows: usize,
}

impl LpModel {
    fn new() -> Self {
        LpModel {
            vars: ProblemVariables::new(),
            columns: Vec::new(),
            objective: Expression::default(),
            objective_terms: Vec::new(),
            constraints: Vec::new(),
            integers: 0,
            start: Vec::new(),
        }
    }

    /// A MIP start: values for (some of) the integer columns, e.g. the previous
    /// plan's decisions. Backends that take one (HiGHS) fix these values, complete
    /// the continuous columns with an LP and, when that is feasible, begin the
    /// branch-and-bound with it as the incumbent; an infeasible start is ignored, so
    /// a start only ever saves time. Other backends ignore it.
    pub fn set_start(&mut self, start: Vec<(usize, f64)>) {
        self.start = start
            .into_iter()
            .filter(|&(column, _)| column < self.columns.len())
            .collect();
    }

    /// Adds a variable and returns its column index.
    fn add(&mut self, def: VariableDefinition, integer: bool) -> usize {
        let def = if integer { def.integer() } else { def };
        self.integers += usize::from(integer);
        let v = self.vars.add(def);
        self.columns.push(v);
        self.columns.len() - 1
    }

    fn add_objective(&mut self, column: usize, coefficient: f64) {
        if coefficient != 0.0 {
            self.objective.add_mul(coefficient, self.columns[column]);
            self.objective_terms.push((column, coefficient));
        }
    }

    fn expr(&self, terms: &[(usize, f64)]) -> Expression {
        let mut e = Expression::with_capacity(terms.len());
        for &(column, coefficient) in terms {
            e.add_mul(coefficient, self.columns[column]);
        }
        e
    }

    /// `Σ terms ≤ rhs`.
    fn leq(&mut self, terms: &[(usize, f64)], rhs: f64) {
        if terms.is_empty() {
            return;
        }
        let e = self.expr(terms);
        self.constraints.push(e.leq(rhs));
    }

    /// `Σ terms ≥ rhs`.
    fn geq(&mut self, terms: &[(usize, f64)], rhs: f64) {
        if terms.is_empty() {
            return;
        }
        let e = self.expr(terms);
        self.constraints.push(e.geq(rhs));
    }

    /// `Σ terms = rhs`.
    fn eq(&mut self, terms: &[(usize, f64)], rhs: f64) {
        if terms.is_empty() {
            return;
        }
        let e = self.expr(terms);
        self.constraints.push(e.eq(rhs));
    }

    /// The model's size.
    pub fn stats(&self) -> ModelStats {
        ModelStats {
            columns: self.columns.len(),
            integers: self.integers,
            rows: self.constraints.len(),
        }
    }
}

impl std::fmt::Debug for LpModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LpModel")
            .field("stats", &self.stats())
            .finish()
    }
}
