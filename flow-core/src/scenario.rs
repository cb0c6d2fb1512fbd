//! The `flow.scenario/1` document: a hospital's capacity, waiting list, current
//! inpatients and emergency demand over a planning horizon.
//!
//! These are the contract types of `CONTRACT.md`, serialised with serde under exactly
//! the contract's field names. They are plain data: reading a scenario from text and
//! checking it (field paths, cross references) lives in [`crate::validate`]; the
//! calendar arithmetic every other module shares (day index ↔ date, bed pools,
//! priority windows) lives here as small methods so no module re-derives it.

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The schema tag a scenario document must carry.
pub const SCENARIO_SCHEMA: &str = "flow.scenario/1";

/// The longest horizon a scenario may plan (about ten years); longer ones are rejected
/// by validation so that per-night arrays stay bounded.
pub const MAX_HORIZON_DAYS: u32 = 3660;

/// A whole planning problem: what exists, who is waiting, what emergencies to expect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scenario {
    /// Always `"flow.scenario/1"`.
    #[schemars(extend("const" = "flow.scenario/1"))]
    pub schema: String,
    /// A name for the scenario; plans refer to it.
    pub name: String,
    /// Day 0 of the horizon.
    pub start: NaiveDate,
    /// Number of days planned, from `start` (day 0) to `start + horizon_days - 1`.
    #[schemars(range(min = 1, max = MAX_HORIZON_DAYS))]
    pub horizon_days: u32,
    /// Planning assumptions (utilisation cap, reserve quantiles).
    pub policy: Policy,
    /// Hospitals of the trust or cluster.
    pub sites: Vec<Site>,
    /// Surgical specialties that sessions and cases belong to.
    pub specialties: Vec<String>,
    /// Wards; wards with the same (site, kind) form one bed pool.
    pub wards: Vec<Ward>,
    /// Operating theatres and their sessions inside the horizon.
    pub theatres: Vec<Theatre>,
    /// Elective cases waiting for surgery.
    pub waiting_list: Vec<Case>,
    /// Patients already in a bed at the start of the horizon.
    #[serde(default)]
    pub inpatients: Vec<Inpatient>,
    /// Expected emergency admissions and emergency/trauma theatre demand.
    pub emergency: Emergency,
    /// Extension: consultant surgeons and their operating days (job plans). A case
    /// that names a surgeon is operated only on that surgeon's listed days, within
    /// that day's minutes (hard constraint 7).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub surgeons: Vec<Surgeon>,
    /// Extension: the clinical network linking the sites (elective mutual aid, bed
    /// lending, trauma repatriation); absent for a trust planned site by site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Network")]
    pub network: Option<Network>,
}

/// The links of a clinical network: which elective work may move between sites, which
/// beds a site lends another's emergency overflow, and when trauma patients return.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Network {
    /// Directed links between sites (`bidirectional` ones stand for both directions).
    #[serde(default)]
    pub links: Vec<Link>,
}

/// A link from one site to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Link {
    /// Site a patient leaves (a `sites[].id`).
    pub from: String,
    /// Site a patient goes to (a `sites[].id`, not `from`).
    pub to: String,
    /// Travel time from `from` to `to` in minutes (at least 1).
    #[schemars(range(min = 1))]
    pub travel_min: u32,
    /// `true`: the link also runs from `to` to `from`, with the same terms.
    #[serde(default)]
    pub bidirectional: bool,
    /// Elective work that may move along the link; absent: none may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "LinkElectives")]
    pub electives: Option<LinkElectives>,
    /// Beds at `to` that may take `from`'s emergency overflow, per bed kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beds: Vec<LinkBeds>,
    /// Trauma repatriation: patients treated at `to` return to `from` after some nights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Repatriation")]
    pub repatriation: Option<Repatriation>,
}

/// Which elective cases may move along a link, and how many per day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LinkElectives {
    /// Specialties whose cases may move (each a `specialties[]` entry).
    pub specialties: Vec<String>,
    /// Bed kinds a moved case's stay may use (each a ward kind); a case whose stay
    /// needs a kind not listed (critical care, unless listed) does not move. Day cases
    /// need none.
    #[serde(default)]
    pub stay_kinds: Vec<String>,
    /// Most cases moved along the link per day (by admission date).
    pub max_per_day: u32,
}

/// Beds of one kind at a link's `to` site lent to its `from` site's emergency overflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LinkBeds {
    /// Bed kind (a ward kind at both sites).
    pub kind: String,
    /// Most beds lent per night.
    pub lend: u32,
}

/// Trauma repatriation along a link: patients of bed kind `kind` admitted at the link's
/// `to` site (the centre) return to its `from` site (the unit) after `after_nights`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Repatriation {
    /// Bed kind of the repatriated patients (a ward kind).
    pub kind: String,
    /// Nights at the centre before the patient returns (at least 1).
    #[schemars(range(min = 1))]
    pub after_nights: u32,
    /// Most patients returned per day.
    pub max_per_day: u32,
}

/// The part a site plays in a clinical network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SiteRole {
    /// Major trauma centre.
    Mtc,
    /// Trauma unit (sends major trauma to the centre, takes repatriations).
    TraumaUnit,
    /// Elective surgical hub.
    Hub,
    /// Spoke of a hub.
    Spoke,
    /// A general hospital with no network role.
    General,
}

impl SiteRole {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteRole::Mtc => "mtc",
            SiteRole::TraumaUnit => "trauma_unit",
            SiteRole::Hub => "hub",
            SiteRole::Spoke => "spoke",
            SiteRole::General => "general",
        }
    }
}

/// How far a patient has agreed to travel for earlier treatment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Travel {
    /// Longest travel time, in minutes, the patient accepts.
    pub max_min: u32,
}

/// A consultant surgeon: who operates the cases on their own list, and how long they
/// may operate on each day of their job plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Surgeon {
    /// Unique surgeon id; cases refer to it in `surgeon`.
    pub id: String,
    /// Human-readable name.
    #[serde(default)]
    pub name: String,
    /// The days the surgeon operates; on a date not listed they operate no case.
    pub days: Vec<SurgeonDay>,
}

/// One operating day of a surgeon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SurgeonDay {
    /// The date (inside the horizon).
    pub date: NaiveDate,
    /// Most theatre minutes the surgeon's booked cases may take on that date, in total.
    pub minutes: u32,
}

impl Surgeon {
    /// Minutes the surgeon may operate on `date` (0 on a date not listed; a date
    /// listed twice counts once, the validator refuses it anyway).
    pub fn minutes_on(&self, date: NaiveDate) -> u32 {
        self.days
            .iter()
            .find(|d| d.date == date)
            .map_or(0, |d| d.minutes)
    }
}

/// Planning assumptions that shape every plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Policy {
    /// Share of each elective session's minutes that may be booked (GIRFT: 0.85), in (0, 1].
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 1))]
    pub theatre_utilisation_cap: f64,
    /// Quantile of the Poisson emergency census kept free in every bed pool, in (0, 1).
    #[schemars(extend("exclusiveMinimum" = 0, "exclusiveMaximum" = 1))]
    pub emergency_bed_quantile: f64,
    /// Quantile of the daily emergency theatre workload kept free at every site, in (0, 1).
    #[schemars(extend("exclusiveMinimum" = 0, "exclusiveMaximum" = 1))]
    pub emergency_theatre_quantile: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            theatre_utilisation_cap: 0.85,
            emergency_bed_quantile: 0.90,
            emergency_theatre_quantile: 0.90,
        }
    }
}

/// One hospital.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Site {
    /// Unique site id.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Extension (networks): the trust the site belongs to; sites of one trust must
    /// be reachable from each other over the network's links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    /// Extension (networks): the site's part in the clinical network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "SiteRole")]
    pub role: Option<SiteRole>,
}

/// A ward: beds of one kind at one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ward {
    /// Unique ward id.
    pub id: String,
    /// Site the ward belongs to.
    pub site: String,
    /// Bed kind (`surgical`, `medical`, `trauma`, `critical_care`, …); free text, the
    /// kinds a scenario's wards name are the kinds it knows.
    pub kind: String,
    /// Staffed beds (at least 1).
    #[schemars(range(min = 1))]
    pub beds: u32,
    /// Beds taken out of use for a run of nights.
    #[serde(default)]
    pub closures: Vec<Closure>,
}

impl Ward {
    /// Beds open on the night of `date`: `beds` less every closure covering that night.
    pub fn open_beds(&self, date: NaiveDate) -> u32 {
        let closed: u32 = self
            .closures
            .iter()
            .filter(|c| c.from <= date && date <= c.to)
            .map(|c| c.beds)
            .sum();
        self.beds.saturating_sub(closed)
    }
}

/// `beds` beds closed for nights `from` through `to`, inclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Closure {
    /// First night closed.
    pub from: NaiveDate,
    /// Last night closed (inclusive).
    pub to: NaiveDate,
    /// Number of beds closed.
    pub beds: u32,
}

/// An operating theatre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Theatre {
    /// Unique theatre id.
    pub id: String,
    /// Site the theatre belongs to.
    pub site: String,
    /// `true`: serves the emergency/trauma stream only; no elective case is booked here.
    pub emergency: bool,
    /// Sessions (am/pm/eve lists) inside the horizon.
    pub sessions: Vec<Session>,
}

/// Part of a theatre day.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Morning list.
    Am,
    /// Afternoon list.
    Pm,
    /// Evening list.
    Eve,
}

impl Period {
    /// The contract's spelling: `am`, `pm`, `eve`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Am => "am",
            Period::Pm => "pm",
            Period::Eve => "eve",
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One theatre list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Session {
    /// Day of the list.
    pub date: NaiveDate,
    /// `am`, `pm` or `eve`.
    pub period: Period,
    /// Length of the list in minutes (at least 1).
    #[schemars(range(min = 1))]
    pub minutes: u32,
    /// `null`: flexible, the plan gives it a specialty; otherwise a fixed block.
    pub specialty: Option<String>,
}

/// FSSA clinical priority of an elective case.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Priority {
    /// Within 24 hours.
    P1a,
    /// Within 72 hours.
    P1b,
    /// Within 1 month (28 days).
    P2,
    /// Within 3 months (90 days).
    P3,
    /// May wait longer than 3 months.
    P4,
}

impl Priority {
    /// All priorities, most urgent first.
    pub const ALL: [Priority; 5] = [
        Priority::P1a,
        Priority::P1b,
        Priority::P2,
        Priority::P3,
        Priority::P4,
    ];

    /// Days from listing to due date, or `None` for P4 (no window).
    pub fn window_days(self) -> Option<i64> {
        match self {
            Priority::P1a => Some(1),
            Priority::P1b => Some(3),
            Priority::P2 => Some(28),
            Priority::P3 => Some(90),
            Priority::P4 => None,
        }
    }

    /// Position in [`Priority::ALL`] (0 = P1a).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1a => "P1a",
            Priority::P1b => "P1b",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A waiting-list entry: one elective operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Case {
    /// Unique case id.
    pub id: String,
    /// Specialty that operates.
    pub specialty: String,
    /// FSSA priority.
    pub priority: Priority,
    /// Date added to the waiting list (referral-to-treatment clock for the window).
    pub listed: NaiveDate,
    /// Expected theatre minutes, including turnaround (at least 1).
    #[schemars(range(min = 1))]
    pub duration_min: u32,
    /// Earliest date the patient can come in.
    pub earliest: NaiveDate,
    /// Site that must operate, or `null` for any site.
    #[serde(default)]
    pub site: Option<String>,
    /// Overnight stay after surgery, segment after segment; `[]` is a day case.
    #[serde(default)]
    pub stay: Vec<StaySegment>,
    /// Explicit due date overriding the priority window (extension allowed by the contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// Extension: the consultant whose list the case is on (a `surgeons[].id`);
    /// absent or `null`: anyone on the specialty's list may operate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surgeon: Option<String>,
    /// Extension (networks): the site the patient is listed at; a transfer moves the
    /// case from here along a network link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_site: Option<String>,
    /// Extension (networks): the patient's consent to travel and its radius; absent:
    /// the case does not move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Travel")]
    pub travel: Option<Travel>,
}

impl Case {
    /// The date by which the case should be operated, if any: `due` when given, else
    /// `listed` plus the priority window (P4 has none).
    pub fn due_date(&self) -> Option<NaiveDate> {
        self.due.or_else(|| {
            self.priority
                .window_days()
                .map(|d| self.listed + chrono::Duration::days(d))
        })
    }

    /// Total nights in a bed after surgery.
    pub fn total_nights(&self) -> u32 {
        self.stay.iter().map(|s| s.nights).sum()
    }
}

/// Part of a post-operative stay: `nights` nights in a `kind` bed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StaySegment {
    /// Bed kind (must be a kind some ward has).
    pub kind: String,
    /// Nights in that kind of bed (at least 1).
    #[schemars(range(min = 1))]
    pub nights: u32,
}

/// A patient in a bed at the start of the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Inpatient {
    /// Unique patient id.
    pub id: String,
    /// Ward the patient is in.
    pub ward: String,
    /// Expected discharge day; the patient occupies the bed on nights before it.
    pub expected_discharge: NaiveDate,
}

/// The emergency and trauma stream that runs alongside elective work.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Emergency {
    /// Emergency admissions per bed pool.
    #[serde(default)]
    pub admissions: Vec<EmergencyAdmissions>,
    /// Emergency/trauma theatre demand per site.
    #[serde(default)]
    pub theatre: Vec<EmergencyTheatre>,
}

/// Poisson emergency admissions into one bed pool, with geometric length of stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EmergencyAdmissions {
    /// Site of the pool.
    pub site: String,
    /// Bed kind of the pool.
    pub kind: String,
    /// Mean admissions per day, Monday..Sunday (each ≥ 0).
    #[schemars(inner(range(min = 0)))]
    pub per_day: [f64; 7],
    /// Mean length of stay in nights (≥ 1).
    #[schemars(range(min = 1))]
    pub los_mean_nights: f64,
}

/// Poisson emergency theatre cases at one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EmergencyTheatre {
    /// Site whose theatres serve them.
    pub site: String,
    /// Mean cases per day, Monday..Sunday (each ≥ 0).
    #[schemars(inner(range(min = 0)))]
    pub per_day: [f64; 7],
    /// Mean theatre minutes per case (> 0).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub minutes_mean: f64,
    /// Standard deviation of theatre minutes per case (≥ 0).
    #[schemars(range(min = 0))]
    pub minutes_sd: f64,
}

/// A bed pool: all wards with the same (site, kind).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PoolKey {
    /// Site id.
    pub site: String,
    /// Bed kind.
    pub kind: String,
}

impl std::fmt::Display for PoolKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.site, self.kind)
    }
}

impl Scenario {
    /// The date of horizon day `t` (day 0 is `start`).
    pub fn date(&self, t: u32) -> NaiveDate {
        self.start + chrono::Duration::days(i64::from(t))
    }

    /// The horizon day index of `date`, which may be negative or beyond the horizon.
    pub fn day_index(&self, date: NaiveDate) -> i64 {
        (date - self.start).num_days()
    }

    /// Horizon day of `date` if it lies inside the horizon.
    pub fn day_in_horizon(&self, date: NaiveDate) -> Option<u32> {
        let t = self.day_index(date);
        (0..i64::from(self.horizon_days))
            .contains(&t)
            .then(|| u32::try_from(t).ok())
            .flatten()
    }

    /// Last day of the horizon.
    pub fn end(&self) -> NaiveDate {
        self.date(self.horizon_days.saturating_sub(1))
    }

    /// Weekday index (Monday = 0) of horizon day `t`, for `per_day` lookups.
    pub fn weekday(&self, t: u32) -> usize {
        self.date(t).weekday().num_days_from_monday() as usize
    }

    /// The bed pools the wards form, sorted by (site, kind).
    pub fn pools(&self) -> Vec<PoolKey> {
        let mut pools: Vec<PoolKey> = self
            .wards
            .iter()
            .map(|w| PoolKey {
                site: w.site.clone(),
                kind: w.kind.clone(),
            })
            .collect();
        pools.sort();
        pools.dedup();
        pools
    }

    /// The emergency admission stream into `pool`, if the scenario has one.
    pub fn admissions_for(&self, pool: &PoolKey) -> Option<&EmergencyAdmissions> {
        self.emergency
            .admissions
            .iter()
            .find(|a| a.site == pool.site && a.kind == pool.kind)
    }

    /// The emergency theatre demand at `site`, if the scenario has one.
    pub fn theatre_demand_for(&self, site: &str) -> Option<&EmergencyTheatre> {
        self.emergency.theatre.iter().find(|d| d.site == site)
    }
}
