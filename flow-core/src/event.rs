//! Live events: the contract's event documents (`CONTRACT.md`, "Live events") as typed
//! values, and reading them from JSON so that every problem names its field.
//!
//! An [`Event`] is one thing that happened in the trust — a patient admitted,
//! discharged or moved, a trauma case taking theatre time, an elective case done,
//! cancelled, listed or delisted, a ward opening or closing beds. Its `id` is the
//! idempotency key and its `at` timestamp is the only clock the live state knows.
//!
//! Reading ([`parse_event`]) runs in two stages: the JSON value is turned into a typed
//! event (wrong types, missing fields, unknown `type`, bad dates → a [`FieldError`] at
//! the offending path), then the event is checked against the static facts of the
//! scenario in a [`Catalog`] (wards, sites, specialties and bed kinds that exist, sane
//! ranges). What depends on the live state — discharging a patient who is not in,
//! listing a case twice — is not an input error: [`crate::state::State::apply`]
//! records such an event as rejected, deterministically, so a replay agrees.
//!
//! Events are plain serde data: serialising one gives back the contract's shape (the
//! `type` tag beside `id` and `at`), so the store keeps exactly what was sent.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{FieldError, FieldErrors};
use crate::scenario::{Case, Scenario};
use crate::validate::Parsed;

/// Longest accepted event id, patient id or case id, in bytes.
pub const MAX_ID_LEN: usize = 200;

/// Most beds a `ward_beds` event may set.
pub const MAX_WARD_BEDS: u32 = 10_000;

/// Longest trauma case a `trauma_arrival` may estimate, in minutes (a day).
pub const MAX_TRAUMA_MINUTES: u32 = 24 * 60;

/// One live event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id: the idempotency key (a repeated id is acknowledged, not applied).
    pub id: String,
    /// When it happened (RFC 3339); the live state's clock.
    pub at: DateTime<FixedOffset>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened, by the contract's `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A patient took a bed.
    Admit(Admit),
    /// A patient left their bed.
    Discharge(Discharge),
    /// A patient moved to another ward.
    Transfer(Transfer),
    /// An emergency/trauma case arrived needing theatre time.
    TraumaArrival(TraumaArrival),
    /// An elective case was operated.
    CaseDone(CaseRef),
    /// An elective case was cancelled (it goes back on the waiting list).
    CaseCancelled(CaseCancelled),
    /// A ward's open beds changed for a run of nights.
    WardBeds(WardBeds),
    /// A case joined the waiting list.
    Listed(Listed),
    /// A case left the waiting list without surgery here.
    Delisted(CaseRef),
    /// A patient is expected to be admitted (HL7 A05).
    PreAdmit(PreAdmit),
    /// A pre-admission was cancelled (HL7 A38).
    PreAdmitCancelled(PatientRef),
    /// A patient's details changed, without a movement (HL7 A08).
    Update(Update),
    /// An admission was entered in error: the bed is freed, it is not a discharge
    /// (HL7 A11).
    AdmitCancelled(PatientRef),
    /// The patient's latest transfer was entered in error (HL7 A12).
    TransferCancelled(TransferCancelled),
    /// The patient's latest discharge was entered in error (HL7 A13).
    DischargeCancelled(DischargeCancelled),
    /// Two patients exchanged beds, both moves at once (HL7 A17).
    Swap(Swap),
    /// The operations centre declared an OPEL level (site or trust).
    OpelDeclared(OpelDeclared),
}

/// Every event `type`, in the contract's order (the extension's types last).
pub const EVENT_TYPES: [&str; 17] = [
    "admit",
    "discharge",
    "transfer",
    "trauma_arrival",
    "case_done",
    "case_cancelled",
    "ward_beds",
    "listed",
    "delisted",
    "pre_admit",
    "pre_admit_cancelled",
    "update",
    "admit_cancelled",
    "transfer_cancelled",
    "discharge_cancelled",
    "swap",
    "opel_declared",
];

impl EventKind {
    /// The contract's `type` of this event (one of [`EVENT_TYPES`]).
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::Admit(_) => "admit",
            EventKind::Discharge(_) => "discharge",
            EventKind::Transfer(_) => "transfer",
            EventKind::TraumaArrival(_) => "trauma_arrival",
            EventKind::CaseDone(_) => "case_done",
            EventKind::CaseCancelled(_) => "case_cancelled",
            EventKind::WardBeds(_) => "ward_beds",
            EventKind::Listed(_) => "listed",
            EventKind::Delisted(_) => "delisted",
            EventKind::PreAdmit(_) => "pre_admit",
            EventKind::PreAdmitCancelled(_) => "pre_admit_cancelled",
            EventKind::Update(_) => "update",
            EventKind::AdmitCancelled(_) => "admit_cancelled",
            EventKind::TransferCancelled(_) => "transfer_cancelled",
            EventKind::DischargeCancelled(_) => "discharge_cancelled",
            EventKind::Swap(_) => "swap",
            EventKind::OpelDeclared(_) => "opel_declared",
        }
    }
}

/// How a patient came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Through the emergency department or as trauma.
    Emergency,
    /// A planned admission.
    Elective,
}

/// NCEPOD urgency of an emergency/trauma case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Within minutes.
    Immediate,
    /// Within hours.
    Urgent,
    /// Within days.
    Expedited,
}

/// `admit`: `patient` takes a bed in `ward` until `expected_discharge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Admit {
    /// Patient id.
    pub patient: String,
    /// Ward id.
    pub ward: String,
    /// Expected discharge day; the patient occupies the bed on nights before it.
    pub expected_discharge: NaiveDate,
    /// `emergency` or `elective`.
    pub route: Route,
    /// The waiting-list case the patient came in for (elective admissions).
    #[serde(default)]
    pub case: Option<String>,
}

/// `discharge`: `patient` leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discharge {
    /// Patient id.
    pub patient: String,
}

/// `transfer`: `patient` moves to `ward`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// Patient id.
    pub patient: String,
    /// Ward id moved to.
    pub ward: String,
    /// If set and the patient is not in a bed, admit them to `ward` instead of
    /// rejecting the transfer (a feed whose admission predates flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admit_unknown: Option<AdmitDetails>,
}

/// How to admit a patient flow has not seen, when an event implies they are in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdmitDetails {
    /// Expected discharge day.
    pub expected_discharge: NaiveDate,
    /// `emergency` or `elective`.
    pub route: Route,
}

/// An event about one patient (`pre_admit_cancelled`, `admit_cancelled`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientRef {
    /// Patient id.
    pub patient: String,
}

/// `pre_admit`: `patient` is expected in (`ward` when known) on `expected_admit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreAdmit {
    /// Patient id.
    pub patient: String,
    /// Ward id, when already known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ward: Option<String>,
    /// Expected admission day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_admit: Option<NaiveDate>,
    /// Expected discharge day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_discharge: Option<NaiveDate>,
    /// `emergency` or `elective`.
    pub route: Route,
}

/// `update`: what changed about `patient` (absent fields are unchanged); no movement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// Patient id.
    pub patient: String,
    /// New expected discharge day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_discharge: Option<NaiveDate>,
}

/// `transfer_cancelled`: `patient` goes back to `ward`, or to the ward they were
/// transferred from when `ward` is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferCancelled {
    /// Patient id.
    pub patient: String,
    /// Ward id to go back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ward: Option<String>,
}

/// `discharge_cancelled`: `patient` is back in `ward`, or in the ward they left when
/// `ward` is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DischargeCancelled {
    /// Patient id.
    pub patient: String,
    /// Ward id they are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ward: Option<String>,
    /// If set and flow never saw the patient discharged, admit them to `ward`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admit_unknown: Option<AdmitDetails>,
}

/// `swap`: `patient` and `other` exchange beds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Swap {
    /// Patient id.
    pub patient: String,
    /// The other patient's id.
    pub other: String,
}

/// `trauma_arrival`: a case needing about `minutes_est` theatre minutes at `site`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraumaArrival {
    /// Site id.
    pub site: String,
    /// Estimated theatre minutes.
    pub minutes_est: u32,
    /// NCEPOD urgency.
    pub urgency: Urgency,
}

/// An event about one waiting-list case (`case_done`, `delisted`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRef {
    /// Case id.
    pub case: String,
}

/// `case_cancelled`: the case was not operated as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseCancelled {
    /// Case id.
    pub case: String,
    /// Why (free text, e.g. `no_bed`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `ward_beds`: `ward` has `beds` open beds on nights `from` through `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WardBeds {
    /// Ward id.
    pub ward: String,
    /// Open beds on those nights (replacing the scenario's beds and closures).
    pub beds: u32,
    /// First night.
    pub from: NaiveDate,
    /// Last night (inclusive).
    pub to: NaiveDate,
}

/// `listed`: a new waiting-list entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed {
    /// The case, as in a scenario's `waiting_list` (boxed: a case is by far the largest
    /// event payload).
    pub case: Box<Case>,
}

/// `opel_declared`: the OPEL level the operations centre declared (NHS England's
/// Operational Pressures Escalation Levels, 1–4), for one site or (`site: null`) the
/// trust. flow stores it as the authoritative level; its own bed-pressure level is a
/// separate, computed figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpelDeclared {
    /// Site id, or `null` for the whole trust.
    #[serde(default)]
    pub site: Option<String>,
    /// OPEL level, 1 (steady) to 4 (extreme pressure).
    pub level: u8,
    /// Who declared it (a role or name as the operations centre records it).
    pub by: String,
}

/// The static facts of a scenario that events are checked against: the ids and names
/// that exist. Built once; the live state never changes them.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    wards: BTreeSet<String>,
    sites: BTreeSet<String>,
    specialties: BTreeSet<String>,
    kinds: BTreeSet<String>,
    surgeons: BTreeSet<String>,
}

impl Catalog {
    /// The catalog of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        Catalog {
            wards: scenario.wards.iter().map(|w| w.id.clone()).collect(),
            sites: scenario.sites.iter().map(|s| s.id.clone()).collect(),
            specialties: scenario.specialties.iter().cloned().collect(),
            kinds: scenario.wards.iter().map(|w| w.kind.clone()).collect(),
            surgeons: scenario.surgeons.iter().map(|g| g.id.clone()).collect(),
        }
    }

    /// Every problem of `event` against the scenario's static facts; empty means valid.
    pub fn check(&self, event: &Event) -> Vec<FieldError> {
        let mut errors = Vec::new();
        id_field(&mut errors, "id", &event.id);
        match &event.kind {
            EventKind::Admit(a) => {
                id_field(&mut errors, "patient", &a.patient);
                self.ward(&mut errors, "ward", &a.ward);
                if let Some(case) = &a.case {
                    id_field(&mut errors, "case", case);
                }
            }
            EventKind::Discharge(d) => id_field(&mut errors, "patient", &d.patient),
            EventKind::Transfer(t) => {
                id_field(&mut errors, "patient", &t.patient);
                self.ward(&mut errors, "ward", &t.ward);
            }
            EventKind::TraumaArrival(t) => {
                self.site(&mut errors, "site", &t.site);
                if !(1..=MAX_TRAUMA_MINUTES).contains(&t.minutes_est) {
                    errors.push(FieldError::new(
                        "minutes_est",
                        format!("must be between 1 and {MAX_TRAUMA_MINUTES}"),
                    ));
                }
            }
            EventKind::CaseDone(c) | EventKind::Delisted(c) => {
                id_field(&mut errors, "case", &c.case);
            }
            EventKind::CaseCancelled(c) => id_field(&mut errors, "case", &c.case),
            EventKind::WardBeds(w) => {
                self.ward(&mut errors, "ward", &w.ward);
                if w.beds > MAX_WARD_BEDS {
                    errors.push(FieldError::new(
                        "beds",
                        format!("must be at most {MAX_WARD_BEDS}"),
                    ));
                }
                if w.to < w.from {
                    errors.push(FieldError::new(
                        "to",
                        format!("is before `from` ({})", w.from),
                    ));
                }
            }
            EventKind::Listed(l) => self.case(&mut errors, &l.case),
            EventKind::PreAdmit(p) => {
                id_field(&mut errors, "patient", &p.patient);
                if let Some(ward) = &p.ward {
                    self.ward(&mut errors, "ward", ward);
                }
            }
            EventKind::PreAdmitCancelled(p) | EventKind::AdmitCancelled(p) => {
                id_field(&mut errors, "patient", &p.patient);
            }
            EventKind::Update(u) => id_field(&mut errors, "patient", &u.patient),
            EventKind::TransferCancelled(t) => {
                id_field(&mut errors, "patient", &t.patient);
                if let Some(ward) = &t.ward {
                    self.ward(&mut errors, "ward", ward);
                }
            }
            EventKind::DischargeCancelled(d) => {
                id_field(&mut errors, "patient", &d.patient);
                if let Some(ward) = &d.ward {
                    self.ward(&mut errors, "ward", ward);
                }
                if d.admit_unknown.is_some() && d.ward.is_none() {
                    errors.push(FieldError::new(
                        "admit_unknown",
                        "needs `ward` (where to admit the patient)",
                    ));
                }
            }
            EventKind::Swap(w) => {
                id_field(&mut errors, "patient", &w.patient);
                id_field(&mut errors, "other", &w.other);
                if w.patient == w.other {
                    errors.push(FieldError::new("other", "must differ from `patient`"));
                }
            }
            EventKind::OpelDeclared(o) => {
                if let Some(site) = &o.site {
                    self.site(&mut errors, "site", site);
                }
                if !(1..=4).contains(&o.level) {
                    errors.push(FieldError::new("level", "must be 1, 2, 3 or 4"));
                }
                id_field(&mut errors, "by", &o.by);
            }
        }
        errors
    }

    /// Whether `ward` is a ward id of the scenario.
    pub fn has_ward(&self, ward: &str) -> bool {
        self.wards.contains(ward)
    }

    fn ward(&self, errors: &mut Vec<FieldError>, path: &str, ward: &str) {
        if !self.wards.contains(ward) {
            errors.push(FieldError::new(path, format!("unknown ward `{ward}`")));
        }
    }

    fn site(&self, errors: &mut Vec<FieldError>, path: &str, site: &str) {
        if !self.sites.contains(site) {
            errors.push(FieldError::new(path, format!("unknown site `{site}`")));
        }
    }

    fn case(&self, errors: &mut Vec<FieldError>, case: &Case) {
        id_field(errors, "case.id", &case.id);
        if !self.specialties.contains(&case.specialty) {
            errors.push(FieldError::new(
                "case.specialty",
                format!("unknown specialty `{}`", case.specialty),
            ));
        }
        if case.duration_min == 0 {
            errors.push(FieldError::new("case.duration_min", "must be at least 1"));
        }
        if let Some(site) = &case.site {
            self.site(errors, "case.site", site);
        }
        if let Some(surgeon) = &case.surgeon
            && !self.surgeons.contains(surgeon)
        {
            errors.push(FieldError::new(
                "case.surgeon",
                format!("unknown surgeon `{surgeon}`"),
            ));
        }
        for (i, seg) in case.stay.iter().enumerate() {
            if !self.kinds.contains(&seg.kind) {
                errors.push(FieldError::new(
                    format!("case.stay[{i}].kind"),
                    format!("no ward has bed kind `{}`", seg.kind),
                ));
            }
            if seg.nights == 0 {
                errors.push(FieldError::new(
                    format!("case.stay[{i}].nights"),
                    "must be at least 1",
                ));
            }
        }
    }
}

fn id_field(errors: &mut Vec<FieldError>, path: &str, id: &str) {
    if id.is_empty() {
        errors.push(FieldError::new(path, "must not be empty"));
    } else if id.len() > MAX_ID_LEN {
        errors.push(FieldError::new(
            path,
            format!("is longer than {MAX_ID_LEN} bytes"),
        ));
    }
}

/// Reads one event from a JSON value and checks it against `catalog`.
///
/// Returns every problem found, each at its field path relative to the event
/// (`ward`, `case.stay[0].kind`); callers reading an array prefix `[i].`.
///
/// Fields the event's type does not know are ignored; [`parse_event_with_warnings`]
/// also names them.
pub fn parse_event(value: &Value, catalog: &Catalog) -> Result<Event, FieldErrors> {
    parse_event_with_warnings(value, catalog).map(|parsed| parsed.value)
}

/// [`parse_event`], also naming every field the event's type does not know
/// (`pationt: unknown field (did you mean patient?)`), as
/// [`crate::validate::parse_scenario_with_warnings`] does for scenarios.
pub fn parse_event_with_warnings(
    value: &Value,
    catalog: &Catalog,
) -> Result<Parsed<Event>, FieldErrors> {
    // Whole numbers written as `120.0` read as integers, as in scenarios and plans.
    let mut value = value.clone();
    crate::validate::whole_numbers_as_integers(&mut value);
    let mut unknown = Vec::new();
    let event = read_event(&value, &mut unknown).map_err(|e| FieldErrors(vec![e]))?;
    let errors = catalog.check(&event);
    if errors.is_empty() {
        Ok(Parsed {
            value: event,
            unknown_fields: unknown,
        })
    } else {
        Err(FieldErrors(errors))
    }
}

/// Reads the typed event, without the catalog checks, noting its unknown fields.
fn read_event(value: &Value, unknown: &mut Vec<FieldError>) -> Result<Event, FieldError> {
    let Some(object) = value.as_object() else {
        return Err(FieldError::new("", "an event must be a JSON object"));
    };
    let id = match object.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(FieldError::new("id", "must be a string")),
        None => return Err(FieldError::new("id", "missing (the idempotency key)")),
    };
    let at = match object.get("at") {
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s).map_err(|e| {
            FieldError::new(
                "at",
                format!("not an RFC 3339 timestamp ({e}), e.g. 2026-12-07T08:15:00Z"),
            )
        })?,
        Some(_) => return Err(FieldError::new("at", "must be an RFC 3339 string")),
        None => return Err(FieldError::new("at", "missing (RFC 3339 timestamp)")),
    };
    let kind = match object.get("type").and_then(Value::as_str) {
        Some("admit") => EventKind::Admit(payload(value, unknown)?),
        Some("discharge") => EventKind::Discharge(payload(value, unknown)?),
        Some("transfer") => EventKind::Transfer(payload(value, unknown)?),
        Some("trauma_arrival") => EventKind::TraumaArrival(payload(value, unknown)?),
        Some("case_done") => EventKind::CaseDone(payload(value, unknown)?),
        Some("case_cancelled") => EventKind::CaseCancelled(payload(value, unknown)?),
        Some("ward_beds") => EventKind::WardBeds(payload(value, unknown)?),
        Some("listed") => EventKind::Listed(payload(value, unknown)?),
        Some("delisted") => EventKind::Delisted(payload(value, unknown)?),
        Some("pre_admit") => EventKind::PreAdmit(payload(value, unknown)?),
        Some("pre_admit_cancelled") => EventKind::PreAdmitCancelled(payload(value, unknown)?),
        Some("update") => EventKind::Update(payload(value, unknown)?),
        Some("admit_cancelled") => EventKind::AdmitCancelled(payload(value, unknown)?),
        Some("transfer_cancelled") => EventKind::TransferCancelled(payload(value, unknown)?),
        Some("discharge_cancelled") => EventKind::DischargeCancelled(payload(value, unknown)?),
        Some("swap") => EventKind::Swap(payload(value, unknown)?),
        Some("opel_declared") => EventKind::OpelDeclared(payload(value, unknown)?),
        Some(other) => {
            return Err(FieldError::new(
                "type",
                format!(
                    "unknown event type `{other}` (known: {})",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        None => {
            return Err(FieldError::new(
                "type",
                format!(
                    "missing or not a string (one of: {})",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    };
    Ok(Event { id, at, kind })
}

/// Deserialises an event's payload, locating any error at its field path. A missing
/// field is reported at the field itself (`case.duration_min`), not at its parent.
/// Fields the payload does not know (beside `id`, `at` and `type`) go to `unknown`,
/// with the names known there: the payload's own fields, or a listed case's.
fn payload<T: DeserializeOwned>(
    value: &Value,
    unknown: &mut Vec<FieldError>,
) -> Result<T, FieldError> {
    use crate::unknown::{Step, describe, schema_fields, struct_fields};
    const ENVELOPE: [&str; 3] = ["id", "at", "type"];
    let mut found = Vec::new();
    let payload = crate::unknown::deserialize(value, &mut found)?;
    for at in found {
        match at.as_slice() {
            [Step::Key(k)] if ENVELOPE.contains(&k.as_str()) => {}
            [_] => {
                let mut known = struct_fields::<T>();
                known.extend(ENVELOPE.iter().map(|k| (*k).to_owned()));
                known.sort();
                unknown.push(describe(&at, &known));
            }
            [Step::Key(case), inner @ .., _] if case == "case" => {
                let schema = crate::validate::schema_for::<Case>();
                unknown.push(describe(&at, &schema_fields(&schema, inner)));
            }
            _ => unknown.push(describe(&at, &[])),
        }
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::generate::{GenerateOptions, Size, generate};

    fn catalog() -> (Scenario, Catalog) {
        let s = generate(&GenerateOptions::new(Size::Tiny, 1));
        let c = Catalog::new(&s);
        (s, c)
    }

    fn errors(value: Value) -> Vec<String> {
        let (_, c) = catalog();
        match parse_event(&value, &c) {
            Ok(e) => panic!("accepted {e:?}"),
            Err(FieldErrors(errs)) => errs.into_iter().map(|e| e.path).collect(),
        }
    }

    #[test]
    fn contract_examples_parse_and_round_trip() {
        let (s, c) = catalog();
        let ward = &s.wards[0].id;
        let site = &s.sites[0].id;
        let case = serde_json::to_value(&s.waiting_list[0]).unwrap();
        let examples = [
            json!({"id":"e-1","at":"2026-12-07T08:15:00Z","type":"admit","patient":"p-77",
                   "ward": ward,"expected_discharge":"2026-12-10","route":"emergency","case":null}),
            json!({"id":"e-2","at":"2026-12-07T09:00:00Z","type":"discharge","patient":"p-77"}),
            json!({"id":"e-3","at":"2026-12-07T09:05:00Z","type":"transfer","patient":"p-78","ward":ward}),
            json!({"id":"e-4","at":"2026-12-07T09:10:00Z","type":"trauma_arrival","site":site,
                   "minutes_est":120,"urgency":"urgent"}),
            json!({"id":"e-5","at":"2026-12-07T11:00:00Z","type":"case_done","case":"c-000001"}),
            json!({"id":"e-6","at":"2026-12-07T07:30:00Z","type":"case_cancelled","case":"c-000002","reason":"no_bed"}),
            json!({"id":"e-7","at":"2026-12-07T06:00:00+01:00","type":"ward_beds","ward":ward,"beds":24,
                   "from":"2026-12-08","to":"2026-12-09"}),
            json!({"id":"e-8","at":"2026-12-07T10:00:00Z","type":"listed","case": case}),
            json!({"id":"e-9","at":"2026-12-07T10:01:00Z","type":"delisted","case":"c-000009"}),
            json!({"id":"e-10","at":"2026-12-07T10:02:00Z","type":"pre_admit","patient":"p-79",
                   "ward":ward,"expected_admit":"2026-12-09","expected_discharge":"2026-12-11","route":"elective"}),
            json!({"id":"e-11","at":"2026-12-07T10:03:00Z","type":"pre_admit_cancelled","patient":"p-79"}),
            json!({"id":"e-12","at":"2026-12-07T10:04:00Z","type":"update","patient":"p-78","expected_discharge":"2026-12-12"}),
            json!({"id":"e-13","at":"2026-12-07T10:05:00Z","type":"admit_cancelled","patient":"p-78"}),
            json!({"id":"e-14","at":"2026-12-07T10:06:00Z","type":"transfer_cancelled","patient":"p-78"}),
            json!({"id":"e-15","at":"2026-12-07T10:07:00Z","type":"discharge_cancelled","patient":"p-77","ward":ward,
                   "admit_unknown":{"expected_discharge":"2026-12-08","route":"emergency"}}),
            json!({"id":"e-16","at":"2026-12-07T10:08:00Z","type":"swap","patient":"p-77","other":"p-78"}),
            json!({"id":"e-10","at":"2026-12-07T10:02:00Z","type":"opel_declared","site":site,"level":3,"by":"site manager"}),
        ];
        for (i, v) in examples.iter().enumerate() {
            let e = parse_event(v, &c).unwrap_or_else(|err| panic!("{v}: {err}"));
            assert_eq!(e.kind.type_name(), EVENT_TYPES[i]);
            // Serialising gives the contract shape back, and it reads again.
            let back = serde_json::to_value(&e).unwrap();
            assert_eq!(back["type"], v["type"]);
            assert_eq!(parse_event(&back, &c).unwrap(), e);
            let typed: Event = serde_json::from_value(back).unwrap();
            assert_eq!(typed, e);
        }
    }

    #[test]
    fn unknown_fields_are_named_with_a_hint() {
        let (s, c) = catalog();
        let ward = &s.wards[0].id;
        let named = |v: Value| -> Vec<String> {
            let parsed = parse_event_with_warnings(&v, &c).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(parse_event(&v, &c).unwrap(), parsed.value);
            parsed
                .unknown_fields
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            named(
                json!({"id":"e-1","at":"2026-12-07T08:15:00Z","type":"transfer",
                         "patient":"p-1","ward":ward,"wrd":ward,"x-source":"pas"})
            ),
            ["wrd: unknown field (did you mean ward?)"]
        );
        assert_eq!(
            named(
                json!({"id":"e-2","at":"2026-12-07T08:15:00Z","type":"discharge",
                         "patient":"p-1","reason":"home"})
            ),
            ["reason: unknown field (known here: at, id, patient, type)"]
        );
        let mut case = serde_json::to_value(&s.waiting_list[0]).unwrap();
        case["stay"] = json!([{"kind": s.wards[0].kind, "nights": 2, "nigths": 3}]);
        case["prority"] = json!("P1a");
        assert_eq!(
            named(json!({"id":"e-3","at":"2026-12-07T10:00:00Z","type":"listed","case":case})),
            [
                "case.prority: unknown field (did you mean priority?)",
                "case.stay[0].nigths: unknown field (did you mean nights?)",
            ]
        );
        // Whole numbers written as floats read.
        let e = parse_event(
            &json!({"id":"e-4","at":"2026-12-07T09:10:00Z","type":"trauma_arrival",
                    "site": s.sites[0].id,"minutes_est":120.0,"urgency":"urgent"}),
            &c,
        )
        .unwrap();
        assert!(matches!(
            e.kind,
            EventKind::TraumaArrival(TraumaArrival {
                minutes_est: 120,
                ..
            })
        ));
    }

    #[test]
    fn errors_name_the_field() {
        let (s, _) = catalog();
        let ward = s.wards[0].id.clone();
        assert_eq!(errors(json!(42)), [""]);
        assert_eq!(
            errors(json!({"at":"2026-12-07T08:00:00Z","type":"discharge"})),
            ["id"]
        );
        assert_eq!(
            errors(json!({"id":"x","at":"yesterday","type":"discharge"})),
            ["at"]
        );
        assert_eq!(
            errors(json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"dance"})),
            ["type"]
        );
        assert_eq!(
            errors(
                json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"admit","patient":"p",
                          "expected_discharge":"2026-12-09","route":"emergency"})
            ),
            ["ward"]
        );
        assert_eq!(
            errors(
                json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"admit","patient":"p","ward":ward,
                          "expected_discharge":"2026-12-09","route":"helicopter"})
            ),
            ["route"]
        );
        assert_eq!(
            errors(
                json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"transfer","patient":"p","ward":"nowhere"})
            ),
            ["ward"]
        );
        assert_eq!(
            errors(
                json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"ward_beds","ward":ward,"beds":-1,
                          "from":"2026-12-08","to":"2026-12-09"})
            ),
            ["beds"]
        );
        assert_eq!(
            errors(
                json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"ward_beds","ward":ward,"beds":3,
                          "from":"2026-12-08","to":"2026-12-01"})
            ),
            ["to"]
        );
        let mut case = serde_json::to_value(&s.waiting_list[0]).unwrap();
        case["stay"] = json!([{"kind": "spa", "nights": 2}]);
        assert_eq!(
            errors(json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"listed","case":case})),
            ["case.stay[0].kind"]
        );
        case["stay"] = json!([{"kind": "spa"}]);
        assert_eq!(
            errors(json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"listed","case":case})),
            ["case.stay[0].nights"]
        );
        assert_eq!(
            errors(
                json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"opel_declared","site":null,"level":5,"by":"x"})
            ),
            ["level"]
        );
        assert_eq!(
            errors(
                json!({"id":"x","at":"2026-12-07T08:00:00Z","type":"opel_declared","site":"nowhere","level":2,"by":"x"})
            ),
            ["site"]
        );
        assert_eq!(
            errors(json!({"id":"","at":"2026-12-07T08:00:00Z","type":"discharge","patient":"p"})),
            ["id"]
        );
    }
}
