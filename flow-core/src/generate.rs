//! Seeded, realistic scenarios shaped on published NHS acute-trust figures.
//!
//! [`generate`] builds a whole `flow.scenario/1` document — sites, wards with a few
//! closures, current inpatients, theatres with a weekly session template, the waiting
//! list and the emergency/trauma demand — from a [`GenerateOptions`] (size, seed, start
//! date). It is pure: no clock, no I/O, and the same options always give the same
//! scenario, byte for byte, on every platform. Each part draws from its own ChaCha8
//! stream of the seed, so the parts do not shift each other when one of them changes.
//!
//! Every figure below names where it comes from (NHS England statistics, GIRFT, HES,
//! FSSA, NCEPOD, ICNARC, BADS…). They are rounded, planning-grade figures meant to make
//! the scenarios behave like a busy English acute trust in winter — beds tight, an
//! elective backlog with overdue patients, an emergency stream that sometimes needs
//! reserve inside elective lists — not a statistical reproduction of any trust.
//!
//! Portability: integer draws use rand's portable uniform ranges, and apart from the
//! log-normal case durations (`ln`/`exp`, rounded to 5 minutes straight after) every
//! figure comes from exact IEEE arithmetic (`+ − × ÷ √`) and is rounded (whole or
//! 5-minute steps, 0.1 arrivals a day), so platform `libm` differences cannot show
//! short of a draw landing exactly on a rounding boundary.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

pub mod network;

use crate::scenario::{
    Case, Closure, Emergency, EmergencyAdmissions, EmergencyTheatre, Inpatient, Period, Policy,
    Priority, SCENARIO_SCHEMA, Scenario, Session, Site, StaySegment, Surgeon, SurgeonDay, Theatre,
    Ward,
};

/// How big a trust to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Size {
    /// One site, 4 theatres, ~125 beds, 7 days, 150 cases: unit tests and demos.
    Tiny,
    /// Two sites, 16 theatres, ~400 beds, 14 days, 2,000 cases.
    Medium,
    /// Five sites, 60 theatres, ~1,500 beds, 28 days, 20,000 cases: the product's
    /// design scale (PRODUCT.md "Scale to design for").
    Large,
    /// A clinical network of five sites (a major trauma centre, two trauma units, an
    /// elective hub, a spoke), 25 theatres (25 beds each), 14 days, 1,800 cases, with the
    /// links between them: see [`network`].
    Network,
}

impl Size {
    /// Every single-trust size, smallest first.
    pub const ALL: [Size; 3] = [Size::Tiny, Size::Medium, Size::Large];

    /// Every size the command line takes: [`Size::ALL`] and [`Size::Network`].
    pub const NAMED: [Size; 4] = [Size::Tiny, Size::Medium, Size::Large, Size::Network];

    /// The command-line spelling: `tiny`, `medium`, `large`, `network`.
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Tiny => "tiny",
            Size::Medium => "medium",
            Size::Large => "large",
            Size::Network => "network",
        }
    }

    fn shape(self) -> Shape {
        match self {
            Size::Tiny => Shape {
                theatres: &[4],
                horizon_days: 7,
                cases: 150,
            },
            Size::Medium => Shape {
                theatres: &[9, 7],
                horizon_days: 14,
                cases: 2_000,
            },
            Size::Large => Shape {
                theatres: &[16, 12, 12, 10, 10],
                horizon_days: 28,
                cases: 20_000,
            },
            // Not used: `network::generate` lays out its own sites.
            Size::Network => Shape {
                theatres: &[7, 5, 5, 5, 3],
                horizon_days: 14,
                cases: 1_800,
            },
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A size name that is not `tiny`, `medium` or `large`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown size `{input}`: expected tiny, medium, large or network")]
pub struct ParseSizeError {
    /// The text that did not parse.
    pub input: String,
}

impl FromStr for Size {
    type Err = ParseSizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Size::NAMED
            .into_iter()
            .find(|size| size.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseSizeError {
                input: s.to_string(),
            })
    }
}

/// The default first day: Monday 7 December 2026, a winter week.
pub const DEFAULT_START: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
    Some(d) => d,
    None => panic!("2026-12-07 is a valid date"),
};

/// How hard the waiting list presses on the horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// The published NHS mix: a few cases due inside the horizon, most available from
    /// the start.
    #[default]
    Standard,
    /// A tight trust: about twice the urgent (P2) share, fewer of them already overdue,
    /// so many more cases fall due inside the horizon, and half of those are only
    /// available some days after the start (pre-operative assessment, patient
    /// choice). What external benchmarks such as IHTC-2024 look like: release windows
    /// that open after the start and close before the end.
    Tight,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 2] = [Profile::Standard, Profile::Tight];

    /// The command-line spelling: `standard`, `tight`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Standard => "standard",
            Profile::Tight => "tight",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A profile name that is not `standard` or `tight`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile `{input}`: expected standard or tight")]
pub struct ParseProfileError {
    /// The text that did not parse.
    pub input: String,
}

impl FromStr for Profile {
    type Err = ParseProfileError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseProfileError {
                input: s.to_string(),
            })
    }
}

/// What to generate: size, seed, day 0 of the horizon and the waiting-list profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GenerateOptions {
    /// Trust size.
    pub size: Size,
    /// Seed of every random draw; the same options give the same scenario.
    pub seed: u64,
    /// Day 0 of the horizon (passed in: the generator never reads the clock).
    pub start: NaiveDate,
    /// How hard the waiting list presses on the horizon.
    pub profile: Profile,
    /// [`Size::Network`] only: percent of the long waiters (not pinned to a site) who
    /// consent to travel; 0–100, default 40.
    pub movers_pct: u8,
    /// [`Size::Network`] only: the balanced control network (five alike sites).
    pub balanced: bool,
    /// [`Size::Network`] only: every site's theatres and the waiting list multiplied
    /// by this (1, the default: 25 theatres and 1,800 cases; 3: 75 theatres, each site
    /// about a medium trust's, and 5,400 cases).
    pub scale: u8,
}

impl GenerateOptions {
    /// `size` and `seed`, starting on [`DEFAULT_START`] (Monday 2026-12-07), with the
    /// standard profile.
    pub fn new(size: Size, seed: u64) -> Self {
        GenerateOptions {
            size,
            seed,
            start: DEFAULT_START,
            profile: Profile::Standard,
            movers_pct: DEFAULT_MOVERS_PCT,
            balanced: false,
            scale: 1,
        }
    }

    /// The same options with every network site `scale` times as large (network only;
    /// 0 counts as 1).
    pub fn with_scale(self, scale: u8) -> Self {
        GenerateOptions {
            scale: scale.max(1),
            ..self
        }
    }

    /// The same options with `pct` percent of long waiters consenting to travel
    /// (network only; above 100 counts as 100).
    pub fn with_movers(self, pct: u8) -> Self {
        GenerateOptions {
            movers_pct: pct,
            ..self
        }
    }

    /// The same options, for the balanced control network or not (network only).
    pub fn with_balanced(self, balanced: bool) -> Self {
        GenerateOptions { balanced, ..self }
    }

    /// The same options starting on `start` instead.
    pub fn with_start(self, start: NaiveDate) -> Self {
        GenerateOptions { start, ..self }
    }

    /// The same options with waiting-list `profile` instead.
    pub fn with_profile(self, profile: Profile) -> Self {
        GenerateOptions { profile, ..self }
    }
}

/// Percent of long waiters who consent to travel in a generated network by default.
pub const DEFAULT_MOVERS_PCT: u8 = 40;

/// Generates a complete, valid scenario for `opts`; pure and deterministic.
pub fn generate(opts: &GenerateOptions) -> Scenario {
    if opts.size == Size::Network {
        return network::generate(opts);
    }
    let profile = opts.size.shape();
    let horizon = profile.horizon_days;
    let sites = plan_sites(&profile);
    let wards = make_wards(opts, &sites, horizon);
    let inpatients = make_inpatients(opts, &sites, &wards, horizon);
    let theatres = make_theatres(opts, &sites, horizon);
    let emergency = make_emergency(opts, &sites, &wards);
    let mut waiting_list = make_waiting_list(opts, &sites, profile.cases, horizon);
    let surgeons = make_surgeons(opts, &theatres, horizon, &mut waiting_list);
    let name = match opts.profile {
        Profile::Standard => format!("generated-{}-seed-{}", opts.size, opts.seed),
        Profile::Tight => format!("generated-{}-tight-seed-{}", opts.size, opts.seed),
    };
    Scenario {
        schema: SCENARIO_SCHEMA.to_string(),
        name,
        start: opts.start,
        horizon_days: horizon,
        policy: Policy {
            // GIRFT theatres programme: plan lists to a capped utilisation of 85%.
            theatre_utilisation_cap: 0.85,
            // Keep beds free for emergencies on 9 nights in 10, and theatre minutes for
            // the emergency workload on 9 days in 10.
            emergency_bed_quantile: 0.90,
            emergency_theatre_quantile: 0.90,
        },
        sites: sites
            .iter()
            .map(|s| Site {
                id: s.id.clone(),
                name: s.name.clone(),
                trust: None,
                role: None,
            })
            .collect(),
        specialties: SPECIALTIES.iter().map(|s| s.id.to_string()).collect(),
        wards,
        theatres,
        waiting_list,
        inpatients,
        emergency,
        surgeons,
        network: None,
    }
}

// ---------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------

struct Shape {
    /// Theatres per site; the first site is the hub (major trauma centre) when there
    /// are several.
    theatres: &'static [u32],
    horizon_days: u32,
    cases: u32,
}

/// Site ids, id prefixes and names, in order.
const SITE_NAMES: [(&str, &str, &str); 5] = [
    ("north", "n", "North General Hospital"),
    ("south", "s", "South District Hospital"),
    ("east", "e", "East District Hospital"),
    ("west", "w", "West Community Hospital"),
    ("central", "c", "Central Hospital"),
];

/// Φ⁻¹(0.90), the policy's reserve quantile. A constant, so sizing the emergency
/// streams needs only `√` and is bit-identical everywhere.
const Z90: f64 = 1.281_551_565_544_600_4;

/// Beds per theatre: PRODUCT.md's design trust has 1,500 beds and 60 theatres; the
/// same ratio sizes the smaller trusts.
const BEDS_PER_THEATRE: f64 = 25.0;

/// Longest case the generator lists: a case is booked inside one list, and a 240-minute
/// list holds at most 0.85 × 240 = 204 booked minutes (GIRFT 85% cap). Longer major
/// operations are represented as a full half-day list.
const MAX_CASE_MIN: u32 = 200;

/// Elective list lengths (a standard 4-hour half-day list; 3-hour evening extension).
const LIST_MIN: u32 = 240;
const EVENING_LIST_MIN: u32 = 180;

/// Emergency (CEPOD) theatre lists: am, pm and evening every day of the week
/// (NCEPOD "Who operates when?" and the RCS emergency general surgery standards: a
/// dedicated, consultant-led emergency theatre available every day).
const EMERGENCY_LIST_MIN: u32 = 240;

/// One bed kind: its share of a site's beds and how its patients behave.
struct BedKind {
    kind: &'static str,
    tag: &'static str,
    /// Share of the site's beds (NHS England KH03: roughly half of general & acute beds
    /// are medical; surgery and T&O most of the rest; adult critical care ~4–5% of G&A).
    share: f64,
    /// Extra at the hub, which is the major trauma centre (more trauma and ICU beds).
    hub_factor: f64,
    /// Beds per ward (24–32 for general wards; critical care units of 8–16).
    ward_beds: (u32, u32),
    /// Mean length of stay of emergency admissions, nights (HES APC: emergency surgical
    /// ~4.5, general medical ~6, trauma (incl. hip fracture) ~7; ICNARC CMP: critical
    /// care ~3).
    los_nights: f64,
    /// The steady-state emergency reserve r as a share of the beds, drawn in this range:
    /// surgical/trauma pools keep room for electives, medical pools run hot (KH03 G&A
    /// occupancy ~93% and above in winter), critical care ~75–80% occupied (KH03 CC).
    reserve_share: (f64, f64),
    /// Share of current inpatients with a long, delayed discharge (NHS England discharge
    /// sitrep 2023-24: ~13,000 of ~100,000 G&A beds a day held by patients who no longer
    /// meet the criteria to reside — concentrated in medical and trauma wards).
    long_stay: f64,
}

const KINDS: [BedKind; 4] = [
    BedKind {
        kind: "surgical",
        tag: "surg",
        share: 0.27,
        hub_factor: 1.0,
        ward_beds: (24, 32),
        los_nights: 4.5,
        reserve_share: (0.60, 0.75),
        long_stay: 0.05,
    },
    BedKind {
        kind: "trauma",
        tag: "trauma",
        share: 0.18,
        hub_factor: 1.3,
        ward_beds: (24, 32),
        los_nights: 7.0,
        reserve_share: (0.65, 0.80),
        long_stay: 0.10,
    },
    BedKind {
        kind: "medical",
        tag: "med",
        share: 0.48,
        hub_factor: 1.0,
        ward_beds: (24, 32),
        los_nights: 6.0,
        reserve_share: (0.90, 1.00),
        long_stay: 0.13,
    },
    BedKind {
        kind: "critical_care",
        tag: "cc",
        share: 0.05,
        hub_factor: 1.5,
        ward_beds: (8, 16),
        los_nights: 3.0,
        reserve_share: (0.55, 0.75),
        long_stay: 0.0,
    },
];

/// Starting occupancy of every pool, drawn per pool (NHS England KH03 G&A occupancy
/// ~93% on average, 85–97% across trusts and weeks).
const START_OCCUPANCY: (f64, f64) = (0.85, 0.97);

/// Ward closures (infection control, estates work, staffing): chance per ward, beds
/// closed and nights closed.
const CLOSURE_CHANCE: f64 = 0.12;
const CLOSURE_BEDS: (u32, u32) = (2, 6);
const CLOSURE_NIGHTS: (u32, u32) = (1, 4);

/// Emergency admissions by weekday, Monday..Sunday, mean 1 (NHS England A&E
/// attendances and emergency admissions: a Monday peak and a weekend dip).
const ADMISSION_WEEK: [f64; 7] = [1.12, 1.04, 1.01, 1.00, 1.02, 0.92, 0.89];

/// Emergency theatre cases by weekday, mean 1 (NCEPOD "Who operates when? II": fewer
/// emergency operations at weekends; NELA: laparotomies spread over the week with a
/// weekday excess).
const THEATRE_WEEK: [f64; 7] = [1.10, 1.02, 1.00, 1.00, 1.03, 0.95, 0.90];

/// The emergency theatre workload on the peak day, as a share of the site's dedicated
/// emergency theatre minutes. Above 1 the site must hold reserve inside elective lists
/// (about 40% of sites and seeds).
const EMERGENCY_THEATRE_LOAD: (f64, f64) = (0.70, 1.20);

/// Share of a site's weekly elective half-day slots held as fixed specialty blocks; the
/// rest are flexible lists the plan gives a specialty (GIRFT theatres: job-planned
/// fixed sessions plus a pool of flexible lists).
const FIXED_SHARE: (f64, f64) = (0.60, 0.70);

/// Chance an elective theatre runs 3-hour evening extensions on Tuesday and Thursday,
/// and chance it runs a Saturday morning waiting-list-initiative list in a given week
/// (NHS England elective recovery: extended days and weekend lists).
const EVENING_CHANCE: f64 = 0.15;
const SATURDAY_CHANCE: f64 = 0.08;

/// Elective specialty: waiting-list share, theatre time, day-case rate, stay.
struct Specialty {
    id: &'static str,
    /// Share of the admitted (surgical) waiting list (NHS England RTT waiting times by
    /// treatment function: T&O and ophthalmology largest, then general surgery,
    /// urology, gynaecology, ENT).
    share: f64,
    /// Mean theatre minutes per case including anaesthesia and turnaround (GIRFT
    /// specialty reports; GIRFT ophthalmology: 8+ cataracts per high-volume list).
    mean_min: f64,
    /// Coefficient of variation of the log-normal duration.
    cv: f64,
    /// Share done as day cases (BADS Directory of Procedures; HES APC 2022-23: ~80% of
    /// all elective admissions are day cases — lower here because theatre cases exclude
    /// endoscopy and medical day cases).
    day_case: f64,
    /// Bed kind for ward nights (T&O electives go to the ortho/trauma wards).
    ward: &'static str,
    /// Mean ward nights of inpatients, geometric ≥ 1 (GIRFT orthopaedics: hip/knee
    /// replacement ~3 days; ERAS colorectal ~5–6; HES APC elective LOS by specialty).
    ward_nights: f64,
    /// Share of inpatients with 1–2 critical care nights first (ICNARC CMP: about a
    /// quarter of adult critical care admissions are planned, after elective surgery,
    /// mostly colorectal, upper GI and vascular majors).
    critical_care: f64,
}

const SPECIALTIES: [Specialty; 10] = [
    Specialty {
        id: "ortho",
        share: 0.19,
        mean_min: 125.0,
        cv: 0.30,
        day_case: 0.45,
        ward: "trauma",
        ward_nights: 3.0,
        critical_care: 0.02,
    },
    Specialty {
        id: "ophthalmology",
        share: 0.18,
        mean_min: 35.0,
        cv: 0.40,
        day_case: 0.98,
        ward: "surgical",
        ward_nights: 1.0,
        critical_care: 0.0,
    },
    Specialty {
        id: "gensurg",
        share: 0.15,
        mean_min: 80.0,
        cv: 0.40,
        day_case: 0.75,
        ward: "surgical",
        ward_nights: 2.5,
        critical_care: 0.02,
    },
    Specialty {
        id: "urology",
        share: 0.12,
        mean_min: 75.0,
        cv: 0.45,
        day_case: 0.70,
        ward: "surgical",
        ward_nights: 2.0,
        critical_care: 0.04,
    },
    Specialty {
        id: "gynae",
        share: 0.10,
        mean_min: 85.0,
        cv: 0.40,
        day_case: 0.70,
        ward: "surgical",
        ward_nights: 2.0,
        critical_care: 0.02,
    },
    Specialty {
        id: "ent",
        share: 0.09,
        mean_min: 70.0,
        cv: 0.40,
        day_case: 0.75,
        ward: "surgical",
        ward_nights: 1.5,
        critical_care: 0.01,
    },
    Specialty {
        id: "colorectal",
        share: 0.06,
        mean_min: 165.0,
        cv: 0.25,
        day_case: 0.15,
        ward: "surgical",
        ward_nights: 5.5,
        critical_care: 0.20,
    },
    Specialty {
        id: "upper_gi",
        share: 0.04,
        mean_min: 170.0,
        cv: 0.25,
        day_case: 0.30,
        ward: "surgical",
        ward_nights: 4.5,
        critical_care: 0.25,
    },
    Specialty {
        id: "breast",
        share: 0.04,
        mean_min: 90.0,
        cv: 0.35,
        day_case: 0.60,
        ward: "surgical",
        ward_nights: 1.5,
        critical_care: 0.0,
    },
    Specialty {
        id: "vascular",
        share: 0.03,
        mean_min: 150.0,
        cv: 0.30,
        day_case: 0.30,
        ward: "surgical",
        ward_nights: 5.0,
        critical_care: 0.25,
    },
];

/// Priority mix of the admitted list, P1a..P4 (FSSA clinical prioritisation guidance
/// 2020 categories; shares roughly as NHS England reported when trusts first
/// prioritised their admitted lists: P1 a few percent, P2 ~15–20%, P3 ~35–40%, P4 the
/// rest).
const PRIORITY_MIX: [f64; 5] = [0.004, 0.02, 0.15, 0.38, 0.446];

/// Share of P2 / P3 cases already past their FSSA window at the start (NHS England
/// prioritisation returns: many P2/P3 patients wait beyond their target).
const P2_OVERDUE: f64 = 0.45;
const P3_OVERDUE: f64 = 0.50;

/// The tight profile ([`Profile::Tight`]): twice the P2 share, fewer of them
/// overdue (so about 270 cases fall due inside a medium 14-day horizon instead of
/// about 130), and half of the cases due inside the horizon available only from a
/// day drawn between the day after the start and their due date.
const TIGHT_PRIORITY_MIX: [f64; 5] = [0.004, 0.02, 0.30, 0.30, 0.376];
const TIGHT_P2_OVERDUE: f64 = 0.30;
const TIGHT_LATE_RELEASE: f64 = 0.5;

/// P4 waits since listing, in bands of the referral-to-treatment thresholds (18, 52,
/// 78, 104 weeks): cumulative shares (NHS England RTT statistics 2023-24: ~58% within
/// 18 weeks, ~5% of the whole list over 52 weeks — here 12% of P4s, ~5% of the list).
const P4_WAIT_BANDS: [(f64, i64, i64); 4] = [
    (0.60, 0, 126),
    (0.88, 127, 364),
    (0.98, 365, 546),
    (1.00, 547, 728),
];

/// Patients available from day 0; the rest later in the horizon (patient choice,
/// pre-operative assessment); a few only beyond it.
const EARLIEST_AT_START: f64 = 0.85;
const EARLIEST_IN_HORIZON: f64 = 0.12;

/// Share of cases that must be done at one named site in a multi-site trust (patient
/// choice, surgeon, site-only equipment).
const PINNED_SITE: f64 = 0.12;

// ---------------------------------------------------------------------------------
// Sites
// ---------------------------------------------------------------------------------

struct SitePlan {
    id: String,
    prefix: String,
    name: String,
    theatres: u32,
    emergency_theatres: u32,
    /// The major trauma centre of a multi-site trust.
    hub: bool,
}

impl SitePlan {
    fn elective_theatres(&self) -> u32 {
        self.theatres.saturating_sub(self.emergency_theatres)
    }
}

fn plan_sites(profile: &Shape) -> Vec<SitePlan> {
    let multi = profile.theatres.len() > 1;
    profile
        .theatres
        .iter()
        .enumerate()
        .map(|(i, &theatres)| {
            let (id, prefix, name) = match SITE_NAMES.get(i) {
                Some(&(id, prefix, name)) => (id.to_string(), prefix.to_string(), name.to_string()),
                None => (format!("site{i}"), format!("s{i}"), format!("Site {i}")),
            };
            // One CEPOD theatre for a district general hospital, two once there are
            // 9+ theatres (emergency general surgery plus trauma), three at a large
            // major trauma centre (NCEPOD; RCS emergency general surgery standards).
            let emergency_theatres = match theatres {
                0..=8 => 1,
                9..=14 => 2,
                _ => 3,
            }
            .min(theatres);
            SitePlan {
                id,
                prefix,
                name,
                theatres,
                emergency_theatres,
                hub: multi && i == 0,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Wards and inpatients
// ---------------------------------------------------------------------------------

fn make_wards(opts: &GenerateOptions, sites: &[SitePlan], horizon: u32) -> Vec<Ward> {
    let mut rng = stream(opts.seed, 1);
    let mut wards = Vec::new();
    for site in sites {
        let site_beds = f64::from(site.theatres) * BEDS_PER_THEATRE * uniform(&mut rng, 0.9, 1.1);
        for kind in &KINDS {
            let factor = if site.hub { kind.hub_factor } else { 1.0 };
            let target = site_beds * kind.share * factor;
            let (lo, hi) = kind.ward_beds;
            let typical = f64::from(lo + hi) / 2.0;
            let count = ((target / typical).round() as u32).max(1);
            for n in 1..=count {
                let beds = rng.random_range(lo..=hi);
                let mut closures = Vec::new();
                if horizon > 0 && rng.random_bool(CLOSURE_CHANCE) {
                    let closed = rng.random_range(CLOSURE_BEDS.0..=CLOSURE_BEDS.1).min(beds);
                    let from = rng.random_range(0..horizon);
                    let nights = rng.random_range(CLOSURE_NIGHTS.0..=CLOSURE_NIGHTS.1);
                    let to = (from + nights - 1).min(horizon - 1);
                    closures.push(Closure {
                        from: add_days(opts.start, i64::from(from)),
                        to: add_days(opts.start, i64::from(to)),
                        beds: closed,
                    });
                }
                wards.push(Ward {
                    id: format!("{}-{}-{}", site.prefix, kind.tag, n),
                    site: site.id.clone(),
                    kind: kind.kind.to_string(),
                    beds,
                    closures,
                });
            }
        }
    }
    wards
}

fn make_inpatients(
    opts: &GenerateOptions,
    sites: &[SitePlan],
    wards: &[Ward],
    horizon: u32,
) -> Vec<Inpatient> {
    let mut rng = stream(opts.seed, 2);
    let mut out = Vec::new();
    for site in sites {
        for kind in &KINDS {
            let occupancy = uniform(&mut rng, START_OCCUPANCY.0, START_OCCUPANCY.1);
            let in_pool = wards
                .iter()
                .filter(|w| w.site == site.id && w.kind == kind.kind);
            for ward in in_pool {
                let patients = (f64::from(ward.beds) * occupancy).round() as u32;
                for _ in 0..patients.min(ward.beds) {
                    // Remaining stay: geometric (memoryless, the same model as the
                    // emergency reserve) with the pool's mean, or a delayed discharge
                    // that runs to or beyond the end of the horizon.
                    let nights = if rng.random_bool(kind.long_stay) {
                        rng.random_range((horizon / 2).max(1)..=horizon + 21)
                    } else {
                        geometric_nights(&mut rng, kind.los_nights)
                    };
                    out.push(Inpatient {
                        id: format!("ip-{:05}", out.len() + 1),
                        ward: ward.id.clone(),
                        expected_discharge: add_days(opts.start, i64::from(nights)),
                    });
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// Theatres and sessions
// ---------------------------------------------------------------------------------

fn make_theatres(opts: &GenerateOptions, sites: &[SitePlan], horizon: u32) -> Vec<Theatre> {
    let mut rng = stream(opts.seed, 3);
    let holidays = bank_holidays_between(opts.start, add_days(opts.start, i64::from(horizon)));
    let mut theatres = Vec::new();
    for site in sites {
        let mut number = 0u32;
        let mut next_id = || {
            number += 1;
            format!("{}-th-{}", site.prefix, number)
        };
        for _ in 0..site.emergency_theatres {
            let mut sessions = Vec::new();
            for t in 0..horizon {
                let date = add_days(opts.start, i64::from(t));
                for period in [Period::Am, Period::Pm, Period::Eve] {
                    sessions.push(Session {
                        date,
                        period,
                        minutes: EMERGENCY_LIST_MIN,
                        specialty: None,
                    });
                }
            }
            theatres.push(Theatre {
                id: next_id(),
                site: site.id.clone(),
                emergency: true,
                sessions,
            });
        }
        let template = weekly_template(&mut rng, site.elective_theatres());
        for week in template.chunks(SLOTS_PER_WEEK) {
            let evenings = rng.random_bool(EVENING_CHANCE);
            let mut sessions = Vec::new();
            for t in 0..horizon {
                let date = add_days(opts.start, i64::from(t));
                if holidays.contains(&date) {
                    continue;
                }
                let weekday = date.weekday().num_days_from_monday() as usize;
                if weekday < 5 {
                    let am = week.get(weekday * 2).copied().flatten();
                    let pm = week.get(weekday * 2 + 1).copied().flatten();
                    sessions.push(elective_session(date, Period::Am, LIST_MIN, am));
                    sessions.push(elective_session(date, Period::Pm, LIST_MIN, pm));
                    if evenings && (weekday == 1 || weekday == 3) {
                        sessions.push(elective_session(date, Period::Eve, EVENING_LIST_MIN, pm));
                    }
                } else if weekday == 5 && rng.random_bool(SATURDAY_CHANCE) {
                    sessions.push(elective_session(date, Period::Am, LIST_MIN, None));
                }
            }
            theatres.push(Theatre {
                id: next_id(),
                site: site.id.clone(),
                emergency: false,
                sessions,
            });
        }
    }
    theatres
}

/// Half-day slots per elective theatre per week: Monday..Friday × am, pm.
const SLOTS_PER_WEEK: usize = 10;

/// The site's weekly elective template: `SLOTS_PER_WEEK` slots per theatre, each a
/// specialty index (fixed block) or `None` (flexible). Fixed blocks are shared out in
/// proportion to each specialty's theatre-minute demand, every specialty getting at
/// least one where there is room, and run in consecutive slots so a theatre keeps its
/// specialty (ortho in the laminar-flow theatres, and so on).
fn weekly_template(rng: &mut ChaCha8Rng, theatres: u32) -> Vec<Option<usize>> {
    let slots = theatres as usize * SLOTS_PER_WEEK;
    let fixed_share = uniform(rng, FIXED_SHARE.0, FIXED_SHARE.1);
    let flexible = ((1.0 - fixed_share) * slots as f64).round() as usize;
    // Partial Fisher–Yates: the first `flexible` positions of `order` are flexible.
    let mut order: Vec<usize> = (0..slots).collect();
    for i in 0..flexible.min(slots) {
        let j = rng.random_range(i as u64..slots as u64) as usize;
        order.swap(i, j);
    }
    let mut is_flexible = vec![false; slots];
    for &slot in order.iter().take(flexible) {
        if let Some(f) = is_flexible.get_mut(slot) {
            *f = true;
        }
    }
    let fixed = slots - flexible.min(slots);
    let mut labels = fixed_block_labels(fixed).into_iter();
    is_flexible
        .into_iter()
        .map(|flex| if flex { None } else { labels.next() })
        .collect()
}

/// `fixed` specialty labels, grouped by specialty, by largest remainder on theatre
/// minute demand (share × mean minutes), with one block each first when there is room.
fn fixed_block_labels(fixed: usize) -> Vec<usize> {
    let demand: Vec<f64> = SPECIALTIES.iter().map(|s| s.share * s.mean_min).collect();
    let total: f64 = demand.iter().sum();
    let floor_each = usize::from(fixed >= 2 * SPECIALTIES.len());
    let rest = fixed - floor_each * SPECIALTIES.len();
    let quotas: Vec<f64> = demand.iter().map(|d| d / total * rest as f64).collect();
    let mut counts: Vec<usize> = quotas.iter().map(|q| q.floor() as usize).collect();
    let assigned: usize = counts.iter().sum();
    let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        let ra = quotas.get(a).map_or(0.0, |q| q - q.floor());
        let rb = quotas.get(b).map_or(0.0, |q| q - q.floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in by_remainder.iter().take(rest.saturating_sub(assigned)) {
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
    }
    counts
        .iter()
        .enumerate()
        .flat_map(|(i, &c)| std::iter::repeat_n(i, c + floor_each))
        .collect()
}

fn elective_session(
    date: NaiveDate,
    period: Period,
    minutes: u32,
    specialty: Option<usize>,
) -> Session {
    Session {
        date,
        period,
        minutes,
        specialty: specialty
            .and_then(|i| SPECIALTIES.get(i))
            .map(|s| s.id.to_string()),
    }
}

// ---------------------------------------------------------------------------------
// Emergency demand
// ---------------------------------------------------------------------------------

fn make_emergency(opts: &GenerateOptions, sites: &[SitePlan], wards: &[Ward]) -> Emergency {
    let mut rng = stream(opts.seed, 4);
    let mut admissions = Vec::new();
    let mut theatre = Vec::new();
    for site in sites {
        for kind in &KINDS {
            let beds: u32 = wards
                .iter()
                .filter(|w| w.site == site.id && w.kind == kind.kind)
                .map(|w| w.beds)
                .sum();
            // Steady state: the emergency census is Poisson(m) with m = λ̄·L; its 90%
            // reserve r ≈ m + z·√m is set to the drawn share of the beds, so
            // √m = (−z + √(z² + 4·share·beds)) / 2.
            let share = uniform(&mut rng, kind.reserve_share.0, kind.reserve_share.1);
            let root = (-Z90 + (Z90 * Z90 + 4.0 * share * f64::from(beds)).sqrt()) / 2.0;
            let los = round_tenth(kind.los_nights * uniform(&mut rng, 0.9, 1.1)).max(1.0);
            let mean_per_day = root * root / los;
            admissions.push(EmergencyAdmissions {
                site: site.id.clone(),
                kind: kind.kind.to_string(),
                per_day: ADMISSION_WEEK.map(|f| round_tenth(mean_per_day * f)),
                los_mean_nights: los,
            });
        }
        // Emergency/trauma theatre cases ~90–110 minutes, sd ~35–45 (NELA: emergency
        // laparotomy ~2–3 h; most CEPOD cases — appendicectomy, abscess, fracture
        // fixation — 1–2 h).
        let minutes_mean = round_to_5(uniform(&mut rng, 90.0, 110.0));
        let minutes_sd = round_to_5(uniform(&mut rng, 35.0, 45.0));
        let capacity = f64::from(site.emergency_theatres * 3 * EMERGENCY_LIST_MIN);
        let load = uniform(&mut rng, EMERGENCY_THEATRE_LOAD.0, EMERGENCY_THEATRE_LOAD.1);
        let peak = THEATRE_WEEK.iter().copied().fold(0.0, f64::max);
        let mean_per_day = cases_for_minutes(load * capacity, minutes_mean, minutes_sd) / peak;
        let mut per_day = THEATRE_WEEK.map(|f| round_tenth(mean_per_day * f));
        // Weekends have no elective lists to lend minutes from: trusts staff their
        // weekend CEPOD lists to the weekend workload, so it stays within them.
        let weekend_max = floor_tenth(cases_for_minutes(capacity - 10.0, minutes_mean, minutes_sd));
        for day in per_day.iter_mut().skip(5) {
            *day = day.min(weekend_max);
        }
        theatre.push(EmergencyTheatre {
            site: site.id.clone(),
            per_day,
            minutes_mean,
            minutes_sd,
        });
    }
    Emergency {
        admissions,
        theatre,
    }
}

/// Mean daily cases λ whose 90% workload `λ·mean + z·√(λ·(mean² + sd²))` equals
/// `minutes`: a quadratic in √λ.
fn cases_for_minutes(minutes: f64, mean: f64, sd: f64) -> f64 {
    if minutes <= 0.0 || mean <= 0.0 {
        return 0.0;
    }
    let b = Z90 * (mean * mean + sd * sd).sqrt();
    let root = (-b + (b * b + 4.0 * mean * minutes).sqrt()) / (2.0 * mean);
    root * root
}

// ---------------------------------------------------------------------------------
// Waiting list
// ---------------------------------------------------------------------------------

fn make_waiting_list(
    opts: &GenerateOptions,
    sites: &[SitePlan],
    cases: u32,
    horizon: u32,
) -> Vec<Case> {
    let mut rng = stream(opts.seed, 5);
    let tight = opts.profile == Profile::Tight;
    let mix = if tight {
        TIGHT_PRIORITY_MIX
    } else {
        PRIORITY_MIX
    };
    let specialty_weights: Vec<f64> = SPECIALTIES.iter().map(|s| s.share).collect();
    let site_weights: Vec<f64> = sites
        .iter()
        .map(|s| f64::from(s.elective_theatres()))
        .collect();
    let mut out = Vec::with_capacity(cases as usize);
    for n in 1..=cases {
        let spec_index = pick(&mut rng, &specialty_weights);
        let Some(spec) = SPECIALTIES.get(spec_index) else {
            continue;
        };
        let priority = Priority::ALL
            .get(pick(&mut rng, &mix))
            .copied()
            .unwrap_or(Priority::P4);
        let listed = add_days(opts.start, -wait_days(&mut rng, priority, tight));
        let duration_min = case_minutes(&mut rng, spec.mean_min, spec.cv);
        let stay = if rng.random_bool(spec.day_case) {
            Vec::new()
        } else {
            let mut stay = Vec::with_capacity(2);
            if rng.random_bool(spec.critical_care) {
                // One or two nights on critical care first (ICNARC CMP: elective
                // surgical admissions mostly stay 1–2 days), then the ward.
                stay.push(StaySegment {
                    kind: "critical_care".to_string(),
                    nights: if rng.random_bool(0.35) { 2 } else { 1 },
                });
            }
            stay.push(StaySegment {
                kind: spec.ward.to_string(),
                nights: geometric_nights(&mut rng, spec.ward_nights),
            });
            stay
        };
        let due_day = priority
            .window_days()
            .map(|w| (listed - opts.start).num_days() + w)
            .filter(|&d| (1..i64::from(horizon)).contains(&d));
        let earliest =
            if let Some(due) = due_day.filter(|_| tight && rng.random_bool(TIGHT_LATE_RELEASE)) {
                // Due inside the horizon and available only some days after the start.
                add_days(opts.start, rng.random_range(1..=due))
            } else if matches!(priority, Priority::P1a | Priority::P1b) {
                opts.start
            } else {
                let u: f64 = rng.random();
                let offset = if u < EARLIEST_AT_START || horizon <= 1 {
                    0
                } else if u < EARLIEST_AT_START + EARLIEST_IN_HORIZON {
                    rng.random_range(1..horizon)
                } else {
                    rng.random_range(horizon..=horizon + 42)
                };
                add_days(opts.start, i64::from(offset))
            };
        let site = if sites.len() > 1 && rng.random_bool(PINNED_SITE) {
            sites
                .get(pick(&mut rng, &site_weights))
                .map(|s| s.id.clone())
        } else {
            None
        };
        out.push(Case {
            id: format!("c-{n:06}"),
            specialty: spec.id.to_string(),
            priority,
            listed,
            duration_min,
            earliest,
            site,
            stay,
            due: None,
            surgeon: None,
            home_site: None,
            travel: None,
        });
    }
    out
}

// ---------------------------------------------------------------------------------
// Consultants
// ---------------------------------------------------------------------------------

/// Fixed theatre lists a consultant holds each week: consultant job plans carry two to
/// four theatre sessions (BMA / NHS Employers consultant contract: 10 programmed
/// activities, of which a surgeon's direct clinical care includes 2–4 operating lists).
const LISTS_PER_CONSULTANT: usize = 3;

/// Share of the waiting list on a named consultant's list; the rest are on pooled
/// lists that any consultant of the specialty may operate (NHS England elective
/// recovery: pooled lists for high-volume, low-complexity work, GIRFT HVLC).
const NAMED_SHARE: f64 = 0.8;

/// `(specialty, site, theatre, weekday, period, minutes)` of every weekday fixed
/// block, sorted and deduplicated: the order consultants are given their blocks in.
pub(crate) fn weekday_blocks(theatres: &[Theatre]) -> Vec<(usize, &str, &str, usize, Period, u32)> {
    let mut blocks: Vec<(usize, &str, &str, usize, Period, u32)> = Vec::new();
    for theatre in theatres.iter().filter(|t| !t.emergency) {
        for session in &theatre.sessions {
            let weekday = session.date.weekday().num_days_from_monday() as usize;
            let Some(k) = session
                .specialty
                .as_deref()
                .and_then(|id| SPECIALTIES.iter().position(|s| s.id == id))
            else {
                continue;
            };
            if weekday < 5 {
                blocks.push((
                    k,
                    &theatre.site,
                    &theatre.id,
                    weekday,
                    session.period,
                    session.minutes,
                ));
            }
        }
    }
    blocks.sort();
    blocks.dedup();
    blocks
}

/// The trust's consultant surgeons and their job plans, and who each case waits for.
///
/// Each specialty's fixed blocks (the same every week) are shared out in order —
/// by site, theatre, weekday and period, so a consultant holds neighbouring lists
/// (am and pm of one day in one theatre) — [`LISTS_PER_CONSULTANT`] to a
/// consultant. A consultant may operate on the days of their blocks, for the blocks'
/// minutes, plus one further weekday half-day for a flexible list; a specialty with
/// no fixed block has one consultant with two flexible days. [`NAMED_SHARE`] of the
/// cases then name one consultant of their specialty, drawn uniformly. Own streams
/// of the seed, so the rest of the scenario is the same with or without surgeons.
fn make_surgeons(
    opts: &GenerateOptions,
    theatres: &[Theatre],
    horizon: u32,
    cases: &mut [Case],
) -> Vec<Surgeon> {
    let mut rng = stream(opts.seed, 6);
    let holidays = bank_holidays_between(opts.start, add_days(opts.start, i64::from(horizon)));
    let blocks = weekday_blocks(theatres);
    let mut surgeons = Vec::new();
    let mut by_specialty: Vec<Vec<usize>> = vec![Vec::new(); SPECIALTIES.len()];
    for (k, spec) in SPECIALTIES.iter().enumerate() {
        let own: Vec<_> = blocks.iter().filter(|b| b.0 == k).collect();
        // Weekday minutes of each consultant's blocks.
        let mut plans: Vec<[u32; 5]> = own
            .chunks(LISTS_PER_CONSULTANT)
            .map(|chunk| {
                let mut week = [0u32; 5];
                for b in chunk {
                    week[b.3] += b.5;
                }
                week
            })
            .collect();
        if plans.is_empty() {
            let mut week = [0u32; 5];
            let a = rng.random_range(0..5usize);
            let b = (a + rng.random_range(1..5usize)) % 5;
            week[a] = 2 * LIST_MIN;
            week[b] = 2 * LIST_MIN;
            plans.push(week);
        } else {
            for week in &mut plans {
                let free: Vec<usize> = (0..5).filter(|&d| week[d] == 0).collect();
                if !free.is_empty() {
                    let d = free[rng.random_range(0..free.len())];
                    week[d] += LIST_MIN;
                }
            }
        }
        for (n, week) in plans.iter().enumerate() {
            let days = (0..horizon)
                .map(|t| add_days(opts.start, i64::from(t)))
                .filter(|date| !holidays.contains(date))
                .filter_map(|date| {
                    let weekday = date.weekday().num_days_from_monday() as usize;
                    let minutes = week.get(weekday).copied().unwrap_or(0);
                    (minutes > 0).then_some(SurgeonDay { date, minutes })
                })
                .collect();
            by_specialty[k].push(surgeons.len());
            surgeons.push(Surgeon {
                id: format!("sg-{}-{}", spec.id, n + 1),
                name: format!("{} consultant {}", spec.id, n + 1),
                days,
            });
        }
    }
    let mut rng = stream(opts.seed, 7);
    for case in cases.iter_mut() {
        let Some(k) = SPECIALTIES.iter().position(|s| s.id == case.specialty) else {
            continue;
        };
        let own = &by_specialty[k];
        if !own.is_empty() && rng.random_bool(NAMED_SHARE) {
            let g = own[rng.random_range(0..own.len())];
            case.surgeon = surgeons.get(g).map(|x: &Surgeon| x.id.clone());
        }
    }
    surgeons
}

/// Days between listing and the start: inside or beyond the FSSA window.
fn wait_days(rng: &mut ChaCha8Rng, priority: Priority, tight: bool) -> i64 {
    let p2_overdue = if tight { TIGHT_P2_OVERDUE } else { P2_OVERDUE };
    match priority {
        // Listed today, yesterday or the day before (then already a day overdue).
        Priority::P1a => rng.random_range(0..=2),
        Priority::P1b => rng.random_range(0..=6),
        Priority::P2 => {
            if rng.random_bool(p2_overdue) {
                rng.random_range(29..=120)
            } else {
                rng.random_range(0..=28)
            }
        }
        Priority::P3 => {
            if rng.random_bool(P3_OVERDUE) {
                rng.random_range(91..=365)
            } else {
                rng.random_range(0..=90)
            }
        }
        Priority::P4 => {
            let u: f64 = rng.random();
            let (lo, hi) = P4_WAIT_BANDS
                .iter()
                .find(|(cum, _, _)| u < *cum)
                .map_or((547, 728), |&(_, lo, hi)| (lo, hi));
            rng.random_range(lo..=hi)
        }
    }
}

/// Log-normal theatre minutes with the given mean and coefficient of variation,
/// rounded to 5 minutes, at least 15 and at most [`MAX_CASE_MIN`] (redrawn a few times,
/// then capped: a truncated log-normal).
fn case_minutes(rng: &mut ChaCha8Rng, mean: f64, cv: f64) -> u32 {
    let sigma2 = (1.0 + cv * cv).ln();
    let mu = mean.ln() - sigma2 / 2.0;
    let sigma = sigma2.sqrt();
    let mut minutes = MAX_CASE_MIN;
    for _ in 0..4 {
        let z: f64 = StandardNormal.sample(rng);
        let draw = ((mu + sigma * z).exp() / 5.0).round() as u32 * 5;
        if draw <= MAX_CASE_MIN {
            minutes = draw;
            break;
        }
    }
    minutes.clamp(15, MAX_CASE_MIN)
}

// ---------------------------------------------------------------------------------
// Calendar: bank holidays in England and Wales
// ---------------------------------------------------------------------------------

/// England and Wales bank holidays from `from` to `to` inclusive (gov.uk/bank-holidays:
/// New Year's Day, Good Friday, Easter Monday, early May, spring and summer bank
/// holidays, Christmas and Boxing Day, with substitute weekdays). One-off holidays
/// (jubilees, coronations) are not modelled. No elective lists run on them; emergency
/// theatres do.
fn bank_holidays_between(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> = (from.year()..=to.year())
        .flat_map(bank_holidays)
        .filter(|d| from <= *d && *d <= to)
        .collect();
    days.sort();
    days
}

fn bank_holidays(year: i32) -> Vec<NaiveDate> {
    let ymd = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);
    let weekday = |d: NaiveDate| d.weekday();
    let mut out = Vec::with_capacity(8);
    if let Some(new_year) = ymd(1, 1) {
        out.push(match weekday(new_year) {
            Weekday::Sat => add_days(new_year, 2),
            Weekday::Sun => add_days(new_year, 1),
            _ => new_year,
        });
    }
    if let Some(easter) = easter_sunday(year) {
        out.push(add_days(easter, -2));
        out.push(add_days(easter, 1));
    }
    if let Some(may1) = ymd(5, 1) {
        let to_monday = (7 - i64::from(weekday(may1).num_days_from_monday())) % 7;
        out.push(add_days(may1, to_monday));
    }
    for last in [ymd(5, 31), ymd(8, 31)].into_iter().flatten() {
        out.push(add_days(
            last,
            -i64::from(weekday(last).num_days_from_monday()),
        ));
    }
    if let Some(christmas) = ymd(12, 25) {
        let (a, b) = match weekday(christmas) {
            Weekday::Fri => (0, 3),
            Weekday::Sat => (2, 3),
            Weekday::Sun => (1, 2),
            _ => (0, 1),
        };
        out.push(add_days(christmas, a));
        out.push(add_days(christmas, b));
    }
    out
}

/// Easter Sunday (Gregorian; the anonymous "Meeus/Jones/Butcher" algorithm).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

// ---------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------

/// The seed's ChaCha8 generator on its own stream, one stream per scenario part.
fn stream(seed: u64, part: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(part);
    rng
}

/// Uniform in `[lo, hi)`, from exact arithmetic on a 53-bit draw.
fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Index drawn with probability proportional to `weights` (last index on rounding).
fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len().saturating_sub(1)
}

/// Nights ≥ 1, geometric with mean `mean` (each further night with chance 1 − 1/mean),
/// as the contract's emergency length-of-stay model; capped at 90.
fn geometric_nights(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    let more = if mean > 1.0 { 1.0 - 1.0 / mean } else { 0.0 };
    let mut nights = 1;
    while nights < 90 && rng.random::<f64>() < more {
        nights += 1;
    }
    nights
}

/// `x` to the nearest multiple of 5 (an exact product, so no float noise).
fn round_to_5(x: f64) -> f64 {
    (x / 5.0).round() * 5.0
}

/// `x` to one decimal: the nearest double to the decimal, so it prints as `3.9`.
fn round_tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `x` down to one decimal.
fn floor_tenth(x: f64) -> f64 {
    (x * 10.0).floor() / 10.0
}

/// `date + days`, saturating at the calendar's ends instead of panicking.
fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    let moved = if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.unwrap_or(date)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::reserve;

    fn tiny(seed: u64) -> Scenario {
        generate(&GenerateOptions::new(Size::Tiny, seed))
    }

    /// A local stand-in for the validator: every contract invariant the generator must
    /// keep, as a list of problems.
    fn problems(s: &Scenario) -> Vec<String> {
        let mut p = Vec::new();
        let mut unique = |what: &str, ids: Vec<&str>| {
            let mut seen = BTreeSet::new();
            for id in ids {
                if !seen.insert(id) {
                    p.push(format!("duplicate {what} id {id}"));
                }
            }
        };
        unique("site", s.sites.iter().map(|x| x.id.as_str()).collect());
        unique("ward", s.wards.iter().map(|x| x.id.as_str()).collect());
        unique(
            "theatre",
            s.theatres.iter().map(|x| x.id.as_str()).collect(),
        );
        unique(
            "case",
            s.waiting_list.iter().map(|x| x.id.as_str()).collect(),
        );
        unique(
            "inpatient",
            s.inpatients.iter().map(|x| x.id.as_str()).collect(),
        );
        unique(
            "specialty",
            s.specialties.iter().map(String::as_str).collect(),
        );

        let sites: BTreeSet<&str> = s.sites.iter().map(|x| x.id.as_str()).collect();
        let specialties: BTreeSet<&str> = s.specialties.iter().map(String::as_str).collect();
        let pools: BTreeSet<(&str, &str)> = s
            .wards
            .iter()
            .map(|w| (w.site.as_str(), w.kind.as_str()))
            .collect();
        let wards: BTreeSet<&str> = s.wards.iter().map(|x| x.id.as_str()).collect();
        let end = s.end();
        let q = &s.policy;
        for x in [
            q.theatre_utilisation_cap,
            q.emergency_bed_quantile,
            q.emergency_theatre_quantile,
        ] {
            if !(x > 0.0 && x < 1.0) {
                p.push(format!("policy value {x} outside (0,1)"));
            }
        }
        if s.schema != SCENARIO_SCHEMA || s.horizon_days == 0 {
            p.push("bad schema or horizon".into());
        }
        for w in &s.wards {
            if !sites.contains(w.site.as_str()) || w.beds == 0 {
                p.push(format!("ward {}: bad site or no beds", w.id));
            }
            for c in &w.closures {
                if c.from > c.to || c.beds > w.beds || c.beds == 0 {
                    p.push(format!("ward {}: bad closure", w.id));
                }
                if c.from < s.start || c.to > end {
                    p.push(format!("ward {}: closure outside horizon", w.id));
                }
            }
        }
        for t in &s.theatres {
            if !sites.contains(t.site.as_str()) {
                p.push(format!("theatre {}: unknown site", t.id));
            }
            let mut slots = BTreeSet::new();
            for ses in &t.sessions {
                if s.day_in_horizon(ses.date).is_none() {
                    p.push(format!("theatre {}: session outside horizon", t.id));
                }
                if ses.minutes == 0 || !slots.insert((ses.date, ses.period)) {
                    p.push(format!("theatre {}: empty or repeated session", t.id));
                }
                if let Some(sp) = &ses.specialty
                    && (!specialties.contains(sp.as_str()) || t.emergency)
                {
                    p.push(format!("theatre {}: bad session specialty", t.id));
                }
            }
        }
        for c in &s.waiting_list {
            if !specialties.contains(c.specialty.as_str()) {
                p.push(format!("case {}: unknown specialty", c.id));
            }
            if c.duration_min < 15 || c.duration_min % 5 != 0 || c.duration_min > MAX_CASE_MIN {
                p.push(format!("case {}: duration {}", c.id, c.duration_min));
            }
            if c.listed > s.start || c.earliest < c.listed {
                p.push(format!("case {}: dates", c.id));
            }
            if c.site.as_ref().is_some_and(|x| !sites.contains(x.as_str())) {
                p.push(format!("case {}: unknown site", c.id));
            }
            for seg in &c.stay {
                let allowed = s
                    .sites
                    .iter()
                    .filter(|x| c.site.as_ref().is_none_or(|cs| *cs == x.id))
                    .any(|x| pools.contains(&(x.id.as_str(), seg.kind.as_str())));
                if !allowed || seg.nights == 0 {
                    p.push(format!("case {}: stay kind {} has no pool", c.id, seg.kind));
                }
            }
        }
        for ip in &s.inpatients {
            if !wards.contains(ip.ward.as_str()) || ip.expected_discharge <= s.start {
                p.push(format!("inpatient {}: bad ward or discharge", ip.id));
            }
        }
        for a in &s.emergency.admissions {
            if !pools.contains(&(a.site.as_str(), a.kind.as_str())) {
                p.push(format!("admissions {}/{}: no pool", a.site, a.kind));
            }
            if a.los_mean_nights < 1.0 || a.per_day.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
                p.push(format!("admissions {}/{}: bad numbers", a.site, a.kind));
            }
        }
        for d in &s.emergency.theatre {
            if !sites.contains(d.site.as_str()) {
                p.push(format!("theatre demand {}: unknown site", d.site));
            }
            if d.minutes_mean <= 0.0
                || d.minutes_sd < 0.0
                || d.per_day.iter().any(|x| !(x.is_finite() && *x >= 0.0))
            {
                p.push(format!("theatre demand {}: bad numbers", d.site));
            }
        }
        p
    }

    #[test]
    fn same_options_give_the_same_scenario() {
        for size in Size::ALL {
            let a = generate(&GenerateOptions::new(size, 7));
            let b = generate(&GenerateOptions::new(size, 7));
            assert_eq!(a, b);
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&b).unwrap()
            );
        }
    }

    #[test]
    fn different_seeds_give_different_scenarios() {
        let a = tiny(1);
        let b = tiny(2);
        assert_ne!(a, b);
        assert_ne!(a.waiting_list, b.waiting_list);
        assert_ne!(a.inpatients, b.inpatients);
    }

    #[test]
    fn output_is_pinned_across_platforms() {
        // A fingerprint of seed 42: if it changes, generated files change for users.
        let s = tiny(42);
        let c = &s.waiting_list[0];
        let minutes: u32 = s.waiting_list.iter().map(|c| c.duration_min).sum();
        let beds: u32 = s.wards.iter().map(|w| w.beds).sum();
        let got = (
            c.specialty.as_str(),
            c.priority,
            c.duration_min,
            minutes,
            beds,
        );
        assert_eq!(got, PINNED_TINY_42, "{got:?}");
    }

    const PINNED_TINY_42: (&str, Priority, u32, u32, u32) =
        ("ophthalmology", Priority::P4, 45, 13470, 118);

    #[test]
    fn sizes_are_roughly_right() {
        let expect = [
            (Size::Tiny, 1, 4, 7, 150, 90..=160),
            (Size::Medium, 2, 16, 14, 2_000, 320..=480),
            (Size::Large, 5, 60, 28, 20_000, 1_300..=1_700),
        ];
        for (size, sites, theatres, days, cases, beds) in expect {
            let s = generate(&GenerateOptions::new(size, 3));
            assert_eq!(s.sites.len(), sites, "{size}");
            assert_eq!(s.theatres.len(), theatres, "{size}");
            assert_eq!(s.horizon_days, days, "{size}");
            assert_eq!(s.waiting_list.len(), cases, "{size}");
            let total: u32 = s.wards.iter().map(|w| w.beds).sum();
            assert!(beds.contains(&total), "{size}: {total} beds");
            // Every site has all four kinds of bed, a CEPOD theatre and elective ones.
            for site in &s.sites {
                for kind in ["surgical", "trauma", "medical", "critical_care"] {
                    assert!(
                        s.wards.iter().any(|w| w.site == site.id && w.kind == kind),
                        "{size}: {} has no {kind} ward",
                        site.id
                    );
                }
                let here = s.theatres.iter().filter(|t| t.site == site.id);
                assert!(here.clone().any(|t| t.emergency));
                assert!(here.clone().any(|t| !t.emergency));
            }
        }
    }

    #[test]
    fn every_id_is_unique_and_every_reference_resolves() {
        for size in Size::ALL {
            for seed in [0, 1, 99] {
                let s = generate(&GenerateOptions::new(size, seed));
                assert_eq!(problems(&s), Vec::<String>::new(), "{size} seed {seed}");
            }
        }
        // Any start date, including one whose horizon spans Easter.
        let easter = NaiveDate::from_ymd_opt(2027, 3, 22).unwrap();
        let s = generate(&GenerateOptions::new(Size::Medium, 5).with_start(easter));
        assert_eq!(problems(&s), Vec::<String>::new());
    }

    #[test]
    fn ids_follow_the_naming_scheme() {
        let s = generate(&GenerateOptions::new(Size::Medium, 0));
        let ids: Vec<&str> = s.sites.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["north", "south"]);
        assert!(s.wards.iter().any(|w| w.id == "n-surg-1"));
        assert!(s.wards.iter().any(|w| w.id == "s-cc-1"));
        assert_eq!(s.theatres[0].id, "n-th-1");
        assert_eq!(s.waiting_list[0].id, "c-000001");
        assert_eq!(s.inpatients[0].id, "ip-00001");
        assert_eq!(s.start, DEFAULT_START);
        assert_eq!(s.start.weekday(), Weekday::Mon);
    }

    #[test]
    fn large_generates_in_linear_time() {
        // No timing assert: generating the design-scale trust must simply be quick
        // enough to sit in the unit tests.
        let s = generate(&GenerateOptions::new(Size::Large, 11));
        assert_eq!(s.waiting_list.len(), 20_000);
        let sessions: usize = s.theatres.iter().map(|t| t.sessions.len()).sum();
        assert!(sessions > 2_000, "{sessions}");
    }

    #[test]
    fn waiting_list_looks_like_an_nhs_backlog() {
        let s = generate(&GenerateOptions::new(Size::Large, 4));
        let n = s.waiting_list.len() as f64;
        let share =
            |f: &dyn Fn(&Case) -> bool| s.waiting_list.iter().filter(|c| f(c)).count() as f64 / n;
        let p = |pr: Priority| share(&|c: &Case| c.priority == pr);
        assert!(p(Priority::P1a) < 0.015);
        assert!((0.01..0.05).contains(&p(Priority::P1b)));
        assert!((0.13..0.20).contains(&p(Priority::P2)));
        assert!((0.34..0.42).contains(&p(Priority::P3)));
        assert!(p(Priority::P4) > 0.38);
        let overdue = share(&|c: &Case| c.due_date().is_some_and(|d| d < s.start));
        let due_inside =
            share(&|c: &Case| c.due_date().is_some_and(|d| s.day_in_horizon(d).is_some()));
        assert!((0.20..0.40).contains(&overdue), "overdue {overdue}");
        assert!(
            (0.08..0.30).contains(&due_inside),
            "due inside {due_inside}"
        );
        let over_52_weeks = share(&|c: &Case| (s.start - c.listed).num_days() > 364);
        assert!((0.03..0.08).contains(&over_52_weeks), "{over_52_weeks}");
        let day_case = share(&|c: &Case| c.stay.is_empty());
        assert!((0.55..0.75).contains(&day_case), "day case {day_case}");
        let with_cc = share(&|c: &Case| c.stay.first().is_some_and(|x| x.kind == "critical_care"));
        assert!((0.005..0.04).contains(&with_cc), "critical care {with_cc}");
        let at_start = share(&|c: &Case| c.earliest == s.start);
        let beyond = share(&|c: &Case| c.earliest > s.end());
        assert!(
            (0.8..0.9).contains(&at_start) && beyond > 0.01,
            "{at_start} {beyond}"
        );
        let pinned = share(&|c: &Case| c.site.is_some());
        assert!((0.08..0.16).contains(&pinned), "pinned {pinned}");
        assert!(tiny(4).waiting_list.iter().all(|c| c.site.is_none()));
        // Ophthalmology is short and day case; colorectal long with inpatient stays.
        let mean = |sp: &str| {
            let v: Vec<u32> = s
                .waiting_list
                .iter()
                .filter(|c| c.specialty == sp)
                .map(|c| c.duration_min)
                .collect();
            f64::from(v.iter().sum::<u32>()) / v.len() as f64
        };
        assert!(mean("ophthalmology") < 45.0 && mean("colorectal") > 140.0);
    }

    #[test]
    fn sessions_mix_fixed_blocks_and_flexible_lists() {
        let s = generate(&GenerateOptions::new(Size::Large, 8));
        let holidays = bank_holidays_between(s.start, s.end());
        assert_eq!(holidays.len(), 3, "{holidays:?}"); // 25 and 28 Dec 2026, 1 Jan 2027
        for site in &s.sites {
            let mut fixed = 0usize;
            let mut flexible = 0usize;
            let mut per_specialty: BTreeMap<&str, usize> = BTreeMap::new();
            for t in s.theatres.iter().filter(|t| t.site == site.id) {
                for ses in &t.sessions {
                    if t.emergency {
                        assert!(ses.specialty.is_none());
                        continue;
                    }
                    assert!(!holidays.contains(&ses.date));
                    match &ses.specialty {
                        Some(sp) => {
                            fixed += 1;
                            *per_specialty.entry(sp).or_default() += 1;
                        }
                        None => flexible += 1,
                    }
                }
            }
            let share = fixed as f64 / (fixed + flexible) as f64;
            assert!((0.55..0.75).contains(&share), "{}: fixed {share}", site.id);
            assert_eq!(per_specialty.len(), SPECIALTIES.len(), "{}", site.id);
        }
        // Emergency theatres run every day, weekends and bank holidays included.
        for t in s.theatres.iter().filter(|t| t.emergency) {
            assert_eq!(t.sessions.len(), 3 * s.horizon_days as usize);
        }
    }

    #[test]
    fn emergency_theatre_demand_sometimes_needs_reserve_in_elective_lists() {
        let mut exceeds = 0;
        for seed in 0..40 {
            let s = tiny(seed);
            let need = reserve::theatre_reserve(&s);
            let mut over = false;
            for (site, days) in &need {
                for (t, required) in days.iter().enumerate() {
                    let date = s.date(t as u32);
                    let dedicated: u32 = s
                        .theatres
                        .iter()
                        .filter(|th| th.emergency && &th.site == site)
                        .flat_map(|th| &th.sessions)
                        .filter(|ses| ses.date == date)
                        .map(|ses| ses.minutes)
                        .sum();
                    let weekend = s.weekday(t as u32) >= 5;
                    // Weekends always fit in the CEPOD theatres.
                    assert!(!weekend || *required <= dedicated, "seed {seed} day {t}");
                    over |= *required > dedicated;
                }
            }
            exceeds += usize::from(over);
        }
        assert!(
            (5..35).contains(&exceeds),
            "{exceeds} of 40 seeds need flexible reserve"
        );
    }

    #[test]
    fn beds_are_tight_but_not_hopeless() {
        for (size, seed) in [(Size::Tiny, 1), (Size::Medium, 2), (Size::Large, 3)] {
            let s = generate(&GenerateOptions::new(size, seed));
            let nights = reserve::bed_reserve(&s);
            for (pool, nights) in &nights {
                let first = nights[0];
                let occupancy = f64::from(first.current) / f64::from(first.beds.max(1));
                assert!(
                    (0.75..=1.0).contains(&occupancy),
                    "{size} {pool}: {occupancy}"
                );
            }
            for site in &s.sites {
                // Electives have room in the surgical beds after the first nights …
                let room_late: u32 = ["surgical", "trauma"]
                    .iter()
                    .filter_map(|k| {
                        nights.get(&crate::scenario::PoolKey {
                            site: site.id.clone(),
                            kind: k.to_string(),
                        })
                    })
                    .map(|n| n.last().map_or(0, |x| x.room()))
                    .sum();
                assert!(room_late > 0, "{size} {}: no room at the end", site.id);
                // … but not much on the first night.
                let pool = crate::scenario::PoolKey {
                    site: site.id.clone(),
                    kind: "surgical".into(),
                };
                let first = nights[&pool][0];
                assert!(
                    f64::from(first.room()) < 0.25 * f64::from(first.beds),
                    "{size} {}",
                    site.id
                );
            }
        }
    }

    #[test]
    fn bank_holidays_match_gov_uk() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            bank_holidays(2026),
            [
                d(2026, 1, 1),
                d(2026, 4, 3),
                d(2026, 4, 6),
                d(2026, 5, 4),
                d(2026, 5, 25),
                d(2026, 8, 31),
                d(2026, 12, 25),
                d(2026, 12, 28),
            ]
        );
        assert_eq!(
            bank_holidays(2027),
            [
                d(2027, 1, 1),
                d(2027, 3, 26),
                d(2027, 3, 29),
                d(2027, 5, 3),
                d(2027, 5, 31),
                d(2027, 8, 30),
                d(2027, 12, 27),
                d(2027, 12, 28),
            ]
        );
        assert_eq!(easter_sunday(2024), Some(d(2024, 3, 31)));
        assert_eq!(easter_sunday(2025), Some(d(2025, 4, 20)));
    }

    #[test]
    fn numbers_print_cleanly() {
        // Rates are rounded to 0.1 and minutes to 5 so the JSON reads like a human
        // wrote it (no `3.9000000000000004`).
        let json =
            serde_json::to_string(&generate(&GenerateOptions::new(Size::Medium, 6))).unwrap();
        let bytes = json.as_bytes();
        for (i, _) in json.match_indices('.') {
            let decimals = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            assert!(
                decimals <= 2,
                "float noise at {}",
                &json[i.saturating_sub(20)..i + 20]
            );
        }
    }

    #[test]
    fn sizes_parse_and_print() {
        for size in Size::ALL {
            assert_eq!(size.to_string().parse::<Size>(), Ok(size));
        }
        assert_eq!("LARGE".parse::<Size>(), Ok(Size::Large));
        let err = "huge".parse::<Size>().unwrap_err();
        assert!(err.to_string().contains("huge"));
    }

    #[test]
    fn extreme_start_dates_do_not_panic() {
        for start in [NaiveDate::MIN, NaiveDate::MAX] {
            let s = generate(&GenerateOptions::new(Size::Tiny, 0).with_start(start));
            assert_eq!(s.waiting_list.len(), 150);
        }
    }
}
