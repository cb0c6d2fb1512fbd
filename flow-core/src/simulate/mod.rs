//! Monte Carlo simulation: the emergency and trauma stream replayed against a plan.
//!
//! A plan is a bet against tonight's emergencies. This module replays, many times, what
//! the bet could meet — emergency admissions into every bed pool, emergency/trauma
//! theatre cases at every site, the plan's elective patients and the current
//! inpatients — and counts what a hospital would live through: on-the-day
//! cancellations, patients boarding in A&E, 12-hour waits, trauma cases operated outside
//! their urgency window, overrunning lists. It reads the scenario and the plan document
//! and nothing a planner uses (beyond the contract types), so plans from any planner, or
//! written by hand, are scored alike.
//!
//! ## The model (one replication)
//! Time runs in minutes from 00:00 of day 0 to the end of the horizon.
//! - **Emergency admissions** into a pool arrive Poisson with the scenario's weekday
//!   mean for the day, at uniform times over the day, and stay a geometric number of
//!   nights (mean `los_mean_nights`, at least one), leaving at
//!   [`SimOptions::discharge_hour`]: exactly the stream behind `m(t)` in `CONTRACT.md`, so
//!   with unlimited beds the emergency census on night t is Poisson(m(t)). With
//!   [`StayModel::Exponential`] stays are continuous instead (the M/M/c/c loss system
//!   of queueing theory, used to check the engine against Erlang-B). A patient finding
//!   no free bed in the pool *outlies* to the emptiest other pool of the site when
//!   [`SimOptions::outlying`] allows, and otherwise *boards* in A&E, first come first
//!   served, until a bed of the pool frees (boarding hours; a wait of 12 hours or more
//!   is a 12-hour wait). The stay counts from arrival: a boarder whose stay ends before
//!   a bed frees goes home from A&E.
//! - **Current inpatients** leave on their expected discharge date (optionally jittered
//!   by [`SimOptions::inpatient_jitter_days`]).
//! - **Elective patients** come in per the plan. When its case is about to start, a
//!   patient with an overnight stay claims a bed of its first stay pool; none free means
//!   an on-the-day cancellation (no bed). A case that would end more than
//!   [`SimOptions::overrun_allowance_min`] after its list ends is cancelled (no theatre
//!   time). Actual case times are log-normal around the booked `duration_min`
//!   ([`SimOptions::elective_duration_cv`]). Stay segments follow each other; a patient
//!   stepping down into a full pool is put in an escalation bed over capacity.
//! - **Emergency theatre cases** arrive Poisson per site with log-normal durations of the
//!   scenario's mean and sd, and an urgency drawn from [`UrgencyMix`]: immediate,
//!   urgent, expedited (NCEPOD) or hip fracture, each with a window
//!   ([`UrgencyWindows`]). They wait in earliest-deadline order and are taken by, in
//!   turn, an idle emergency-theatre list at the site, an idle elective list, or an
//!   elective list at its next break between cases when the case is immediate, the
//!   list still holds reserved minutes, or the case would breach while the next
//!   elective case runs — then elective cases behind it may run out of time (bumped).
//!   Nothing is pre-empted. While no list is open at the site, the on-call team
//!   operates at once on every case that cannot wait for the next list (immediate
//!   cases, and those whose window closes before it opens; [`SimOptions::on_call`]).
//!   A case started after its deadline, or still waiting past it at the end, is a
//!   window breach.
//! - Lists open at 08:00 (am), 13:00 (pm) and 18:00 (eve) and last their `minutes`.
//! - **Clinical networks.** At every midnight, patients boarding for a pool that
//!   linked pools lend beds to move into those beds, as many as a maximum flow over
//!   the lending links places (`lending.rs`; [`RunOutcome::network_transfers`], and
//!   [`RunOutcome::refused_transfers`] for those left); at the start of each day,
//!   emergency patients at a repatriation link's centre admitted `after_nights` ago
//!   and staying that night go home to the unit while it has a free bed, at most
//!   `max_per_day` ([`RunOutcome::repatriations`]) — the patients the reserve's census
//!   transform moves.
//!
//! Each replication draws from ChaCha8 streams seeded by ([`SimOptions::seed`], purpose)
//! with the stream number set to the run index: any run can be computed on its own, the
//! same (seed, run) always gives the same outcome, and two plans of one scenario meet
//! the very same emergencies in run r (common random numbers), which sharpens every
//! comparison between them.
//!
//! ## API
//! [`Simulator::new`] indexes a scenario and plan once; [`Simulator::replicate`] runs one
//! replication; [`summarise`] turns outcomes into means with 95% confidence intervals.
//! [`replicate`] and [`simulate`] are the one-call forms. flow-core never runs
//! replications in parallel: callers (flowd) do, collecting outcomes in run order so the
//! summary does not depend on the thread count. [`policy`] holds the scenario transforms
//! that compare emergency theatre and bed-reserve policies.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::error::Result;
use crate::plan::Plan;
use crate::scenario::Scenario;

mod engine;
mod lending;
pub mod policy;
mod world;

#[cfg(test)]
mod tests;

pub use world::Simulator;

/// How emergency admissions' stays are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StayModel {
    /// Geometric whole nights (mean `los_mean_nights`, at least one), discharged at
    /// [`SimOptions::discharge_hour`]: the model of `CONTRACT.md`.
    #[default]
    Geometric,
    /// Exponential stays in continuous time (mean `los_mean_nights` days): with constant
    /// arrival rates and outlying to a roomy pool this is the M/M/c/c loss system whose
    /// blocking probability is Erlang-B.
    Exponential,
}

/// Shares of emergency theatre cases by urgency (normalised to sum 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UrgencyMix {
    /// NCEPOD immediate: life-, limb- or organ-saving, within minutes.
    pub immediate: f64,
    /// NCEPOD urgent: acute onset or deterioration, within hours.
    pub urgent: f64,
    /// NCEPOD expedited: stable, needing early intervention, within days.
    pub expedited: f64,
    /// Hip fractures: surgery within 36 hours of arrival (NICE CG124, NHFD).
    pub hip_fracture: f64,
}

impl Default for UrgencyMix {
    /// A mixed CEPOD list: 5% immediate, 35% urgent, 45% expedited, 15% hip fractures.
    fn default() -> Self {
        UrgencyMix {
            immediate: 0.05,
            urgent: 0.35,
            expedited: 0.45,
            hip_fracture: 0.15,
        }
    }
}

/// Time from arrival to knife-to-skin each urgency allows, in hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UrgencyWindows {
    /// Immediate (default 1 hour).
    pub immediate_h: f64,
    /// Urgent (default 6 hours, NCEPOD 2A).
    pub urgent_h: f64,
    /// Expedited (default 72 hours).
    pub expedited_h: f64,
    /// Hip fracture (default 36 hours).
    pub hip_fracture_h: f64,
}

impl Default for UrgencyWindows {
    fn default() -> Self {
        UrgencyWindows {
            immediate_h: 1.0,
            urgent_h: 6.0,
            expedited_h: 72.0,
            hip_fracture_h: 36.0,
        }
    }
}

/// Everything a replication needs besides the scenario and plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimOptions {
    /// Seed of every random draw; run r uses stream r of it.
    pub seed: u64,
    /// Hour of the day (0–24) at which planned discharges and step-downs happen
    /// (default 8: beds are freed before the morning lists start).
    pub discharge_hour: f64,
    /// Emergency patients finding their pool full take a free bed of another pool of the
    /// same site (outliers) instead of boarding in A&E (default false).
    pub outlying: bool,
    /// How emergency stays are drawn (default geometric nights, as the contract).
    pub stay_model: StayModel,
    /// Coefficient of variation of actual elective case times around the booked
    /// `duration_min` (log-normal; 0 = exactly as booked; default 0.15).
    pub elective_duration_cv: f64,
    /// How long past its end a list may run to start one more elective case
    /// (default 30 minutes).
    pub overrun_allowance_min: f64,
    /// Emergency theatre case mix.
    pub urgency: UrgencyMix,
    /// Emergency theatre case windows.
    pub windows: UrgencyWindows,
    /// While no list is open at a site, cases that cannot wait for its next list
    /// (immediate ones, and those whose window ends before it opens) are operated on at
    /// once by the on-call team (default true); otherwise every case waits for a list.
    pub on_call: bool,
    /// Current inpatients leave up to this many days before or after their expected
    /// discharge, uniformly (default 0: on the day).
    pub inpatient_jitter_days: u32,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 1,
            discharge_hour: 8.0,
            outlying: false,
            stay_model: StayModel::Geometric,
            elective_duration_cv: 0.15,
            overrun_allowance_min: 30.0,
            urgency: UrgencyMix::default(),
            windows: UrgencyWindows::default(),
            on_call: true,
            inpatient_jitter_days: 0,
        }
    }
}

impl SimOptions {
    /// The default options with `seed`.
    pub fn with_seed(seed: u64) -> Self {
        SimOptions {
            seed,
            ..SimOptions::default()
        }
    }
}

/// What one replication counted. Counts are per replication over the whole horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutcome {
    /// The run index (the RNG stream).
    pub run: u64,
    /// Booked elective cases cancelled on the day, for any reason.
    pub elective_cancellations: u32,
    /// … of which no bed of the first stay pool was free when the case was due to start.
    pub cancelled_no_bed: u32,
    /// … of which the list ran out of time (emergencies or long cases before it).
    pub cancelled_no_theatre_time: u32,
    /// Elective cases operated.
    pub electives_done: u32,
    /// Elective theatre minutes operated (actual times).
    pub elective_minutes_done: f64,
    /// Minutes elective lists ran past their end, summed over lists.
    pub session_overrun_minutes: f64,
    /// Avoidable breaches as they turn out: cases due inside the horizon that the plan
    /// leaves unscheduled or books late, plus those booked in time but cancelled.
    pub avoidable_breaches: u32,
    /// Patients present at midnight without a staffed bed of their pool (boarding,
    /// outlying, or in an escalation bed over capacity), summed over nights.
    pub bed_overflow_patient_nights: u32,
    /// Hours emergency patients spent boarding in A&E waiting for a bed.
    pub boarding_hours: f64,
    /// Emergency patients who waited 12 hours or more for a bed.
    pub twelve_hour_waits: u32,
    /// Emergency admissions.
    pub emergency_admissions: u32,
    /// Emergency admissions placed in another pool's bed.
    pub outlied_admissions: u32,
    /// Emergency theatre cases.
    pub trauma_cases: u32,
    /// Emergency theatre cases operated after their urgency window (or still waiting
    /// past it at the end of the horizon).
    pub trauma_window_breaches: u32,
    /// … of which hip fractures past 36 hours.
    pub hip_fracture_breaches: u32,
    /// Hours emergency theatre cases waited from arrival to knife-to-skin.
    pub trauma_wait_hours: f64,
    /// Emergency cases operated by the on-call team outside any list (out of hours).
    pub on_call_cases: u32,
    /// Emergency theatre minutes operated inside elective lists.
    pub emergency_minutes_in_elective_lists: f64,
    /// Mean over pools and nights of occupied staffed beds ÷ open beds.
    pub mean_bed_occupancy: f64,
    /// Per pool (in [`Simulator::pools`] order): the highest midnight count of patients
    /// in or waiting for a bed of the pool, divided by its open beds (above 1 means
    /// patients boarded or outlied).
    pub peak_occupancy: Vec<f64>,
    /// Per pool and night: emergency patients present at midnight (in a bed, boarding
    /// or outlying), whatever the capacity.
    pub emergency_census: Vec<Vec<u32>>,
    /// Emergency patients moved at midnight into a bed another site's pool lends
    /// theirs (`network.links[].beds`), placed by maximum flow.
    pub network_transfers: u32,
    /// Patients still boarding at midnight in a pool that has lenders (every lent bed
    /// taken, or none free), summed over nights.
    pub refused_transfers: u32,
    /// Emergency patients returned from a centre to their unit after the link's
    /// `repatriation.after_nights` (a free bed at the unit permitting).
    pub repatriations: u32,
    /// Per pool and night: patients at midnight without a bed of the pool (boarding,
    /// or in an escalation bed over capacity), after tonight's transfers.
    pub pool_overflow: Vec<Vec<u32>>,
}

/// Names of the scalar figures of a [`RunOutcome`], in report order.
pub const FIGURES: [&str; 22] = [
    "elective_cancellations",
    "cancelled_no_bed",
    "cancelled_no_theatre_time",
    "electives_done",
    "elective_minutes_done",
    "session_overrun_minutes",
    "avoidable_breaches",
    "bed_overflow_patient_nights",
    "boarding_hours",
    "twelve_hour_waits",
    "emergency_admissions",
    "outlied_admissions",
    "trauma_cases",
    "trauma_window_breaches",
    "hip_fracture_breaches",
    "trauma_wait_hours",
    "on_call_cases",
    "emergency_minutes_in_elective_lists",
    "mean_bed_occupancy",
    "network_transfers",
    "refused_transfers",
    "repatriations",
];

impl RunOutcome {
    /// The scalar figures, in [`FIGURES`] order.
    pub fn scalars(&self) -> [f64; 22] {
        [
            f64::from(self.elective_cancellations),
            f64::from(self.cancelled_no_bed),
            f64::from(self.cancelled_no_theatre_time),
            f64::from(self.electives_done),
            self.elective_minutes_done,
            self.session_overrun_minutes,
            f64::from(self.avoidable_breaches),
            f64::from(self.bed_overflow_patient_nights),
            self.boarding_hours,
            f64::from(self.twelve_hour_waits),
            f64::from(self.emergency_admissions),
            f64::from(self.outlied_admissions),
            f64::from(self.trauma_cases),
            f64::from(self.trauma_window_breaches),
            f64::from(self.hip_fracture_breaches),
            self.trauma_wait_hours,
            f64::from(self.on_call_cases),
            self.emergency_minutes_in_elective_lists,
            self.mean_bed_occupancy,
            f64::from(self.network_transfers),
            f64::from(self.refused_transfers),
            f64::from(self.repatriations),
        ]
    }
}

/// One figure over all runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureSummary {
    /// Figure name (one of [`FIGURES`], or `peak_occupancy[site/kind]`).
    pub name: String,
    /// Mean over runs.
    pub mean: f64,
    /// Sample standard deviation over runs (0 for one run).
    pub sd: f64,
    /// 95% confidence interval of the mean: `mean ± t(0.975, n−1)·sd/√n`.
    pub ci95: [f64; 2],
}

/// Every figure over all runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Number of runs summarised.
    pub runs: usize,
    /// The figures, scalar ones in [`FIGURES`] order, then peak occupancy per pool.
    pub figures: Vec<FigureSummary>,
}

impl Summary {
    /// The figure called `name`, if any.
    pub fn figure(&self, name: &str) -> Option<&FigureSummary> {
        self.figures.iter().find(|f| f.name == name)
    }

    /// The mean of figure `name` (NaN when there is no such figure).
    pub fn mean(&self, name: &str) -> f64 {
        self.figure(name).map_or(f64::NAN, |f| f.mean)
    }
}

/// Mean, sample sd and t-based 95% confidence interval of `values`.
pub fn mean_ci(values: &[f64]) -> (f64, f64, [f64; 2]) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, [f64::NAN, f64::NAN]);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0, [mean, mean]);
    }
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.max(0.0).sqrt();
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .map(|d| d.inverse_cdf(0.975))
        .unwrap_or(1.959_963_984_540_054);
    let half = t * sd / (n as f64).sqrt();
    (mean, sd, [mean - half, mean + half])
}

/// Summarises outcomes (in any order: the figures are symmetric in the runs) with
/// `pools` naming the peak-occupancy figures (as [`Simulator::pools`]).
pub fn summarise_with_pools(outcomes: &[RunOutcome], pools: &[String]) -> Summary {
    let mut figures = Vec::with_capacity(FIGURES.len() + pools.len());
    let scalars: Vec<[f64; 22]> = outcomes.iter().map(RunOutcome::scalars).collect();
    for (i, name) in FIGURES.iter().enumerate() {
        let values: Vec<f64> = scalars.iter().map(|s| s[i]).collect();
        figures.push(figure(name.to_string(), &values));
    }
    let n_pools = outcomes.first().map_or(0, |o| o.peak_occupancy.len());
    for p in 0..n_pools {
        let values: Vec<f64> = outcomes
            .iter()
            .map(|o| o.peak_occupancy.get(p).copied().unwrap_or(f64::NAN))
            .collect();
        let name = pools
            .get(p)
            .map_or_else(|| format!("pool{p}"), String::clone);
        figures.push(figure(format!("peak_occupancy[{name}]"), &values));
    }
    Summary {
        runs: outcomes.len(),
        figures,
    }
}

/// Summarises outcomes; peak occupancy figures are named `peak_occupancy[pool<i>]`. Use
/// [`Simulator::summarise`] to name them by pool.
pub fn summarise(outcomes: &[RunOutcome]) -> Summary {
    summarise_with_pools(outcomes, &[])
}

fn figure(name: String, values: &[f64]) -> FigureSummary {
    let (mean, sd, ci95) = mean_ci(values);
    FigureSummary {
        name,
        mean,
        sd,
        ci95,
    }
}

/// One replication of `plan` against `scenario`: indexes both and runs `run`.
/// Prefer [`Simulator`] for many runs (it indexes once).
pub fn replicate(
    scenario: &Scenario,
    plan: &Plan,
    options: &SimOptions,
    run: u64,
) -> Result<RunOutcome> {
    Ok(Simulator::new(scenario, plan, options)?.replicate(run))
}

/// `runs` replications (0..runs), one after the other, summarised.
pub fn simulate(
    scenario: &Scenario,
    plan: &Plan,
    options: &SimOptions,
    runs: u64,
) -> Result<Summary> {
    let sim = Simulator::new(scenario, plan, options)?;
    let outcomes: Vec<RunOutcome> = (0..runs).map(|r| sim.replicate(r)).collect();
    Ok(sim.summarise(&outcomes))
}

/// Erlang's loss formula B(c, a): the probability that an arrival finds all `servers`
/// busy in an M/G/c/c system offered `load` erlangs.
pub fn erlang_b(servers: u32, load: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=servers {
        b = load * b / (f64::from(k) + load * b);
    }
    b
}
