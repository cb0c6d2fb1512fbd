//! From a parsed ADT message to one flow event (or a reason to ignore it, or the
//! content error to answer).
//!
//! - A01 → `admit`; A04 → `admit` when PV1-3 maps to a ward; A02 → `transfer` (PV1-3,
//!   admitting a patient flow has not seen); A03 → `discharge` (at PV1-45 when given);
//!   A05 → `pre_admit` (PV2-8, PV2-9); A38 → `pre_admit_cancelled`; A08 → `update`
//!   (PV2-9); A11 → `admit_cancelled`; A12 → `transfer_cancelled` (PV1-3, else the
//!   prior ward); A13 → `discharge_cancelled` (PV1-3, else the last ward); A17 →
//!   `swap`. Any other `A` trigger is ignored.
//! - `at` = EVN-6, else EVN-2, else MSH-7; a time without offset is in the configured
//!   zone. The location key is PV1-3.1's first subcomponent, mapped by
//!   `[hl7.locations]` or equal to a ward id; unmapped → ignored.
//! - The route comes from PV1-4 (table 0007; `[hl7.route]` first): C, R elective; E,
//!   A, U, L, N emergency; default emergency.
//! - The patient is PID-3's repetition with CX.5 = `MR`, else the first.

use chrono::{DateTime, Days, FixedOffset, NaiveDate};
use flow_core::event::{
    Admit, AdmitDetails, Catalog, Discharge, DischargeCancelled, Event, EventKind, MAX_ID_LEN,
    PatientRef, PreAdmit, Route, Swap, Transfer, TransferCancelled, Update,
};

use super::Settings;
use super::ack::{Location, Refusal};
use super::parse::{Charset, Message, Segment, Value};

/// What a message becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// One event.
    Event(Event),
    /// Nothing (AA, counted): why.
    Ignored(&'static str),
}

/// Triggers flow maps to an event.
pub const MAPPED_TRIGGERS: [&str; 11] = [
    "A01", "A02", "A03", "A04", "A05", "A08", "A11", "A12", "A13", "A17", "A38",
];

struct Ctx<'m, 'a> {
    msg: &'m Message<'a>,
    cs: Charset,
    settings: &'m Settings,
    catalog: &'m Catalog,
}

fn bad_data(location: Location) -> Refusal {
    Refusal::error(102, location, "a field could not be read")
}

impl<'a> Ctx<'_, 'a> {
    fn text(&self, raw: &[u8], location: Location) -> Result<Option<String>, Refusal> {
        match self.msg.decode(raw, self.cs) {
            Ok(Value::Text(t)) if !t.trim().is_empty() => Ok(Some(t.trim().to_string())),
            Ok(_) => Ok(None),
            Err(_) => Err(bad_data(location)),
        }
    }

    fn time(
        &self,
        raw: &[u8],
        location: Location,
    ) -> Result<Option<DateTime<FixedOffset>>, Refusal> {
        let first = self.msg.component(raw, 1);
        match self.text(first, location)? {
            Some(t) => super::parse::timestamp(&t, self.settings.time_zone)
                .map(Some)
                .ok_or(Refusal::error(
                    102,
                    location,
                    "a date/time could not be read",
                )),
            None => Ok(None),
        }
    }

    fn date(&self, raw: &[u8], location: Location) -> Result<Option<NaiveDate>, Refusal> {
        Ok(self.time(raw, location)?.map(|t| t.date_naive()))
    }

    fn patient(&self, pid: &Segment<'a>, n: u32) -> Result<String, Refusal> {
        let loc = Location::at("PID", n, 3);
        let field = pid.field(3);
        let chosen = self
            .msg
            .repetitions(field)
            .find(|rep| {
                let d = self.msg.delimiters.component;
                rep.split(|&b| b == d).nth(4) == Some(b"MR")
            })
            .or_else(|| self.msg.repetitions(field).next())
            .unwrap_or(b"");
        let d = self.msg.delimiters.component;
        let id = chosen.split(|&b| b == d).next().unwrap_or(b"");
        match self.text(id, loc)? {
            Some(id) if id.len() <= MAX_ID_LEN => Ok(id),
            Some(_) => Err(Refusal::error(102, loc, "PID-3 is too long")),
            None => Err(Refusal::error(101, loc, "PID-3 is empty")),
        }
    }

    /// PV1-3: `Ok(None)` empty, `Ok(Some(None))` unmapped, `Ok(Some(Some(ward)))`.
    fn location(&self, pv1: &Segment<'a>, n: u32) -> Result<Option<Option<String>>, Refusal> {
        let loc = Location::at("PV1", n, 3);
        let point = self
            .msg
            .subcomponent(self.msg.component(pv1.field(3), 1), 1);
        let Some(code) = self.text(point, loc)? else {
            return Ok(None);
        };
        if let Some(ward) = self.settings.locations.get(&code) {
            return Ok(Some(Some(ward.clone())));
        }
        Ok(Some(self.catalog.has_ward(&code).then_some(code)))
    }

    fn route(&self, pv1: &Segment<'a>) -> Result<Route, Refusal> {
        let raw = self.msg.component(pv1.field(4), 1);
        let Some(code) = self.text(raw, Location::at("PV1", 1, 4))? else {
            return Ok(Route::Emergency);
        };
        if let Some(route) = self.settings.routes.get(&code) {
            return Ok(*route);
        }
        Ok(match code.as_str() {
            "C" | "R" => Route::Elective,
            _ => Route::Emergency,
        })
    }

    fn at(&self, trigger: &str, pv1: &Segment<'a>) -> Result<DateTime<FixedOffset>, Refusal> {
        if trigger == "A03"
            && let Some(t) = self.time(pv1.field(45), Location::at("PV1", 1, 45))?
        {
            return Ok(t);
        }
        if let Some(evn) = self.msg.first(b"EVN") {
            for n in [6, 2] {
                if let Some(t) = self.time(evn.field(n as usize), Location::at("EVN", 1, n))? {
                    return Ok(t);
                }
            }
        }
        self.time(self.msg.msh().field(7), Location::at("MSH", 1, 7))?
            .ok_or(Refusal::error(
                101,
                Location::at("MSH", 1, 7),
                "no event time",
            ))
    }
}

/// Maps `msg` (trigger `trigger`, already checked to be `A` + two digits).
pub fn map(
    msg: &Message<'_>,
    cs: Charset,
    trigger: &str,
    id: String,
    settings: &Settings,
    catalog: &Catalog,
) -> Result<Mapped, Refusal> {
    if !MAPPED_TRIGGERS.contains(&trigger) {
        return Ok(Mapped::Ignored("trigger"));
    }
    let cx = Ctx {
        msg,
        cs,
        settings,
        catalog,
    };
    let pids: Vec<&Segment<'_>> = msg.all(b"PID").collect();
    let pv1s: Vec<&Segment<'_>> = msg.all(b"PV1").collect();
    let groups = if trigger == "A17" { 2 } else { 1 };
    if pids.len() < groups {
        return Err(Refusal::error(
            100,
            Location::segment("PID"),
            "PID segment missing",
        ));
    }
    if pv1s.len() < groups {
        return Err(Refusal::error(
            100,
            Location::segment("PV1"),
            "PV1 segment missing",
        ));
    }
    let (pid, pv1) = (pids[0], pv1s[0]);
    let patient = cx.patient(pid, 1)?;
    let place = cx.location(pv1, 1)?;
    if place.is_none() && matches!(trigger, "A01" | "A02" | "A17") {
        return Err(Refusal::error(
            101,
            Location::at("PV1", 1, 3),
            "PV1-3 is empty",
        ));
    }
    let at = cx.at(trigger, pv1)?;
    let route = cx.route(pv1)?;
    let expected = cx.date(cx.pv2_field(9), Location::at("PV2", 1, 9))?;
    let details = || AdmitDetails {
        expected_discharge: expected.unwrap_or_else(|| {
            at.date_naive()
                .checked_add_days(Days::new(1))
                .unwrap_or(at.date_naive())
        }),
        route,
    };
    // `Some(ward)` mapped, `None` empty; an unmapped location ignores the message.
    let optional_ward = match &place {
        Some(None) => return Ok(Mapped::Ignored("location")),
        Some(Some(w)) => Some(w.clone()),
        None => None,
    };
    let kind = match trigger {
        "A01" | "A04" => match optional_ward {
            Some(ward) => {
                let d = details();
                EventKind::Admit(Admit {
                    patient,
                    ward,
                    expected_discharge: d.expected_discharge,
                    route: d.route,
                    case: None,
                })
            }
            None => return Ok(Mapped::Ignored("location")),
        },
        "A02" => match optional_ward {
            Some(ward) => EventKind::Transfer(Transfer {
                patient,
                ward,
                admit_unknown: Some(details()),
            }),
            None => return Ok(Mapped::Ignored("location")),
        },
        "A03" => EventKind::Discharge(Discharge { patient }),
        "A05" => EventKind::PreAdmit(PreAdmit {
            patient,
            ward: optional_ward,
            expected_admit: cx.date(cx.pv2_field(8), Location::at("PV2", 1, 8))?,
            expected_discharge: expected,
            route,
        }),
        "A38" => EventKind::PreAdmitCancelled(PatientRef { patient }),
        "A08" => EventKind::Update(Update {
            patient,
            expected_discharge: expected,
        }),
        "A11" => EventKind::AdmitCancelled(PatientRef { patient }),
        "A12" => EventKind::TransferCancelled(TransferCancelled {
            patient,
            ward: optional_ward,
        }),
        "A13" => EventKind::DischargeCancelled(DischargeCancelled {
            admit_unknown: optional_ward.as_ref().map(|_| details()),
            patient,
            ward: optional_ward,
        }),
        _ => {
            // A17: the second group.
            let other = cx.patient(pids[1], 2)?;
            if cx.location(pv1s[1], 2)?.is_none() {
                return Err(Refusal::error(
                    101,
                    Location::at("PV1", 2, 3),
                    "PV1-3 is empty",
                ));
            }
            if other == patient {
                return Err(Refusal::error(
                    102,
                    Location::at("PID", 2, 3),
                    "A17 names one patient twice",
                ));
            }
            EventKind::Swap(Swap { patient, other })
        }
    };
    let event = Event { id, at, kind };
    if catalog.check(&event).is_empty() {
        Ok(Mapped::Event(event))
    } else {
        Err(bad_data(Location::at("PID", 1, 3)))
    }
}

impl Ctx<'_, '_> {
    fn pv2_field(&self, n: usize) -> &[u8] {
        self.msg.first(b"PV2").map(|s| s.field(n)).unwrap_or(b"")
    }
}
