//! The `flow.plan/1` document: which specialty takes each session, which cases are
//! booked into it, how many minutes it holds back for emergencies, why each other case
//! waits, and the bed census that results.
//!
//! Plain data under the contract's field names. A plan that ran out of time or found
//! no feasible booking is still a `Plan`, with its [`SolverInfo::status`] saying so.
//! Fields beyond the contract (`theatre_reserve`, `version`, `generated_at`,
//! `changes`, and for networks `transfers` and `network`) are documented extensions and default when absent, so older plans still parse.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::scenario::Period;

/// The schema tag a plan document carries.
pub const PLAN_SCHEMA: &str = "flow.plan/1";

/// A complete answer to a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Always `"flow.plan/1"`.
    #[schemars(extend("const" = "flow.plan/1"))]
    pub schema: String,
    /// The scenario's `name`.
    pub scenario: String,
    /// How the plan was found.
    pub solver: SolverInfo,
    /// Planned theatre sessions (each scenario session at most once).
    pub sessions: Vec<PlanSession>,
    /// Cases on the waiting list that this plan does not book, each with a reason.
    pub unscheduled: Vec<Unscheduled>,
    /// Bed census per pool and night that the plan implies.
    pub occupancy: Vec<Occupancy>,
    /// Extension: the emergency theatre reserve per site and day, and any shortfall.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub theatre_reserve: Vec<TheatreReserve>,
    /// Extension (daemon): the plan's version, incremented on every re-plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Extension (daemon): when this plan was made (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<String>,
    /// Extension (re-plan): how this plan differs from the previous plan it was made
    /// from; absent for a plan made from scratch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    /// Extension (networks): cases moved from their home site along a network link.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfers: Vec<Transfer>,
    /// Extension (networks): link use per day and the pooled bed reserve; absent for a
    /// plan without a network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "NetworkUse")]
    pub network: Option<NetworkUse>,
}

/// One case moved from its home site to the site that operates it (extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transfer {
    /// Case id (a booked waiting-list case).
    pub case: String,
    /// The case's `home_site`.
    pub from: String,
    /// The site of the theatre the case is booked in.
    pub to: String,
    /// The admission date (the booked session's date).
    pub date: NaiveDate,
    /// The link's travel time in minutes.
    pub travel_min: u32,
    /// Which judging tier the move serves.
    pub why: TransferWhy,
}

/// Why a case is moved, in the order a plan is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferWhy {
    /// Staying home, the case would breach its due date: no home session takes it on
    /// time.
    AvoidsBreach,
    /// The case is already overdue and no home session inside the horizon takes it.
    Overdue,
    /// The move fills elective theatre minutes that would otherwise go unused (no home
    /// session takes the case inside the horizon).
    Minutes,
}

impl TransferWhy {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferWhy::AvoidsBreach => "avoids_breach",
            TransferWhy::Overdue => "overdue",
            TransferWhy::Minutes => "minutes",
        }
    }
}

/// How a plan uses the network (extension).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct NetworkUse {
    /// Cases moved per directed link and day, against the link's cap.
    #[serde(default)]
    pub links: Vec<LinkUse>,
    /// The emergency bed reserve per bed kind and night, kept pool by pool and pooled
    /// over the pools that lend each other beds.
    #[serde(default)]
    pub reserve: Vec<PooledReserve>,
}

/// Use of one directed link on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LinkUse {
    /// Site the cases leave.
    pub from: String,
    /// Site the cases go to.
    pub to: String,
    /// Admission date.
    pub date: NaiveDate,
    /// Cases moved.
    pub used: u32,
    /// The link's `electives.max_per_day`.
    pub cap: u32,
}

/// The emergency bed reserve of one bed-sharing component on one night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PooledReserve {
    /// Bed kind.
    pub kind: String,
    /// The night (night of this date).
    pub date: NaiveDate,
    /// Sites whose pools of this kind lend each other beds (the component).
    pub pools: Vec<String>,
    /// The reserves kept pool by pool, summed.
    pub separate: u32,
    /// The reserve of the component's summed expected census.
    pub pooled: u32,
}

/// How a re-plan differs from the plan it started from (extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Changes {
    /// Cases booked in the same session as before.
    pub kept: u32,
    /// Cases booked before and now in a different session.
    pub moved: u32,
    /// Cases booked before, still on the waiting list, and now unscheduled.
    pub cancelled: u32,
    /// Cases booked now that were not booked before.
    pub added: u32,
}

/// Which backend solved the plan and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SolverInfo {
    /// `highs`, `cbc`, `microlp`, `greedy`, …
    pub backend: String,
    /// `optimal`, `feasible` (time or gap limit reached), `infeasible`, `heuristic`.
    pub status: String,
    /// Objective value in the planner's own units. A tool that reports none writes
    /// `null` (or leaves it out): that reads as NaN and is written back as `null`.
    #[serde(
        default = "unreported",
        deserialize_with = "number_or_null",
        serialize_with = "finite_or_null"
    )]
    #[schemars(with = "Option<f64>")]
    pub objective: f64,
    /// Relative MIP gap at the end (0 when optimal); `null` or absent as for `objective`.
    #[serde(
        default = "unreported",
        deserialize_with = "number_or_null",
        serialize_with = "finite_or_null"
    )]
    #[schemars(with = "Option<f64>")]
    pub gap: f64,
    /// Wall-clock seconds spent solving.
    pub seconds: f64,
}

impl SolverInfo {
    /// The objective, unless the plan's tool reported none (`null`).
    pub fn reported_objective(&self) -> Option<f64> {
        self.objective.is_finite().then_some(self.objective)
    }

    /// The gap, unless the plan's tool reported none (`null`).
    pub fn reported_gap(&self) -> Option<f64> {
        self.gap.is_finite().then_some(self.gap)
    }
}

/// What an unreported `objective` or `gap` reads as.
fn unreported() -> f64 {
    f64::NAN
}

/// A number, or `null` for "not reported" (NaN).
fn number_or_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// A finite number as itself; NaN (not reported) or an infinity as `null`.
fn finite_or_null<S: serde::Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else {
        serializer.serialize_none()
    }
}

/// One scenario session as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanSession {
    /// Theatre id.
    pub theatre: String,
    /// Date of the session.
    pub date: NaiveDate,
    /// `am`, `pm` or `eve`.
    pub period: Period,
    /// Specialty given to the session (`null` only when it books no case).
    pub specialty: Option<String>,
    /// Session length, as in the scenario.
    pub minutes: u32,
    /// Minutes held back for the emergency/trauma stream.
    pub reserved_emergency_min: u32,
    /// Booked case ids, in list order.
    pub cases: Vec<String>,
}

/// Why a case is not booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No session of its specialty had the minutes left.
    NoTheatreTime,
    /// Its stay would not fit the beds left after the emergency reserve.
    NoBed,
    /// It cannot be booked at all here (no session it may use inside the horizon).
    NotEligible,
    /// Its earliest date lies beyond the horizon.
    OutsideHorizon,
    /// Capacity went to more urgent or longer-waiting cases.
    LowerPriority,
    /// Extension: sessions had room but its surgeon had no operating minutes left on
    /// those days (hard constraint 7).
    NoSurgeonTime,
    /// Extension (networks): its home site has no room and the case may not move
    /// (no consent to travel, no link that takes it, or every link too far).
    NotMovable,
    /// Extension (networks): a link could take it but is full on the days it could go.
    LinkFull,
}

impl Reason {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoTheatreTime => "no_theatre_time",
            Reason::NoBed => "no_bed",
            Reason::NotEligible => "not_eligible",
            Reason::OutsideHorizon => "outside_horizon",
            Reason::LowerPriority => "lower_priority",
            Reason::NoSurgeonTime => "no_surgeon_time",
            Reason::NotMovable => "not_movable",
            Reason::LinkFull => "link_full",
        }
    }
}

/// A waiting-list case left out of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Unscheduled {
    /// Case id.
    pub case: String,
    /// Why.
    pub reason: Reason,
}

/// One pool on one night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Occupancy {
    /// Site id.
    pub site: String,
    /// Bed kind.
    pub kind: String,
    /// The night (night of this date).
    pub date: NaiveDate,
    /// Open beds that night.
    pub beds: u32,
    /// Current inpatients still in.
    pub current: u32,
    /// Booked elective patients in a bed of this pool that night.
    pub elective: u32,
    /// Expected new emergency patients present, m(t).
    pub emergency_mean: f64,
    /// Beds held back for them, r(t); on a clinical network, what the pool keeps
    /// itself: r(t) less the beds linked pools lend it (the component's pooled reserve
    /// is in `network.reserve`).
    pub emergency_reserve: u32,
}

/// Emergency theatre reserve at one site on one day (extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TheatreReserve {
    /// Site id.
    pub site: String,
    /// Day.
    pub date: NaiveDate,
    /// `⌈μ + z·σ⌉` minutes needed.
    pub required_min: u32,
    /// Minutes of dedicated emergency-theatre sessions that day.
    pub emergency_theatre_min: u32,
    /// Minutes held back inside elective sessions.
    pub reserved_in_sessions_min: u32,
    /// What the site's sessions could not hold (0 when covered).
    pub shortfall_min: u32,
}
