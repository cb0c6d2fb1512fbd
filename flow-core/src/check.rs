//! The independent plan checker: the referee of every plan flow emits.
//!
//! [`check`] takes a scenario and a plan and answers with a [`Report`]: every breach of
//! the contract's six hard constraints, the surgeon extension and the network extension
//! (numbered 1–8 as in
//! `CONTRACT.md` and the README, read as
//! `decisions.md` interprets them), a few warnings that are not breaches (bookkeeping
//! gaps, occupancy figures that disagree), and the [`Kpis`] a plan is judged by.
//! [`render_text`] turns a report into what `flowd check` prints.
//!
//! The checker stands on the contract types ([`crate::scenario`], [`crate::plan`]) and
//! the reserve arithmetic ([`crate::reserve`]) and on nothing a planner uses, so a bug in
//! a planner cannot hide itself here. It never panics on a bad plan or scenario: what it
//! cannot resolve (an unknown case, a phantom session) is reported and left out of the
//! figures that need it. Everything is indexed once, so the work is linear in the size
//! of the scenario and the plan; output order follows the plan and sorted keys, never
//! hash order.
//!
//! Two readings the contract leaves open, fixed here:
//! - Constraint 3 bounds the booked minutes by `max(0, cap × minutes − reserved)`: a
//!   session that books nothing never runs over, even when it reserves more than
//!   `cap × minutes` (as a shortfall day requires). Booked minutes are whole, so the
//!   bound is `⌊cap × minutes + ε⌋ − reserved`, the float compared with ε = 10⁻⁶.
//! - A case that is booked twice, or whose session is unknown, counts for the figures
//!   (beds, KPIs) once, at its first booking in plan order; a plan session listed twice
//!   counts once, at its first appearance, for the theatre reserve.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write as _};

use chrono::NaiveDate;
use serde::Serialize;

use crate::plan::{PLAN_SCHEMA, Plan, PlanSession};
use crate::reserve::{self, PoolNight};
use crate::scenario::{Case, Period, PoolKey, Priority, Scenario, Session, Theatre};

mod network;

/// Tolerance on the float side of the utilisation cap (`cap × minutes`).
const EPS: f64 = 1e-6;

/// How many ids or rows a warning names before it says "and N more".
const LIST_LIMIT: usize = 5;

/// Which distinct failure a [`Violation`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ViolationKind {
    /// (1) A booked case id is not on the waiting list.
    UnknownCase,
    /// (1) A case is booked more than once.
    DuplicateBooking,
    /// (1) A plan session names a theatre, date and period the scenario does not have.
    UnknownSession,
    /// (1) A scenario session appears more than once in the plan.
    DuplicateSession,
    /// (1) A plan session's `minutes` differ from the scenario session's.
    MinutesMismatch,
    /// (1) An elective case is booked in an `emergency` theatre.
    ElectiveInEmergencyTheatre,
    /// (2) A case's specialty differs from its session's.
    WrongSpecialty,
    /// (2) A fixed block is given another specialty (or none).
    FixedBlockChanged,
    /// (2) A session with `specialty: null` books cases.
    UnassignedSessionWithCases,
    /// (3) A session's cases need more minutes than `cap × minutes − reserved`.
    Overtime,
    /// (3) A session reserves more minutes than it has.
    ReserveExceedsSession,
    /// (4) A case is booked before `max(start, earliest)`.
    BeforeEarliest,
    /// (4) A case that names a site is booked in another site's theatre.
    WrongSite,
    /// (5) A pool holds more elective patients on a night than the room left after
    /// current inpatients and the emergency reserve.
    BedsOverRoom,
    /// (5) The pools of a bed-sharing component together hold more elective patients
    /// on a night than their open beds less the component's pooled reserve.
    SharedBedsOverRoom,
    /// (6) A site's emergency theatre reserve on a day is below what it needs, though
    /// its sessions could hold it.
    TheatreReserveTooSmall,
    /// (6) A site's sessions cannot hold the reserve on a day, and not every elective
    /// session that day reserves all its minutes.
    ShortfallNotFullyReserved,
    /// (7) A surgeon's booked cases on a date need more minutes than the surgeon's
    /// job plan gives that date (none, on a date not listed).
    SurgeonOvertime,
    /// (7) A booked case names a surgeon the scenario does not list.
    UnknownSurgeon,
    /// (8) A transfer names a case the plan does not book (or that does not exist).
    TransferOfUnbookedCase,
    /// (8) A case is transferred more than once.
    DuplicateTransfer,
    /// (8) A transferred case has no `home_site` or no `travel` consent.
    TransferNotMovable,
    /// (8) A transfer's `from` is not the case's `home_site`.
    TransferWrongFrom,
    /// (8) A transfer's `to` is not the site of the theatre the case is booked in.
    TransferWrongTo,
    /// (8) A transfer's `date` is not the case's admission date.
    TransferWrongDate,
    /// (8) No direct network link runs from the transfer's `from` to its `to`.
    TransferWithoutLink,
    /// (8) The link carries no elective work, or not the case's specialty or a bed kind
    /// of its stay.
    TransferNotAllowed,
    /// (8) The link's travel time exceeds the case's `travel.max_min`.
    TransferBeyondRadius,
    /// (8) A transfer's `travel_min` differs from its link's.
    TransferTravelMismatch,
    /// (8) A directed link carries more moves on a date than `electives.max_per_day`.
    LinkOverCap,
    /// (8) A case with a `home_site` is booked at another site and no transfer lists it.
    UntransferredMove,
}

impl ViolationKind {
    /// The hard constraint (1..=8: 1–6 as numbered in `CONTRACT.md`, 7 the surgeon
    /// extension, 8 the network transfers) this failure breaks.
    pub fn constraint(self) -> u8 {
        use ViolationKind::*;
        match self {
            UnknownCase
            | DuplicateBooking
            | UnknownSession
            | DuplicateSession
            | MinutesMismatch
            | ElectiveInEmergencyTheatre => 1,
            WrongSpecialty | FixedBlockChanged | UnassignedSessionWithCases => 2,
            Overtime | ReserveExceedsSession => 3,
            BeforeEarliest | WrongSite => 4,
            BedsOverRoom | SharedBedsOverRoom => 5,
            TheatreReserveTooSmall | ShortfallNotFullyReserved => 6,
            SurgeonOvertime | UnknownSurgeon => 7,
            TransferOfUnbookedCase
            | DuplicateTransfer
            | TransferNotMovable
            | TransferWrongFrom
            | TransferWrongTo
            | TransferWrongDate
            | TransferWithoutLink
            | TransferNotAllowed
            | TransferBeyondRadius
            | TransferTravelMismatch
            | LinkOverCap
            | UntransferredMove => 8,
        }
    }
}

/// What each hard constraint is about, for headings (index 0 is constraint 1).
const CONSTRAINT_TITLES: [&str; 8] = [
    "cases and sessions exist, once each",
    "specialties",
    "session minutes",
    "dates and sites",
    "beds after the emergency reserve",
    "emergency theatre reserve",
    "surgeons' operating minutes",
    "network transfers",
];

/// The heading of hard constraint `n` (1..=8).
fn constraint_title(n: u8) -> &'static str {
    usize::from(n)
        .checked_sub(1)
        .and_then(|i| CONSTRAINT_TITLES.get(i))
        .copied()
        .unwrap_or("other")
}

/// One breach of a hard constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The hard constraint broken, 1..=8 (7: the surgeon extension, 8: network
    /// transfers).
    pub constraint: u8,
    /// Which failure it is.
    pub kind: ViolationKind,
    /// What, where and by how much, e.g. `pool north/surgical night 2026-12-09: 14
    /// elective beds > room 11 (beds 28 − current 12 − reserve 5), over by 3`.
    pub message: String,
}

impl Violation {
    /// A violation of `kind`; the constraint number follows from the kind.
    pub fn new(kind: ViolationKind, message: impl Into<String>) -> Self {
        Violation {
            constraint: kind.constraint(),
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "constraint {}: {}", self.constraint, self.message)
    }
}

/// The checker's verdict on one plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Every breach of a hard constraint, ordered by constraint, then by plan order
    /// (constraints 1–4) or by pool/site and date (5–6).
    pub violations: Vec<Violation>,
    /// Problems that do not break a hard constraint (bookkeeping, stale figures).
    pub warnings: Vec<String>,
    /// The figures the plan is judged by.
    pub kpis: Kpis,
}

impl Report {
    /// `true` when the plan satisfies every hard constraint.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// How many violations of `kind` the report holds.
    pub fn count(&self, kind: ViolationKind) -> usize {
        self.violations.iter().filter(|v| v.kind == kind).count()
    }
}

/// The figures of "What a plan is judged by", plus the reserve tables behind them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// Cases on the waiting list.
    pub cases: usize,
    /// Waiting-list cases the plan books (each counted once).
    pub booked_cases: usize,
    /// Per priority, P1a first: due, breached, overdue and booked counts.
    pub by_priority: Vec<PriorityKpis>,
    /// Avoidable breaches over all priorities.
    pub avoidable_breaches: usize,
    /// Overdue cases (due before the horizon starts) over all priorities.
    pub overdue: usize,
    /// Overdue cases the plan books, over all priorities.
    pub overdue_booked: usize,
    /// Σ `duration_min` of the booked cases.
    pub elective_minutes_booked: u64,
    /// Σ over the scenario's non-emergency sessions of `⌊cap × minutes⌋`.
    pub elective_minutes_bookable: u64,
    /// Σ over the plan's sessions of non-emergency theatres of
    /// `max(0, ⌊cap × minutes⌋ − reserved_emergency_min)`.
    pub elective_minutes_available: u64,
    /// `elective_minutes_booked / elective_minutes_bookable` (0 when nothing is bookable).
    pub utilisation: f64,
    /// Emergency theatre reserve per site with demand and horizon day.
    pub theatre_reserve: Vec<TheatreReserveDay>,
    /// Σ of `shortfall_min` over `theatre_reserve`.
    pub theatre_shortfall_min: u64,
    /// Per pool, the night with the least bed headroom.
    pub worst_bed_headroom: Vec<PoolHeadroom>,
    /// Every pool and night: the room after the reserve and what electives take of it.
    pub bed_headroom: Vec<BedNight>,
}

/// Judged-by counts for one priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriorityKpis {
    /// The priority.
    pub priority: Priority,
    /// Cases of this priority on the waiting list.
    pub cases: usize,
    /// Of those, booked.
    pub booked: usize,
    /// Cases whose due date lies inside the horizon (`start..=end`).
    pub due_in_horizon: usize,
    /// Of those, left unbooked or booked on a date after the due date.
    pub avoidable_breaches: usize,
    /// Cases already overdue: due date before `start`.
    pub overdue: usize,
    /// Of those, booked.
    pub overdue_booked: usize,
}

/// The emergency theatre reserve at one site on one day (constraint 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TheatreReserveDay {
    /// Site id.
    pub site: String,
    /// Day.
    pub date: NaiveDate,
    /// `⌈μ + z·σ⌉` minutes needed.
    pub required_min: u32,
    /// Minutes of the scenario's emergency-theatre sessions that day.
    pub emergency_theatre_min: u64,
    /// Σ `reserved_emergency_min` of the plan's elective sessions that day.
    pub reserved_in_sessions_min: u64,
    /// `emergency_theatre_min + reserved_in_sessions_min`.
    pub available_min: u64,
    /// All the site's session minutes that day, emergency and elective.
    pub session_min: u64,
    /// `max(0, required − available)`.
    pub shortfall_min: u64,
}

/// One pool on one night (constraint 5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BedNight {
    /// Site id.
    pub site: String,
    /// Bed kind.
    pub kind: String,
    /// The night (of this date).
    pub date: NaiveDate,
    /// Open beds.
    pub beds: u32,
    /// Current inpatients still in.
    pub current: u32,
    /// m(t), expected new emergency patients present.
    pub emergency_mean: f64,
    /// r(t), beds held back for them (on a network, what the pool keeps itself: r(t)
    /// less the beds linked pools lend it).
    pub emergency_reserve: u32,
    /// `max(0, beds − current − reserve)`.
    pub room: u32,
    /// Booked elective patients in a bed of this pool.
    pub elective: u32,
    /// `room − elective` (negative when over).
    pub headroom: i64,
}

/// A pool's tightest night.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolHeadroom {
    /// Site id.
    pub site: String,
    /// Bed kind.
    pub kind: String,
    /// The first night with the least headroom.
    pub date: NaiveDate,
    /// Room after the reserve that night.
    pub room: u32,
    /// Electives in the pool that night.
    pub elective: u32,
    /// `room − elective`.
    pub headroom: i64,
}

/// A scenario session, looked up by (theatre, date, period).
type SessionKey<'a> = (&'a str, NaiveDate, Period);

/// The scenario, indexed once.
struct Index<'a> {
    cases: HashMap<&'a str, &'a Case>,
    theatres: HashMap<&'a str, &'a Theatre>,
    sessions: HashMap<SessionKey<'a>, (&'a Theatre, &'a Session)>,
}

impl<'a> Index<'a> {
    fn new(scenario: &'a Scenario) -> Self {
        let cases = scenario
            .waiting_list
            .iter()
            .map(|c| (c.id.as_str(), c))
            .collect();
        let theatres = scenario
            .theatres
            .iter()
            .map(|t| (t.id.as_str(), t))
            .collect();
        let sessions = scenario
            .theatres
            .iter()
            .flat_map(|t| {
                t.sessions
                    .iter()
                    .map(move |s| ((t.id.as_str(), s.date, s.period), (t, s)))
            })
            .collect();
        Index {
            cases,
            theatres,
            sessions,
        }
    }
}

/// Where a case is booked: its first booking in plan order.
struct Booking<'a> {
    case: &'a Case,
    date: NaiveDate,
    /// The theatre's site; `None` when the theatre is unknown.
    site: Option<&'a str>,
}

/// What the session pass (constraints 1–4) hands to the rest.
struct Booked<'a> {
    /// Known cases by id, at their first booking.
    cases: HashMap<&'a str, Booking<'a>>,
    /// First appearance of each known scenario session in the plan.
    sessions: HashMap<SessionKey<'a>, &'a PlanSession>,
}

/// Checks `plan` against `scenario`: every hard constraint, the warnings, the KPIs.
pub fn check(scenario: &Scenario, plan: &Plan) -> Report {
    let index = Index::new(scenario);
    let mut violations = Vec::new();
    let booked = check_sessions(scenario, &index, plan, &mut violations);
    let bed_headroom = check_beds(scenario, &booked, &mut violations);
    network::check_shared_beds(scenario, &bed_headroom, &mut violations);
    let theatre_reserve = check_theatre_reserve(scenario, &booked, &mut violations);
    check_surgeons(scenario, &booked, &mut violations);
    network::check_transfers(scenario, &booked, plan, &mut violations);
    // Stable: plan order (or pool/site order) within each constraint.
    violations.sort_by_key(|v| v.constraint);
    let warnings = warnings(scenario, plan, &index, &booked, &bed_headroom);
    let kpis = kpis(scenario, &index, &booked, theatre_reserve, bed_headroom);
    Report {
        violations,
        warnings,
        kpis,
    }
}

/// `n-th-1 2026-12-07 am`.
fn session_label(theatre: &str, date: NaiveDate, period: Period) -> String {
    format!("{theatre} {date} {period}")
}

/// `⌊cap × minutes⌋`, with ε on the float side so 0.85 × 200 is 170, not 169.
fn cap_minutes(cap: f64, minutes: u32) -> i64 {
    (cap * f64::from(minutes) + EPS).floor() as i64
}

/// Constraints 1–4, one pass over the plan's sessions and their cases.
fn check_sessions<'a>(
    scenario: &'a Scenario,
    index: &Index<'a>,
    plan: &'a Plan,
    out: &mut Vec<Violation>,
) -> Booked<'a> {
    use ViolationKind::*;
    let cap = scenario.policy.theatre_utilisation_cap;
    let mut booked = Booked {
        cases: HashMap::new(),
        sessions: HashMap::new(),
    };
    // Where each case was first booked, for duplicate messages.
    let mut first_at: HashMap<&str, String> = HashMap::new();
    for ps in &plan.sessions {
        let key: SessionKey<'a> = (ps.theatre.as_str(), ps.date, ps.period);
        let label = session_label(&ps.theatre, ps.date, ps.period);
        let theatre = index.theatres.get(ps.theatre.as_str()).copied();

        // Constraint 1: the session exists and appears once; its minutes match.
        let known = index.sessions.get(&key).copied();
        match known {
            None => {
                let why = match theatre {
                    None => format!("theatre {} does not exist", ps.theatre),
                    Some(_) => format!(
                        "theatre {} has no {} session on {}",
                        ps.theatre, ps.period, ps.date
                    ),
                };
                out.push(Violation::new(
                    UnknownSession,
                    format!("session {label}: not in the scenario ({why})"),
                ));
            }
            Some(_) => match booked.sessions.entry(key) {
                Entry::Occupied(_) => out.push(Violation::new(
                    DuplicateSession,
                    format!("session {label}: appears more than once in the plan"),
                )),
                Entry::Vacant(first) => {
                    first.insert(ps);
                }
            },
        }
        if let Some((_, s)) = known {
            if ps.minutes != s.minutes {
                out.push(Violation::new(
                    MinutesMismatch,
                    format!(
                        "session {label}: plan says {} min, scenario {} min, off by {}",
                        ps.minutes,
                        s.minutes,
                        ps.minutes.abs_diff(s.minutes)
                    ),
                ));
            }
            // Constraint 2: a fixed block keeps its specialty.
            if let Some(fixed) = &s.specialty
                && ps.specialty.as_ref() != Some(fixed)
            {
                out.push(Violation::new(
                    FixedBlockChanged,
                    format!(
                        "session {label}: fixed {fixed} block given {}",
                        ps.specialty.as_deref().unwrap_or("no specialty (null)")
                    ),
                ));
            }
            // Constraint 3: reserve within the session, cases within what is left.
            if ps.reserved_emergency_min > s.minutes {
                out.push(Violation::new(
                    ReserveExceedsSession,
                    format!(
                        "session {label}: reserves {} min of a {}-min session, over by {}",
                        ps.reserved_emergency_min,
                        s.minutes,
                        ps.reserved_emergency_min - s.minutes
                    ),
                ));
            }
            let minutes_booked: i64 = ps
                .cases
                .iter()
                .filter_map(|id| index.cases.get(id.as_str()))
                .map(|c| i64::from(c.duration_min))
                .sum();
            let allowed = cap_minutes(cap, s.minutes) - i64::from(ps.reserved_emergency_min);
            if minutes_booked > allowed.max(0) {
                out.push(Violation::new(
                    Overtime,
                    format!(
                        "session {label}: {minutes_booked} min booked > {} allowed \
                         (⌊{cap} × {}⌋ − {} reserved), over by {}",
                        allowed.max(0),
                        s.minutes,
                        ps.reserved_emergency_min,
                        minutes_booked - allowed.max(0)
                    ),
                ));
            }
        }
        // Constraint 2: a session without a specialty books nothing.
        let unassigned = ps.specialty.is_none() && !ps.cases.is_empty();
        if unassigned {
            out.push(Violation::new(
                UnassignedSessionWithCases,
                format!(
                    "session {label}: has no specialty (null) but books {} case(s)",
                    ps.cases.len()
                ),
            ));
        }

        for id in &ps.cases {
            let Some(&case) = index.cases.get(id.as_str()) else {
                out.push(Violation::new(
                    UnknownCase,
                    format!("session {label}: case {id} is not on the waiting list"),
                ));
                continue;
            };
            if let Some(first) = first_at.get(case.id.as_str()) {
                out.push(Violation::new(
                    DuplicateBooking,
                    format!("case {id}: booked again in session {label}, first in {first}"),
                ));
                continue;
            }
            first_at.insert(&case.id, label.clone());
            booked.cases.insert(
                &case.id,
                Booking {
                    case,
                    date: ps.date,
                    site: theatre.map(|t| t.site.as_str()),
                },
            );
            if theatre.is_some_and(|t| t.emergency) {
                out.push(Violation::new(
                    ElectiveInEmergencyTheatre,
                    format!(
                        "case {id}: booked in session {label} of emergency theatre {}",
                        ps.theatre
                    ),
                ));
            }
            if let Some(specialty) = &ps.specialty
                && &case.specialty != specialty
            {
                out.push(Violation::new(
                    WrongSpecialty,
                    format!(
                        "case {id}: {} case booked in session {label} of {specialty}",
                        case.specialty
                    ),
                ));
            }
            // Constraint 4: not before max(start, earliest); at its site if it names one.
            let first_day = case.earliest.max(scenario.start);
            if ps.date < first_day {
                let what = if case.earliest >= scenario.start {
                    "its earliest date"
                } else {
                    "the horizon start"
                };
                out.push(Violation::new(
                    BeforeEarliest,
                    format!(
                        "case {id}: booked on {} (session {label}) before {what} {first_day}, \
                         {} day(s) early",
                        ps.date,
                        (first_day - ps.date).num_days()
                    ),
                ));
            }
            if let (Some(site), Some(t)) = (&case.site, theatre)
                && site != &t.site
            {
                out.push(Violation::new(
                    WrongSite,
                    format!(
                        "case {id}: must be operated at {site} but is booked in session \
                         {label} at {}",
                        t.site
                    ),
                ));
            }
        }
    }
    booked
}

/// Constraint 5: electives per pool and night within the room after the reserve.
/// Returns every pool's nights, sorted by pool then night.
fn check_beds(scenario: &Scenario, booked: &Booked<'_>, out: &mut Vec<Violation>) -> Vec<BedNight> {
    let horizon = i64::from(scenario.horizon_days);
    // Electives per pool (site, kind) and night; summing makes hash order irrelevant.
    let mut elective: HashMap<(&str, &str), Vec<u32>> = HashMap::new();
    for booking in booked.cases.values() {
        let Some(site) = booking.site else { continue };
        // Segment after segment from night t, the night after the admission day t.
        let mut night = scenario.day_index(booking.date);
        for segment in &booking.case.stay {
            let end = night.saturating_add(i64::from(segment.nights));
            let (from, to) = (night.max(0), end.min(horizon));
            if from < to {
                let counts = elective
                    .entry((site, segment.kind.as_str()))
                    .or_insert_with(|| vec![0; scenario.horizon_days as usize]);
                for t in from..to {
                    if let Some(c) = usize::try_from(t).ok().and_then(|t| counts.get_mut(t)) {
                        *c += 1;
                    }
                }
            }
            night = end;
        }
    }

    let reserve = reserve::bed_reserve(scenario);
    let pools: BTreeSet<PoolKey> = reserve
        .keys()
        .cloned()
        .chain(elective.keys().map(|(site, kind)| PoolKey {
            site: (*site).to_owned(),
            kind: (*kind).to_owned(),
        }))
        .collect();
    let no_ward = PoolNight {
        beds: 0,
        current: 0,
        emergency_mean: 0.0,
        emergency_reserve: 0,
        borrow: 0,
    };
    let mut table = Vec::new();
    for pool in &pools {
        let nights = reserve.get(pool);
        let counts = elective.get(&(pool.site.as_str(), pool.kind.as_str()));
        for t in 0..scenario.horizon_days {
            let i = t as usize;
            let night = nights.and_then(|n| n.get(i)).copied().unwrap_or(no_ward);
            let taken = counts.and_then(|c| c.get(i)).copied().unwrap_or(0);
            let room = night.room();
            let date = scenario.date(t);
            if taken > room {
                let why = if nights.is_none() {
                    format!("no {} ward at {}", pool.kind, pool.site)
                } else {
                    let floored = if i64::from(night.beds)
                        < i64::from(night.current) + i64::from(night.keep())
                    {
                        ", floored at 0"
                    } else {
                        ""
                    };
                    let lent = if night.borrow > 0 {
                        format!(
                            " (reserve {} less {} lent by linked pools)",
                            night.emergency_reserve, night.borrow
                        )
                    } else {
                        String::new()
                    };
                    format!(
                        "beds {} − current {} − reserve {}{lent}{floored}",
                        night.beds,
                        night.current,
                        night.keep()
                    )
                };
                out.push(Violation::new(
                    ViolationKind::BedsOverRoom,
                    format!(
                        "pool {pool} night {date}: {taken} elective beds > room {room} ({why}), \
                         over by {}",
                        taken - room
                    ),
                ));
            }
            table.push(BedNight {
                site: pool.site.clone(),
                kind: pool.kind.clone(),
                date,
                beds: night.beds,
                current: night.current,
                emergency_mean: night.emergency_mean,
                emergency_reserve: night.keep(),
                room,
                elective: taken,
                headroom: i64::from(room) - i64::from(taken),
            });
        }
    }
    table
}

/// Constraint 7 (extension): per surgeon and date, the booked cases that name the
/// surgeon take at most the minutes the job plan lists for that date, and none on a
/// date it does not list. Ordered by surgeon id, then date.
fn check_surgeons(scenario: &Scenario, booked: &Booked<'_>, out: &mut Vec<Violation>) {
    let plans: HashMap<&str, HashMap<NaiveDate, u64>> = scenario
        .surgeons
        .iter()
        .map(|g| {
            let mut days: HashMap<NaiveDate, u64> = HashMap::new();
            for day in &g.days {
                days.entry(day.date).or_insert(u64::from(day.minutes));
            }
            (g.id.as_str(), days)
        })
        .collect();
    let mut used: BTreeMap<(&str, NaiveDate), (u64, usize)> = BTreeMap::new();
    let mut unknown: BTreeSet<(&str, &str)> = BTreeSet::new();
    for booking in booked.cases.values() {
        let Some(surgeon) = booking.case.surgeon.as_deref() else {
            continue;
        };
        if !plans.contains_key(surgeon) {
            unknown.insert((surgeon, booking.case.id.as_str()));
            continue;
        }
        let entry = used.entry((surgeon, booking.date)).or_default();
        entry.0 += u64::from(booking.case.duration_min);
        entry.1 += 1;
    }
    for (surgeon, case) in unknown {
        out.push(Violation::new(
            ViolationKind::UnknownSurgeon,
            format!("case {case} names surgeon \"{surgeon}\", who is not in the scenario"),
        ));
    }
    for ((surgeon, date), (minutes, cases)) in used {
        let allowed = plans
            .get(surgeon)
            .and_then(|days| days.get(&date))
            .copied()
            .unwrap_or(0);
        if minutes > allowed {
            out.push(Violation::new(
                ViolationKind::SurgeonOvertime,
                format!(
                    "surgeon {surgeon} on {date}: {cases} cases take {minutes} min > {allowed} \
                     min in the job plan, over by {}",
                    minutes - allowed
                ),
            ));
        }
    }
}

/// One site's sessions on one day, from the scenario.
#[derive(Default)]
struct SiteDay<'a> {
    emergency_min: u64,
    session_min: u64,
    /// The elective (non-emergency) sessions: key and minutes.
    elective: Vec<(SessionKey<'a>, u32)>,
}

/// Constraint 6: the emergency theatre reserve per site and day, as `decisions.md`
/// reads it. Returns the table, sorted by site then date.
fn check_theatre_reserve<'a>(
    scenario: &'a Scenario,
    booked: &Booked<'a>,
    out: &mut Vec<Violation>,
) -> Vec<TheatreReserveDay> {
    let mut days: HashMap<(&str, NaiveDate), SiteDay<'a>> = HashMap::new();
    for theatre in &scenario.theatres {
        for s in &theatre.sessions {
            let day = days.entry((theatre.site.as_str(), s.date)).or_default();
            day.session_min += u64::from(s.minutes);
            if theatre.emergency {
                day.emergency_min += u64::from(s.minutes);
            } else {
                day.elective
                    .push(((theatre.id.as_str(), s.date, s.period), s.minutes));
            }
        }
    }
    let empty = SiteDay::default();
    let mut table = Vec::new();
    for (site, required) in reserve::theatre_reserve(scenario) {
        for (t, &required_min) in (0u32..).zip(&required) {
            let date = scenario.date(t);
            let day = days.get(&(site.as_str(), date)).unwrap_or(&empty);
            // Reserved inside the plan's elective sessions (each counted once, at most
            // its own minutes).
            let reserved: u64 = day
                .elective
                .iter()
                .filter_map(|(key, minutes)| {
                    booked
                        .sessions
                        .get(key)
                        .map(|ps| u64::from(ps.reserved_emergency_min.min(*minutes)))
                })
                .sum();
            let available = day.emergency_min + reserved;
            let need = u64::from(required_min);
            let short = need.saturating_sub(available);
            table.push(TheatreReserveDay {
                site: site.clone(),
                date,
                required_min,
                emergency_theatre_min: day.emergency_min,
                reserved_in_sessions_min: reserved,
                available_min: available,
                session_min: day.session_min,
                shortfall_min: short,
            });
            if short == 0 {
                continue;
            }
            let sums = format!(
                "reserve {available} min (emergency theatres {} + reserved in sessions \
                 {reserved}) < required {required_min}",
                day.emergency_min
            );
            if day.session_min >= need {
                out.push(Violation::new(
                    ViolationKind::TheatreReserveTooSmall,
                    format!("site {site} {date}: {sums}, short by {short}"),
                ));
                continue;
            }
            // The site cannot hold the reserve: every elective session must give it all.
            let partial: Vec<String> = day
                .elective
                .iter()
                .filter_map(|((theatre, _, period), minutes)| {
                    let key = (*theatre, date, *period);
                    match booked.sessions.get(&key) {
                        None => Some(format!("{theatre} {period} (not in the plan)")),
                        Some(ps) if ps.reserved_emergency_min != *minutes => Some(format!(
                            "{theatre} {period} (reserves {} of {minutes})",
                            ps.reserved_emergency_min
                        )),
                        Some(_) => None,
                    }
                })
                .collect();
            if !partial.is_empty() {
                out.push(Violation::new(
                    ViolationKind::ShortfallNotFullyReserved,
                    format!(
                        "site {site} {date}: {sums}; the site's sessions hold only {} min, so \
                         every elective session must reserve all its minutes, but not {}; \
                         short by {short}",
                        day.session_min,
                        partial.join(", ")
                    ),
                ));
            }
        }
    }
    table
}

/// `a, b, c and 4 more`.
fn list_some<'s>(items: impl IntoIterator<Item = &'s str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    let shown = items
        .iter()
        .take(LIST_LIMIT)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    match items.len().saturating_sub(LIST_LIMIT) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// Problems that break no hard constraint.
fn warnings(
    scenario: &Scenario,
    plan: &Plan,
    index: &Index<'_>,
    booked: &Booked<'_>,
    beds: &[BedNight],
) -> Vec<String> {
    let mut out = Vec::new();
    if plan.schema != PLAN_SCHEMA {
        out.push(format!(
            "plan schema is {:?}, expected {PLAN_SCHEMA:?}",
            plan.schema
        ));
    }
    if plan.scenario != scenario.name {
        out.push(format!(
            "plan is for scenario {:?}, but the scenario is {:?}",
            plan.scenario, scenario.name
        ));
    }

    let mut listed: HashSet<&str> = HashSet::new();
    let (mut unknown, mut twice, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for u in &plan.unscheduled {
        let id = u.case.as_str();
        if !listed.insert(id) {
            twice.push(id);
        } else if !index.cases.contains_key(id) {
            unknown.push(id);
        } else if booked.cases.contains_key(id) {
            both.push(id);
        }
    }
    if !unknown.is_empty() {
        out.push(format!(
            "{} unscheduled case id(s) not on the waiting list: {}",
            unknown.len(),
            list_some(unknown)
        ));
    }
    if !twice.is_empty() {
        out.push(format!(
            "{} case(s) listed as unscheduled more than once: {}",
            twice.len(),
            list_some(twice)
        ));
    }
    if !both.is_empty() {
        out.push(format!(
            "{} case(s) both booked and listed as unscheduled: {}",
            both.len(),
            list_some(both)
        ));
    }
    let neither: Vec<&str> = scenario
        .waiting_list
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| !booked.cases.contains_key(id) && !listed.contains(id))
        .collect();
    if !neither.is_empty() {
        out.push(format!(
            "{} waiting-list case(s) neither booked nor listed as unscheduled: {}",
            neither.len(),
            list_some(neither)
        ));
    }

    // The plan's own census against the checker's.
    let computed: HashMap<(&str, &str, NaiveDate), &BedNight> = beds
        .iter()
        .map(|b| ((b.site.as_str(), b.kind.as_str(), b.date), b))
        .collect();
    let mut disagree = Vec::new();
    for o in &plan.occupancy {
        let at = format!("{}/{} {}", o.site, o.kind, o.date);
        let Some(b) = computed.get(&(o.site.as_str(), o.kind.as_str(), o.date)) else {
            disagree.push(format!("{at}: no such pool and night"));
            continue;
        };
        let mut diffs = Vec::new();
        for (field, said, is) in [
            ("beds", o.beds, b.beds),
            ("current", o.current, b.current),
            ("elective", o.elective, b.elective),
            (
                "emergency_reserve",
                o.emergency_reserve,
                b.emergency_reserve,
            ),
        ] {
            if said != is {
                diffs.push(format!("{field} {said} (checker {is})"));
            }
        }
        if (o.emergency_mean - b.emergency_mean).abs() > EPS * b.emergency_mean.abs().max(1.0) {
            diffs.push(format!(
                "emergency_mean {} (checker {:.6})",
                o.emergency_mean, b.emergency_mean
            ));
        }
        if !diffs.is_empty() {
            disagree.push(format!("{at}: {}", diffs.join(", ")));
        }
    }
    if !disagree.is_empty() {
        let more = disagree.len().saturating_sub(LIST_LIMIT);
        let mut line = format!(
            "{} occupancy row(s) disagree with the checker: {}",
            disagree.len(),
            disagree
                .iter()
                .take(LIST_LIMIT)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        );
        if more > 0 {
            let _ = write!(line, "; and {more} more");
        }
        out.push(line);
    }
    out
}

/// The judged-by figures; robust to a plan with violations (unknown cases and
/// sessions are left out, a case booked twice counts once).
fn kpis(
    scenario: &Scenario,
    index: &Index<'_>,
    booked: &Booked<'_>,
    theatre_reserve: Vec<TheatreReserveDay>,
    bed_headroom: Vec<BedNight>,
) -> Kpis {
    let (start, end) = (scenario.start, scenario.end());
    let mut by_priority: Vec<PriorityKpis> = Priority::ALL
        .iter()
        .map(|&priority| PriorityKpis {
            priority,
            cases: 0,
            booked: 0,
            due_in_horizon: 0,
            avoidable_breaches: 0,
            overdue: 0,
            overdue_booked: 0,
        })
        .collect();
    for case in &scenario.waiting_list {
        let Some(row) = by_priority.get_mut(case.priority.index()) else {
            continue;
        };
        let booked_on = booked.cases.get(case.id.as_str()).map(|b| b.date);
        row.cases += 1;
        row.booked += usize::from(booked_on.is_some());
        let Some(due) = case.due_date() else { continue };
        if due < start {
            row.overdue += 1;
            row.overdue_booked += usize::from(booked_on.is_some());
        } else if due <= end {
            row.due_in_horizon += 1;
            if booked_on.is_none_or(|d| d > due) {
                row.avoidable_breaches += 1;
            }
        }
    }

    let cap = scenario.policy.theatre_utilisation_cap;
    let elective_minutes_booked: u64 = booked
        .cases
        .values()
        .map(|b| u64::from(b.case.duration_min))
        .sum();
    let elective_minutes_bookable: u64 = scenario
        .theatres
        .iter()
        .filter(|t| !t.emergency)
        .flat_map(|t| &t.sessions)
        .map(|s| cap_minutes(cap, s.minutes).max(0) as u64)
        .sum();
    let elective_minutes_available: u64 = booked
        .sessions
        .iter()
        .filter_map(|(key, ps)| index.sessions.get(key).map(|&(t, s)| (t, s, ps)))
        .filter(|(t, _, _)| !t.emergency)
        .map(|(_, s, ps)| {
            (cap_minutes(cap, s.minutes) - i64::from(ps.reserved_emergency_min)).max(0) as u64
        })
        .sum();
    let utilisation = if elective_minutes_bookable == 0 {
        0.0
    } else {
        elective_minutes_booked as f64 / elective_minutes_bookable as f64
    };

    let mut worst: BTreeMap<(&str, &str), &BedNight> = BTreeMap::new();
    for night in &bed_headroom {
        worst
            .entry((night.site.as_str(), night.kind.as_str()))
            .and_modify(|w| {
                if night.headroom < w.headroom {
                    *w = night;
                }
            })
            .or_insert(night);
    }
    let worst_bed_headroom = worst
        .into_values()
        .map(|n| PoolHeadroom {
            site: n.site.clone(),
            kind: n.kind.clone(),
            date: n.date,
            room: n.room,
            elective: n.elective,
            headroom: n.headroom,
        })
        .collect();

    Kpis {
        cases: scenario.waiting_list.len(),
        booked_cases: booked.cases.len(),
        avoidable_breaches: by_priority.iter().map(|p| p.avoidable_breaches).sum(),
        overdue: by_priority.iter().map(|p| p.overdue).sum(),
        overdue_booked: by_priority.iter().map(|p| p.overdue_booked).sum(),
        by_priority,
        elective_minutes_booked,
        elective_minutes_bookable,
        elective_minutes_available,
        utilisation,
        theatre_shortfall_min: theatre_reserve.iter().map(|d| d.shortfall_min).sum(),
        theatre_reserve,
        worst_bed_headroom,
        bed_headroom,
    }
}

/// A small aligned table: first column left-aligned, the rest right-aligned, each
/// line indented by two spaces.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(" ");
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i == 0 {
                let _ = write!(line, " {cell:<w$}");
            } else {
                let _ = write!(line, "  {cell:>w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The human-readable report `flowd check` prints: every violation grouped by
/// constraint, the warnings, then the KPIs as small aligned tables.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let k = &report.kpis;
    let n = report.violations.len();
    if report.is_ok() {
        out.push_str("check: OK, all hard constraints hold\n");
    } else {
        let _ = writeln!(out, "check: FAILED, {n} violation(s)");
    }

    let mut groups: BTreeMap<u8, Vec<&Violation>> = BTreeMap::new();
    for v in &report.violations {
        groups.entry(v.constraint).or_default().push(v);
    }
    for (constraint, list) in &groups {
        let _ = writeln!(
            out,
            "\nconstraint {constraint}, {} ({}):",
            constraint_title(*constraint),
            list.len()
        );
        for v in list {
            let _ = writeln!(out, "  - {}", v.message);
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings ({}):", report.warnings.len());
        for w in &report.warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }

    let _ = writeln!(
        out,
        "\ncases: {} booked of {}; {} avoidable breach(es); {} of {} overdue booked",
        k.booked_cases, k.cases, k.avoidable_breaches, k.overdue_booked, k.overdue
    );
    let rows: Vec<Vec<String>> = k
        .by_priority
        .iter()
        .map(|p| {
            vec![
                p.priority.to_string(),
                p.cases.to_string(),
                p.booked.to_string(),
                p.due_in_horizon.to_string(),
                p.avoidable_breaches.to_string(),
                p.overdue.to_string(),
                p.overdue_booked.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "priority",
            "cases",
            "booked",
            "due in horizon",
            "breaches",
            "overdue",
            "overdue booked",
        ],
        &rows,
    ));

    out.push_str("\nelective theatre minutes:\n");
    let minutes = [
        (
            "booked",
            k.elective_minutes_booked.to_string(),
            "Σ case durations",
        ),
        (
            "bookable",
            k.elective_minutes_bookable.to_string(),
            "cap × session minutes, elective theatres",
        ),
        (
            "available",
            k.elective_minutes_available.to_string(),
            "in plan sessions, after the emergency reserve",
        ),
        (
            "utilisation",
            format!("{:.1}%", 100.0 * k.utilisation),
            "booked / bookable",
        ),
    ];
    let width = minutes.iter().map(|(_, v, _)| v.len()).max().unwrap_or(0);
    for (name, value, note) in &minutes {
        let _ = writeln!(out, "  {name:<11}  {value:>width$}  {note}");
    }

    let short: Vec<&TheatreReserveDay> = k
        .theatre_reserve
        .iter()
        .filter(|d| d.shortfall_min > 0)
        .collect();
    let _ = writeln!(
        out,
        "\nemergency theatre reserve: {} site-day(s), {} short by {} min in all",
        k.theatre_reserve.len(),
        short.len(),
        k.theatre_shortfall_min
    );
    if !short.is_empty() {
        let rows: Vec<Vec<String>> = short
            .iter()
            .take(10)
            .map(|d| {
                vec![
                    d.site.clone(),
                    d.date.to_string(),
                    d.required_min.to_string(),
                    d.available_min.to_string(),
                    d.session_min.to_string(),
                    d.shortfall_min.to_string(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["site", "day", "required", "available", "sessions", "short"],
            &rows,
        ));
        if short.len() > 10 {
            let _ = writeln!(out, "  … and {} more", short.len() - 10);
        }
    }

    let _ = writeln!(
        out,
        "\nworst bed headroom per pool (room after the reserve − electives):"
    );
    let rows: Vec<Vec<String>> = k
        .worst_bed_headroom
        .iter()
        .map(|p| {
            vec![
                format!("{}/{}", p.site, p.kind),
                p.date.to_string(),
                p.room.to_string(),
                p.elective.to_string(),
                p.headroom.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(
        &["pool", "night", "room", "elective", "headroom"],
        &rows,
    ));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! A small scenario and a hand-made valid plan; each test breaks one thing.
    //!
    //! Scenario: Monday 2026-12-07, three days, cap 0.85 (⌊0.85 × 240⌋ = 204).
    //! North: elective theatre n-th-1 (am day 0 flexible, pm day 0 fixed ortho, am days
    //! 1–2 flexible) and emergency theatre n-em (480 min every day); surgical ward of 10
    //! beds with 1 emergency admission a day (L = 2: m = 1, 1.5, 1.75 → r = 2, 3, 4) and
    //! a 1-bed critical-care ward without emergencies. South: theatre s-th-1 (am day 0
    //! fixed gensurg, am day 1 flexible), surgical ward of 6. Emergency theatre demand
    //! (q = 0.5, sd 0): north 2 × 60 = 120 min/day, south 1 × 60 = 60 min/day.

    use super::*;
    use ViolationKind::*;
    use serde_json::json;

    mod network;

    fn scenario() -> Scenario {
        let per_day = |x: f64| [x; 7];
        serde_json::from_value(json!({
            "schema": "flow.scenario/1",
            "name": "tiny",
            "start": "2026-12-07",
            "horizon_days": 3,
            "policy": { "theatre_utilisation_cap": 0.85, "emergency_bed_quantile": 0.9,
                        "emergency_theatre_quantile": 0.5 },
            "sites": [{ "id": "north", "name": "North" }, { "id": "south", "name": "South" }],
            "specialties": ["ortho", "gensurg"],
            "wards": [
                { "id": "n-surg", "site": "north", "kind": "surgical", "beds": 10 },
                { "id": "n-cc", "site": "north", "kind": "critical_care", "beds": 1 },
                { "id": "s-surg", "site": "south", "kind": "surgical", "beds": 6 }
            ],
            "theatres": [
                { "id": "n-th-1", "site": "north", "emergency": false, "sessions": [
                    { "date": "2026-12-07", "period": "am", "minutes": 240, "specialty": null },
                    { "date": "2026-12-07", "period": "pm", "minutes": 240, "specialty": "ortho" },
                    { "date": "2026-12-08", "period": "am", "minutes": 240, "specialty": null },
                    { "date": "2026-12-09", "period": "am", "minutes": 240, "specialty": null }
                ]},
                { "id": "n-em", "site": "north", "emergency": true, "sessions": [
                    { "date": "2026-12-07", "period": "am", "minutes": 480, "specialty": null },
                    { "date": "2026-12-08", "period": "am", "minutes": 480, "specialty": null },
                    { "date": "2026-12-09", "period": "am", "minutes": 480, "specialty": null }
                ]},
                { "id": "s-th-1", "site": "south", "emergency": false, "sessions": [
                    { "date": "2026-12-07", "period": "am", "minutes": 240, "specialty": "gensurg" },
                    { "date": "2026-12-08", "period": "am", "minutes": 240, "specialty": null }
                ]}
            ],
            "waiting_list": [
                // P2, due 12-18 (after the horizon).
                { "id": "c1", "specialty": "ortho", "priority": "P2", "listed": "2026-11-20",
                  "duration_min": 100, "earliest": "2026-12-07",
                  "stay": [{ "kind": "surgical", "nights": 2 }] },
                // P1b, due 12-09 (inside), booked day 0.
                { "id": "c2", "specialty": "ortho", "priority": "P1b", "listed": "2026-12-06",
                  "duration_min": 90, "earliest": "2026-12-07", "stay": [] },
                // P3 due 2027-03-01, must be at south.
                { "id": "c3", "specialty": "gensurg", "priority": "P3", "listed": "2026-12-01",
                  "duration_min": 120, "earliest": "2026-12-07", "site": "south",
                  "stay": [{ "kind": "surgical", "nights": 1 }] },
                // P1a due 12-02: overdue; booked.
                { "id": "c4", "specialty": "ortho", "priority": "P1a", "listed": "2026-12-01",
                  "duration_min": 60, "earliest": "2026-12-01",
                  "stay": [{ "kind": "critical_care", "nights": 1 },
                           { "kind": "surgical", "nights": 1 }] },
                // P4, no due date, not before 12-08; unscheduled.
                { "id": "c5", "specialty": "gensurg", "priority": "P4", "listed": "2026-06-01",
                  "duration_min": 20, "earliest": "2026-12-08", "stay": [] },
                // P1a due 12-07, booked 12-08: an avoidable breach.
                { "id": "c6", "specialty": "ortho", "priority": "P1a", "listed": "2026-12-06",
                  "duration_min": 30, "earliest": "2026-12-07", "stay": [] },
                // P2 with explicit due 12-08, unscheduled: an avoidable breach.
                { "id": "c7", "specialty": "gensurg", "priority": "P2", "listed": "2026-12-01",
                  "due": "2026-12-08", "duration_min": 30, "earliest": "2026-12-07", "stay": [] },
                // P3 due 2026-10-30: overdue, unscheduled.
                { "id": "c8", "specialty": "gensurg", "priority": "P3", "listed": "2026-08-01",
                  "duration_min": 30, "earliest": "2026-12-07", "stay": [] }
            ],
            "inpatients": [],
            "emergency": {
                "admissions": [{ "site": "north", "kind": "surgical",
                                 "per_day": per_day(1.0), "los_mean_nights": 2.0 }],
                "theatre": [
                    { "site": "north", "per_day": per_day(2.0), "minutes_mean": 60.0,
                      "minutes_sd": 0.0 },
                    { "site": "south", "per_day": per_day(1.0), "minutes_mean": 60.0,
                      "minutes_sd": 0.0 }
                ]
            }
        }))
        .unwrap()
    }

    fn session(
        theatre: &str,
        date: &str,
        spec: Option<&str>,
        reserved: u32,
        cases: &[&str],
    ) -> PlanSession {
        serde_json::from_value(json!({
            "theatre": theatre, "date": date, "period": "am", "specialty": spec,
            "minutes": 240, "reserved_emergency_min": reserved, "cases": cases
        }))
        .unwrap()
    }

    fn valid_plan() -> Plan {
        let mut pm = session("n-th-1", "2026-12-07", Some("ortho"), 0, &["c4"]);
        pm.period = Period::Pm;
        let mut emergency = session("n-em", "2026-12-07", None, 0, &[]);
        emergency.minutes = 480;
        serde_json::from_value::<Plan>(json!({
            "schema": "flow.plan/1",
            "scenario": "tiny",
            "solver": { "backend": "hand", "status": "optimal", "objective": 0.0,
                        "gap": 0.0, "seconds": 0.0 },
            "sessions": [
                session("n-th-1", "2026-12-07", Some("ortho"), 0, &["c1", "c2"]),
                pm,
                session("n-th-1", "2026-12-08", Some("ortho"), 0, &["c6"]),
                emergency,
                session("s-th-1", "2026-12-07", Some("gensurg"), 60, &["c3"]),
                session("s-th-1", "2026-12-08", None, 60, &[]),
            ],
            "unscheduled": [
                { "case": "c5", "reason": "lower_priority" },
                { "case": "c7", "reason": "no_theatre_time" },
                { "case": "c8", "reason": "lower_priority" }
            ],
            "occupancy": []
        }))
        .unwrap()
    }

    /// The plan session for (theatre, date), am unless told.
    fn at<'p>(
        plan: &'p mut Plan,
        theatre: &str,
        date: &str,
        period: Period,
    ) -> &'p mut PlanSession {
        let date: NaiveDate = date.parse().unwrap();
        plan.sessions
            .iter_mut()
            .find(|s| s.theatre == theatre && s.date == date && s.period == period)
            .unwrap()
    }

    fn unschedule(plan: &mut Plan, id: &str) {
        plan.unscheduled.retain(|u| u.case != id);
    }

    fn kinds(report: &Report) -> Vec<ViolationKind> {
        report.violations.iter().map(|v| v.kind).collect()
    }

    /// Exactly one violation, of `kind`; returns its message.
    fn only(report: &Report, kind: ViolationKind) -> String {
        assert_eq!(kinds(report), vec![kind], "{}", render_text(report));
        let v = &report.violations[0];
        assert_eq!(v.constraint, kind.constraint());
        v.message.clone()
    }

    /// Constraint 7: a surgeon's day holds the minutes of their cases that day, a day
    /// off none, and a case may only name a listed surgeon.
    #[test]
    fn surgeon_minutes_per_day() {
        let mut s = scenario();
        s.surgeons = vec![crate::scenario::Surgeon {
            id: "sg1".into(),
            name: "One".into(),
            days: vec![crate::scenario::SurgeonDay {
                date: "2026-12-07".parse().unwrap(),
                minutes: 190,
            }],
        }];
        for case in &mut s.waiting_list {
            if case.id == "c1" || case.id == "c2" {
                case.surgeon = Some("sg1".into());
            }
        }
        // c1 (100) + c2 (90) on 12-07: exactly the day's 190 minutes.
        let report = check(&s, &valid_plan());
        assert!(report.is_ok(), "{}", render_text(&report));

        s.surgeons[0].days[0].minutes = 150;
        let message = only(&check(&s, &valid_plan()), ViolationKind::SurgeonOvertime);
        assert!(message.contains("surgeon sg1 on 2026-12-07"), "{message}");
        assert!(message.contains("190 min > 150"), "{message}");
        assert!(message.contains("over by 40"), "{message}");

        // c6 on 12-08, a day the job plan does not list.
        s.surgeons[0].days[0].minutes = 190;
        for case in &mut s.waiting_list {
            if case.id == "c6" {
                case.surgeon = Some("sg1".into());
            }
        }
        let message = only(&check(&s, &valid_plan()), ViolationKind::SurgeonOvertime);
        assert!(
            message.contains("2026-12-08: 1 cases take 30 min > 0"),
            "{message}"
        );

        for case in &mut s.waiting_list {
            if case.id == "c6" {
                case.surgeon = Some("locum".into());
            }
        }
        let report = check(&s, &valid_plan());
        let message = only(&report, ViolationKind::UnknownSurgeon);
        assert!(
            message.contains("c6") && message.contains("locum"),
            "{message}"
        );
        assert_eq!(report.violations[0].constraint, 7);
        assert!(render_text(&report).contains("constraint 7, surgeons' operating minutes"));
    }

    #[test]
    fn valid_plan_passes() {
        let report = check(&scenario(), &valid_plan());
        assert!(report.is_ok(), "{}", render_text(&report));
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    #[test]
    fn double_booking() {
        let mut plan = valid_plan();
        at(&mut plan, "n-th-1", "2026-12-08", Period::Am)
            .cases
            .push("c1".into());
        let msg = only(&check(&scenario(), &plan), DuplicateBooking);
        assert!(
            msg.contains("c1") && msg.contains("n-th-1 2026-12-07 am"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_case() {
        let mut plan = valid_plan();
        at(&mut plan, "n-th-1", "2026-12-08", Period::Am)
            .cases
            .push("c-nope".into());
        let msg = only(&check(&scenario(), &plan), UnknownCase);
        assert!(msg.contains("c-nope"), "{msg}");
    }

    #[test]
    fn phantom_sessions() {
        let mut plan = valid_plan();
        let mut eve = session("n-th-1", "2026-12-07", None, 0, &[]);
        eve.period = Period::Eve;
        plan.sessions.push(eve);
        plan.sessions
            .push(session("x-th-9", "2026-12-07", None, 0, &[]));
        let report = check(&scenario(), &plan);
        assert_eq!(kinds(&report), vec![UnknownSession, UnknownSession]);
        assert!(report.violations[0].message.contains("no eve session"));
        assert!(report.violations[1].message.contains("does not exist"));
    }

    #[test]
    fn duplicate_session() {
        let mut plan = valid_plan();
        plan.sessions
            .push(session("s-th-1", "2026-12-08", None, 60, &[]));
        only(&check(&scenario(), &plan), DuplicateSession);
    }

    #[test]
    fn minutes_mismatch() {
        let mut plan = valid_plan();
        at(&mut plan, "s-th-1", "2026-12-08", Period::Am).minutes = 200;
        let msg = only(&check(&scenario(), &plan), MinutesMismatch);
        assert!(msg.contains("off by 40"), "{msg}");
    }

    #[test]
    fn wrong_specialty() {
        let mut plan = valid_plan();
        at(&mut plan, "n-th-1", "2026-12-08", Period::Am).specialty = Some("gensurg".into());
        let msg = only(&check(&scenario(), &plan), WrongSpecialty);
        assert!(msg.contains("c6"), "{msg}");
    }

    #[test]
    fn fixed_block_changed() {
        let mut plan = valid_plan();
        let pm = at(&mut plan, "n-th-1", "2026-12-07", Period::Pm);
        pm.specialty = Some("gensurg".into());
        pm.cases.clear();
        plan.unscheduled
            .push(serde_json::from_value(json!({ "case": "c4", "reason": "no_bed" })).unwrap());
        let msg = only(&check(&scenario(), &plan), FixedBlockChanged);
        assert!(msg.contains("fixed ortho block given gensurg"), "{msg}");
        // Nulling a fixed block changes it too.
        at(&mut plan, "n-th-1", "2026-12-07", Period::Pm).specialty = None;
        only(&check(&scenario(), &plan), FixedBlockChanged);
    }

    #[test]
    fn null_specialty_with_cases() {
        let mut plan = valid_plan();
        at(&mut plan, "n-th-1", "2026-12-08", Period::Am).specialty = None;
        only(&check(&scenario(), &plan), UnassignedSessionWithCases);
    }

    #[test]
    fn overtime() {
        // 100 + 90 + 20 = 210 > 204.
        let mut s = scenario();
        s.waiting_list[4].specialty = "ortho".into();
        s.waiting_list[4].earliest = s.start;
        let mut plan = valid_plan();
        at(&mut plan, "n-th-1", "2026-12-07", Period::Am)
            .cases
            .push("c5".into());
        unschedule(&mut plan, "c5");
        let msg = only(&check(&s, &plan), Overtime);
        assert!(
            msg.contains("210 min booked > 204 allowed") && msg.contains("over by 6"),
            "{msg}"
        );
        // The reserve counts: 60 reserved leaves 144 < 120 + 30 at south.
        let mut plan = valid_plan();
        let south = at(&mut plan, "s-th-1", "2026-12-07", Period::Am);
        south.cases.push("c7".into());
        unschedule(&mut plan, "c7");
        let msg = only(&check(&s, &plan), Overtime);
        assert!(msg.contains("over by 6"), "{msg}");
    }

    #[test]
    fn fully_reserved_empty_session_is_not_overtime() {
        let mut plan = valid_plan();
        at(&mut plan, "s-th-1", "2026-12-08", Period::Am).reserved_emergency_min = 240;
        assert!(check(&scenario(), &plan).is_ok());
    }

    #[test]
    fn reserve_exceeds_session() {
        let mut plan = valid_plan();
        at(&mut plan, "s-th-1", "2026-12-08", Period::Am).reserved_emergency_min = 250;
        let msg = only(&check(&scenario(), &plan), ReserveExceedsSession);
        assert!(msg.contains("over by 10"), "{msg}");
    }

    #[test]
    fn elective_in_emergency_theatre() {
        let mut plan = valid_plan();
        at(&mut plan, "n-th-1", "2026-12-07", Period::Am)
            .cases
            .retain(|c| c != "c2");
        let em = at(&mut plan, "n-em", "2026-12-07", Period::Am);
        em.specialty = Some("ortho".into());
        em.cases.push("c2".into());
        let msg = only(&check(&scenario(), &plan), ElectiveInEmergencyTheatre);
        assert!(msg.contains("c2") && msg.contains("n-em"), "{msg}");
    }

    #[test]
    fn before_earliest() {
        let mut plan = valid_plan();
        at(&mut plan, "s-th-1", "2026-12-07", Period::Am)
            .cases
            .push("c5".into());
        unschedule(&mut plan, "c5");
        let msg = only(&check(&scenario(), &plan), BeforeEarliest);
        assert!(
            msg.contains("c5") && msg.contains("1 day(s) early"),
            "{msg}"
        );
    }

    #[test]
    fn before_horizon_start() {
        // c4's earliest (12-01) is before the start; a session dated before the start
        // is unknown and too early.
        let mut plan = valid_plan();
        plan.sessions
            .push(session("n-th-1", "2026-12-06", Some("ortho"), 0, &["c4"]));
        at(&mut plan, "n-th-1", "2026-12-07", Period::Pm)
            .cases
            .clear();
        let report = check(&scenario(), &plan);
        assert_eq!(kinds(&report), vec![UnknownSession, BeforeEarliest]);
        assert!(
            report.violations[1]
                .message
                .contains("the horizon start 2026-12-07")
        );
    }

    #[test]
    fn wrong_site() {
        let mut plan = valid_plan();
        at(&mut plan, "s-th-1", "2026-12-07", Period::Am)
            .cases
            .clear();
        plan.sessions
            .push(session("n-th-1", "2026-12-09", Some("gensurg"), 0, &["c3"]));
        let msg = only(&check(&scenario(), &plan), WrongSite);
        assert!(
            msg.contains("must be operated at south") && msg.contains("at north"),
            "{msg}"
        );
    }

    #[test]
    fn beds_over_room_after_the_reserve() {
        // 7 inpatients to 12-09: room north/surgical = 10 − 7 − 2 = 1 on night 0 (c1
        // alone fits) and 10 − 7 − 3 = 0 on night 1 (c1 and c4's second segment).
        let mut s = scenario();
        s.inpatients = (0..7)
            .map(|i| {
                serde_json::from_value(json!({
                    "id": format!("ip-{i}"), "ward": "n-surg", "expected_discharge": "2026-12-09"
                }))
                .unwrap()
            })
            .collect();
        let report = check(&s, &valid_plan());
        let msg = only(&report, BedsOverRoom);
        assert_eq!(
            msg,
            "pool north/surgical night 2026-12-08: 2 elective beds > room 0 \
             (beds 10 − current 7 − reserve 3), over by 2"
        );
        let worst = &report.kpis.worst_bed_headroom;
        let north = worst
            .iter()
            .find(|p| p.kind == "surgical" && p.site == "north")
            .unwrap();
        assert_eq!(
            (north.date.to_string().as_str(), north.headroom),
            ("2026-12-08", -2)
        );
    }

    #[test]
    fn beds_over_room_via_a_second_segment() {
        // c9 (surgical 1, then critical_care 2) from day 0 is in critical care on nights
        // 1–2; c10 (critical_care 1) from day 1 on night 1: 2 > the 1-bed pool.
        let mut s = scenario();
        for (id, stay) in [
            (
                "c9",
                json!([{ "kind": "surgical", "nights": 1 }, { "kind": "critical_care", "nights": 2 }]),
            ),
            ("c10", json!([{ "kind": "critical_care", "nights": 1 }])),
        ] {
            s.waiting_list.push(
                serde_json::from_value(json!({
                    "id": id, "specialty": "ortho", "priority": "P3", "listed": "2026-12-01",
                    "duration_min": 10, "earliest": "2026-12-07", "stay": stay
                }))
                .unwrap(),
            );
        }
        let mut plan = valid_plan();
        at(&mut plan, "n-th-1", "2026-12-07", Period::Am)
            .cases
            .push("c9".into());
        at(&mut plan, "n-th-1", "2026-12-08", Period::Am)
            .cases
            .push("c10".into());
        let msg = only(&check(&s, &plan), BedsOverRoom);
        assert_eq!(
            msg,
            "pool north/critical_care night 2026-12-08: 2 elective beds > room 1 \
             (beds 1 − current 0 − reserve 0), over by 1"
        );
        // Without c10, c9's stay alone fits.
        at(&mut plan, "n-th-1", "2026-12-08", Period::Am)
            .cases
            .retain(|c| c != "c10");
        plan.unscheduled
            .push(serde_json::from_value(json!({ "case": "c10", "reason": "no_bed" })).unwrap());
        assert!(check(&s, &plan).is_ok());
    }

    #[test]
    fn stay_in_a_pool_without_wards() {
        let mut s = scenario();
        s.waiting_list[2].stay[0].kind = "critical_care".into(); // c3 at south: no such ward
        let msg = only(&check(&s, &valid_plan()), BedsOverRoom);
        assert!(
            msg.contains("pool south/critical_care")
                && msg.contains("no critical_care ward at south"),
            "{msg}"
        );
    }

    #[test]
    fn theatre_reserve_too_small() {
        let mut plan = valid_plan();
        at(&mut plan, "s-th-1", "2026-12-08", Period::Am).reserved_emergency_min = 30;
        let msg = only(&check(&scenario(), &plan), TheatreReserveTooSmall);
        assert_eq!(
            msg,
            "site south 2026-12-08: reserve 30 min (emergency theatres 0 + reserved in \
             sessions 30) < required 60, short by 30"
        );
        // A session missing from the plan reserves nothing.
        plan.sessions
            .retain(|p| !(p.theatre == "s-th-1" && p.date.to_string() == "2026-12-08"));
        let msg = only(&check(&scenario(), &plan), TheatreReserveTooSmall);
        assert!(msg.contains("short by 60"), "{msg}");
    }

    /// South needs 5 × 60 = 300 min a day, more than its one 240-min session: a shortfall.
    fn shortfall_scenario() -> Scenario {
        let mut s = scenario();
        s.emergency.theatre[1].per_day = [5.0; 7];
        s
    }

    fn shortfall_plan() -> Plan {
        let mut plan = valid_plan();
        let day0 = at(&mut plan, "s-th-1", "2026-12-07", Period::Am);
        day0.cases.clear();
        day0.reserved_emergency_min = 240;
        at(&mut plan, "s-th-1", "2026-12-08", Period::Am).reserved_emergency_min = 240;
        plan.unscheduled.push(
            serde_json::from_value(json!({ "case": "c3", "reason": "no_theatre_time" })).unwrap(),
        );
        plan
    }

    #[test]
    fn shortfall_with_every_session_reserved_passes() {
        let report = check(&shortfall_scenario(), &shortfall_plan());
        assert!(report.is_ok(), "{}", render_text(&report));
        let south: Vec<(u32, u64, u64)> = report
            .kpis
            .theatre_reserve
            .iter()
            .filter(|d| d.site == "south")
            .map(|d| (d.required_min, d.available_min, d.shortfall_min))
            .collect();
        assert_eq!(south, vec![(300, 240, 60), (300, 240, 60), (300, 0, 300)]);
        assert_eq!(report.kpis.theatre_shortfall_min, 420);
    }

    #[test]
    fn shortfall_with_a_session_not_fully_reserved_fails() {
        let mut plan = shortfall_plan();
        at(&mut plan, "s-th-1", "2026-12-08", Period::Am).reserved_emergency_min = 200;
        let msg = only(
            &check(&shortfall_scenario(), &plan),
            ShortfallNotFullyReserved,
        );
        assert!(
            msg.contains("s-th-1 am (reserves 200 of 240)") && msg.contains("short by 100"),
            "{msg}"
        );
        // Leaving the session out of the plan is no better.
        plan.sessions
            .retain(|p| !(p.theatre == "s-th-1" && p.date.to_string() == "2026-12-08"));
        let msg = only(
            &check(&shortfall_scenario(), &plan),
            ShortfallNotFullyReserved,
        );
        assert!(
            msg.contains("s-th-1 am (not in the plan)") && msg.contains("short by 300"),
            "{msg}"
        );
    }

    #[test]
    fn kpis_by_hand() {
        let k = check(&scenario(), &valid_plan()).kpis;
        let row = |p: Priority| {
            let r = &k.by_priority[p.index()];
            (
                r.cases,
                r.booked,
                r.due_in_horizon,
                r.avoidable_breaches,
                r.overdue,
                r.overdue_booked,
            )
        };
        // P1a: c4 overdue and booked; c6 due 12-07 but booked 12-08, a breach.
        assert_eq!(row(Priority::P1a), (2, 2, 1, 1, 1, 1));
        // P1b: c2 due 12-09, booked 12-07.
        assert_eq!(row(Priority::P1b), (1, 1, 1, 0, 0, 0));
        // P2: c1 due after the horizon; c7 due 12-08 and unscheduled, a breach.
        assert_eq!(row(Priority::P2), (2, 1, 1, 1, 0, 0));
        // P3: c3 not due yet; c8 overdue and unscheduled.
        assert_eq!(row(Priority::P3), (2, 1, 0, 0, 1, 0));
        // P4: c5 has no due date.
        assert_eq!(row(Priority::P4), (1, 0, 0, 0, 0, 0));
        assert_eq!((k.cases, k.booked_cases), (8, 5));
        assert_eq!(
            (k.avoidable_breaches, k.overdue, k.overdue_booked),
            (2, 2, 1)
        );
        // 100 + 90 + 120 + 60 + 30.
        assert_eq!(k.elective_minutes_booked, 400);
        // Six elective sessions of ⌊0.85 × 240⌋ = 204.
        assert_eq!(k.elective_minutes_bookable, 6 * 204);
        // Plan's elective sessions: 3 × 204 at north + 2 × (204 − 60) at south.
        assert_eq!(k.elective_minutes_available, 3 * 204 + 2 * 144);
        assert!((k.utilisation - 400.0 / 1224.0).abs() < 1e-12);
        // North needs 120 a day and has 480 in n-em; south day 2 has no session at all.
        assert_eq!(k.theatre_reserve.len(), 6);
        assert_eq!(k.theatre_shortfall_min, 60);
        // North surgical: rooms 8, 7, 6; c1 on nights 0–1, c4 on night 1 → 7, 5, 6.
        let north: Vec<(u32, u32, i64)> = k
            .bed_headroom
            .iter()
            .filter(|b| b.site == "north" && b.kind == "surgical")
            .map(|b| (b.room, b.elective, b.headroom))
            .collect();
        assert_eq!(north, vec![(8, 1, 7), (7, 2, 5), (6, 0, 6)]);
        let worst: Vec<(String, i64)> = k
            .worst_bed_headroom
            .iter()
            .map(|p| (format!("{}/{} {}", p.site, p.kind, p.date), p.headroom))
            .collect();
        assert_eq!(
            worst,
            vec![
                ("north/critical_care 2026-12-07".to_owned(), 0),
                ("north/surgical 2026-12-08".to_owned(), 5),
                ("south/surgical 2026-12-07".to_owned(), 5),
            ]
        );
    }

    #[test]
    fn kpis_survive_a_broken_plan() {
        let mut plan = valid_plan();
        let am = at(&mut plan, "n-th-1", "2026-12-07", Period::Am);
        am.cases.extend(["c1".to_owned(), "c-nope".to_owned()]);
        plan.sessions
            .push(session("x-th-9", "2026-12-07", Some("gensurg"), 0, &["c8"]));
        let report = check(&scenario(), &plan);
        assert!(!report.is_ok());
        // c1 once; c8 counts as booked (on its phantom session's date).
        assert_eq!(report.kpis.booked_cases, 6);
        assert_eq!(report.kpis.elective_minutes_booked, 430);
        assert_eq!(report.kpis.overdue_booked, 2);
    }

    #[test]
    fn warnings_for_bookkeeping_and_occupancy() {
        let s = scenario();
        let mut plan = valid_plan();
        plan.scenario = "other".into();
        plan.unscheduled.retain(|u| u.case != "c8");
        plan.unscheduled
            .push(serde_json::from_value(json!({ "case": "c1", "reason": "no_bed" })).unwrap());
        plan.unscheduled
            .push(serde_json::from_value(json!({ "case": "ghost", "reason": "no_bed" })).unwrap());
        // The checker's own census, restated, raises no warning; one wrong figure does.
        let census = check(&s, &valid_plan()).kpis.bed_headroom;
        plan.occupancy = census
            .iter()
            .map(|b| crate::plan::Occupancy {
                site: b.site.clone(),
                kind: b.kind.clone(),
                date: b.date,
                beds: b.beds,
                current: b.current,
                elective: b.elective,
                emergency_mean: b.emergency_mean,
                emergency_reserve: b.emergency_reserve,
            })
            .collect();
        plan.occupancy[1].elective = 9;
        let report = check(&s, &plan);
        assert!(report.is_ok());
        let w = report.warnings.join("\n");
        assert_eq!(report.warnings.len(), 5, "{w}");
        assert!(w.contains("\"other\""), "{w}");
        assert!(w.contains("not on the waiting list: ghost"), "{w}");
        assert!(
            w.contains("both booked and listed as unscheduled: c1"),
            "{w}"
        );
        assert!(
            w.contains("neither booked nor listed as unscheduled: c8"),
            "{w}"
        );
        assert!(
            w.contains("1 occupancy row(s) disagree")
                && w.contains("north/critical_care 2026-12-08: elective 9 (checker 0)"),
            "{w}"
        );
    }

    #[test]
    fn render_groups_violations_by_constraint() {
        let mut plan = valid_plan();
        at(&mut plan, "s-th-1", "2026-12-08", Period::Am).reserved_emergency_min = 30;
        at(&mut plan, "n-th-1", "2026-12-08", Period::Am)
            .cases
            .push("c-nope".into());
        let report = check(&scenario(), &plan);
        assert_eq!(kinds(&report), vec![UnknownCase, TheatreReserveTooSmall]);
        assert_eq!(
            report.violations[0].to_string(),
            "constraint 1: session n-th-1 2026-12-08 am: case c-nope is not on the waiting list"
        );
        let text = render_text(&report);
        assert!(text.starts_with("check: FAILED, 2 violation(s)"), "{text}");
        assert!(
            text.contains("constraint 1, cases and sessions exist, once each (1):"),
            "{text}"
        );
        assert!(
            text.contains("constraint 6, emergency theatre reserve (1):"),
            "{text}"
        );
        assert!(text.contains("utilisation"), "{text}");
        assert!(text.contains("north/critical_care"), "{text}");
        let ok = render_text(&check(&scenario(), &valid_plan()));
        assert!(ok.starts_with("check: OK"), "{ok}");
    }

    #[test]
    fn kpis_serialise_to_json() {
        let report = check(&scenario(), &valid_plan());
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["kpis"]["by_priority"][0]["priority"], "P1a");
        assert_eq!(v["kpis"]["bed_headroom"][0]["date"], "2026-12-07");
    }
}
