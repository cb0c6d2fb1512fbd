//! Solver backends: runs an [`LpModel`] on the good_lp backend the crate was built
//! with, under a time limit and a relative MIP gap, and returns the column values.
//!
//! Backends are cargo features, gated the way good_lp gates them: `highs` (default),
//! `cbc` (system CBC, single-threaded build) and `microlp` (pure Rust). At least one
//! must be enabled. The default is chosen by measurement on the aggregate model
//! (release, the 2 shared cores, `examples/stages.rs`, 1% gap): at medium (≈1,300
//! columns, ≈300 integers) all three finish in 0.1–1.6 s; at large (≈10,700 columns,
//! ≈1,300 integers) HiGHS needed 2.6–6 s, CBC 9–62 s, and microlp found no feasible
//! solution in 60 s. HiGHS is also thread-safe, CBC is not. (Since then the model
//! is sparser and HiGHS solves its root LP with IPX: large takes 1.3–1.9 s.)
//!
//! Every backend is driven through good_lp's `Solver`/`SolverModel` traits, so the
//! model is built once and generically ([`solve_with`]). HiGHS is then taken one step
//! further down, to its own `highs::Model`, for what good_lp does not surface: the
//! achieved MIP gap, the thread count (1, so the same input gives the same plan) and
//! quiet output. Outcomes are data: a time limit with a solution is
//! [`SolveStatus::TimeLimit`], not an error; only "no solution at all" is an error
//! and the planner falls back to its heuristic then. flow-core never reads the clock:
//! the limit is handed to the solver.

use good_lp::{
    ResolutionError, Solution, SolutionStatus, Solver, SolverModel, WithMipGap, WithTimeLimit,
};

use super::LpModel;

#[cfg(not(any(feature = "highs", feature = "cbc", feature = "microlp")))]
compile_error!(
    "flow-core needs a solver backend: enable one of the features `highs` (default), `cbc` or `microlp`"
);

/// A good_lp backend flow-core can be built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// HiGHS (feature `highs`, the default).
    Highs,
    /// COIN-OR CBC (feature `cbc`).
    Cbc,
    /// microlp, pure Rust (feature `microlp`).
    Microlp,
}

impl Backend {
    /// The name written into a plan's `solver.backend`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Highs => "highs",
            Backend::Cbc => "cbc",
            Backend::Microlp => "microlp",
        }
    }

    /// Whether this build includes the backend.
    pub fn available(self) -> bool {
        match self {
            Backend::Highs => cfg!(feature = "highs"),
            Backend::Cbc => cfg!(feature = "cbc"),
            Backend::Microlp => cfg!(feature = "microlp"),
        }
    }

    /// The backends this build includes, preferred first (HiGHS, CBC, microlp).
    pub fn all_available() -> Vec<Backend> {
        [Backend::Highs, Backend::Cbc, Backend::Microlp]
            .into_iter()
            .filter(|b| b.available())
            .collect()
    }

    /// The preferred backend of this build.
    pub fn default_available() -> Backend {
        Backend::all_available()
            .first()
            .copied()
            .unwrap_or(Backend::Microlp)
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long and how precisely to solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolveOptions {
    /// The backend to use; must be [`Backend::available`].
    pub backend: Backend,
    /// Seconds the solver may spend (its own clock); `None` for no limit.
    pub time_limit: Option<f64>,
    /// Relative MIP gap at which the solver may stop (0.01 = 1%).
    pub mip_gap: f64,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            backend: Backend::default_available(),
            time_limit: None,
            mip_gap: 0.01,
        }
    }
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveStatus {
    /// Proven optimal.
    Optimal,
    /// Within the requested MIP gap.
    GapLimit,
    /// Stopped by the time (or another work) limit with a feasible solution.
    TimeLimit,
}

impl SolveStatus {
    /// The plan's `solver.status` spelling: `optimal`, or `feasible` for a solution
    /// that is not proven optimal.
    pub fn as_str(self) -> &'static str {
        match self {
            SolveStatus::Optimal => "optimal",
            SolveStatus::GapLimit | SolveStatus::TimeLimit => "feasible",
        }
    }
}

/// A solved model.
#[derive(Debug, Clone, PartialEq)]
pub struct Solved {
    /// Value of every column, by column index.
    pub values: Vec<f64>,
    /// How it ended.
    pub status: SolveStatus,
    /// Relative gap between the solution and the best bound: 0 when optimal, the
    /// solver's figure for HiGHS, the requested gap (an upper bound) for other
    /// backends at the gap limit, and 1 when a backend stops on time without one.
    pub gap: f64,
    /// The model's objective at `values`.
    pub objective: f64,
}

/// Why no solution came back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SolveError {
    /// The backend is not compiled into this build.
    #[error("solver backend `{0}` is not enabled in this build")]
    Unavailable(Backend),
    /// The model has no feasible solution (a modelling bug: the planner's models
    /// always admit the empty plan).
    #[error("the model is infeasible")]
    Infeasible,
    /// The solver stopped (time limit or failure) without any feasible solution.
    #[error("the solver returned no solution: {0}")]
    NoSolution(String),
}

/// Solves `model` with `options`.
pub fn solve(model: LpModel, options: &SolveOptions) -> Result<Solved, SolveError> {
    match options.backend {
        #[cfg(feature = "highs")]
        Backend::Highs => solve_highs(model, options),
        #[cfg(feature = "cbc")]
        Backend::Cbc => solve_with(model, good_lp::solvers::coin_cbc::coin_cbc, options),
        #[cfg(feature = "microlp")]
        Backend::Microlp => solve_with(model, good_lp::solvers::microlp::microlp, options),
        #[allow(unreachable_patterns)]
        other => Err(SolveError::Unavailable(other)),
    }
}

/// Solves `model` on any good_lp solver that takes a time limit and a MIP gap — the
/// generic path every backend could use.
pub fn solve_with<S>(
    model: LpModel,
    solver: S,
    options: &SolveOptions,
) -> Result<Solved, SolveError>
where
    S: Solver,
    S::Model: WithTimeLimit + WithMipGap,
{
    let LpModel {
        vars,
        columns,
        objective,
        constraints,
        objective_terms,
        ..
    } = model;
    let mut problem = vars.maximise(objective).using(solver).with_all(constraints);
    if let Some(limit) = options.time_limit {
        problem = problem.with_time_limit(limit.max(0.0));
    }
    if options.mip_gap > 0.0 {
        problem = problem
            .with_mip_gap(options.mip_gap as f32)
            .map_err(|e| SolveError::NoSolution(e.to_string()))?;
    }
    let solution = problem.solve().map_err(|e| {
        let e: ResolutionError = to_resolution_error(e);
        match e {
            ResolutionError::Infeasible => SolveError::Infeasible,
            other => SolveError::NoSolution(other.to_string()),
        }
    })?;
    let (status, gap) = match solution.status() {
        SolutionStatus::Optimal => (SolveStatus::Optimal, 0.0),
        SolutionStatus::GapLimit => (SolveStatus::GapLimit, options.mip_gap),
        SolutionStatus::TimeLimit => (SolveStatus::TimeLimit, 1.0),
    };
    let values: Vec<f64> = columns.iter().map(|&v| solution.value(v)).collect();
    let objective = objective_value(&objective_terms, &values);
    Ok(Solved {
        values,
        status,
        gap,
        objective,
    })
}

fn to_resolution_error<E: std::error::Error>(e: E) -> ResolutionError {
    let text = e.to_string();
    if text.to_lowercase().contains("infeasible") {
        ResolutionError::Infeasible
    } else {
        ResolutionError::Str(text)
    }
}

/// HiGHS through good_lp's model builder, then its own `Model` for threads, quiet
/// output and the achieved gap.
#[cfg(feature = "highs")]
fn solve_highs(model: LpModel, options: &SolveOptions) -> Result<Solved, SolveError> {
    use highs::{HighsModelStatus, HighsSolutionStatus};

    let LpModel {
        vars,
        columns,
        objective,
        constraints,
        objective_terms,
        start,
        ..
    } = model;
    let problem = vars
        .maximise(objective)
        .using(good_lp::solvers::highs::highs)
        .with_all(constraints);
    let mut inner = problem
        .try_into_inner()
        .map_err(|e| SolveError::NoSolution(e.to_string()))?;
    inner.make_quiet();
    let set = |m: &mut highs::Model, name: &str, value: HighsValue| {
        let ok = match value {
            HighsValue::Int(v) => m.try_set_option(name, v).is_ok(),
            HighsValue::Float(v) => m.try_set_option(name, v).is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(SolveError::NoSolution(format!(
                "HiGHS rejected option {name}"
            )))
        }
    };
    // One thread and a fixed seed: the same model gives the same solution.
    set(&mut inner, "threads", HighsValue::Int(1))?;
    set(&mut inner, "random_seed", HighsValue::Int(0))?;
    // The aggregate's optimum is found late by default heuristics; more effort
    // roughly halved medium solve times (0.7–1.6 s → 0.1–0.8 s) in measurement.
    set(&mut inner, "mip_heuristic_effort", HighsValue::Float(0.3))?;
    if !start.is_empty() {
        let mut values = vec![0.0; columns.len()];
        for &(column, value) in &start {
            values[column] = value;
        }
        // A start HiGHS cannot use only costs the attempt; the solve goes on.
        let _ = inner.try_set_solution(Some(&values), None, None, None);
    }
    // The root LP dominates at trust scale (degenerate for the simplex: 27k
    // iterations at large); the interior-point solver IPX takes it in a third of the
    // time (large: 4.4–5.3 s → 1.6–1.9 s in total; medium unchanged).
    if inner.try_set_option("mip_lp_solver", "ipx").is_err() {
        return Err(SolveError::NoSolution(
            "HiGHS rejected option mip_lp_solver".into(),
        ));
    }
    set(
        &mut inner,
        "mip_rel_gap",
        HighsValue::Float(options.mip_gap.max(0.0)),
    )?;
    if let Some(limit) = options.time_limit {
        set(&mut inner, "time_limit", HighsValue::Float(limit.max(0.0)))?;
    }
    let solved = inner
        .try_solve()
        .map_err(|e| SolveError::NoSolution(format!("HiGHS: {e:?}")))?;
    let status = match solved.status() {
        HighsModelStatus::Optimal
        | HighsModelStatus::ObjectiveBound
        | HighsModelStatus::ObjectiveTarget => {
            let gap = solved.mip_gap();
            if gap.is_finite() && gap > 1e-9 {
                SolveStatus::GapLimit
            } else {
                SolveStatus::Optimal
            }
        }
        HighsModelStatus::ReachedTimeLimit
        | HighsModelStatus::ReachedSolutionLimit
        | HighsModelStatus::ReachedInterrupt
        | HighsModelStatus::ReachedIterationLimit
        | HighsModelStatus::ReachedMemoryLimit => SolveStatus::TimeLimit,
        HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
            return Err(SolveError::Infeasible);
        }
        other => return Err(SolveError::NoSolution(format!("HiGHS: {other:?}"))),
    };
    if solved.primal_solution_status() != HighsSolutionStatus::Feasible {
        return Err(SolveError::NoSolution(
            "HiGHS found no feasible solution".into(),
        ));
    }
    let gap = match status {
        SolveStatus::Optimal => 0.0,
        _ => {
            let g = solved.mip_gap();
            if g.is_finite() {
                g.clamp(0.0, 1.0)
            } else {
                1.0
            }
        }
    };
    let solution = solved.get_solution();
    let raw = solution.columns();
    let values: Vec<f64> = (0..columns.len())
        .map(|i| raw.get(i).copied().unwrap_or(0.0))
        .collect();
    let objective = objective_value(&objective_terms, &values);
    Ok(Solved {
        values,
        status,
        gap,
        objective,
    })
}

/// An option value for HiGHS.
#[cfg(feature = "highs")]
enum HighsValue {
    Int(i32),
    Float(f64),
}

/// `Σ coefficient × value` over the objective's terms.
fn objective_value(terms: &[(usize, f64)], values: &[f64]) -> f64 {
    terms
        .iter()
        .map(|&(c, w)| w * values.get(c).copied().unwrap_or(0.0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::generate::{GenerateOptions, Size, generate};
    use crate::planner::{PlanOptions, plan};

    /// Every backend compiled in plans a tiny scenario feasibly.
    #[test]
    fn every_available_backend_plans_tiny() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 2));
        for backend in Backend::all_available() {
            let options = PlanOptions {
                backend: Some(backend),
                ..PlanOptions::default()
            };
            let p = plan(&s, &options).unwrap();
            assert_eq!(p.solver.backend, backend.as_str());
            assert_ne!(p.solver.status, "heuristic", "{backend}");
            assert!(check(&s, &p).is_ok(), "{backend}");
        }
    }

    #[test]
    fn a_backend_not_built_in_is_refused() {
        for backend in [Backend::Highs, Backend::Cbc, Backend::Microlp] {
            if !backend.available() {
                let options = PlanOptions {
                    backend: Some(backend),
                    ..PlanOptions::default()
                };
                let s = generate(&GenerateOptions::new(Size::Tiny, 1));
                assert!(plan(&s, &options).is_err());
            }
        }
    }
}
