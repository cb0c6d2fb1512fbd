//! The live state: a scenario plus every event applied to it, in order.
//!
//! [`State`] is the ground truth the daemon keeps and re-plans from: who is in which
//! bed and until when, which cases wait (and which are in hospital for their
//! operation), which wards opened or closed beds, how many trauma minutes each site
//! has used today. [`State::apply`] takes one [`Event`] and answers with a [`Change`]:
//! applied or rejected (with a [`Rejection`]), and whether the plan is now stale.
//! [`State::scenario`] derives the planning problem of the moment, a plain
//! [`Scenario`] whose horizon starts on the current day.
//!
//! Time comes only from event timestamps: the clock is the latest `at` seen (an event
//! from the past never moves it back), and the current day is that timestamp's own
//! date. When the day rolls, the horizon rolls with it (same length, later start) and
//! past sessions, bed changes and trauma minutes drop out.
//!
//! Parts: this file holds the state and its queries, `apply.rs` the events,
//! `problem.rs` the derived scenario.
//!
//! `apply` is pure and deterministic — no clock, no I/O, no hash order — so replaying
//! the same events in the same order from the same scenario gives an equal `State`.
//! The daemon, its crash test and the simulator all rely on that. A `State` serialises
//! (serde) whole, which is how the daemon snapshots it.
//!
//! Readings the contract leaves open, fixed here:
//! - `ward_beds` sets the ward's open beds for those nights, replacing the scenario's
//!   beds and closures there; a later event for the same night wins.
//! - A patient still in after their expected discharge date is planned as leaving
//!   the night after the current day (they are in a bed tonight).
//! - An `admit` naming a waiting case takes it off the list for planning (it is being
//!   treated); `case_cancelled` puts it back; `case_done` removes it for good.
//! - Patient movements (admit, transfer, discharge, swap and their cancellations) keep
//!   the time of the patient's last movement: an event older than it does not move
//!   the patient (rejected as `stale`), so a late message cannot undo a newer one.
//! - A cancellation applies only to the patient's latest movement of its kind:
//!   `transfer_cancelled` undoes the last transfer once, `discharge_cancelled` the
//!   last discharge (remembered for [`DISCHARGE_MEMORY_DAYS`] days), `admit_cancelled`
//!   frees the bed without counting a discharge.
//! - `pre_admit` records an expected admission (shown, not planned); an `admit` of
//!   that patient or `pre_admit_cancelled` removes it.
//! - Trauma minutes at a site beyond the day's dedicated emergency-theatre minutes
//!   come out of that day's elective sessions at the site, latest list first; the
//!   statistical reserve for the day is still held on top (conservative).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::event::{AdmitDetails, Event, EventKind, PreAdmit, Route, WardBeds};
use crate::scenario::{Case, Closure, Inpatient, Scenario, Ward};

mod apply;
mod problem;
#[cfg(test)]
mod tests;

/// Days a discharge is remembered for `discharge_cancelled`.
pub const DISCHARGE_MEMORY_DAYS: u64 = 7;

/// The live state of a trust.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The scenario as loaded, without its waiting list and inpatients (kept below).
    base: Scenario,
    /// The latest event timestamp seen; `None` before the first event.
    now: Option<DateTime<FixedOffset>>,
    /// Patients in a bed, by patient id.
    inpatients: BTreeMap<String, Bed>,
    /// Cases waiting, by case id.
    waiting: BTreeMap<String, Case>,
    /// Cases whose patient is in hospital for them, by case id.
    admitted: BTreeMap<String, Case>,
    /// `ward_beds` changes still relevant, by ward id, in the order applied.
    bed_changes: BTreeMap<String, Vec<WardBeds>>,
    /// Trauma theatre minutes used, by site id and day.
    trauma: BTreeMap<String, BTreeMap<NaiveDate, u32>>,
    /// Running totals.
    counts: Counts,
    /// Patients in a bed per ward id (kept in step with `inpatients`).
    occupied: BTreeMap<String, u32>,
    /// Cases waiting per priority, P1a first (kept in step with `waiting`).
    waiting_counts: [u64; 5],
    /// Recent discharges, by patient id, for `discharge_cancelled`.
    #[serde(default)]
    discharged: BTreeMap<String, Left>,
    /// Expected admissions, by patient id.
    #[serde(default)]
    pre_admitted: BTreeMap<String, PreAdmit>,
    /// The latest declared OPEL level per site (`site: None` for the trust), sorted
    /// by site; absent in snapshots written before `opel_declared` existed.
    #[serde(default)]
    opel: Vec<OpelLevel>,
}

/// A discharged patient's last bed, and when they left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Left {
    bed: Bed,
    at: DateTime<FixedOffset>,
}

/// An OPEL level as declared by the operations centre (`opel_declared`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpelLevel {
    /// Site id, or `None` for the trust.
    pub site: Option<String>,
    /// Level 1–4.
    pub level: u8,
    /// Who declared it.
    pub by: String,
    /// When (the event's `at`, RFC 3339).
    pub at: String,
}

/// A patient's bed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bed {
    /// Ward id.
    pub ward: String,
    /// Expected discharge day.
    pub expected_discharge: NaiveDate,
    /// How they came in (`None` for the scenario's own inpatients).
    pub route: Option<Route>,
    /// When they last moved (admitted, transferred, swapped); `None` for the
    /// scenario's own inpatients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<DateTime<FixedOffset>>,
    /// The ward of their latest transfer not yet cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_from: Option<String>,
}

impl Bed {
    fn is_after(&self, at: DateTime<FixedOffset>) -> bool {
        self.moved.is_some_and(|m| at < m)
    }
}

/// Running totals of what the state has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Events applied.
    pub applied: u64,
    /// Events rejected by the state (see [`Rejection`]).
    pub rejected: u64,
    /// Cases done.
    pub cases_done: u64,
    /// Cases cancelled.
    pub cases_cancelled: u64,
    /// Trauma arrivals.
    pub trauma_arrivals: u64,
}

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Applied, or rejected and why.
    pub outcome: Outcome,
    /// The plan no longer matches the state (capacity or demand changed).
    pub stale: bool,
    /// The event moved the current day forward (the horizon rolled).
    pub day_rolled: bool,
}

impl Change {
    /// Whether the event was applied.
    pub fn is_applied(&self) -> bool {
        self.outcome == Outcome::Applied
    }
}

/// Whether an event was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It changed the state as it says.
    Applied,
    /// It contradicts the state and changed nothing but the clock.
    Rejected(Rejection),
}

impl Outcome {
    /// `applied` or `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Rejected(_) => "rejected",
        }
    }
}

/// Why the state rejected an event. Bounded on purpose: it is logged and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// `admit` of a patient already in a bed.
    PatientAlreadyIn,
    /// `discharge` or `transfer` of a patient not in a bed.
    PatientNotIn,
    /// `listed` of a case already on the list (or in hospital for it).
    CaseAlreadyListed,
    /// A case event for a case not on the list.
    CaseNotListed,
    /// Older than the patient's last movement: the patient is not moved.
    Stale,
    /// A cancellation with nothing (left) to cancel.
    NothingToCancel,
}

impl Rejection {
    /// A short snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::PatientAlreadyIn => "patient_already_in",
            Rejection::PatientNotIn => "patient_not_in",
            Rejection::CaseAlreadyListed => "case_already_listed",
            Rejection::CaseNotListed => "case_not_listed",
            Rejection::Stale => "stale",
            Rejection::NothingToCancel => "nothing_to_cancel",
        }
    }
}

/// One ward as it stands tonight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WardView {
    /// Ward id.
    pub id: String,
    /// Site id.
    pub site: String,
    /// Bed kind.
    pub kind: String,
    /// Open beds tonight (the night of the current day).
    pub beds: u32,
    /// Patients in a bed now.
    pub occupied: u32,
}

impl State {
    /// The state of `scenario` before any event.
    pub fn new(mut scenario: Scenario) -> Self {
        let waiting: BTreeMap<String, Case> = std::mem::take(&mut scenario.waiting_list)
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let inpatients: BTreeMap<String, Bed> = std::mem::take(&mut scenario.inpatients)
            .into_iter()
            .map(|p| {
                (
                    p.id,
                    Bed {
                        ward: p.ward,
                        expected_discharge: p.expected_discharge,
                        route: None,
                        moved: None,
                        transferred_from: None,
                    },
                )
            })
            .collect();
        let mut occupied: BTreeMap<String, u32> = BTreeMap::new();
        for bed in inpatients.values() {
            *occupied.entry(bed.ward.clone()).or_default() += 1;
        }
        let mut waiting_counts = [0u64; 5];
        for case in waiting.values() {
            waiting_counts[case.priority.index()] += 1;
        }
        State {
            base: scenario,
            now: None,
            inpatients,
            waiting,
            admitted: BTreeMap::new(),
            bed_changes: BTreeMap::new(),
            trauma: BTreeMap::new(),
            counts: Counts::default(),
            occupied,
            waiting_counts,
            discharged: BTreeMap::new(),
            pre_admitted: BTreeMap::new(),
            opel: Vec::new(),
        }
    }

    /// Number of expected admissions (`pre_admit`) outstanding.
    pub fn pre_admitted_len(&self) -> usize {
        self.pre_admitted.len()
    }

    /// The ward `patient` is in, if in a bed.
    pub fn ward_of(&self, patient: &str) -> Option<&str> {
        self.inpatients.get(patient).map(|b| b.ward.as_str())
    }

    /// Admits `patient` to `ward`, unless a newer discharge of theirs is known.
    fn admit_patient(
        &mut self,
        patient: &str,
        ward: &str,
        details: &AdmitDetails,
        at: DateTime<FixedOffset>,
    ) -> Result<(), Rejection> {
        if self.inpatients.contains_key(patient) {
            return Err(Rejection::PatientAlreadyIn);
        }
        if self.discharged.get(patient).is_some_and(|l| at < l.at) {
            return Err(Rejection::Stale);
        }
        self.discharged.remove(patient);
        self.pre_admitted.remove(patient);
        self.inpatients.insert(
            patient.to_string(),
            Bed {
                ward: ward.to_string(),
                expected_discharge: details.expected_discharge,
                route: Some(details.route),
                moved: Some(at),
                transferred_from: None,
            },
        );
        self.bed_taken(ward);
        Ok(())
    }

    /// Moves `patient` (in a bed) to `ward`.
    fn move_patient(&mut self, patient: &str, ward: &str, at: DateTime<FixedOffset>) {
        let Some(bed) = self.inpatients.get_mut(patient) else {
            return;
        };
        let from = std::mem::replace(&mut bed.ward, ward.to_string());
        bed.moved = Some(at);
        self.bed_freed(&from);
        self.bed_taken(ward);
    }

    /// A patient took a bed in `ward`.
    fn bed_taken(&mut self, ward: &str) {
        match self.occupied.get_mut(ward) {
            Some(n) => *n += 1,
            None => {
                self.occupied.insert(ward.to_string(), 1);
            }
        }
    }

    /// A patient left a bed in `ward`.
    fn bed_freed(&mut self, ward: &str) {
        if let Some(n) = self.occupied.get_mut(ward) {
            *n = n.saturating_sub(1);
        }
    }

    /// Puts `case` on the waiting list.
    fn wait(&mut self, case: Case) {
        let p = case.priority.index();
        if self.waiting.insert(case.id.clone(), case).is_none() {
            self.waiting_counts[p] += 1;
        }
    }

    /// Takes case `id` off the waiting list.
    fn unwait(&mut self, id: &str) -> Option<Case> {
        let case = self.waiting.remove(id)?;
        let n = &mut self.waiting_counts[case.priority.index()];
        *n = n.saturating_sub(1);
        Some(case)
    }

    /// The latest event timestamp seen.
    pub fn now(&self) -> Option<DateTime<FixedOffset>> {
        self.now
    }

    /// Day 0 of the current planning horizon: the current day, or the scenario's
    /// start while events have not reached it.
    pub fn plan_start(&self) -> NaiveDate {
        match self.now {
            Some(now) => now.date_naive().max(self.base.start),
            None => self.base.start,
        }
    }

    /// The declared OPEL levels in force, the trust's (`site: None`) first, then by site.
    pub fn opel(&self) -> &[OpelLevel] {
        &self.opel
    }

    /// Running totals.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.base.name
    }

    /// Cases waiting, per priority (P1a first).
    pub fn waiting_by_priority(&self) -> [u64; 5] {
        self.waiting_counts
    }

    /// Number of cases waiting.
    pub fn waiting_len(&self) -> usize {
        self.waiting.len()
    }

    /// Number of cases whose patient is in hospital for them.
    pub fn admitted_len(&self) -> usize {
        self.admitted.len()
    }

    /// Number of patients in a bed.
    pub fn inpatients_len(&self) -> usize {
        self.inpatients.len()
    }

    /// Trauma theatre minutes used per site on the current day.
    pub fn trauma_today(&self) -> BTreeMap<String, u32> {
        let today = self.plan_start();
        self.trauma
            .iter()
            .map(|(site, days)| (site.clone(), days.get(&today).copied().unwrap_or(0)))
            .collect()
    }

    /// Every ward tonight: open beds and patients in.
    pub fn wards(&self) -> Vec<WardView> {
        let tonight = self.plan_start();
        self.base
            .wards
            .iter()
            .map(|w| WardView {
                id: w.id.clone(),
                site: w.site.clone(),
                kind: w.kind.clone(),
                beds: self.ward_beds_on(w, tonight),
                occupied: self.occupied.get(w.id.as_str()).copied().unwrap_or(0),
            })
            .collect()
    }
}
