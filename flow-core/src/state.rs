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

use chrono::{DateTime, Days, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::event::{AdmitDetails, Event, EventKind, PreAdmit, Route, WardBeds};

/// Days a discharge is remembered for `discharge_cancelled`.
pub const DISCHARGE_MEMORY_DAYS: u64 = 7;
use crate::scenario::{Case, Closure, Inpatient, Scenario, Ward};

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

    /// Applies one event. Deterministic: the same events in the same order from the
    /// same scenario always give the same state and the same changes.
    pub fn apply(&mut self, event: &Event) -> Change {
        let before = self.plan_start();
        if self.now.is_none_or(|now| event.at > now) {
            self.now = Some(event.at);
        }
        let day_rolled = self.plan_start() != before;
        if day_rolled {
            self.forget_the_past();
        }
        let result = match &event.kind {
            EventKind::Admit(a) => {
                let details = AdmitDetails {
                    expected_discharge: a.expected_discharge,
                    route: a.route,
                };
                self.admit_patient(&a.patient, &a.ward, &details, event.at)
                    .map(|()| {
                        if let Some(case) = a.case.as_deref().and_then(|c| self.unwait(c)) {
                            self.admitted.insert(case.id.clone(), case);
                        }
                    })
            }
            EventKind::Discharge(d) => match self.inpatients.get(&d.patient) {
                Some(bed) if bed.is_after(event.at) => Err(Rejection::Stale),
                Some(_) => {
                    if let Some(bed) = self.inpatients.remove(&d.patient) {
                        self.bed_freed(&bed.ward);
                        self.discharged
                            .insert(d.patient.clone(), Left { bed, at: event.at });
                    }
                    Ok(())
                }
                None => Err(Rejection::PatientNotIn),
            },
            EventKind::Transfer(t) => match self.inpatients.get_mut(&t.patient) {
                Some(bed) if bed.is_after(event.at) => Err(Rejection::Stale),
                Some(bed) => {
                    bed.transferred_from = Some(bed.ward.clone());
                    self.move_patient(&t.patient, &t.ward, event.at);
                    Ok(())
                }
                None => match &t.admit_unknown {
                    Some(details) => self.admit_patient(&t.patient, &t.ward, details, event.at),
                    None => Err(Rejection::PatientNotIn),
                },
            },
            EventKind::PreAdmit(p) => {
                if self.inpatients.contains_key(&p.patient) {
                    Err(Rejection::PatientAlreadyIn)
                } else {
                    self.pre_admitted.insert(p.patient.clone(), p.clone());
                    Ok(())
                }
            }
            EventKind::PreAdmitCancelled(p) => self
                .pre_admitted
                .remove(&p.patient)
                .map(drop)
                .ok_or(Rejection::NothingToCancel),
            EventKind::Update(u) => {
                if let Some(bed) = self.inpatients.get_mut(&u.patient) {
                    if let Some(day) = u.expected_discharge {
                        bed.expected_discharge = day;
                    }
                    Ok(())
                } else if let Some(pre) = self.pre_admitted.get_mut(&u.patient) {
                    if u.expected_discharge.is_some() {
                        pre.expected_discharge = u.expected_discharge;
                    }
                    Ok(())
                } else {
                    Err(Rejection::PatientNotIn)
                }
            }
            EventKind::AdmitCancelled(p) => match self.inpatients.get(&p.patient) {
                Some(bed) if bed.is_after(event.at) => Err(Rejection::Stale),
                Some(_) => {
                    if let Some(bed) = self.inpatients.remove(&p.patient) {
                        self.bed_freed(&bed.ward);
                    }
                    Ok(())
                }
                None => Err(Rejection::PatientNotIn),
            },
            EventKind::TransferCancelled(t) => match self.inpatients.get_mut(&t.patient) {
                Some(bed) if bed.is_after(event.at) => Err(Rejection::Stale),
                Some(bed) => match bed.transferred_from.take() {
                    Some(from) => {
                        let to = t.ward.clone().unwrap_or(from);
                        self.move_patient(&t.patient, &to, event.at);
                        Ok(())
                    }
                    None => Err(Rejection::NothingToCancel),
                },
                None => Err(Rejection::PatientNotIn),
            },
            EventKind::DischargeCancelled(d) => {
                if self.inpatients.contains_key(&d.patient) {
                    Err(Rejection::PatientAlreadyIn)
                } else if let Some(left) = self.discharged.get(&d.patient) {
                    if event.at < left.at {
                        Err(Rejection::Stale)
                    } else {
                        let mut bed = left.bed.clone();
                        if let Some(ward) = &d.ward {
                            bed.ward = ward.clone();
                        }
                        bed.moved = Some(event.at);
                        bed.transferred_from = None;
                        self.bed_taken(&bed.ward);
                        self.discharged.remove(&d.patient);
                        self.inpatients.insert(d.patient.clone(), bed);
                        Ok(())
                    }
                } else {
                    match (&d.ward, &d.admit_unknown) {
                        (Some(ward), Some(details)) => {
                            self.admit_patient(&d.patient, ward, details, event.at)
                        }
                        _ => Err(Rejection::PatientNotIn),
                    }
                }
            }
            EventKind::Swap(w) => {
                match (
                    self.inpatients.get(&w.patient),
                    self.inpatients.get(&w.other),
                ) {
                    (Some(a), Some(b)) if a.is_after(event.at) || b.is_after(event.at) => {
                        Err(Rejection::Stale)
                    }
                    (Some(a), Some(b)) => {
                        let (wa, wb) = (a.ward.clone(), b.ward.clone());
                        self.move_patient(&w.patient, &wb, event.at);
                        self.move_patient(&w.other, &wa, event.at);
                        for p in [&w.patient, &w.other] {
                            if let Some(bed) = self.inpatients.get_mut(p) {
                                bed.transferred_from = None;
                            }
                        }
                        Ok(())
                    }
                    _ => Err(Rejection::PatientNotIn),
                }
            }
            EventKind::TraumaArrival(t) => {
                let day = event.at.date_naive();
                let minutes = self
                    .trauma
                    .entry(t.site.clone())
                    .or_default()
                    .entry(day)
                    .or_default();
                *minutes = minutes.saturating_add(t.minutes_est);
                self.counts.trauma_arrivals += 1;
                Ok(())
            }
            EventKind::CaseDone(c) => {
                let found =
                    self.unwait(&c.case).is_some() || self.admitted.remove(&c.case).is_some();
                if found {
                    self.counts.cases_done += 1;
                    Ok(())
                } else {
                    Err(Rejection::CaseNotListed)
                }
            }
            EventKind::CaseCancelled(c) => {
                if let Some(case) = self.admitted.remove(&c.case) {
                    self.wait(case);
                    self.counts.cases_cancelled += 1;
                    Ok(())
                } else if self.waiting.contains_key(&c.case) {
                    self.counts.cases_cancelled += 1;
                    Ok(())
                } else {
                    Err(Rejection::CaseNotListed)
                }
            }
            EventKind::WardBeds(w) => {
                if w.to >= self.plan_start() {
                    self.bed_changes
                        .entry(w.ward.clone())
                        .or_default()
                        .push(w.clone());
                }
                Ok(())
            }
            EventKind::Listed(l) => {
                let id = &l.case.id;
                if self.waiting.contains_key(id) || self.admitted.contains_key(id) {
                    Err(Rejection::CaseAlreadyListed)
                } else {
                    self.wait(Case::clone(&l.case));
                    Ok(())
                }
            }
            EventKind::Delisted(c) => self
                .unwait(&c.case)
                .map(drop)
                .ok_or(Rejection::CaseNotListed),
            EventKind::OpelDeclared(o) => {
                let declared = OpelLevel {
                    site: o.site.clone(),
                    level: o.level,
                    by: o.by.clone(),
                    at: event.at.to_rfc3339(),
                };
                match self.opel.binary_search_by(|l| l.site.cmp(&o.site)) {
                    Ok(i) => self.opel[i] = declared,
                    Err(i) => self.opel.insert(i, declared),
                }
                Ok(())
            }
        };
        // Pre-admissions are recorded, not planned; a declaration changes what the
        // dashboard shows, not the planning problem.
        let planned = !matches!(
            event.kind,
            EventKind::PreAdmit(_) | EventKind::PreAdmitCancelled(_) | EventKind::OpelDeclared(_)
        );
        match result {
            Ok(()) => {
                self.counts.applied += 1;
                Change {
                    outcome: Outcome::Applied,
                    stale: planned || day_rolled,
                    day_rolled,
                }
            }
            Err(why) => {
                self.counts.rejected += 1;
                Change {
                    outcome: Outcome::Rejected(why),
                    stale: day_rolled,
                    day_rolled,
                }
            }
        }
    }

    /// Drops bed changes and trauma minutes that lie wholly before the current day.
    fn forget_the_past(&mut self) {
        let start = self.plan_start();
        for changes in self.bed_changes.values_mut() {
            changes.retain(|c| c.to >= start);
        }
        self.bed_changes.retain(|_, c| !c.is_empty());
        for days in self.trauma.values_mut() {
            days.retain(|&day, _| day >= start);
        }
        self.trauma.retain(|_, d| !d.is_empty());
        let keep = start
            .checked_sub_days(Days::new(DISCHARGE_MEMORY_DAYS))
            .unwrap_or(start);
        self.discharged.retain(|_, l| l.at.date_naive() >= keep);
    }

    /// Open beds of `ward` on the night of `date`.
    fn ward_beds_on(&self, ward: &Ward, date: NaiveDate) -> u32 {
        if let Some(change) = self
            .bed_changes
            .get(&ward.id)
            .and_then(|cs| cs.iter().rev().find(|c| c.from <= date && date <= c.to))
        {
            return change.beds;
        }
        ward.open_beds(date)
    }

    /// The planning problem of the moment: the scenario with its horizon starting on
    /// the current day, today's inpatients and waiting list, bed changes as closures,
    /// and elective session time lost to trauma taken out.
    pub fn scenario(&self) -> Scenario {
        let start = self.plan_start();
        let horizon = self.base.horizon_days;
        let end = start
            .checked_add_days(Days::new(u64::from(horizon.saturating_sub(1))))
            .unwrap_or(start);
        let mut s = self.base.clone();
        s.start = start;
        for theatre in &mut s.theatres {
            theatre
                .sessions
                .retain(|x| start <= x.date && x.date <= end);
        }
        self.take_trauma_minutes(&mut s, start, end);
        for ward in &mut s.wards {
            if self.bed_changes.contains_key(&ward.id) {
                let nights: Vec<(NaiveDate, u32)> = (0..horizon)
                    .filter_map(|t| start.checked_add_days(Days::new(u64::from(t))))
                    .map(|d| (d, self.ward_beds_on(ward, d)))
                    .collect();
                let top = nights.iter().map(|n| n.1).max().unwrap_or(0).max(ward.beds);
                ward.beds = top;
                ward.closures = closures(&nights, top);
            }
        }
        let tomorrow = start.checked_add_days(Days::new(1)).unwrap_or(start);
        s.inpatients = self
            .inpatients
            .iter()
            .map(|(id, bed)| Inpatient {
                id: id.clone(),
                ward: bed.ward.clone(),
                expected_discharge: bed.expected_discharge.max(tomorrow),
            })
            .collect();
        s.waiting_list = self.waiting.values().cloned().collect();
        s
    }

    /// Shortens elective sessions by the trauma minutes that overflowed the
    /// dedicated emergency theatres, per site and day.
    fn take_trauma_minutes(&self, s: &mut Scenario, start: NaiveDate, end: NaiveDate) {
        for (site, days) in &self.trauma {
            for (&day, &used) in days.range(start..=end) {
                let dedicated: u32 = s
                    .theatres
                    .iter()
                    .filter(|t| t.emergency && &t.site == site)
                    .flat_map(|t| &t.sessions)
                    .filter(|x| x.date == day)
                    .map(|x| x.minutes)
                    .sum();
                let mut over = used.saturating_sub(dedicated);
                if over == 0 {
                    continue;
                }
                let mut lists: Vec<(usize, usize)> = Vec::new();
                for (ti, t) in s.theatres.iter().enumerate() {
                    if t.emergency || &t.site != site {
                        continue;
                    }
                    for (si, x) in t.sessions.iter().enumerate() {
                        if x.date == day {
                            lists.push((ti, si));
                        }
                    }
                }
                // Latest list first; theatre id breaks ties, so the order is fixed.
                lists.sort_by(|a, b| {
                    let (ta, tb) = (&s.theatres[a.0], &s.theatres[b.0]);
                    (tb.sessions[b.1].period, &tb.id).cmp(&(ta.sessions[a.1].period, &ta.id))
                });
                for (ti, si) in lists {
                    if over == 0 {
                        break;
                    }
                    let session = &mut s.theatres[ti].sessions[si];
                    let take = over.min(session.minutes);
                    session.minutes -= take;
                    over -= take;
                }
            }
        }
        for theatre in &mut s.theatres {
            theatre.sessions.retain(|x| x.minutes > 0);
        }
    }
}

/// Closures that bring a ward of `top` beds down to `nights` open beds, one closure
/// per run of nights with the same number closed.
fn closures(nights: &[(NaiveDate, u32)], top: u32) -> Vec<Closure> {
    let mut out: Vec<Closure> = Vec::new();
    for &(date, open) in nights {
        let closed = top.saturating_sub(open);
        if closed == 0 {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.beds == closed && last.to.succ_opt() == Some(date) => {
                last.to = date;
            }
            _ => out.push(Closure {
                from: date,
                to: date,
                beds: closed,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::check;
    use crate::event::{Catalog, parse_event};
    use crate::generate::{GenerateOptions, Size, generate};

    fn setup() -> (Scenario, Catalog, State) {
        let s = generate(&GenerateOptions::new(Size::Tiny, 5));
        let c = Catalog::new(&s);
        let st = State::new(s.clone());
        (s, c, st)
    }

    fn ev(c: &Catalog, v: serde_json::Value) -> Event {
        parse_event(&v, c).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn new_state_plans_the_scenario_itself() {
        let (s, _, st) = setup();
        let mut derived = st.scenario();
        let mut original = s.clone();
        derived.waiting_list.sort_by(|a, b| a.id.cmp(&b.id));
        original.waiting_list.sort_by(|a, b| a.id.cmp(&b.id));
        derived.inpatients.sort_by(|a, b| a.id.cmp(&b.id));
        original.inpatients.sort_by(|a, b| a.id.cmp(&b.id));
        for p in &mut original.inpatients {
            p.expected_discharge = p.expected_discharge.max(s.start.succ_opt().unwrap());
        }
        assert_eq!(derived, original);
    }

    #[test]
    fn opel_declarations_replace_per_site_and_leave_the_plan_alone() {
        let (s, c, mut st) = setup();
        let site = &s.sites[0].id;
        let decl = |id: &str, site: serde_json::Value, level: u8| {
            ev(
                &c,
                json!({"id":id,"at":"2026-12-07T08:00:00Z","type":"opel_declared",
                       "site":site,"level":level,"by":"duty manager"}),
            )
        };
        let change = st.apply(&decl("o1", json!(site), 2));
        assert!(change.is_applied() && !change.stale);
        st.apply(&decl("o2", json!(null), 3));
        st.apply(&decl("o3", json!(site), 4));
        let levels: Vec<(Option<&str>, u8)> = st
            .opel()
            .iter()
            .map(|l| (l.site.as_deref(), l.level))
            .collect();
        assert_eq!(levels, [(None, 3), (Some(site.as_str()), 4)]);
        // Snapshots round-trip, and older snapshots without the field still read.
        let mut v = serde_json::to_value(&st).unwrap();
        assert_eq!(serde_json::from_value::<State>(v.clone()).unwrap(), st);
        v.as_object_mut().unwrap().remove("opel");
        assert!(
            serde_json::from_value::<State>(v)
                .unwrap()
                .opel()
                .is_empty()
        );
    }

    #[test]
    fn admissions_discharges_and_rejections() {
        let (s, c, mut st) = setup();
        let ward = &s.wards[0].id;
        let before = st.wards()[0].occupied;
        let admit = ev(
            &c,
            json!({"id":"e1","at":"2026-12-07T08:00:00Z","type":"admit","patient":"p-new",
                   "ward":ward,"expected_discharge":"2026-12-09","route":"emergency"}),
        );
        assert!(st.apply(&admit).is_applied());
        assert_eq!(st.wards()[0].occupied, before + 1);
        // Admitting the same patient again is rejected, deterministically.
        let again = st.apply(&admit);
        assert_eq!(
            again.outcome,
            Outcome::Rejected(Rejection::PatientAlreadyIn)
        );
        assert!(!again.stale);
        let discharge = ev(
            &c,
            json!({"id":"e2","at":"2026-12-07T09:00:00Z","type":"discharge","patient":"p-new"}),
        );
        assert!(st.apply(&discharge).is_applied());
        assert_eq!(
            st.apply(&discharge).outcome,
            Outcome::Rejected(Rejection::PatientNotIn)
        );
        assert_eq!(st.wards()[0].occupied, before);
        assert_eq!(st.counts().applied, 2);
        assert_eq!(st.counts().rejected, 2);
    }

    #[test]
    fn the_day_rolls_with_event_time() {
        let (s, c, mut st) = setup();
        assert_eq!(st.plan_start(), s.start);
        let case = &s.waiting_list[0].id;
        let e = ev(
            &c,
            json!({"id":"e1","at":"2026-12-09T00:30:00+01:00","type":"case_done","case":case}),
        );
        let change = st.apply(&e);
        assert!(change.day_rolled && change.stale);
        assert_eq!(st.plan_start(), s.start + chrono::Duration::days(2));
        let derived = st.scenario();
        assert_eq!(derived.start, st.plan_start());
        assert_eq!(derived.horizon_days, s.horizon_days);
        assert!(derived.waiting_list.iter().all(|x| &x.id != case));
        assert!(
            derived
                .theatres
                .iter()
                .flat_map(|t| &t.sessions)
                .all(|x| x.date >= derived.start)
        );
        // An older event does not move the clock back.
        let old = ev(
            &c,
            json!({"id":"e2","at":"2026-12-07T10:00:00Z","type":"delisted","case":&s.waiting_list[1].id}),
        );
        assert!(!st.apply(&old).day_rolled);
        assert_eq!(st.plan_start(), derived.start);
        // The derived problem still plans to a plan the checker accepts.
        let plan = crate::greedy::plan(&st.scenario());
        let report = check::check(&st.scenario(), &plan);
        assert!(report.is_ok(), "{}", check::render_text(&report));
    }

    #[test]
    fn ward_beds_and_trauma_change_the_problem() {
        let (s, c, mut st) = setup();
        let ward = &s.wards[0];
        let e = ev(
            &c,
            json!({"id":"e1","at":"2026-12-07T06:00:00Z","type":"ward_beds","ward":ward.id,
                   "beds":2,"from":"2026-12-08","to":"2026-12-09"}),
        );
        assert!(st.apply(&e).stale);
        let derived = st.scenario();
        let w = derived.wards.iter().find(|w| w.id == ward.id).unwrap();
        let open = |d: &str| w.open_beds(d.parse().unwrap());
        assert_eq!(open("2026-12-08"), 2);
        assert_eq!(open("2026-12-09"), 2);

        let site = &s.sites[0].id;
        // Elective session minutes on the first day of a derived problem.
        let elective_minutes = |p: &Scenario| -> u32 {
            p.theatres
                .iter()
                .filter(|t| !t.emergency)
                .flat_map(|t| &t.sessions)
                .filter(|x| x.date == s.start)
                .map(|x| x.minutes)
                .sum()
        };
        let minutes_before = elective_minutes(&derived);
        let trauma = ev(
            &c,
            json!({"id":"e2","at":"2026-12-07T10:00:00Z","type":"trauma_arrival","site":site,
                   "minutes_est":1440,"urgency":"immediate"}),
        );
        assert!(st.apply(&trauma).stale);
        let after = st.scenario();
        let minutes_after = elective_minutes(&after);
        assert!(minutes_after < minutes_before || minutes_before == 0);
        let plan = crate::greedy::plan(&after);
        assert!(check::check(&after, &plan).is_ok());
    }

    #[test]
    fn case_lifecycle() {
        let (s, c, mut st) = setup();
        let case = s.waiting_list[3].clone();
        let ward = &s.wards[0].id;
        let n = st.waiting_len();
        let admit = ev(
            &c,
            json!({"id":"e1","at":"2026-12-07T07:00:00Z","type":"admit","patient":"p-el",
                   "ward":ward,"expected_discharge":"2026-12-08","route":"elective","case":case.id}),
        );
        assert!(st.apply(&admit).is_applied());
        assert_eq!((st.waiting_len(), st.admitted_len()), (n - 1, 1));
        let cancel = ev(
            &c,
            json!({"id":"e2","at":"2026-12-07T08:00:00Z","type":"case_cancelled","case":case.id,"reason":"no_bed"}),
        );
        assert!(st.apply(&cancel).is_applied());
        assert_eq!((st.waiting_len(), st.admitted_len()), (n, 0));
        let listed = ev(
            &c,
            json!({"id":"e3","at":"2026-12-07T08:00:00Z","type":"listed","case":case}),
        );
        assert_eq!(
            st.apply(&listed).outcome,
            Outcome::Rejected(Rejection::CaseAlreadyListed)
        );
        let done = ev(
            &c,
            json!({"id":"e4","at":"2026-12-07T12:00:00Z","type":"case_done","case":case.id}),
        );
        assert!(st.apply(&done).is_applied());
        assert_eq!(
            st.apply(&done).outcome,
            Outcome::Rejected(Rejection::CaseNotListed)
        );
        assert!(st.apply(&listed).is_applied());
        assert_eq!(st.waiting_len(), n);
    }

    #[test]
    fn running_counts_stay_in_step() {
        let (s, c, mut st) = setup();
        let ward = |i: usize| s.wards[i % s.wards.len()].id.clone();
        let mut n = 0;
        for i in 0..200usize {
            n += 1;
            let v = match i % 6 {
                0 | 1 => {
                    json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "admit",
                    "patient": format!("p{}", i % 37), "ward": ward(i), "expected_discharge": "2026-12-09",
                    "route": "elective", "case": s.waiting_list[i % 40].id})
                }
                2 => {
                    json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "discharge",
                    "patient": format!("p{}", (i * 7) % 37)})
                }
                3 => {
                    json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "transfer",
                    "patient": format!("p{}", (i * 5) % 37), "ward": ward(i / 3)})
                }
                4 => {
                    json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "case_cancelled",
                    "case": s.waiting_list[i % 40].id})
                }
                _ => {
                    json!({"id": format!("e{n}"), "at": "2026-12-07T08:00:00Z", "type": "delisted",
                    "case": s.waiting_list[(i * 3) % 60].id})
                }
            };
            st.apply(&ev(&c, v));
            let mut occupied: BTreeMap<String, u32> = BTreeMap::new();
            for bed in st.inpatients.values() {
                *occupied.entry(bed.ward.clone()).or_default() += 1;
            }
            for w in st.wards() {
                assert_eq!(
                    w.occupied,
                    occupied.get(&w.id).copied().unwrap_or(0),
                    "step {i}"
                );
            }
            let mut waiting = [0u64; 5];
            for case in st.waiting.values() {
                waiting[case.priority.index()] += 1;
            }
            assert_eq!(st.waiting_by_priority(), waiting, "step {i}");
        }
    }

    #[test]
    fn movements_cancellations_and_stale_events() {
        let (s, c, mut st) = setup();
        let (w0, w1) = (s.wards[0].id.clone(), s.wards[1].id.clone());
        let mut n = 0;
        let mut apply = |st: &mut State, at: &str, body: serde_json::Value| {
            n += 1;
            let mut v = body;
            v["id"] = json!(format!("m{n}"));
            v["at"] = json!(at);
            st.apply(&ev(&c, v)).outcome
        };
        let ok = Outcome::Applied;
        let rejected = |r| Outcome::Rejected(r);
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T08:00:00Z",
                json!({"type":"admit","patient":"p","ward":w0,"expected_discharge":"2026-12-09","route":"emergency"})
            ),
            ok
        );
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T10:00:00Z",
                json!({"type":"transfer","patient":"p","ward":w1})
            ),
            ok
        );
        // Older than the last movement: not moved.
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T09:00:00Z",
                json!({"type":"transfer","patient":"p","ward":w0})
            ),
            rejected(Rejection::Stale)
        );
        assert_eq!(st.ward_of("p"), Some(w1.as_str()));
        // The latest transfer is cancelled once.
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T11:00:00Z",
                json!({"type":"transfer_cancelled","patient":"p"})
            ),
            ok
        );
        assert_eq!(st.ward_of("p"), Some(w0.as_str()));
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T11:05:00Z",
                json!({"type":"transfer_cancelled","patient":"p"})
            ),
            rejected(Rejection::NothingToCancel)
        );
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T11:10:00Z",
                json!({"type":"update","patient":"p","expected_discharge":"2026-12-12"})
            ),
            ok
        );
        assert_eq!(
            st.inpatients["p"].expected_discharge.to_string(),
            "2026-12-12"
        );
        // Discharge, then its cancellation restores the bed.
        let before = st.wards()[0].occupied;
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T12:00:00Z",
                json!({"type":"discharge","patient":"p"})
            ),
            ok
        );
        assert_eq!(st.wards()[0].occupied, before - 1);
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T11:30:00Z",
                json!({"type":"discharge_cancelled","patient":"p"})
            ),
            rejected(Rejection::Stale)
        );
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T13:00:00Z",
                json!({"type":"discharge_cancelled","patient":"p"})
            ),
            ok
        );
        assert_eq!(st.ward_of("p"), Some(w0.as_str()));
        assert_eq!(st.wards()[0].occupied, before);
        // An admission cancelled: the bed is freed, nothing to restore afterwards.
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T14:00:00Z",
                json!({"type":"admit_cancelled","patient":"p"})
            ),
            ok
        );
        assert_eq!(st.ward_of("p"), None);
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T14:10:00Z",
                json!({"type":"discharge_cancelled","patient":"p"})
            ),
            rejected(Rejection::PatientNotIn)
        );
        // Unknown patients: a transfer that may admit does; one that may not is a no-op.
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T15:00:00Z",
                json!({"type":"transfer","patient":"q","ward":w1})
            ),
            rejected(Rejection::PatientNotIn)
        );
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T15:00:00Z",
                json!({"type":"transfer","patient":"q","ward":w1,
            "admit_unknown":{"expected_discharge":"2026-12-09","route":"elective"}})
            ),
            ok
        );
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T15:01:00Z",
                json!({"type":"discharge_cancelled","patient":"r","ward":w0,
            "admit_unknown":{"expected_discharge":"2026-12-09","route":"elective"}})
            ),
            ok
        );
        // Swap: both move at once.
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T16:00:00Z",
                json!({"type":"swap","patient":"q","other":"r"})
            ),
            ok
        );
        assert_eq!(
            (st.ward_of("q"), st.ward_of("r")),
            (Some(w0.as_str()), Some(w1.as_str()))
        );
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T16:00:00Z",
                json!({"type":"swap","patient":"q","other":"nobody"})
            ),
            rejected(Rejection::PatientNotIn)
        );
        // Pre-admissions: recorded, cancelled, not planned.
        let stale_before = st.apply(&ev(&c, json!({"id":"pa","at":"2026-12-07T16:30:00Z","type":"pre_admit","patient":"z","route":"elective"})));
        assert!(stale_before.is_applied() && !stale_before.stale);
        assert_eq!(st.pre_admitted_len(), 1);
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T16:40:00Z",
                json!({"type":"pre_admit_cancelled","patient":"z"})
            ),
            ok
        );
        assert_eq!(
            apply(
                &mut st,
                "2026-12-07T16:41:00Z",
                json!({"type":"pre_admit_cancelled","patient":"z"})
            ),
            rejected(Rejection::NothingToCancel)
        );
        // The occupancy counts stayed in step, and the state replays alike.
        let mut occupied: BTreeMap<String, u32> = BTreeMap::new();
        for bed in st.inpatients.values() {
            *occupied.entry(bed.ward.clone()).or_default() += 1;
        }
        for w in st.wards() {
            assert_eq!(w.occupied, occupied.get(&w.id).copied().unwrap_or(0));
        }
        let text = serde_json::to_string(&st).unwrap();
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), st);
    }

    #[test]
    fn state_round_trips_through_json() {
        let (s, c, mut st) = setup();
        let e = ev(
            &c,
            json!({"id":"e1","at":"2026-12-08T06:00:00Z","type":"ward_beds","ward":s.wards[0].id,
                   "beds":3,"from":"2026-12-08","to":"2026-12-10"}),
        );
        st.apply(&e);
        let text = serde_json::to_string(&st).unwrap();
        let back: State = serde_json::from_str(&text).unwrap();
        assert_eq!(back, st);
    }
}
