//! IHTC-2024 instances as `flow.scenario/1`.
//!
//! The Integrated Healthcare Timetabling Competition 2024 publishes its instances as
//! JSON (format: Appendix A of Ceschia, Rosati, Schaerf, Zanazzo, Smet, Vanden Berghe,
//! *Operations Research, Data Analytics and Logistics*, 2025). [`import`] keeps every
//! id: a patient becomes the case of the same id, an operating theatre the theatre, a
//! surgeon the surgeon, a room a surgical ward and an occupant an inpatient of it.
//! Day `d` of the instance is `start + d`.
//!
//! | IHTC | flow |
//! |---|---|
//! | `days` | `horizon_days` |
//! | theatre `availability[d] > 0` | one flexible `am` session of that many minutes |
//! | room (`capacity`) | a `surgical` ward of `capacity` beds at the one site |
//! | occupant (`room_id`, `length_of_stay`) | inpatient, `expected_discharge = start + length_of_stay` |
//! | patient | case of specialty `surgery`; `duration_min = surgery_duration`; `stay = [{surgical, length_of_stay}]` (0: day case); `earliest = listed = start + surgery_release_day` |
//! | mandatory patient | `P2` with `due = start + surgery_due_day` |
//! | optional patient | `P4`, no due date |
//! | surgeon `max_surgery_time[d] > 0` | a surgeon day of that many minutes; `surgeon_id` → the case's `surgeon` |
//!
//! Policy: theatre utilisation cap 1.0, reserve quantiles 0.9; there is no emergency
//! stream, so no reserve is held. What the contract cannot hold yet is dropped:
//! patients' gender (rooms are single-gender per day) and age groups (the room age-mix
//! cost), incompatible rooms, the assignment to a particular room (flow pools the beds
//! of a site and kind), nurses, skill levels and workload, surgeon transfers between
//! theatres and the cost of opening a theatre. A plan of the import therefore keeps
//! the hard constraints flow has (theatre minutes, surgeons' daily minutes, release
//! and due days, beds); a competition solution also keeps the rest.

use std::collections::{HashMap, HashSet};

use chrono::{Days, NaiveDate};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, FieldError, Result};
use crate::scenario::{
    Case, Emergency, Inpatient, MAX_HORIZON_DAYS, Period, Policy, Priority, SCENARIO_SCHEMA,
    Scenario, Session, Site, StaySegment, Surgeon, SurgeonDay, Theatre, Ward,
};
use crate::validate;

/// The day 0 used when the caller gives none (a Monday).
pub const DEFAULT_START: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
    Some(date) => date,
    None => panic!("2026-12-07 is a date"),
};

/// The one site every theatre and room belongs to.
pub const SITE: &str = "ihtc";

/// The one specialty every case and session has.
pub const SPECIALTY: &str = "surgery";

/// The bed kind of every room.
pub const KIND: &str = "surgical";

/// The parts of an instance the contract can hold; the rest (nurses, weights, genders,
/// age groups, …) is read past.
#[derive(Debug, Deserialize)]
struct Instance {
    days: u32,
    #[serde(default)]
    occupants: Vec<Occupant>,
    patients: Vec<Patient>,
    surgeons: Vec<IhtcSurgeon>,
    operating_theaters: Vec<OperatingTheater>,
    rooms: Vec<Room>,
}

#[derive(Debug, Deserialize)]
struct Occupant {
    id: String,
    length_of_stay: u32,
    room_id: String,
}

#[derive(Debug, Deserialize)]
struct Patient {
    id: String,
    mandatory: bool,
    length_of_stay: u32,
    surgery_release_day: u32,
    #[serde(default)]
    surgery_due_day: Option<u32>,
    surgery_duration: u32,
    surgeon_id: String,
}

#[derive(Debug, Deserialize)]
struct IhtcSurgeon {
    id: String,
    max_surgery_time: Vec<u32>,
}

#[derive(Debug, Deserialize)]
struct OperatingTheater {
    id: String,
    availability: Vec<u32>,
}

#[derive(Debug, Deserialize)]
struct Room {
    id: String,
    capacity: u32,
}

/// Converts the IHTC-2024 instance `text` into a scenario called `name` whose day 0 is
/// `start`.
///
/// Returns [`Error::Syntax`] when the text is not JSON and [`Error::Invalid`] listing
/// every problem, each at its path in the instance (`patients[3].surgeon_id`), when it
/// is not a usable instance. The scenario returned passes
/// [`validate::validate_scenario`].
pub fn import(text: &str, name: &str, start: NaiveDate) -> Result<Scenario> {
    let mut value = validate::parse_json(text)?;
    validate::whole_numbers_as_integers(&mut value);
    let instance = read(&value).map_err(|e| invalid(vec![e]))?;
    let mut errors = Vec::new();
    let scenario = convert(&instance, name, start, &mut errors);
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let problems = validate::validate_scenario(&scenario);
    if !problems.is_empty() {
        // Every rule of the contract is checked on the instance above; this is a
        // safety net, reported in the scenario's own terms.
        return Err(invalid(
            problems
                .into_iter()
                .map(|e| FieldError::new("", format!("the converted scenario is invalid: {e}")))
                .collect(),
        ));
    }
    Ok(scenario)
}

fn read(value: &Value) -> Result<Instance, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let mut path = if path == "." { String::new() } else { path };
        let message = e.into_inner().to_string();
        // A missing field is reported at the field itself, not its parent.
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(field);
            return FieldError::new(path, "missing required field");
        }
        FieldError::new(path, message)
    })
}

fn invalid(errors: Vec<FieldError>) -> Error {
    Error::Invalid {
        errors: crate::FieldErrors(errors),
    }
}

/// Day `day` as a date, or a problem at `path` when it lies beyond the calendar.
fn day(start: NaiveDate, day: u32, path: &str, errors: &mut Vec<FieldError>) -> NaiveDate {
    start
        .checked_add_days(Days::new(u64::from(day)))
        .unwrap_or_else(|| {
            errors.push(FieldError::new(
                path,
                format!("day {day} is beyond the calendar"),
            ));
            start
        })
}

/// Checks that ids are unique; returns them.
fn unique_ids<'a>(
    what: &str,
    list: &str,
    ids: impl Iterator<Item = &'a str>,
    errors: &mut Vec<FieldError>,
) -> HashSet<&'a str> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, id) in ids.enumerate() {
        if id.is_empty() {
            errors.push(FieldError::new(
                format!("{list}[{i}].id"),
                "must not be empty",
            ));
        } else if let Some(first) = seen.insert(id, i) {
            errors.push(FieldError::new(
                format!("{list}[{i}].id"),
                format!("duplicate {what} id \"{id}\" (first at {list}[{first}])"),
            ));
            seen.insert(id, first);
        }
    }
    seen.into_keys().collect()
}

fn known(ids: &HashSet<&str>) -> String {
    let mut names: Vec<&str> = ids.iter().copied().collect();
    names.sort_unstable();
    let more = names.len().saturating_sub(12);
    names.truncate(12);
    let mut list = names.join(", ");
    if more > 0 {
        list.push_str(&format!(", … {more} more"));
    }
    if list.is_empty() {
        "none".to_owned()
    } else {
        list
    }
}

/// One value per day of the horizon.
fn per_day(path: &str, values: &[u32], days: u32, errors: &mut Vec<FieldError>) {
    if values.len() != days as usize {
        errors.push(FieldError::new(
            path,
            format!(
                "must list one value per day of the {days}-day horizon (got {})",
                values.len()
            ),
        ));
    }
}

fn convert(i: &Instance, name: &str, start: NaiveDate, errors: &mut Vec<FieldError>) -> Scenario {
    if !(1..=MAX_HORIZON_DAYS).contains(&i.days) {
        errors.push(FieldError::new(
            "days",
            format!("must be between 1 and {MAX_HORIZON_DAYS} (got {})", i.days),
        ));
    }
    let days = i.days.min(MAX_HORIZON_DAYS);
    // The last day must be a date too.
    day(start, days, "days", errors);

    let rooms = unique_ids(
        "room",
        "rooms",
        i.rooms.iter().map(|r| r.id.as_str()),
        errors,
    );
    let wards = i
        .rooms
        .iter()
        .enumerate()
        .map(|(r, room)| {
            if room.capacity < 1 {
                errors.push(FieldError::new(
                    format!("rooms[{r}].capacity"),
                    "must be at least 1 (flow has no ward without beds)",
                ));
            }
            Ward {
                id: room.id.clone(),
                site: SITE.to_owned(),
                kind: KIND.to_owned(),
                beds: room.capacity,
                closures: Vec::new(),
            }
        })
        .collect();

    unique_ids(
        "operating theatre",
        "operating_theaters",
        i.operating_theaters.iter().map(|t| t.id.as_str()),
        errors,
    );
    let theatres = i
        .operating_theaters
        .iter()
        .enumerate()
        .map(|(t, theatre)| {
            let path = format!("operating_theaters[{t}].availability");
            per_day(&path, &theatre.availability, days, errors);
            let sessions = theatre
                .availability
                .iter()
                .enumerate()
                .take(days as usize)
                .filter(|(_, minutes)| **minutes > 0)
                .map(|(d, minutes)| Session {
                    date: day(start, d as u32, &path, errors),
                    period: Period::Am,
                    minutes: *minutes,
                    specialty: None,
                })
                .collect();
            Theatre {
                id: theatre.id.clone(),
                site: SITE.to_owned(),
                emergency: false,
                sessions,
            }
        })
        .collect();

    let surgeon_ids = unique_ids(
        "surgeon",
        "surgeons",
        i.surgeons.iter().map(|s| s.id.as_str()),
        errors,
    );
    let surgeons = i
        .surgeons
        .iter()
        .enumerate()
        .map(|(s, surgeon)| {
            let path = format!("surgeons[{s}].max_surgery_time");
            per_day(&path, &surgeon.max_surgery_time, days, errors);
            Surgeon {
                id: surgeon.id.clone(),
                name: surgeon.id.clone(),
                days: surgeon
                    .max_surgery_time
                    .iter()
                    .enumerate()
                    .take(days as usize)
                    .filter(|(_, minutes)| **minutes > 0)
                    .map(|(d, minutes)| SurgeonDay {
                        date: day(start, d as u32, &path, errors),
                        minutes: *minutes,
                    })
                    .collect(),
            }
        })
        .collect();

    unique_ids(
        "patient",
        "patients",
        i.patients.iter().map(|p| p.id.as_str()),
        errors,
    );
    let waiting_list = i
        .patients
        .iter()
        .enumerate()
        .map(|(p, patient)| convert_patient(p, patient, days, start, &surgeon_ids, errors))
        .collect();

    unique_ids(
        "occupant",
        "occupants",
        i.occupants.iter().map(|o| o.id.as_str()),
        errors,
    );
    let inpatients = i
        .occupants
        .iter()
        .enumerate()
        .map(|(o, occupant)| {
            if !rooms.contains(occupant.room_id.as_str()) {
                errors.push(FieldError::new(
                    format!("occupants[{o}].room_id"),
                    format!(
                        "unknown room \"{}\" (known: {})",
                        occupant.room_id,
                        known(&rooms)
                    ),
                ));
            }
            Inpatient {
                id: occupant.id.clone(),
                ward: occupant.room_id.clone(),
                expected_discharge: day(
                    start,
                    occupant.length_of_stay,
                    &format!("occupants[{o}].length_of_stay"),
                    errors,
                ),
            }
        })
        .collect();

    Scenario {
        schema: SCENARIO_SCHEMA.to_owned(),
        name: name.to_owned(),
        start,
        horizon_days: days.max(1),
        policy: Policy {
            theatre_utilisation_cap: 1.0,
            ..Policy::default()
        },
        sites: vec![Site {
            id: SITE.to_owned(),
            name: "IHTC-2024 hospital".to_owned(),
            trust: None,
            role: None,
        }],
        specialties: vec![SPECIALTY.to_owned()],
        wards,
        theatres,
        waiting_list,
        inpatients,
        emergency: Emergency::default(),
        surgeons,
        network: None,
    }
}

fn convert_patient(
    p: usize,
    patient: &Patient,
    days: u32,
    start: NaiveDate,
    surgeons: &HashSet<&str>,
    errors: &mut Vec<FieldError>,
) -> Case {
    let path = format!("patients[{p}]");
    if !surgeons.contains(patient.surgeon_id.as_str()) {
        errors.push(FieldError::new(
            format!("{path}.surgeon_id"),
            format!(
                "unknown surgeon \"{}\" (known: {})",
                patient.surgeon_id,
                known(surgeons)
            ),
        ));
    }
    if patient.surgery_duration < 1 {
        errors.push(FieldError::new(
            format!("{path}.surgery_duration"),
            "must be at least 1 minute",
        ));
    }
    if patient.surgery_release_day >= days {
        errors.push(FieldError::new(
            format!("{path}.surgery_release_day"),
            format!(
                "day {} is not inside the {days}-day horizon (days 0 to {})",
                patient.surgery_release_day,
                days.saturating_sub(1)
            ),
        ));
    }
    let earliest = day(
        start,
        patient.surgery_release_day,
        &format!("{path}.surgery_release_day"),
        errors,
    );
    let due = match (patient.mandatory, patient.surgery_due_day) {
        (true, Some(due)) => {
            if due < patient.surgery_release_day {
                errors.push(FieldError::new(
                    format!("{path}.surgery_due_day"),
                    format!(
                        "day {due} is before the release day ({})",
                        patient.surgery_release_day
                    ),
                ));
            }
            Some(day(start, due, &format!("{path}.surgery_due_day"), errors))
        }
        (true, None) => {
            errors.push(FieldError::new(
                format!("{path}.surgery_due_day"),
                "missing: a mandatory patient needs a due day",
            ));
            None
        }
        // An optional patient has no due day; one given anyway has no meaning here.
        (false, _) => None,
    };
    Case {
        id: patient.id.clone(),
        specialty: SPECIALTY.to_owned(),
        priority: if patient.mandatory {
            Priority::P2
        } else {
            Priority::P4
        },
        listed: earliest,
        duration_min: patient.surgery_duration,
        earliest,
        site: None,
        stay: if patient.length_of_stay == 0 {
            Vec::new()
        } else {
            vec![StaySegment {
                kind: KIND.to_owned(),
                nights: patient.length_of_stay,
            }]
        },
        due,
        surgeon: Some(patient.surgeon_id.clone()),
        home_site: None,
        travel: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const I03: &str = include_str!("../../../../shared/benchmarks/ihtc2024/instances/i03.json");

    fn i03() -> Scenario {
        import(I03, "ihtc-i03", DEFAULT_START).unwrap()
    }

    fn problems(value: &Value) -> Vec<String> {
        match import(&value.to_string(), "x", DEFAULT_START) {
            Err(Error::Invalid { errors }) => errors.0.iter().map(ToString::to_string).collect(),
            other => panic!("expected Error::Invalid, got {other:?}"),
        }
    }

    fn edited(edit: impl FnOnce(&mut Value)) -> Value {
        let mut v: Value = serde_json::from_str(I03).unwrap();
        edit(&mut v);
        v
    }

    #[test]
    fn i03_keeps_ids_days_and_windows() {
        let s = i03();
        assert!(validate::validate_scenario(&s).is_empty());
        assert_eq!(s.horizon_days, 14);
        assert_eq!(s.start, DEFAULT_START);
        assert_eq!(s.policy.theatre_utilisation_cap, 1.0);
        assert!(s.emergency.admissions.is_empty() && s.emergency.theatre.is_empty());
        assert_eq!(s.waiting_list.len(), 45);
        assert_eq!(s.wards.len(), 4);
        assert_eq!(s.wards[1].beds, 4);
        assert_eq!(s.inpatients.len(), 3);
        assert_eq!(s.inpatients[0].ward, "r2");
        assert_eq!(
            s.inpatients[0].expected_discharge,
            DEFAULT_START + Days::new(1)
        );
        // t0: availability [720, 720, 720, 720, 0, 480, …]: no session on day 4.
        let t0 = &s.theatres[0];
        assert_eq!(t0.id, "t0");
        assert_eq!(t0.sessions.len(), 12);
        assert_eq!(t0.sessions[4].date, DEFAULT_START + Days::new(5));
        assert_eq!(t0.sessions[4].minutes, 480);
        assert!(
            t0.sessions
                .iter()
                .all(|x| x.specialty.is_none() && x.period == Period::Am)
        );
        // s0: max_surgery_time [0, 480, 360, 480, 0, 0, 0, 360, …].
        let s0 = &s.surgeons[0];
        assert_eq!(s0.days[0].date, DEFAULT_START + Days::new(1));
        assert_eq!(s0.days[0].minutes, 480);
        assert_eq!(s0.days.len(), 8);
        // p00 optional: P4, no due, released day 7, 6 nights.
        let p00 = &s.waiting_list[0];
        assert_eq!(
            (p00.id.as_str(), p00.priority, p00.due),
            ("p00", Priority::P4, None)
        );
        assert_eq!(p00.earliest, DEFAULT_START + Days::new(7));
        assert_eq!(p00.listed, p00.earliest);
        assert_eq!(
            p00.stay,
            [StaySegment {
                kind: KIND.into(),
                nights: 6
            }]
        );
        assert_eq!(p00.surgeon.as_deref(), Some("s0"));
        assert_eq!(p00.duration_min, 240);
        // p01 mandatory: P2 due day 13.
        let p01 = &s.waiting_list[1];
        assert_eq!(p01.priority, Priority::P2);
        assert_eq!(p01.due, Some(DEFAULT_START + Days::new(13)));
        assert_eq!(p01.due_date(), p01.due);
    }

    #[test]
    fn mandatory_windows_agree_with_the_derived_scenario() {
        // The issue author's hand conversion (mandatory patients only) has the same
        // release and due dates.
        let s = i03();
        let mandatory: Vec<_> = s
            .waiting_list
            .iter()
            .filter(|c| c.priority == Priority::P2)
            .map(|c| (c.id.as_str(), c.earliest, c.due, c.duration_min))
            .collect();
        let d = |n| Some(DEFAULT_START + Days::new(n));
        let date = |n| DEFAULT_START + Days::new(n);
        assert_eq!(
            mandatory,
            [
                ("p01", date(2), d(13), 120),
                ("p02", date(3), d(7), 240),
                ("p13", date(1), d(1), 240),
                ("p14", date(2), d(13), 90),
                ("p20", date(7), d(9), 300),
                ("p23", date(2), d(13), 120),
                ("p41", date(9), d(9), 120),
            ]
        );
    }

    #[test]
    fn another_start_moves_every_date() {
        let start = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
        let s = import(I03, "x", start).unwrap();
        assert_eq!(s.start, start);
        assert_eq!(s.theatres[0].sessions[0].date, start);
        assert_eq!(s.waiting_list[0].earliest, start + Days::new(7));
    }

    #[test]
    fn a_day_case_has_no_stay() {
        let v = edited(|v| v["patients"][0]["length_of_stay"] = json!(0));
        let s = import(&v.to_string(), "x", DEFAULT_START).unwrap();
        assert!(s.waiting_list[0].stay.is_empty());
    }

    #[test]
    fn bad_instances_name_the_field() {
        let v = edited(|v| v["patients"][3]["surgeon_id"] = json!("s9"));
        assert_eq!(
            problems(&v),
            ["patients[3].surgeon_id: unknown surgeon \"s9\" (known: s0)"]
        );
        let v = edited(|v| v["occupants"][1]["room_id"] = json!("r99"));
        assert_eq!(
            problems(&v)[0],
            "occupants[1].room_id: unknown room \"r99\" (known: r0, r1, r2, r3)"
        );
        let v = edited(|v| v["patients"][2]["surgery_duration"] = json!(-5));
        assert!(
            problems(&v)[0].starts_with("patients[2].surgery_duration: "),
            "{:?}",
            problems(&v)
        );
        let v = edited(|v| {
            v["patients"][1]
                .as_object_mut()
                .unwrap()
                .remove("surgery_due_day");
        });
        assert!(problems(&v)[0].starts_with("patients[1].surgery_due_day: missing"));
        let v = edited(|v| {
            v["rooms"][0].as_object_mut().unwrap().remove("capacity");
        });
        assert_eq!(problems(&v), ["rooms[0].capacity: missing required field"]);
        let v = edited(|v| v["operating_theaters"][1]["availability"] = json!([600]));
        assert!(
            problems(&v)[0]
                .starts_with("operating_theaters[1].availability: must list one value per day")
        );
        let v = edited(|v| v["surgeons"][0]["max_surgery_time"][2] = json!(360.5));
        assert!(problems(&v)[0].starts_with("surgeons[0].max_surgery_time[2]: "));
        let v = edited(|v| v["patients"][5]["id"] = v["patients"][4]["id"].clone());
        assert!(problems(&v)[0].contains("patients[5].id: duplicate patient id"));
        let v = edited(|v| v["patients"][1]["surgery_release_day"] = json!(14));
        assert!(
            problems(&v)
                .iter()
                .any(|p| p.starts_with("patients[1].surgery_release_day: day 14 is not inside"))
        );
        let v = edited(|v| v["days"] = json!(0));
        assert!(problems(&v).iter().any(|p| p.starts_with("days: ")));
        let v = edited(|v| v["patients"][1]["surgery_due_day"] = json!(u32::MAX));
        assert!(
            problems(&v)
                .iter()
                .any(|p| p.contains("beyond the calendar"))
        );
        assert!(matches!(
            import("{", "x", DEFAULT_START),
            Err(Error::Syntax { .. })
        ));
    }

    #[test]
    fn whole_numbers_as_floats_import() {
        let v = edited(|v| v["rooms"][0]["capacity"] = json!(3.0));
        assert_eq!(
            import(&v.to_string(), "x", DEFAULT_START).unwrap().wards[0].beds,
            3
        );
    }

    /// A JSON value to put somewhere in an instance.
    fn junk() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e6..1e6f64).prop_map(Value::from),
            "[a-z0-9]{0,3}".prop_map(Value::from),
            Just(json!([])),
            Just(json!({})),
            Just(json!(u32::MAX)),
        ]
    }

    /// Every place in `v` (object keys and array items), as JSON pointers.
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{at}/{k}");
                    out.push(p.clone());
                    pointers(x, p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate().take(3) {
                    let p = format!("{at}/{i}");
                    out.push(p.clone());
                    pointers(x, p, out);
                }
            }
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A mutated instance imports to a valid scenario or fails with field errors;
        /// it never panics.
        #[test]
        fn mutated_instances_never_panic(picks in prop::collection::vec((any::<prop::sample::Index>(), junk(), any::<bool>()), 1..4)) {
            let mut v: Value = serde_json::from_str(I03).unwrap();
            for (index, new, remove) in picks {
                let mut all = Vec::new();
                pointers(&v, String::new(), &mut all);
                let pointer = index.get(&all).clone();
                let (parent, key) = pointer.rsplit_once('/').unwrap();
                match v.pointer_mut(parent) {
                    Some(Value::Object(m)) if remove => { m.remove(key); }
                    Some(Value::Array(a)) if remove => {
                        let i: usize = key.parse().unwrap();
                        if i < a.len() { a.remove(i); }
                    }
                    _ => if let Some(slot) = v.pointer_mut(&pointer) { *slot = new; },
                }
            }
            match import(&v.to_string(), "x", DEFAULT_START) {
                Ok(s) => prop_assert!(validate::validate_scenario(&s).is_empty()),
                Err(Error::Invalid { errors }) => {
                    prop_assert!(!errors.0.is_empty());
                    prop_assert!(errors.0.iter().all(|e| !e.message.is_empty()));
                }
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
    }
}
