//! Reading `flow.scenario/1` and `flow.plan/1` documents from text, and checking a
//! scenario against the contract so that every problem is reported at once, each
//! named by its field path (`waiting_list[17].stay[0].kind`).
//!
//! Reading runs in three stages. The text is parsed into a JSON value (a syntax error
//! is an [`Error::Syntax`] with line and column). The value is checked against the
//! JSON Schema generated from the contract types ([`scenario_schema`], [`plan_schema`]),
//! which finds every structural problem — wrong types, missing fields, bad dates,
//! out-of-range numbers, unknown enum values — in one pass. Then [`validate_scenario`]
//! adds the semantic problems the schema cannot express: cross references, duplicate
//! ids and sessions, sessions outside the horizon, stays no site can hold. When the
//! structure is too broken to deserialise, each broken field is first replaced by a
//! placeholder of the right shape, so the semantic problems elsewhere are still
//! reported in the same pass. Fields neither the contract nor its documented
//! extensions know are read past, and named (`wards[0].closurez: unknown field (did
//! you mean closures?)`) by [`parse_scenario_with_warnings`] and
//! [`parse_plan_with_warnings`]: see [`crate::unknown`].
//!
//! The schema is the published one: `schemas/*.schema.json` at the repository root are
//! these functions' output, kept current by a test.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{Days, NaiveDate};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, FieldError, FieldErrors, Result};
use crate::plan::{PLAN_SCHEMA, Plan};
use crate::scenario::{MAX_HORIZON_DAYS, Period, SCENARIO_SCHEMA, Scenario};

/// At most this many problems are listed; a final entry counts the rest.
pub const MAX_REPORTED_ERRORS: usize = 200;

/// At most this many names are listed in a "known: …" hint.
const MAX_KNOWN_NAMES: usize = 12;

/// Reads a `flow.scenario/1` document and validates it fully.
///
/// Returns [`Error::Syntax`] when the text is not JSON and [`Error::Invalid`] listing
/// every structural and semantic problem (up to [`MAX_REPORTED_ERRORS`]) otherwise.
///
/// Fields the contract does not know are ignored here (unless the document is invalid
/// anyway: then they are among its problems); [`parse_scenario_with_warnings`] also
/// returns them.
pub fn parse_scenario(text: &str) -> Result<Scenario> {
    parse_scenario_with_warnings(text).map(|parsed| parsed.value)
}

/// A document read whole, with the fields in it that neither the contract nor its
/// documented extensions know (their content is ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// The document.
    pub value: T,
    /// One entry per unknown field, at its path, with a hint:
    /// `wards[0].closurez: unknown field (did you mean closures?)`. Keys starting with
    /// `x-` are private extensions and never listed. A caller decides whether these
    /// are warnings or (`--strict`) errors.
    pub unknown_fields: Vec<FieldError>,
}

/// [`parse_scenario`], also naming every field the contract does not know.
///
/// When the document is invalid, its unknown fields are listed among the problems
/// of the [`Error::Invalid`] (a misspelt optional field often explains a missing one).
pub fn parse_scenario_with_warnings(text: &str) -> Result<Parsed<Scenario>> {
    let mut value = parse_json(text)?;
    let schema = scenario_schema();
    let mut errors = structural_errors(&schema, &value);
    // Checked as written (messages quote `1.0`), read with whole numbers as integers.
    whole_numbers_as_integers(&mut value);
    let mut unknown = Vec::new();
    match crate::unknown::deserialize::<Scenario>(&value, &mut unknown) {
        Ok(scenario) => {
            // Semantic checks still run when the schema found range problems, so a
            // user sees those and the cross-reference problems together.
            let reported: HashSet<String> = errors.iter().map(|e| e.path.clone()).collect();
            errors.extend(
                validate_scenario(&scenario)
                    .into_iter()
                    .filter(|e| !reported.contains(&e.path)),
            );
            if errors.is_empty() {
                return Ok(Parsed {
                    value: scenario,
                    unknown_fields: unknown_fields(&schema, &unknown),
                });
            }
        }
        Err(error) => {
            if errors.is_empty() {
                errors.push(error);
            } else {
                errors.extend(semantic_errors_despite(&value, &errors));
            }
        }
    }
    errors.extend(unknown_fields(&schema, &unknown));
    Err(invalid(errors))
}

/// The unknown fields found while deserialising, described with the names `schema`
/// knows beside them, in path order.
fn unknown_fields(schema: &Value, unknown: &[crate::unknown::Unknown]) -> Vec<FieldError> {
    let mut found: Vec<FieldError> = unknown
        .iter()
        .map(|at| {
            let parent = &at[..at.len().saturating_sub(1)];
            crate::unknown::describe(at, &crate::unknown::schema_fields(schema, parent))
        })
        .collect();
    sort_by_path(&mut found);
    found
}

/// The semantic problems of a document whose structure is broken: each broken field is
/// replaced by a placeholder of the right shape ([`repair`]), the repaired document is
/// checked by [`validate_scenario`], and what that reports about the repaired fields
/// themselves (or the list entries holding them) is dropped — so a bad date and a
/// duplicate id elsewhere are reported together.
fn semantic_errors_despite(value: &Value, structural: &[FieldError]) -> Vec<FieldError> {
    let Some((fixed, patched)) = repair(&scenario_schema(), value) else {
        return Vec::new();
    };
    let Ok(scenario) = deserialize::<Scenario>(&fixed) else {
        return Vec::new();
    };
    let reported: HashSet<&str> = structural.iter().map(|e| e.path.as_str()).collect();
    let calendar_patched = patched.iter().any(|p| p == "start" || p == "horizon_days");
    // A placeholder may itself look wrong (a session dated 2000-01-01 lies outside the
    // horizon): drop anything said about the list entry that holds a patched field.
    let entries: Vec<&str> = patched
        .iter()
        .map(|p| p.rfind(']').map_or(p.as_str(), |i| &p[..=i]))
        .collect();
    validate_scenario(&scenario)
        .into_iter()
        .filter(|e| !reported.contains(e.path.as_str()))
        .filter(|e| !entries.iter().any(|entry| e.path.starts_with(entry)))
        .filter(|e| !(calendar_patched && e.message.contains("horizon")))
        .collect()
}

/// Replaces every structurally broken field of `doc` with a placeholder the schema
/// accepts (the lower bound of a range, the first allowed value, a padded list, …),
/// in a few rounds since a fix can reveal a deeper problem (a missing field is first
/// `null`, then a value of its type). Returns the repaired document and the field
/// paths patched, or `None` when some problem has no placeholder.
fn repair(schema: &Value, doc: &Value) -> Option<(Value, Vec<String>)> {
    const PLACEHOLDER_DATE: &str = "2000-01-01";
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .ok()?;
    let mut doc = doc.clone();
    let mut patched = Vec::new();
    for _round in 0..8 {
        let mut fixes: Vec<(String, Option<String>, Value)> = Vec::new();
        for error in validator.iter_errors(&doc) {
            let pointer = error.instance_path().as_str().to_owned();
            let instance = error.instance();
            let fix = match error.kind() {
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str()?.to_owned();
                    (pointer, Some(name), Value::Null)
                }
                ValidationErrorKind::Type { kind } => {
                    let wanted = match kind {
                        TypeKind::Single(t) => t.to_string(),
                        TypeKind::Multiple(set) => set.iter().next()?.to_string(),
                    };
                    let value = match wanted.as_str() {
                        "string" => Value::from(""),
                        "integer" | "number" => Value::from(1),
                        "boolean" => Value::from(false),
                        "array" => Value::Array(Vec::new()),
                        "object" => Value::Object(serde_json::Map::new()),
                        _ => Value::Null,
                    };
                    (pointer, None, value)
                }
                ValidationErrorKind::Format { .. } => {
                    (pointer, None, Value::from(PLACEHOLDER_DATE))
                }
                ValidationErrorKind::Enum { options } => (
                    pointer,
                    None,
                    Value::clone(options).as_array()?.first()?.clone(),
                ),
                ValidationErrorKind::OneOfNotValid { context }
                | ValidationErrorKind::AnyOf { context } => {
                    let first = context.iter().flatten().find_map(|e| match e.kind() {
                        ValidationErrorKind::Constant { expected_value } => {
                            Some(Value::clone(expected_value))
                        }
                        _ => None,
                    })?;
                    (pointer, None, first)
                }
                ValidationErrorKind::Constant { expected_value } => {
                    (pointer, None, Value::clone(expected_value))
                }
                ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
                    (pointer, None, Value::clone(limit))
                }
                ValidationErrorKind::ExclusiveMinimum { limit } => {
                    (pointer, None, Value::from(limit.as_f64()? + 0.5))
                }
                ValidationErrorKind::ExclusiveMaximum { limit } => {
                    (pointer, None, Value::from(limit.as_f64()? - 0.5))
                }
                ValidationErrorKind::MinItems { limit } => {
                    let mut items = instance.as_array()?.clone();
                    let filler = items.last().cloned().unwrap_or(Value::from(0));
                    items.resize(usize::try_from(*limit).ok()?, filler);
                    (pointer, None, Value::Array(items))
                }
                ValidationErrorKind::MaxItems { limit } => {
                    let mut items = instance.as_array()?.clone();
                    items.truncate(usize::try_from(*limit).ok()?);
                    (pointer, None, Value::Array(items))
                }
                ValidationErrorKind::MinLength { limit } => (
                    pointer,
                    None,
                    Value::from("x".repeat(usize::try_from(*limit).ok()?)),
                ),
                _ => return None,
            };
            fixes.push(fix);
        }
        if fixes.is_empty() {
            return Some((doc, patched));
        }
        for (pointer, field, value) in fixes {
            let target = doc.pointer_mut(&pointer)?;
            let path = match field {
                Some(name) => {
                    target.as_object_mut()?.insert(name.clone(), value);
                    format!("{pointer}/{name}")
                }
                None => {
                    *target = value;
                    pointer
                }
            };
            patched.push(pointer_to_path(&path, &doc));
        }
    }
    None
}

/// Reads a `flow.plan/1` document: JSON syntax, structure and schema tag only.
///
/// Whether the plan keeps the hard constraints of its scenario is the checker's
/// business ([`crate::check`]), not this function's.
///
/// Unknown fields are ignored as in [`parse_scenario`]; [`parse_plan_with_warnings`]
/// also returns them.
pub fn parse_plan(text: &str) -> Result<Plan> {
    parse_plan_with_warnings(text).map(|parsed| parsed.value)
}

/// [`parse_plan`], also naming every field the contract does not know (as
/// [`parse_scenario_with_warnings`] does).
pub fn parse_plan_with_warnings(text: &str) -> Result<Parsed<Plan>> {
    let mut value = parse_json(text)?;
    let schema = plan_schema();
    let mut errors = structural_errors(&schema, &value);
    whole_numbers_as_integers(&mut value);
    let mut unknown = Vec::new();
    if errors.is_empty() {
        match crate::unknown::deserialize::<Plan>(&value, &mut unknown) {
            Ok(plan) if plan.schema == PLAN_SCHEMA => {
                return Ok(Parsed {
                    value: plan,
                    unknown_fields: unknown_fields(&schema, &unknown),
                });
            }
            Ok(plan) => errors.push(FieldError::new(
                "schema",
                unsupported_schema(&plan.schema, PLAN_SCHEMA),
            )),
            Err(error) => errors.push(error),
        }
    } else {
        // Only to name the unknown fields beside the structural problems.
        let _ = crate::unknown::deserialize::<Plan>(&value, &mut unknown);
    }
    errors.extend(unknown_fields(&schema, &unknown));
    Err(invalid(errors))
}

/// The JSON Schema (draft 2020-12) of a `flow.scenario/1` document, generated from
/// [`Scenario`].
pub fn scenario_schema() -> Value {
    schema_for::<Scenario>()
}

/// The JSON Schema (draft 2020-12) of a `flow.plan/1` document, generated from [`Plan`].
pub fn plan_schema() -> Value {
    schema_for::<Plan>()
}

/// Semantic checks of an already-typed scenario: cross references, duplicates, ranges,
/// horizon. Returns every problem found, in field-path order; empty means valid.
///
/// Runs in time linear in the size of the scenario (hash lookups throughout).
pub fn validate_scenario(s: &Scenario) -> Vec<FieldError> {
    let mut r = Report::default();

    if s.schema != SCENARIO_SCHEMA {
        r.add("schema", unsupported_schema(&s.schema, SCENARIO_SCHEMA));
    }
    let horizon = check_horizon(s, &mut r);
    check_policy(s, &mut r);

    // Sites and specialties: the names everything else refers to.
    let sites = index_ids(&mut r, "site", s.sites.iter().map(|x| x.id.as_str()), |i| {
        format!("sites[{i}].id")
    });
    let known_sites = known_names(sites.keys().copied());
    let specialties = index_ids(
        &mut r,
        "specialty",
        s.specialties.iter().map(String::as_str),
        |i| format!("specialties[{i}]"),
    );
    let known_specialties = known_names(specialties.keys().copied());

    // Wards: bed kinds and pools.
    let ward_ids = index_ids(&mut r, "ward", s.wards.iter().map(|w| w.id.as_str()), |i| {
        format!("wards[{i}].id")
    });
    let known_wards = known_names(ward_ids.keys().copied());
    let mut kinds: BTreeSet<&str> = BTreeSet::new();
    let mut site_kinds: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (i, ward) in s.wards.iter().enumerate() {
        let site_known = sites.contains_key(ward.site.as_str());
        if !site_known {
            r.add(
                format!("wards[{i}].site"),
                unknown("site", &ward.site, &known_sites),
            );
        }
        if ward.kind.trim().is_empty() {
            r.add(format!("wards[{i}].kind"), "bed kind must not be empty");
        } else {
            kinds.insert(&ward.kind);
            if site_known {
                site_kinds
                    .entry(ward.site.as_str())
                    .or_default()
                    .insert(&ward.kind);
            }
        }
        if ward.beds < 1 {
            r.add(format!("wards[{i}].beds"), at_least(1, ward.beds));
        }
        for (j, closure) in ward.closures.iter().enumerate() {
            if closure.from > closure.to {
                r.add(
                    format!("wards[{i}].closures[{j}].to"),
                    format!(
                        "closure ends ({}) before it starts ({})",
                        closure.to, closure.from
                    ),
                );
            }
            if closure.beds > ward.beds {
                r.add(
                    format!("wards[{i}].closures[{j}].beds"),
                    format!(
                        "closes {} beds but the ward has only {}",
                        closure.beds, ward.beds
                    ),
                );
            }
        }
    }
    let known_kinds = known_names(kinds.iter().copied());

    // Theatres and their sessions.
    index_ids(
        &mut r,
        "theatre",
        s.theatres.iter().map(|t| t.id.as_str()),
        |i| format!("theatres[{i}].id"),
    );
    let mut sessions: HashMap<(&str, NaiveDate, Period), (usize, usize)> = HashMap::new();
    for (i, theatre) in s.theatres.iter().enumerate() {
        if !sites.contains_key(theatre.site.as_str()) {
            r.add(
                format!("theatres[{i}].site"),
                unknown("site", &theatre.site, &known_sites),
            );
        }
        for (j, session) in theatre.sessions.iter().enumerate() {
            let path = format!("theatres[{i}].sessions[{j}]");
            match horizon {
                Some((first, last)) if session.date < first || session.date > last => r.add(
                    format!("{path}.date"),
                    format!(
                        "{} is outside the horizon ({first} to {last})",
                        session.date
                    ),
                ),
                _ => {}
            }
            if session.minutes < 1 {
                r.add(format!("{path}.minutes"), at_least(1, session.minutes));
            }
            match &session.specialty {
                Some(specialty) if !specialties.contains_key(specialty.as_str()) => r.add(
                    format!("{path}.specialty"),
                    unknown("specialty", specialty, &known_specialties),
                ),
                _ => {}
            }
            match sessions.entry((theatre.id.as_str(), session.date, session.period)) {
                Entry::Occupied(first) => {
                    let (fi, fj) = *first.get();
                    r.add(
                        path,
                        format!(
                            "duplicate session: theatre \"{}\" already has a session on {} ({}) \
                             at theatres[{fi}].sessions[{fj}]",
                            theatre.id, session.date, session.period
                        ),
                    );
                }
                Entry::Vacant(slot) => {
                    slot.insert((i, j));
                }
            }
        }
    }

    // Surgeons and their operating days.
    let surgeons = index_ids(
        &mut r,
        "surgeon",
        s.surgeons.iter().map(|x| x.id.as_str()),
        |i| format!("surgeons[{i}].id"),
    );
    let known_surgeons = known_names(surgeons.keys().copied());
    for (i, surgeon) in s.surgeons.iter().enumerate() {
        let mut dates: HashMap<NaiveDate, usize> = HashMap::new();
        for (j, day) in surgeon.days.iter().enumerate() {
            let path = format!("surgeons[{i}].days[{j}]");
            match horizon {
                Some((first, last)) if day.date < first || day.date > last => r.add(
                    format!("{path}.date"),
                    format!("{} is outside the horizon ({first} to {last})", day.date),
                ),
                _ => {}
            }
            if let Some(earlier) = dates.insert(day.date, j) {
                r.add(
                    format!("{path}.date"),
                    format!(
                        "duplicate day: surgeon \"{}\" already lists {} at surgeons[{i}].days[{earlier}]",
                        surgeon.id, day.date
                    ),
                );
            }
        }
    }

    // The waiting list.
    index_ids(
        &mut r,
        "case",
        s.waiting_list.iter().map(|c| c.id.as_str()),
        |i| format!("waiting_list[{i}].id"),
    );
    for (i, case) in s.waiting_list.iter().enumerate() {
        let path = format!("waiting_list[{i}]");
        if !specialties.contains_key(case.specialty.as_str()) {
            r.add(
                format!("{path}.specialty"),
                unknown("specialty", &case.specialty, &known_specialties),
            );
        }
        if case.duration_min < 1 {
            r.add(
                format!("{path}.duration_min"),
                at_least(1, case.duration_min),
            );
        }
        if let Some(surgeon) = &case.surgeon
            && !surgeons.contains_key(surgeon.as_str())
        {
            r.add(
                format!("{path}.surgeon"),
                unknown("surgeon", surgeon, &known_surgeons),
            );
        }
        if let Some(home) = &case.home_site
            && !sites.contains_key(home.as_str())
        {
            r.add(
                format!("{path}.home_site"),
                unknown("site", home, &known_sites),
            );
        }
        let site_known = match &case.site {
            Some(site) if !sites.contains_key(site.as_str()) => {
                r.add(format!("{path}.site"), unknown("site", site, &known_sites));
                false
            }
            _ => true,
        };
        let mut kinds_known = true;
        for (j, segment) in case.stay.iter().enumerate() {
            if !kinds.contains(segment.kind.as_str()) {
                kinds_known = false;
                r.add(
                    format!("{path}.stay[{j}].kind"),
                    unknown("bed kind", &segment.kind, &known_kinds),
                );
            }
            if segment.nights < 1 {
                r.add(
                    format!("{path}.stay[{j}].nights"),
                    at_least(1, segment.nights),
                );
            }
        }
        if !kinds_known || !site_known || case.stay.is_empty() {
            continue;
        }
        // All segments of one stay are spent at the operating site, so some allowed
        // site must have a pool of every kind the stay needs.
        match &case.site {
            Some(site) => {
                let at_site = site_kinds.get(site.as_str());
                for (j, segment) in case.stay.iter().enumerate() {
                    if !at_site.is_some_and(|k| k.contains(segment.kind.as_str())) {
                        r.add(
                            format!("{path}.stay[{j}].kind"),
                            format!(
                                "the case must be operated at site \"{site}\", which has no \
                                 \"{}\" beds",
                                segment.kind
                            ),
                        );
                    }
                }
            }
            None => {
                let fits = site_kinds
                    .values()
                    .any(|k| case.stay.iter().all(|seg| k.contains(seg.kind.as_str())));
                if !fits {
                    let needed = known_names(case.stay.iter().map(|seg| seg.kind.as_str()));
                    r.add(
                        format!("{path}.stay"),
                        format!("no single site has beds of every kind this stay needs ({needed})"),
                    );
                }
            }
        }
    }

    // Current inpatients.
    index_ids(
        &mut r,
        "inpatient",
        s.inpatients.iter().map(|p| p.id.as_str()),
        |i| format!("inpatients[{i}].id"),
    );
    for (i, patient) in s.inpatients.iter().enumerate() {
        if !ward_ids.contains_key(patient.ward.as_str()) {
            r.add(
                format!("inpatients[{i}].ward"),
                unknown("ward", &patient.ward, &known_wards),
            );
        }
    }

    // Emergency demand.
    let mut streams: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, stream) in s.emergency.admissions.iter().enumerate() {
        let path = format!("emergency.admissions[{i}]");
        let site_known = sites.contains_key(stream.site.as_str());
        if !site_known {
            r.add(
                format!("{path}.site"),
                unknown("site", &stream.site, &known_sites),
            );
        }
        if !kinds.contains(stream.kind.as_str()) {
            r.add(
                format!("{path}.kind"),
                unknown("bed kind", &stream.kind, &known_kinds),
            );
        } else if site_known
            && !site_kinds
                .get(stream.site.as_str())
                .is_some_and(|k| k.contains(stream.kind.as_str()))
        {
            r.add(
                format!("{path}.kind"),
                format!(
                    "site \"{}\" has no \"{}\" ward for these admissions",
                    stream.site, stream.kind
                ),
            );
        }
        match streams.entry((stream.site.as_str(), stream.kind.as_str())) {
            Entry::Occupied(first) => r.add(
                path.clone(),
                format!(
                    "duplicate emergency admissions for {}/{} (first at \
                     emergency.admissions[{}])",
                    stream.site,
                    stream.kind,
                    first.get()
                ),
            ),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
        check_per_day(&mut r, &path, &stream.per_day);
        if !(stream.los_mean_nights.is_finite() && stream.los_mean_nights >= 1.0) {
            r.add(
                format!("{path}.los_mean_nights"),
                at_least(1, stream.los_mean_nights),
            );
        }
    }
    let mut demand_sites: HashMap<&str, usize> = HashMap::new();
    for (i, demand) in s.emergency.theatre.iter().enumerate() {
        let path = format!("emergency.theatre[{i}]");
        if !sites.contains_key(demand.site.as_str()) {
            r.add(
                format!("{path}.site"),
                unknown("site", &demand.site, &known_sites),
            );
        }
        match demand_sites.entry(demand.site.as_str()) {
            Entry::Occupied(first) => r.add(
                format!("{path}.site"),
                format!(
                    "duplicate emergency theatre demand for site \"{}\" (first at \
                     emergency.theatre[{}])",
                    demand.site,
                    first.get()
                ),
            ),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
        check_per_day(&mut r, &path, &demand.per_day);
        if !(demand.minutes_mean.is_finite() && demand.minutes_mean > 0.0) {
            r.add(
                format!("{path}.minutes_mean"),
                greater_than(0, demand.minutes_mean),
            );
        }
        if !(demand.minutes_sd.is_finite() && demand.minutes_sd >= 0.0) {
            r.add(format!("{path}.minutes_sd"), at_least(0, demand.minutes_sd));
        }
    }

    check_network(
        s,
        &mut r,
        &Names {
            sites: &sites,
            known_sites: &known_sites,
            specialties: &specialties,
            known_specialties: &known_specialties,
            kinds: &kinds,
            known_kinds: &known_kinds,
            site_kinds: &site_kinds,
        },
    );

    let mut errors = r.errors;
    sort_by_path(&mut errors);
    errors
}

/// The names a scenario defines, for checking what refers to them.
struct Names<'n, 'a> {
    sites: &'n HashMap<&'a str, usize>,
    known_sites: &'n str,
    specialties: &'n HashMap<&'a str, usize>,
    known_specialties: &'n str,
    kinds: &'n BTreeSet<&'a str>,
    known_kinds: &'n str,
    site_kinds: &'n HashMap<&'a str, HashSet<&'a str>>,
}

/// `network.links`: sites, self-links, travel, what may move, beds lent, repatriation;
/// then, when every link holds, trust members no link joins to the rest of their trust.
fn check_network(s: &Scenario, r: &mut Report, n: &Names<'_, '_>) {
    let Some(network) = &s.network else {
        return;
    };
    let before = r.errors.len();
    let mut directions: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, link) in network.links.iter().enumerate() {
        let path = format!("network.links[{i}]");
        let mut ends_known = true;
        for (end, site) in [("from", &link.from), ("to", &link.to)] {
            if !n.sites.contains_key(site.as_str()) {
                ends_known = false;
                r.add(
                    format!("{path}.{end}"),
                    unknown("site", site, n.known_sites),
                );
            }
        }
        if link.from == link.to {
            r.add(
                format!("{path}.to"),
                format!("a link must join two sites (both ends are \"{}\")", link.to),
            );
        } else if ends_known {
            let mut both = vec![(link.from.as_str(), link.to.as_str())];
            if link.bidirectional {
                both.push((link.to.as_str(), link.from.as_str()));
            }
            for (a, b) in both {
                match directions.entry((a, b)) {
                    Entry::Occupied(first) => r.add(
                        path.clone(),
                        format!(
                            "duplicate link from \"{a}\" to \"{b}\" (first at network.links[{}])",
                            first.get()
                        ),
                    ),
                    Entry::Vacant(slot) => {
                        slot.insert(i);
                    }
                }
            }
        }
        if link.travel_min < 1 {
            r.add(format!("{path}.travel_min"), at_least(1, link.travel_min));
        }
        if let Some(electives) = &link.electives {
            for (j, specialty) in electives.specialties.iter().enumerate() {
                if !n.specialties.contains_key(specialty.as_str()) {
                    r.add(
                        format!("{path}.electives.specialties[{j}]"),
                        unknown("specialty", specialty, n.known_specialties),
                    );
                }
            }
            for (j, kind) in electives.stay_kinds.iter().enumerate() {
                if !n.kinds.contains(kind.as_str()) {
                    r.add(
                        format!("{path}.electives.stay_kinds[{j}]"),
                        unknown("bed kind", kind, n.known_kinds),
                    );
                }
            }
        }
        for (j, beds) in link.beds.iter().enumerate() {
            let at = format!("{path}.beds[{j}].kind");
            if !n.kinds.contains(beds.kind.as_str()) {
                r.add(at, unknown("bed kind", &beds.kind, n.known_kinds));
                continue;
            }
            for site in [&link.from, &link.to] {
                if n.sites.contains_key(site.as_str())
                    && !n
                        .site_kinds
                        .get(site.as_str())
                        .is_some_and(|k| k.contains(beds.kind.as_str()))
                {
                    r.add(
                        at.clone(),
                        format!(
                            "site \"{site}\" has no \"{}\" ward to lend or borrow",
                            beds.kind
                        ),
                    );
                }
            }
        }
        if let Some(repatriation) = &link.repatriation {
            if !n.kinds.contains(repatriation.kind.as_str()) {
                r.add(
                    format!("{path}.repatriation.kind"),
                    unknown("bed kind", &repatriation.kind, n.known_kinds),
                );
            }
            if repatriation.after_nights < 1 {
                r.add(
                    format!("{path}.repatriation.after_nights"),
                    at_least(1, repatriation.after_nights),
                );
            }
        }
    }
    if r.errors.len() > before {
        return;
    }
    let Ok(graph) = crate::network::SiteGraph::build(s) else {
        return;
    };
    for lost in graph.unreachable() {
        r.add(
            format!("sites[{}].trust", lost.site),
            format!(
                "site \"{}\" of trust \"{}\" is joined by no network link to the rest of \
                 its trust ({})",
                lost.id,
                lost.trust,
                known_names(lost.others.iter().map(String::as_str)),
            ),
        );
    }
}

/// Collects problems as they are found.
#[derive(Default)]
struct Report {
    errors: Vec<FieldError>,
}

impl Report {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }
}

/// The horizon's first and last day, or `None` (with a problem reported) when
/// `horizon_days` is out of range.
fn check_horizon(s: &Scenario, r: &mut Report) -> Option<(NaiveDate, NaiveDate)> {
    if s.horizon_days < 1 {
        r.add("horizon_days", at_least(1, s.horizon_days));
        return None;
    }
    if s.horizon_days > MAX_HORIZON_DAYS {
        r.add("horizon_days", at_most(MAX_HORIZON_DAYS, s.horizon_days));
        return None;
    }
    match s
        .start
        .checked_add_days(Days::new(u64::from(s.horizon_days - 1)))
    {
        Some(last) => Some((s.start, last)),
        None => {
            r.add(
                "horizon_days",
                "the horizon runs past the last date the calendar supports",
            );
            None
        }
    }
}

fn check_policy(s: &Scenario, r: &mut Report) {
    let p = &s.policy;
    let cap = p.theatre_utilisation_cap;
    if !(cap > 0.0 && cap <= 1.0) {
        r.add(
            "policy.theatre_utilisation_cap",
            format!("must be in (0, 1] (got {cap})"),
        );
    }
    for (name, q) in [
        ("emergency_bed_quantile", p.emergency_bed_quantile),
        ("emergency_theatre_quantile", p.emergency_theatre_quantile),
    ] {
        if !(q > 0.0 && q < 1.0) {
            r.add(
                format!("policy.{name}"),
                format!("must be in (0, 1), strictly between 0 and 1 (got {q})"),
            );
        }
    }
}

fn check_per_day(r: &mut Report, path: &str, per_day: &[f64; 7]) {
    for (d, &mean) in per_day.iter().enumerate() {
        if !(mean.is_finite() && mean >= 0.0) {
            r.add(
                format!("{path}.per_day[{d}]"),
                format!("must be a finite number at least 0 (got {mean})"),
            );
        }
    }
}

/// Maps each non-empty id to the index of its first occurrence, reporting empty and
/// duplicate ids at the path `path_of(index)`.
fn index_ids<'a>(
    r: &mut Report,
    what: &str,
    ids: impl Iterator<Item = &'a str>,
    path_of: impl Fn(usize) -> String,
) -> HashMap<&'a str, usize> {
    let mut index = HashMap::new();
    for (i, id) in ids.enumerate() {
        if id.trim().is_empty() {
            r.add(path_of(i), format!("{what} id must not be empty"));
            continue;
        }
        match index.entry(id) {
            Entry::Occupied(first) => r.add(
                path_of(i),
                format!(
                    "duplicate {what} id \"{id}\" (first at {})",
                    path_of(*first.get())
                ),
            ),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
    index
}

/// Sorted, de-duplicated names for a "known: …" hint, shortened when there are many.
fn known_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: BTreeSet<&str> = names.collect();
    if names.is_empty() {
        return "none".to_owned();
    }
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if i == MAX_KNOWN_NAMES {
            let _ = write!(out, ", … {} more", names.len() - MAX_KNOWN_NAMES);
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
    }
    out
}

fn unknown(what: &str, name: &str, known: &str) -> String {
    format!("unknown {what} \"{name}\" (known: {known})")
}

fn unsupported_schema(found: &str, expected: &str) -> String {
    format!("unsupported schema \"{found}\" (expected \"{expected}\")")
}

fn at_least(min: impl std::fmt::Display, got: impl std::fmt::Display) -> String {
    format!("must be at least {min} (got {got})")
}

fn at_most(max: impl std::fmt::Display, got: impl std::fmt::Display) -> String {
    format!("must be at most {max} (got {got})")
}

fn greater_than(min: impl std::fmt::Display, got: impl std::fmt::Display) -> String {
    format!("must be greater than {min} (got {got})")
}

fn less_than(max: impl std::fmt::Display, got: impl std::fmt::Display) -> String {
    format!("must be less than {max} (got {got})")
}

/// The whole list as an [`Error::Invalid`], sorted by path and capped.
fn invalid(mut errors: Vec<FieldError>) -> Error {
    sort_by_path(&mut errors);
    if errors.len() > MAX_REPORTED_ERRORS {
        let more = errors.len() - MAX_REPORTED_ERRORS;
        errors.truncate(MAX_REPORTED_ERRORS);
        errors.push(FieldError::new("", format!("… and {more} more problem(s)")));
    }
    Error::Invalid {
        errors: FieldErrors(errors),
    }
}

/// One step of a field path, ordered so that `[2]` sorts before `[10]`.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Step<'a> {
    Index(usize),
    Field(&'a str),
}

fn path_steps(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (field, mut rest) = part.split_once('[').map_or((part, ""), |(f, r)| (f, r));
        if !field.is_empty() {
            steps.push(Step::Field(field));
        }
        while let Some((index, tail)) = rest.split_once(']') {
            match index.parse() {
                Ok(i) => steps.push(Step::Index(i)),
                Err(_) => steps.push(Step::Field(index)),
            }
            rest = tail.strip_prefix('[').unwrap_or(tail);
        }
    }
    steps
}

/// Stable sort by field path, document-level problems (empty path) first.
fn sort_by_path(errors: &mut [FieldError]) {
    errors.sort_by(|a, b| path_steps(&a.path).cmp(&path_steps(&b.path)));
}

pub(crate) fn parse_json(text: &str) -> Result<Value> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        Error::Syntax {
            line: e.line().max(1),
            column: e.column().max(1),
            message: message
                .strip_suffix(&suffix)
                .map_or(message.clone(), str::to_owned),
        }
    })
}

/// Rewrites every number written with a fraction of zero (`240.0`, `1e3`) as an
/// integer, so that it reads wherever a whole number is expected — JSON Schema counts
/// it as an integer too, and other tools write whole minutes that way. A number with a
/// real fraction (`240.5`) stays as it is, and the schema then names its field.
/// Numbers beyond ±2^53 are left alone: not every such float is a whole integer.
pub(crate) fn whole_numbers_as_integers(value: &mut Value) {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64()
                && x.fract() == 0.0
                && x.abs() <= EXACT
            {
                // In range and whole, so the conversions are exact.
                #[allow(clippy::cast_possible_truncation)]
                let whole = x as i64;
                *value = Value::from(whole);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

fn deserialize<T: DeserializeOwned>(value: &Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        FieldError::new(path, e.into_inner().to_string())
    })
}

pub(crate) fn schema_for<T: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(bound_uint32))
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// `u32` fields get their upper bound in the schema too, so an overflowing number is a
/// schema error with a path rather than a deserialisation failure.
fn bound_uint32(schema: &mut Schema) {
    if schema.get("format").and_then(Value::as_str) == Some("uint32")
        && schema.get("maximum").is_none()
    {
        schema.insert("maximum".to_owned(), Value::from(u32::MAX));
    }
}

/// Every structural problem of `doc` under `schema`, with readable paths and messages.
fn structural_errors(schema: &Value, doc: &Value) -> Vec<FieldError> {
    let validator = match jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
    {
        Ok(validator) => validator,
        Err(e) => {
            return vec![FieldError::new(
                "",
                format!("internal error: the document schema does not compile: {e}"),
            )];
        }
    };
    validator
        .iter_errors(doc)
        .map(|e| describe(&e, doc))
        .collect()
}

/// A schema violation as a [`FieldError`] a scheduler can act on.
fn describe(error: &jsonschema::ValidationError<'_>, doc: &Value) -> FieldError {
    let path = pointer_to_path(error.instance_path().as_str(), doc);
    let instance: &Value = error.instance();
    let got = brief(instance);
    let message = match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            let path = if path.is_empty() {
                name
            } else {
                format!("{path}.{name}")
            };
            return FieldError::new(path, "missing required field");
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            format!("expected {expected}, found {got}")
        }
        ValidationErrorKind::Format { format } if format == "date" => {
            format!("{got} is not a valid date (expected YYYY-MM-DD)")
        }
        ValidationErrorKind::Format { format } => format!("{got} is not a valid {format}"),
        ValidationErrorKind::Constant { expected_value } if path == "schema" => {
            match (instance.as_str(), expected_value.as_str()) {
                (Some(found), Some(expected)) => unsupported_schema(found, expected),
                _ => format!("expected {expected_value}, found {got}"),
            }
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!("expected {expected_value}, found {got}")
        }
        ValidationErrorKind::Enum { options } => {
            let names = options
                .as_array()
                .map(|o| o.iter().map(plain).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            format!("unknown value {got} (expected one of: {names})")
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            // Unit enums come out as `oneOf` of constants: list them.
            let names: Vec<String> = context
                .iter()
                .flatten()
                .filter_map(|e| match e.kind() {
                    ValidationErrorKind::Constant { expected_value } => Some(plain(expected_value)),
                    _ => None,
                })
                .collect();
            if names.is_empty() {
                format!("{got} does not match any allowed form")
            } else {
                format!(
                    "unknown value {got} (expected one of: {})",
                    names.join(", ")
                )
            }
        }
        ValidationErrorKind::Minimum { limit } => at_least(limit, &got),
        ValidationErrorKind::Maximum { limit } => at_most(limit, &got),
        ValidationErrorKind::ExclusiveMinimum { limit } => greater_than(limit, &got),
        ValidationErrorKind::ExclusiveMaximum { limit } => less_than(limit, &got),
        ValidationErrorKind::MinItems { limit } | ValidationErrorKind::MaxItems { limit } => {
            let count = instance.as_array().map_or(0, Vec::len);
            if path.ends_with("per_day") {
                format!("must list exactly 7 values, Monday to Sunday (got {count})")
            } else if matches!(error.kind(), ValidationErrorKind::MinItems { .. }) {
                format!("must have at least {limit} item(s) (got {count})")
            } else {
                format!("must have at most {limit} item(s) (got {count})")
            }
        }
        ValidationErrorKind::MinLength { limit } => {
            format!("must be at least {limit} character(s) long")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("must be at most {limit} character(s) long")
        }
        other => format!("breaks the schema's `{}` rule", other.keyword()),
    };
    FieldError::new(path, message)
}

/// `/waiting_list/17/listed` → `waiting_list[17].listed`, walking `doc` to tell array
/// indices from object keys that happen to be numbers.
fn pointer_to_path(pointer: &str, doc: &Value) -> String {
    let mut out = String::new();
    let mut current = Some(doc);
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        let index = match current {
            Some(Value::Array(_)) => segment.parse::<usize>().ok(),
            _ => None,
        };
        if let Some(i) = index {
            let _ = write!(out, "[{i}]");
            current = current.and_then(|v| v.get(i));
            continue;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&segment);
        current = current.and_then(|v| v.get(segment.as_str()));
    }
    out
}

/// A short rendering of a JSON value for a message.
fn brief(value: &Value) -> String {
    match value {
        Value::String(s) => {
            let short: String = s.chars().take(60).collect();
            if short.len() < s.len() {
                format!("\"{short}…\"")
            } else {
                format!("\"{s}\"")
            }
        }
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        other => other.to_string(),
    }
}

/// A JSON value as a bare name: strings without quotes.
fn plain(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scenario::{
        Case, Closure, Emergency, EmergencyAdmissions, EmergencyTheatre, Inpatient, Policy,
        Priority, Session, Site, StaySegment, Theatre, Ward,
    };
    use proptest::prelude::*;
    use serde_json::json;

    const FIXTURE: &str = include_str!("../tests/data/contract-example.json");

    const PLAN_EXAMPLE: &str = r#"{
      "schema": "flow.plan/1",
      "scenario": "demo-trust",
      "solver": { "backend": "highs", "status": "optimal", "objective": 1234.5,
                  "gap": 0.0, "seconds": 0.42 },
      "sessions": [{ "theatre": "n-th-1", "date": "2026-12-07", "period": "am",
                     "specialty": "ortho", "minutes": 240, "reserved_emergency_min": 0,
                     "cases": ["c-000001"] }],
      "unscheduled": [{ "case": "c-000002", "reason": "no_bed" }],
      "occupancy": [{ "site": "north", "kind": "surgical", "date": "2026-12-07",
                      "beds": 28, "current": 20, "elective": 3,
                      "emergency_mean": 4.1, "emergency_reserve": 7 }]
    }"#;

    fn fixture_value() -> Value {
        serde_json::from_str(FIXTURE).unwrap()
    }

    fn fixture() -> Scenario {
        parse_scenario(FIXTURE).unwrap()
    }

    /// The fixture with `edit` applied, as text.
    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let mut value = fixture_value();
        edit(&mut value);
        value.to_string()
    }

    fn set(value: &mut Value, pointer: &str, new: Value) {
        *value.pointer_mut(pointer).unwrap() = new;
    }

    /// The problems `parse_scenario` reports for `text`.
    fn problems(text: &str) -> Vec<FieldError> {
        match parse_scenario(text) {
            Err(Error::Invalid { errors }) => errors.0,
            other => panic!("expected Error::Invalid, got {other:?}"),
        }
    }

    fn problems_after(edit: impl FnOnce(&mut Value)) -> Vec<FieldError> {
        problems(&edited(edit))
    }

    #[track_caller]
    fn assert_problem(errors: &[FieldError], path: &str, fragment: &str) {
        assert!(
            errors
                .iter()
                .any(|e| e.path == path && e.message.contains(fragment)),
            "no problem at `{path}` mentioning {fragment:?} in:\n{}",
            FieldErrors(errors.to_vec())
        );
    }

    #[track_caller]
    fn assert_only(errors: &[FieldError], path: &str, fragment: &str) {
        assert_problem(errors, path, fragment);
        assert_eq!(errors.len(), 1, "{}", FieldErrors(errors.to_vec()));
    }

    // ---- the fixture and round trips ----------------------------------------------

    #[test]
    fn contract_example_is_valid() {
        let s = fixture();
        assert_eq!(s.name, "demo-trust");
        assert_eq!(s.horizon_days, 14);
        assert_eq!(s.waiting_list.len(), 5);
        assert!(validate_scenario(&s).is_empty());
        assert!(s.theatres.iter().any(|t| t.emergency));
        assert!(s.wards.iter().any(|w| w.kind == "critical_care"));
    }

    #[test]
    fn serialised_scenario_reads_back_equal() {
        let s = fixture();
        let text = serde_json::to_string_pretty(&s).unwrap();
        assert_eq!(parse_scenario(&text).unwrap(), s);
    }

    #[test]
    fn unknown_fields_are_read_past_and_named() {
        let text = edited(|v| {
            v["x-owner"] = json!("trust analytics");
            v["wards"][0]["x-colour"] = json!("blue");
            v["waiting_list"][0]["notes"] = json!({ "free": "text" });
            v["wards"][1]["closurez"] = json!([]);
            v["policy"]["emergency_bed_quantil"] = json!(0.5);
            v["emergency"]["theatre"][0]["minutes_sdev"] = json!(3);
        });
        // The document reads as if they were not there…
        assert_eq!(parse_scenario(&text).unwrap(), fixture());
        // …and each is named, with the field meant where one is near; `x-` keys are
        // private extensions and pass silently.
        let parsed = parse_scenario_with_warnings(&text).unwrap();
        assert_eq!(parsed.value, fixture());
        let named: Vec<String> = parsed
            .unknown_fields
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            named,
            [
                "emergency.theatre[0].minutes_sdev: unknown field (did you mean minutes_sd?)",
                "policy.emergency_bed_quantil: unknown field (did you mean emergency_bed_quantile?)",
                "waiting_list[0].notes: unknown field (known here: due, duration_min, earliest, \
                 home_site, id, listed, priority, site, specialty, stay, surgeon, travel)",
                "wards[1].closurez: unknown field (did you mean closures?)",
            ]
        );
        assert_eq!(
            parse_scenario_with_warnings(FIXTURE)
                .unwrap()
                .unknown_fields,
            []
        );
    }

    #[test]
    fn unknown_fields_join_the_problems_of_an_invalid_document() {
        let errors = problems_after(|v| {
            let case = v["waiting_list"][0].as_object_mut().unwrap();
            let minutes = case.remove("duration_min").unwrap();
            case.insert("duration_mins".into(), minutes);
        });
        assert_problem(
            &errors,
            "waiting_list[0].duration_min",
            "missing required field",
        );
        assert_problem(
            &errors,
            "waiting_list[0].duration_mins",
            "unknown field (did you mean duration_min?)",
        );
        assert_eq!(errors.len(), 2, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn unknown_fields_in_plans_are_named() {
        let mut value: Value = serde_json::from_str(PLAN_EXAMPLE).unwrap();
        value["solver"]["seconds_total"] = json!(1);
        value["sessions"][0]["reserved_emergency_minutes"] = json!(0);
        value["x-tool"] = json!("their planner");
        let parsed = parse_plan_with_warnings(&value.to_string()).unwrap();
        let named: Vec<String> = parsed
            .unknown_fields
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            named,
            [
                "sessions[0].reserved_emergency_minutes: unknown field (did you mean \
                 reserved_emergency_min?)",
                "solver.seconds_total: unknown field (known here: backend, gap, objective, \
                 seconds, status)",
            ]
        );
        assert_eq!(parse_plan(&value.to_string()).unwrap(), parsed.value);
    }

    #[test]
    fn byte_order_mark_is_accepted() {
        assert_eq!(
            parse_scenario(&format!("\u{feff}{FIXTURE}")).unwrap(),
            fixture()
        );
    }

    // ---- syntax -----------------------------------------------------------------

    #[test]
    fn unparseable_json_reports_line_and_column() {
        let text = "{\n  \"schema\": \"flow.scenario/1\",\n  \"name\": oops\n}";
        match parse_scenario(text) {
            Err(Error::Syntax {
                line,
                column,
                message,
            }) => {
                assert_eq!((line, column), (3, 11));
                assert!(message.contains("expected value"), "{message}");
                assert!(!message.contains("at line"), "{message}");
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let truncated = &FIXTURE[..FIXTURE.len() / 2];
        assert!(matches!(
            parse_scenario(truncated),
            Err(Error::Syntax { line, .. }) if line > 1
        ));
        assert!(matches!(
            parse_scenario(""),
            Err(Error::Syntax {
                line: 1,
                column: 1,
                ..
            })
        ));
    }

    #[test]
    fn a_document_that_is_not_an_object_is_invalid() {
        assert_only(&problems("[]"), "", "expected object, found an array");
    }

    // ---- structural problems ----------------------------------------------------

    #[test]
    fn wrong_schema_version() {
        let errors = problems_after(|v| set(v, "/schema", json!("flow.scenario/2")));
        assert_only(
            &errors,
            "schema",
            "unsupported schema \"flow.scenario/2\" (expected \"flow.scenario/1\")",
        );
        let mut s = fixture();
        s.schema = "flow.scenario/0".into();
        assert_only(&validate_scenario(&s), "schema", "unsupported schema");
    }

    #[test]
    fn missing_fields_are_named() {
        let errors = problems_after(|v| {
            v.as_object_mut().unwrap().remove("horizon_days");
            v["waiting_list"][2]
                .as_object_mut()
                .unwrap()
                .remove("listed");
        });
        assert_problem(&errors, "horizon_days", "missing required field");
        assert_problem(&errors, "waiting_list[2].listed", "missing required field");
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn bad_dates() {
        let errors = problems_after(|v| {
            set(v, "/start", json!("2026-02-30"));
            set(v, "/waiting_list/1/listed", json!("07/12/2026"));
            set(v, "/wards/0/closures/0/to", json!("2026-12-32"));
            set(v, "/inpatients/0/expected_discharge", json!(20261209));
        });
        assert_problem(&errors, "start", "\"2026-02-30\" is not a valid date");
        assert_problem(
            &errors,
            "waiting_list[1].listed",
            "\"07/12/2026\" is not a valid date",
        );
        assert_problem(&errors, "wards[0].closures[0].to", "not a valid date");
        assert_problem(
            &errors,
            "inpatients[0].expected_discharge",
            "expected string, found 20261209",
        );
        assert_eq!(errors.len(), 4, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn horizon_days_at_least_one() {
        let errors = problems_after(|v| set(v, "/horizon_days", json!(0)));
        assert_only(&errors, "horizon_days", "must be at least 1 (got 0)");
        let errors = problems_after(|v| set(v, "/horizon_days", json!(-3)));
        assert_only(&errors, "horizon_days", "at least 1");
        let errors = problems_after(|v| set(v, "/horizon_days", json!(100_000)));
        assert_only(&errors, "horizon_days", "at most 3660");

        let mut s = fixture();
        s.horizon_days = 0;
        assert_only(&validate_scenario(&s), "horizon_days", "at least 1");
        s.horizon_days = u32::MAX;
        assert_only(&validate_scenario(&s), "horizon_days", "at most");
        s.horizon_days = 10;
        s.start = NaiveDate::MAX;
        assert_only(&validate_scenario(&s), "horizon_days", "past the last date");
    }

    #[test]
    fn beds_minutes_and_durations_must_be_positive() {
        let errors = problems_after(|v| {
            set(v, "/wards/1/beds", json!(-3));
            set(v, "/wards/2/beds", json!(0));
            set(v, "/theatres/0/sessions/1/minutes", json!(0));
            set(v, "/theatres/1/sessions/0/minutes", json!(-240));
            set(v, "/waiting_list/0/duration_min", json!(0));
            set(v, "/waiting_list/3/duration_min", json!(-15));
        });
        assert_problem(&errors, "wards[1].beds", "must be at least 1 (got -3)");
        assert_problem(&errors, "wards[2].beds", "must be at least 1 (got 0)");
        assert_problem(
            &errors,
            "theatres[0].sessions[1].minutes",
            "at least 1 (got 0)",
        );
        assert_problem(
            &errors,
            "theatres[1].sessions[0].minutes",
            "at least 1 (got -240)",
        );
        assert_problem(
            &errors,
            "waiting_list[0].duration_min",
            "at least 1 (got 0)",
        );
        assert_problem(
            &errors,
            "waiting_list[3].duration_min",
            "at least 1 (got -15)",
        );
        assert_eq!(errors.len(), 6, "{}", FieldErrors(errors.clone()));

        let mut s = fixture();
        s.wards[0].beds = 0;
        s.wards[0].closures.clear();
        s.theatres[0].sessions[0].minutes = 0;
        s.waiting_list[4].duration_min = 0;
        let errors = validate_scenario(&s);
        assert_problem(&errors, "wards[0].beds", "at least 1 (got 0)");
        assert_problem(&errors, "theatres[0].sessions[0].minutes", "at least 1");
        assert_problem(&errors, "waiting_list[4].duration_min", "at least 1");
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn integers_must_fit_and_be_whole() {
        let errors = problems_after(|v| set(v, "/wards/0/beds", json!(5_000_000_000u64)));
        assert_only(&errors, "wards[0].beds", "at most 4294967295");
        let errors = problems_after(|v| set(v, "/wards/0/beds", json!(1.5)));
        assert_only(&errors, "wards[0].beds", "expected integer, found 1.5");
        // 28.0 is an integer to JSON Schema, and so it reads.
        let text = edited(|v| set(v, "/wards/0/beds", json!(28.0)));
        assert_eq!(parse_scenario(&text).unwrap().wards[0].beds, 28);
    }

    #[test]
    fn stay_nights_at_least_one() {
        let errors = problems_after(|v| set(v, "/waiting_list/0/stay/1/nights", json!(0)));
        assert_only(
            &errors,
            "waiting_list[0].stay[1].nights",
            "at least 1 (got 0)",
        );
        let mut s = fixture();
        s.waiting_list[1].stay[0].nights = 0;
        assert_only(
            &validate_scenario(&s),
            "waiting_list[1].stay[0].nights",
            "at least 1",
        );
    }

    #[test]
    fn quantiles_and_cap_ranges() {
        let errors = problems_after(|v| {
            set(v, "/policy/emergency_bed_quantile", json!(1.0));
            set(v, "/policy/emergency_theatre_quantile", json!(0));
            set(v, "/policy/theatre_utilisation_cap", json!(1.2));
        });
        assert_problem(
            &errors,
            "policy.emergency_bed_quantile",
            "less than 1 (got 1.0)",
        );
        assert_problem(
            &errors,
            "policy.emergency_theatre_quantile",
            "greater than 0 (got 0)",
        );
        assert_problem(
            &errors,
            "policy.theatre_utilisation_cap",
            "at most 1 (got 1.2)",
        );
        assert_eq!(errors.len(), 3);
        // A cap of exactly 1 is allowed; 0 is not.
        assert!(
            parse_scenario(&edited(|v| set(
                v,
                "/policy/theatre_utilisation_cap",
                json!(1)
            )))
            .is_ok()
        );
        let errors = problems_after(|v| set(v, "/policy/theatre_utilisation_cap", json!(0.0)));
        assert_only(&errors, "policy.theatre_utilisation_cap", "greater than 0");

        let mut s = fixture();
        s.policy = Policy {
            theatre_utilisation_cap: f64::NAN,
            emergency_bed_quantile: 0.0,
            emergency_theatre_quantile: 1.5,
        };
        let errors = validate_scenario(&s);
        assert_problem(
            &errors,
            "policy.theatre_utilisation_cap",
            "(0, 1] (got NaN)",
        );
        assert_problem(&errors, "policy.emergency_bed_quantile", "(0, 1)");
        assert_problem(&errors, "policy.emergency_theatre_quantile", "got 1.5");
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn per_day_needs_seven_values() {
        let errors = problems_after(|v| {
            set(
                v,
                "/emergency/admissions/0/per_day",
                json!([9, 8, 8, 8, 9, 7]),
            );
            set(
                v,
                "/emergency/theatre/0/per_day",
                json!([6, 5, 5, 5, 6, 7, 7, 7]),
            );
        });
        assert_problem(
            &errors,
            "emergency.admissions[0].per_day",
            "exactly 7 values, Monday to Sunday (got 6)",
        );
        assert_problem(
            &errors,
            "emergency.theatre[0].per_day",
            "exactly 7 values, Monday to Sunday (got 8)",
        );
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn per_day_must_be_finite_and_not_negative() {
        let errors = problems_after(|v| {
            set(v, "/emergency/admissions/1/per_day/3", json!(-1));
            set(v, "/emergency/theatre/0/per_day/6", json!(-0.5));
        });
        assert_problem(
            &errors,
            "emergency.admissions[1].per_day[3]",
            "at least 0 (got -1)",
        );
        assert_problem(
            &errors,
            "emergency.theatre[0].per_day[6]",
            "at least 0 (got -0.5)",
        );
        assert_eq!(errors.len(), 2);

        let mut s = fixture();
        s.emergency.admissions[0].per_day[2] = f64::NAN;
        s.emergency.theatre[0].per_day[0] = f64::INFINITY;
        s.emergency.theatre[0].per_day[1] = -2.0;
        let errors = validate_scenario(&s);
        assert_problem(
            &errors,
            "emergency.admissions[0].per_day[2]",
            "finite number at least 0 (got NaN)",
        );
        assert_problem(&errors, "emergency.theatre[0].per_day[0]", "(got inf)");
        assert_problem(&errors, "emergency.theatre[0].per_day[1]", "(got -2)");
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn emergency_stay_and_minutes_ranges() {
        let errors = problems_after(|v| {
            set(v, "/emergency/admissions/0/los_mean_nights", json!(0.5));
            set(v, "/emergency/theatre/0/minutes_mean", json!(0));
            set(v, "/emergency/theatre/0/minutes_sd", json!(-1));
        });
        assert_problem(
            &errors,
            "emergency.admissions[0].los_mean_nights",
            "at least 1 (got 0.5)",
        );
        assert_problem(
            &errors,
            "emergency.theatre[0].minutes_mean",
            "greater than 0 (got 0)",
        );
        assert_problem(
            &errors,
            "emergency.theatre[0].minutes_sd",
            "at least 0 (got -1)",
        );
        assert_eq!(errors.len(), 3);

        let mut s = fixture();
        s.emergency.admissions[1].los_mean_nights = f64::NAN;
        s.emergency.theatre[0].minutes_mean = -95.0;
        s.emergency.theatre[0].minutes_sd = f64::INFINITY;
        let errors = validate_scenario(&s);
        assert_problem(
            &errors,
            "emergency.admissions[1].los_mean_nights",
            "at least 1",
        );
        assert_problem(
            &errors,
            "emergency.theatre[0].minutes_mean",
            "greater than 0 (got -95)",
        );
        assert_problem(
            &errors,
            "emergency.theatre[0].minutes_sd",
            "at least 0 (got inf)",
        );
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn unknown_period() {
        let errors = problems_after(|v| set(v, "/theatres/0/sessions/2/period", json!("noon")));
        assert_only(
            &errors,
            "theatres[0].sessions[2].period",
            "unknown value \"noon\" (expected one of: am, pm, eve)",
        );
        let errors = problems_after(|v| set(v, "/waiting_list/0/priority", json!("P5")));
        assert_only(&errors, "waiting_list[0].priority", "P1a, P1b, P2, P3, P4");
    }

    // ---- semantic problems ------------------------------------------------------

    #[test]
    fn unknown_references() {
        let errors = problems_after(|v| {
            set(v, "/wards/1/site", json!("south"));
            set(v, "/theatres/0/site", json!("east"));
            set(v, "/theatres/0/sessions/1/specialty", json!("cardiac"));
            set(v, "/waiting_list/1/specialty", json!("dental"));
            set(v, "/waiting_list/1/site", json!("west"));
            set(v, "/waiting_list/3/stay/0/kind", json!("spa"));
            set(v, "/inpatients/2/ward", json!("n-maternity"));
            set(v, "/emergency/admissions/0/site", json!("south"));
            set(v, "/emergency/admissions/1/kind", json!("maternity"));
            set(v, "/emergency/theatre/0/site", json!("south"));
        });
        assert_problem(
            &errors,
            "wards[1].site",
            "unknown site \"south\" (known: north)",
        );
        assert_problem(
            &errors,
            "theatres[0].site",
            "unknown site \"east\" (known: north)",
        );
        assert_problem(
            &errors,
            "theatres[0].sessions[1].specialty",
            "unknown specialty \"cardiac\" (known: gensurg, ortho, urology)",
        );
        assert_problem(
            &errors,
            "waiting_list[1].specialty",
            "unknown specialty \"dental\"",
        );
        assert_problem(&errors, "waiting_list[1].site", "unknown site \"west\"");
        assert_problem(
            &errors,
            "waiting_list[3].stay[0].kind",
            "unknown bed kind \"spa\" (known: critical_care, surgical, trauma)",
        );
        assert_problem(
            &errors,
            "inpatients[2].ward",
            "unknown ward \"n-maternity\" (known: n-icu, n-surg-1, n-surg-2, n-trauma)",
        );
        assert_problem(
            &errors,
            "emergency.admissions[0].site",
            "unknown site \"south\"",
        );
        assert_problem(
            &errors,
            "emergency.admissions[1].kind",
            "unknown bed kind \"maternity\"",
        );
        assert_problem(
            &errors,
            "emergency.theatre[0].site",
            "unknown site \"south\"",
        );
        assert_eq!(errors.len(), 10, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn admissions_need_a_pool_at_their_site() {
        let errors = problems_after(|v| {
            v["sites"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "id": "south", "name": "South" }));
            set(v, "/emergency/admissions/1/site", json!("south"));
        });
        assert_only(
            &errors,
            "emergency.admissions[1].kind",
            "site \"south\" has no \"trauma\" ward",
        );
    }

    #[test]
    fn surgeons_are_checked_by_field() {
        let errors = problems_after(|v| {
            v["surgeons"] = json!([
                { "id": "sg-1", "name": "A", "days": [
                    { "date": "2026-12-07", "minutes": 480 },
                    { "date": "2026-12-07", "minutes": 240 },
                    { "date": "2027-03-01", "minutes": 240 }
                ]},
                { "id": "sg-1", "name": "Again", "days": [] },
                { "id": "sg-2", "days": [{ "date": "2026-12-08", "minutes": -5 }] }
            ]);
            v["waiting_list"][0]["surgeon"] = json!("sg-9");
            v["waiting_list"][1]["surgeon"] = json!("sg-1");
            v["waiting_list"][2]["surgeon"] = Value::Null;
        });
        assert_problem(
            &errors,
            "surgeons[0].days[1].date",
            "duplicate day: surgeon \"sg-1\" already lists 2026-12-07",
        );
        assert_problem(&errors, "surgeons[0].days[2].date", "outside the horizon");
        assert_problem(
            &errors,
            "surgeons[1].id",
            "duplicate surgeon id \"sg-1\" (first at surgeons[0].id)",
        );
        assert_problem(&errors, "surgeons[2].days[0].minutes", "");
        assert_problem(
            &errors,
            "waiting_list[0].surgeon",
            "unknown surgeon \"sg-9\"",
        );
        assert!(
            !errors
                .iter()
                .any(|e| e.path.starts_with("waiting_list[1]")
                    || e.path.starts_with("waiting_list[2]")),
            "{errors:#?}"
        );
    }

    // ---- clinical networks -------------------------------------------------------

    /// A valid link both ways between north and a new south site of the same trust.
    fn good_link() -> Value {
        json!({
            "from": "north", "to": "south", "travel_min": 35, "bidirectional": true,
            "electives": { "specialties": ["ortho"], "stay_kinds": ["surgical"], "max_per_day": 6 },
            "beds": [{ "kind": "surgical", "lend": 4 }],
            "repatriation": { "kind": "trauma", "after_nights": 3, "max_per_day": 4 }
        })
    }

    /// The fixture with a second site `south` (surgical and trauma wards), both sites in
    /// trust `t`, and `links` as the network.
    fn with_network(v: &mut Value, links: Value) {
        v["sites"][0]["trust"] = json!("t");
        v["sites"][0]["role"] = json!("mtc");
        v["sites"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "id": "south", "name": "South", "trust": "t", "role": "trauma_unit" }));
        for (id, kind) in [("s-surg", "surgical"), ("s-trauma", "trauma")] {
            v["wards"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "id": id, "site": "south", "kind": kind, "beds": 10 }));
        }
        v["network"] = json!({ "links": links });
    }

    #[test]
    fn a_network_reads_and_round_trips() {
        let text = edited(|v| {
            with_network(v, json!([good_link()]));
            v["waiting_list"][3]["home_site"] = json!("north");
            v["waiting_list"][3]["travel"] = json!({ "max_min": 90 });
        });
        let s = parse_scenario(&text).unwrap();
        let network = s.network.as_ref().unwrap();
        assert_eq!(network.links[0].travel_min, 35);
        assert!(network.links[0].bidirectional);
        assert_eq!(s.sites[1].role, Some(crate::scenario::SiteRole::TraumaUnit));
        assert_eq!(s.waiting_list[3].travel.as_ref().unwrap().max_min, 90);
        let again = parse_scenario(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(again, s);
        // `bidirectional` defaults to false; `electives`, `beds`, `repatriation` are optional.
        let s = parse_scenario(&edited(|v| {
            with_network(
                v,
                json!([{ "from": "north", "to": "south", "travel_min": 5 }]),
            );
        }))
        .unwrap();
        assert!(!s.network.unwrap().links[0].bidirectional);
    }

    #[test]
    fn a_scenario_without_network_writes_no_network_fields() {
        let text = serde_json::to_string(&fixture()).unwrap();
        for field in ["network", "trust", "role", "home_site", "travel"] {
            assert!(!text.contains(&format!("\"{field}\"")), "{field} in {text}");
        }
    }

    #[test]
    fn links_name_known_distinct_sites() {
        let errors = problems_after(|v| {
            with_network(
                v,
                json!([
                    good_link(),
                    { "from": "east", "to": "south", "travel_min": 10 },
                    { "from": "north", "to": "north", "travel_min": 10 },
                    { "from": "south", "to": "west", "travel_min": 10 }
                ]),
            );
        });
        assert_problem(
            &errors,
            "network.links[1].from",
            "unknown site \"east\" (known: north, south)",
        );
        assert_problem(&errors, "network.links[2].to", "a link must join two sites");
        assert_problem(&errors, "network.links[3].to", "unknown site \"west\"");
        assert_eq!(errors.len(), 3, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn links_are_not_duplicated() {
        let errors = problems_after(|v| {
            with_network(
                v,
                json!([good_link(), { "from": "south", "to": "north", "travel_min": 40 }]),
            );
        });
        assert_only(
            &errors,
            "network.links[1]",
            "duplicate link from \"south\" to \"north\" (first at network.links[0])",
        );
    }

    #[test]
    fn travel_must_be_positive() {
        let errors = problems_after(|v| {
            with_network(
                v,
                json!([
                    { "from": "north", "to": "south", "travel_min": 0 },
                    { "from": "south", "to": "north", "travel_min": -5 }
                ]),
            );
        });
        assert_problem(&errors, "network.links[0].travel_min", "");
        assert_problem(&errors, "network.links[1].travel_min", "");
        assert_eq!(errors.len(), 2, "{}", FieldErrors(errors.clone()));
        // Checked on the types too, for scenarios built in code.
        let mut s = parse_scenario(&edited(|v| with_network(v, json!([good_link()])))).unwrap();
        s.network.as_mut().unwrap().links[0].travel_min = 0;
        assert_only(
            &validate_scenario(&s),
            "network.links[0].travel_min",
            "at least 1",
        );
    }

    #[test]
    fn links_name_known_specialties_and_bed_kinds() {
        let errors = problems_after(|v| {
            let mut link = good_link();
            link["electives"]["specialties"] = json!(["ortho", "dental"]);
            link["electives"]["stay_kinds"] = json!(["spa"]);
            link["beds"] = json!([
                { "kind": "maternity", "lend": 1 },
                { "kind": "critical_care", "lend": 1 }
            ]);
            link["repatriation"]["kind"] = json!("burns");
            with_network(v, json!([link]));
        });
        assert_problem(
            &errors,
            "network.links[0].electives.specialties[1]",
            "unknown specialty \"dental\"",
        );
        assert_problem(
            &errors,
            "network.links[0].electives.stay_kinds[0]",
            "unknown bed kind \"spa\"",
        );
        assert_problem(
            &errors,
            "network.links[0].beds[0].kind",
            "unknown bed kind \"maternity\"",
        );
        assert_problem(
            &errors,
            "network.links[0].beds[1].kind",
            "site \"south\" has no \"critical_care\" ward",
        );
        assert_problem(
            &errors,
            "network.links[0].repatriation.kind",
            "unknown bed kind \"burns\"",
        );
        assert_eq!(errors.len(), 5, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn lending_and_caps_are_not_negative() {
        let errors = problems_after(|v| {
            let mut link = good_link();
            link["beds"][0]["lend"] = json!(-1);
            link["electives"]["max_per_day"] = json!(-2);
            link["repatriation"]["max_per_day"] = json!(-3);
            with_network(v, json!([link]));
        });
        assert_problem(&errors, "network.links[0].beds[0].lend", "");
        assert_problem(&errors, "network.links[0].electives.max_per_day", "");
        assert_problem(&errors, "network.links[0].repatriation.max_per_day", "");
        assert_eq!(errors.len(), 3, "{}", FieldErrors(errors.clone()));
        let errors = problems_after(|v| {
            let mut link = good_link();
            link["repatriation"]["after_nights"] = json!(0);
            with_network(v, json!([link]));
        });
        assert_problem(&errors, "network.links[0].repatriation.after_nights", "");
        assert_eq!(errors.len(), 1, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn cases_name_a_known_home_site_and_a_radius() {
        let errors = problems_after(|v| {
            with_network(v, json!([good_link()]));
            v["waiting_list"][0]["home_site"] = json!("west");
            v["waiting_list"][1]["travel"] = json!({ "max_min": -10 });
        });
        assert_problem(
            &errors,
            "waiting_list[0].home_site",
            "unknown site \"west\" (known: north, south)",
        );
        assert_problem(&errors, "waiting_list[1].travel.max_min", "");
        assert_eq!(errors.len(), 2, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn trust_members_no_link_reaches_are_named() {
        let errors = problems_after(|v| {
            with_network(v, json!([good_link()]));
            v["sites"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "id": "east", "name": "East", "trust": "t" }));
            // A site of no trust is never reported.
            v["sites"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "id": "west", "name": "West" }));
        });
        assert_only(
            &errors,
            "sites[2].trust",
            "site \"east\" of trust \"t\" is joined by no network link to the rest of its trust \
             (north, south)",
        );
    }

    #[test]
    fn duplicate_ids() {
        let errors = problems_after(|v| {
            v["sites"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "id": "north", "name": "Again" }));
            v["specialties"]
                .as_array_mut()
                .unwrap()
                .push(json!("ortho"));
            set(v, "/wards/3/id", json!("n-surg-1"));
            set(v, "/theatres/1/id", json!("n-th-1"));
            set(v, "/waiting_list/4/id", json!("c-000002"));
            set(v, "/inpatients/2/id", json!("ip-1"));
        });
        assert_problem(
            &errors,
            "sites[1].id",
            "duplicate site id \"north\" (first at sites[0].id)",
        );
        assert_problem(
            &errors,
            "specialties[3]",
            "duplicate specialty id \"ortho\" (first at specialties[0])",
        );
        assert_problem(
            &errors,
            "wards[3].id",
            "duplicate ward id \"n-surg-1\" (first at wards[0].id)",
        );
        assert_problem(&errors, "theatres[1].id", "duplicate theatre id \"n-th-1\"");
        assert_problem(
            &errors,
            "waiting_list[4].id",
            "duplicate case id \"c-000002\" (first at waiting_list[1].id)",
        );
        assert_problem(
            &errors,
            "inpatients[2].id",
            "duplicate inpatient id \"ip-1\"",
        );
        // Renaming theatre 1 to theatre 0's id makes three of its sessions collide with
        // theatre 0's, and the ward renamed away leaves its inpatient nowhere.
        assert_problem(
            &errors,
            "theatres[1].sessions[0]",
            "2026-12-07 (am) at theatres[0].sessions[0]",
        );
        assert_problem(
            &errors,
            "theatres[1].sessions[1]",
            "2026-12-07 (pm) at theatres[0].sessions[1]",
        );
        assert_problem(
            &errors,
            "theatres[1].sessions[2]",
            "2026-12-08 (am) at theatres[0].sessions[2]",
        );
        assert_problem(&errors, "inpatients[2].ward", "unknown ward \"n-trauma\"");
        assert_eq!(errors.len(), 10, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn empty_ids_are_rejected() {
        let mut s = fixture();
        s.waiting_list[0].id = String::new();
        s.specialties[1] = " ".into();
        let errors = validate_scenario(&s);
        assert_problem(&errors, "waiting_list[0].id", "case id must not be empty");
        assert_problem(&errors, "specialties[1]", "must not be empty");
        // The gensurg cases and session now name an unknown specialty.
        assert_problem(
            &errors,
            "waiting_list[1].specialty",
            "unknown specialty \"gensurg\"",
        );
    }

    #[test]
    fn duplicate_sessions() {
        let errors = problems_after(|v| {
            set(v, "/theatres/0/sessions/2/date", json!("2026-12-07"));
            set(v, "/theatres/0/sessions/2/period", json!("pm"));
        });
        assert_only(
            &errors,
            "theatres[0].sessions[2]",
            "duplicate session: theatre \"n-th-1\" already has a session on 2026-12-07 (pm) \
             at theatres[0].sessions[1]",
        );
        // The same date and period in another theatre is fine.
        let ok = edited(|v| set(v, "/theatres/1/sessions/2/date", json!("2026-12-09")));
        assert!(parse_scenario(&ok).is_ok());
    }

    #[test]
    fn duplicate_emergency_streams() {
        let errors = problems_after(|v| {
            let admissions = v["emergency"]["admissions"].as_array_mut().unwrap();
            admissions.push(admissions[0].clone());
            let theatre = v["emergency"]["theatre"].as_array_mut().unwrap();
            theatre.push(theatre[0].clone());
        });
        assert_problem(
            &errors,
            "emergency.admissions[2]",
            "duplicate emergency admissions for north/surgical (first at emergency.admissions[0])",
        );
        assert_problem(
            &errors,
            "emergency.theatre[1].site",
            "duplicate emergency theatre demand for site \"north\" (first at emergency.theatre[0])",
        );
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn stays_need_one_site_with_every_kind() {
        // South has trauma beds only; north has surgical, critical care and trauma.
        let two_sites = |v: &mut Value| {
            v["sites"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "id": "south", "name": "South" }));
            v["wards"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "id": "s-trauma", "site": "south", "kind": "trauma", "beds": 10 }));
            v["wards"].as_array_mut().unwrap().push(
                json!({ "id": "s-icu", "site": "south", "kind": "critical_care", "beds": 4 }),
            );
            set(v, "/wards/3/site", json!("south")); // north loses its trauma ward
            set(v, "/emergency/admissions/1/site", json!("south"));
        };
        assert!(parse_scenario(&edited(two_sites)).is_ok());

        let errors = problems_after(|v| {
            two_sites(v);
            // Any site: critical care is at both, surgical only north, trauma only south.
            set(
                v,
                "/waiting_list/0/stay",
                json!([
                    { "kind": "critical_care", "nights": 1 },
                    { "kind": "surgical", "nights": 2 },
                    { "kind": "trauma", "nights": 2 }
                ]),
            );
            // Restricted to south, which has no surgical beds.
            set(v, "/waiting_list/3/site", json!("south"));
        });
        assert_problem(
            &errors,
            "waiting_list[0].stay",
            "no single site has beds of every kind this stay needs (critical_care, surgical, trauma)",
        );
        assert_problem(
            &errors,
            "waiting_list[3].stay[0].kind",
            "must be operated at site \"south\", which has no \"surgical\" beds",
        );
        assert_eq!(errors.len(), 2, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn sessions_outside_the_horizon() {
        let errors = problems_after(|v| {
            set(v, "/theatres/0/sessions/0/date", json!("2026-12-06"));
            set(v, "/theatres/0/sessions/5/date", json!("2026-12-21"));
            set(v, "/theatres/1/sessions/3/date", json!("2026-12-20")); // last day: fine
        });
        assert_problem(
            &errors,
            "theatres[0].sessions[0].date",
            "2026-12-06 is outside the horizon (2026-12-07 to 2026-12-20)",
        );
        assert_problem(
            &errors,
            "theatres[0].sessions[5].date",
            "2026-12-21 is outside",
        );
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn closures() {
        let errors = problems_after(|v| {
            set(v, "/wards/0/closures/0/from", json!("2026-12-13"));
            v["wards"][2]["closures"] =
                json!([{ "from": "2026-12-08", "to": "2026-12-09", "beds": 9 }]);
        });
        assert_problem(
            &errors,
            "wards[0].closures[0].to",
            "closure ends (2026-12-12) before it starts (2026-12-13)",
        );
        assert_problem(
            &errors,
            "wards[2].closures[0].beds",
            "closes 9 beds but the ward has only 8",
        );
        assert_eq!(errors.len(), 2);
    }

    // ---- many problems at once ----------------------------------------------------

    #[test]
    fn every_structural_problem_is_reported_at_once() {
        let errors = problems_after(|v| {
            set(v, "/start", json!("2026-02-30"));
            set(v, "/wards/0/beds", json!(-28));
            set(v, "/theatres/0/sessions/1/period", json!("noon"));
            set(v, "/emergency/theatre/0/per_day", json!([1, 2, 3]));
            v["waiting_list"][4]
                .as_object_mut()
                .unwrap()
                .remove("priority");
            set(v, "/inpatients/1/id", json!(7));
        });
        assert_problem(&errors, "start", "not a valid date");
        assert_problem(&errors, "wards[0].beds", "at least 1 (got -28)");
        assert_problem(
            &errors,
            "theatres[0].sessions[1].period",
            "unknown value \"noon\"",
        );
        assert_problem(&errors, "emergency.theatre[0].per_day", "exactly 7 values");
        assert_problem(
            &errors,
            "waiting_list[4].priority",
            "missing required field",
        );
        assert_problem(&errors, "inpatients[1].id", "expected string, found 7");
        assert_eq!(errors.len(), 6, "{}", FieldErrors(errors.clone()));
        // Sorted by path.
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "emergency.theatre[0].per_day",
                "inpatients[1].id",
                "start",
                "theatres[0].sessions[1].period",
                "waiting_list[4].priority",
                "wards[0].beds",
            ]
        );
    }

    #[test]
    fn range_and_reference_problems_are_reported_together() {
        let errors = problems_after(|v| {
            set(v, "/schema", json!("flow.scenario/9"));
            set(v, "/horizon_days", json!(0));
            set(v, "/wards/2/beds", json!(0));
            set(v, "/policy/emergency_bed_quantile", json!(1.5));
            set(v, "/waiting_list/2/specialty", json!("dental"));
            set(v, "/waiting_list/3/id", json!("c-000001"));
            set(v, "/wards/0/closures/0/beds", json!(40));
        });
        assert_problem(&errors, "schema", "unsupported schema");
        assert_problem(&errors, "horizon_days", "at least 1");
        assert_problem(&errors, "wards[2].beds", "at least 1");
        assert_problem(&errors, "policy.emergency_bed_quantile", "less than 1");
        assert_problem(&errors, "waiting_list[2].specialty", "unknown specialty");
        assert_problem(&errors, "waiting_list[3].id", "duplicate case id");
        assert_problem(&errors, "wards[0].closures[0].beds", "closes 40 beds");
        // Each problem once, although the schema and the semantic checks both see some.
        assert_eq!(errors.len(), 7, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn broken_structure_does_not_hide_reference_problems() {
        // A bad date, an unknown period and a missing field stop the document from
        // deserialising; the duplicate id and unknown references must still be found.
        let errors = problems_after(|v| {
            set(v, "/start", json!("2026-02-30"));
            set(v, "/theatres/0/sessions/0/period", json!("noon"));
            v["wards"][1].as_object_mut().unwrap().remove("beds");
            set(v, "/waiting_list/3/id", json!("c-000001"));
            set(v, "/waiting_list/2/specialty", json!("dental"));
            set(v, "/inpatients/0/ward", json!("nowhere"));
        });
        assert_problem(&errors, "start", "not a valid date");
        assert_problem(&errors, "theatres[0].sessions[0].period", "unknown value");
        assert_problem(&errors, "wards[1].beds", "missing required field");
        assert_problem(&errors, "waiting_list[3].id", "duplicate case id");
        assert_problem(&errors, "waiting_list[2].specialty", "unknown specialty");
        assert_problem(&errors, "inpatients[0].ward", "unknown ward");
        // Placeholders raise nothing of their own (no "outside the horizon" noise).
        assert_eq!(errors.len(), 6, "{}", FieldErrors(errors.clone()));
    }

    #[test]
    fn the_list_is_capped() {
        let errors = problems_after(|v| {
            let cases = v["waiting_list"].as_array_mut().unwrap();
            let template = cases[0].clone();
            for i in 0..300 {
                let mut case = template.clone();
                case["id"] = json!(format!("x-{i}"));
                case["specialty"] = json!("dental");
                cases.push(case);
            }
        });
        assert_eq!(errors.len(), MAX_REPORTED_ERRORS + 1);
        assert_problem(&errors, "waiting_list[5].specialty", "unknown specialty");
        let last = errors.last().unwrap();
        assert_eq!(last.path, "");
        assert_eq!(last.message, "… and 100 more problem(s)");
    }

    // ---- scale ------------------------------------------------------------------

    /// 60 theatres × 28 days × 3 sessions and 20,000 cases, built in code.
    fn large_scenario() -> Scenario {
        let start = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let sites = ["north", "south", "east"];
        let specialties: Vec<String> = (0..12).map(|i| format!("spec-{i}")).collect();
        let kinds = ["surgical", "critical_care", "trauma"];
        let mut wards = Vec::new();
        for site in sites {
            for (k, kind) in kinds.iter().enumerate() {
                for n in 0..4 {
                    wards.push(Ward {
                        id: format!("{site}-{kind}-{n}"),
                        site: site.into(),
                        kind: (*kind).into(),
                        beds: 10 + 8 * (2 - k as u32),
                        closures: vec![Closure {
                            from: start,
                            to: start + Days::new(2),
                            beds: 2,
                        }],
                    });
                }
            }
        }
        let periods = [Period::Am, Period::Pm, Period::Eve];
        let theatres = (0..60)
            .map(|t| Theatre {
                id: format!("th-{t}"),
                site: sites[t % 3].into(),
                emergency: t % 10 == 0,
                sessions: (0..28u64)
                    .flat_map(|d| {
                        periods.map(|period| Session {
                            date: start + Days::new(d),
                            period,
                            minutes: 240,
                            specialty: (d % 2 == 0)
                                .then(|| specialties[(t + d as usize) % 12].clone()),
                        })
                    })
                    .collect(),
            })
            .collect();
        let waiting_list = (0..20_000usize)
            .map(|i| Case {
                id: format!("c-{i:06}"),
                specialty: specialties[i % 12].clone(),
                priority: Priority::ALL[i % 5],
                listed: start - Days::new((i % 400) as u64),
                duration_min: 30 + (i % 8) as u32 * 15,
                earliest: start + Days::new((i % 20) as u64),
                site: (i % 4 == 0).then(|| sites[i % 3].to_string()),
                stay: match i % 3 {
                    0 => vec![],
                    1 => vec![StaySegment {
                        kind: "surgical".into(),
                        nights: 2,
                    }],
                    _ => vec![
                        StaySegment {
                            kind: "critical_care".into(),
                            nights: 1,
                        },
                        StaySegment {
                            kind: "surgical".into(),
                            nights: 4,
                        },
                    ],
                },
                due: None,
                surgeon: None,
                home_site: None,
                travel: None,
            })
            .collect();
        let inpatients = (0..500)
            .map(|i| Inpatient {
                id: format!("ip-{i}"),
                ward: wards[i % wards.len()].id.clone(),
                expected_discharge: start + Days::new((i % 9) as u64),
            })
            .collect();
        let admissions = sites
            .iter()
            .flat_map(|site| {
                kinds.map(|kind| EmergencyAdmissions {
                    site: (*site).into(),
                    kind: kind.into(),
                    per_day: [9.0, 8.0, 8.0, 8.0, 9.0, 7.0, 7.0],
                    los_mean_nights: 4.5,
                })
            })
            .collect();
        let theatre = sites
            .iter()
            .map(|site| EmergencyTheatre {
                site: (*site).into(),
                per_day: [6.0, 5.0, 5.0, 5.0, 6.0, 7.0, 7.0],
                minutes_mean: 95.0,
                minutes_sd: 40.0,
            })
            .collect();
        Scenario {
            schema: SCENARIO_SCHEMA.into(),
            name: "large".into(),
            start,
            horizon_days: 28,
            policy: Policy::default(),
            sites: sites
                .iter()
                .map(|s| Site {
                    id: (*s).into(),
                    name: s.to_uppercase(),
                    trust: None,
                    role: None,
                })
                .collect(),
            specialties,
            wards,
            theatres,
            waiting_list,
            inpatients,
            emergency: Emergency {
                admissions,
                theatre,
            },
            surgeons: vec![],
            network: None,
        }
    }

    #[test]
    fn a_large_scenario_validates() {
        let s = large_scenario();
        assert_eq!(s.waiting_list.len(), 20_000);
        assert_eq!(
            s.theatres.iter().map(|t| t.sessions.len()).sum::<usize>(),
            5040
        );
        assert!(validate_scenario(&s).is_empty());
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(parse_scenario(&text).unwrap(), s);
    }

    // ---- plans ------------------------------------------------------------------

    #[test]
    fn contract_example_plan_parses() {
        let plan = parse_plan(PLAN_EXAMPLE).unwrap();
        assert_eq!(plan.scenario, "demo-trust");
        assert_eq!(plan.sessions[0].cases, ["c-000001"]);
        let again = serde_json::to_string(&plan).unwrap();
        assert_eq!(parse_plan(&again).unwrap(), plan);
    }

    #[test]
    fn plan_problems_are_named() {
        let mut value: Value = serde_json::from_str(PLAN_EXAMPLE).unwrap();
        set(&mut value, "/schema", json!("flow.scenario/1"));
        set(&mut value, "/unscheduled/0/reason", json!("bored"));
        set(&mut value, "/sessions/0/date", json!("2026-13-01"));
        value["occupancy"][0]
            .as_object_mut()
            .unwrap()
            .remove("beds");
        let errors = match parse_plan(&value.to_string()) {
            Err(Error::Invalid { errors }) => errors.0,
            other => panic!("expected Error::Invalid, got {other:?}"),
        };
        assert_problem(
            &errors,
            "schema",
            "unsupported schema \"flow.scenario/1\" (expected \"flow.plan/1\")",
        );
        assert_problem(&errors, "unscheduled[0].reason", "unknown value \"bored\"");
        assert_problem(&errors, "sessions[0].date", "not a valid date");
        assert_problem(&errors, "occupancy[0].beds", "missing required field");
        assert_eq!(errors.len(), 4, "{}", FieldErrors(errors.clone()));
        assert!(matches!(parse_plan("{"), Err(Error::Syntax { .. })));
    }

    #[test]
    fn plans_from_other_tools_read_with_null_solver_figures_and_float_minutes() {
        let mut value: Value = serde_json::from_str(PLAN_EXAMPLE).unwrap();
        set(&mut value, "/solver/objective", Value::Null);
        set(&mut value, "/solver/gap", Value::Null);
        set(&mut value, "/sessions/0/minutes", json!(240.0));
        set(&mut value, "/occupancy/0/beds", json!(28.0));
        let plan = parse_plan(&value.to_string()).unwrap();
        assert_eq!(plan.sessions[0].minutes, 240);
        assert_eq!(plan.occupancy[0].beds, 28);
        assert_eq!(plan.solver.reported_objective(), None);
        assert_eq!(plan.solver.reported_gap(), None);
        // Written back as `null`, as it came.
        let back: Value = serde_json::to_value(&plan).unwrap();
        assert_eq!(back["solver"]["gap"], Value::Null);
        assert_eq!(back["solver"]["objective"], Value::Null);
        // Left out altogether, they read the same way.
        value["solver"].as_object_mut().unwrap().remove("gap");
        assert_eq!(
            parse_plan(&value.to_string())
                .unwrap()
                .solver
                .reported_gap(),
            None
        );
        // Our own plans keep their figures.
        let ours = parse_plan(PLAN_EXAMPLE).unwrap();
        assert_eq!(ours.solver.reported_objective(), Some(1234.5));
        assert_eq!(ours.solver.reported_gap(), Some(0.0));
    }

    #[test]
    fn fractional_minutes_are_errors_naming_the_field() {
        let mut value: Value = serde_json::from_str(PLAN_EXAMPLE).unwrap();
        set(&mut value, "/sessions/0/minutes", json!(240.5));
        let errors = match parse_plan(&value.to_string()) {
            Err(Error::Invalid { errors }) => errors.0,
            other => panic!("expected Error::Invalid, got {other:?}"),
        };
        assert_only(
            &errors,
            "sessions[0].minutes",
            "expected integer, found 240.5",
        );
        let errors = problems_after(|v| {
            set(v, "/theatres/0/sessions/0/minutes", json!(240.5));
        });
        assert_only(
            &errors,
            "theatres[0].sessions[0].minutes",
            "expected integer, found 240.5",
        );
    }

    #[test]
    fn whole_numbers_written_as_floats_read_in_scenarios() {
        let text = edited(|v| {
            let minutes = v["theatres"][0]["sessions"][0]["minutes"].as_u64().unwrap();
            set(v, "/theatres/0/sessions/0/minutes", json!(minutes as f64));
            let beds = v["wards"][0]["beds"].as_u64().unwrap();
            set(v, "/wards/0/beds", json!(beds as f64));
            set(v, "/horizon_days", json!(14.0));
        });
        assert!(text.contains(".0"), "{text}");
        assert_eq!(parse_scenario(&text).unwrap(), fixture());
        // Floats where floats belong are untouched in meaning.
        let mut v = json!({"a": [1.0, 2.5, -3.0, 1e300, 0.1], "b": 7});
        whole_numbers_as_integers(&mut v);
        assert_eq!(v, json!({"a": [1, 2.5, -3, 1e300, 0.1], "b": 7}));
        assert!(v["a"][0].is_u64() && v["a"][2].is_i64());
    }

    // ---- schemas ----------------------------------------------------------------

    /// Compares a generated schema with its checked-in file; rewrites the file when
    /// `FLOW_BLESS=1`.
    fn check_schema_file(name: &str, on_disk: &str, schema: &Value) {
        let current = format!("{}\n", serde_json::to_string_pretty(schema).unwrap());
        if on_disk == current {
            return;
        }
        if std::env::var("FLOW_BLESS").as_deref() == Ok("1") {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../schemas")
                .join(name);
            std::fs::write(&path, current).unwrap();
        } else {
            panic!(
                "schemas/{name} does not match the types; regenerate it with \
                 `FLOW_BLESS=1 cargo test -p flow-core schema`"
            );
        }
    }

    #[test]
    fn schema_files_match_the_types() {
        check_schema_file(
            "scenario.schema.json",
            include_str!("../../schemas/scenario.schema.json"),
            &scenario_schema(),
        );
        check_schema_file(
            "plan.schema.json",
            include_str!("../../schemas/plan.schema.json"),
            &plan_schema(),
        );
    }

    #[test]
    fn schemas_pin_the_tags_and_ranges() {
        let s = scenario_schema();
        assert_eq!(s["properties"]["schema"]["const"], SCENARIO_SCHEMA);
        assert_eq!(s["properties"]["horizon_days"]["minimum"], 1);
        assert_eq!(s["$defs"]["Ward"]["properties"]["beds"]["minimum"], 1);
        assert_eq!(
            s["$defs"]["Ward"]["properties"]["beds"]["maximum"],
            u32::MAX
        );
        assert_eq!(
            s["$defs"]["Policy"]["properties"]["emergency_bed_quantile"]["exclusiveMaximum"],
            1
        );
        assert_eq!(plan_schema()["properties"]["schema"]["const"], PLAN_SCHEMA);
    }

    // ---- helpers ----------------------------------------------------------------

    #[test]
    fn pointers_become_field_paths() {
        let doc =
            json!({ "waiting_list": [{ "stay": [{ "kind": "x" }] }], "m": { "17": { "a/b": 1 } } });
        assert_eq!(pointer_to_path("", &doc), "");
        assert_eq!(
            pointer_to_path("/waiting_list/0/stay/0/kind", &doc),
            "waiting_list[0].stay[0].kind"
        );
        assert_eq!(pointer_to_path("/m/17/a~1b", &doc), "m.17.a/b");
        assert_eq!(
            pointer_to_path("/waiting_list/9/id", &doc),
            "waiting_list[9].id"
        );
    }

    #[test]
    fn paths_sort_with_numeric_indices() {
        let mut errors: Vec<FieldError> = ["w[10].a", "w[2].b", "", "w[2].a", "start", "w"]
            .iter()
            .map(|p| FieldError::new(*p, "x"))
            .collect();
        sort_by_path(&mut errors);
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["", "start", "w", "w[2].a", "w[2].b", "w[10].a"]);
    }

    // ---- never panics -------------------------------------------------------------

    /// Every JSON pointer into the fixture.
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    pointers(v, format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    pointers(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON numbers are finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
            Just(json!("2026-02-30")),
            Just(json!("2026-12-31")),
            Just(json!(0)),
            Just(json!(-1)),
            Just(json!(4_294_967_296u64)),
            Just(json!("spa")),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                prop::collection::btree_map("[a-z_]{1,10}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = parse_scenario(&text);
            let _ = parse_plan(&text);
        }

        // Every cut loses part of the document itself: cutting only the trailing
        // newline leaves it whole (and valid), which is no truncation.
        #[test]
        fn truncated_documents_never_panic(cut in 0usize..FIXTURE.trim_end().chars().count()) {
            let text: String = FIXTURE.chars().take(cut).collect();
            prop_assert!(parse_scenario(&text).is_err());
        }

        #[test]
        fn any_node_replaced_never_panics(pick in any::<prop::sample::Index>(), new in any_json()) {
            let mut doc = fixture_value();
            let mut all = Vec::new();
            pointers(&doc, String::new(), &mut all);
            let at = &all[pick.index(all.len())];
            *doc.pointer_mut(at).unwrap() = new;
            let _ = parse_scenario(&doc.to_string());
        }

        #[test]
        fn any_node_removed_never_panics(pick in any::<prop::sample::Index>()) {
            let mut doc = fixture_value();
            let mut all = Vec::new();
            pointers(&doc, String::new(), &mut all);
            let at = &all[pick.index(all.len())];
            if let Some((parent, key)) = at.rsplit_once('/') {
                match doc.pointer_mut(parent) {
                    Some(Value::Object(map)) => { map.remove(key); }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>() { items.remove(i); }
                    }
                    _ => {}
                }
            }
            let _ = parse_scenario(&doc.to_string());
        }
    }
}
