//! The generated clinical network ([`Size::Network`]): five sites of one integrated
//! care system planned together — a major trauma centre, two trauma units, a
//! ring-fenced elective hub and a small spoke — with the links between them and a
//! share of consenting long waiters who accept a move.
//!
//! Per-site scale is moderate (3–7 theatres, 14 days, 1,800 cases over the five) so
//! the whole network plans in unit tests ([`GenerateOptions::scale`] multiplies the
//! theatres and the list: at 3 each site is about a medium trust); the shape, not the size, is the point:
//!
//! - `central` (`mtc`): 7 theatres, 2 CEPOD, more trauma and critical care beds (the
//!   `hub` factor of the single-trust generator), its trauma admissions and emergency
//!   theatre demand 20% above the drawn level, and 2.5× its share of the orthopaedic
//!   list — the longest orthopaedic backlog;
//! - `north`, `south` (`trauma_unit`): 5 theatres, 1 CEPOD each;
//! - `hub` (`hub`): 5 elective theatres, no CEPOD theatre and no emergency stream
//!   (ring-fenced beds), and a quarter of the waiting list its theatres would carry —
//!   spare sessions;
//! - `west` (`spoke`): 3 theatres, 1 CEPOD.
//!
//! Links (NHS surgical hubs take high-volume orthopaedic and general surgery from the
//! system; trauma networks lend trauma beds and repatriate after the acute phase):
//! every other site → `hub` for `ortho` and `gensurg` cases whose stays use surgical or
//! trauma (the orthopaedic ward kind) beds, 3–6 a day, 25–40 minutes; `north`/`south`
//! → `central` lending trauma and critical care beds, with trauma repatriation after
//! 3 nights; `central` → `north`/`south` lending trauma beds.
//!
//! Every case has a `home_site`; of the cases mutual aid offers a move — long waiters
//! (overdue, or listed 18 weeks or more before the start) and those about to breach
//! (due inside the horizon) — [`GenerateOptions::movers_pct`] percent not pinned to a
//! site consent to travel (`travel.max_min` 30–90 minutes, as PIDMAS lets patients choose a
//! radius) and are on pooled lists (no named consultant). Trusts do not share
//! consultants: a case on a named list names a consultant with fixed blocks at its
//! home site (none at a site without). The balanced control
//! ([`GenerateOptions::balanced`]) has five alike `general` sites of 5 theatres with
//! emergency streams and even lists, on the same links, so pooling should gain little.

use rand::Rng;

use super::*;
use crate::scenario::{Link, LinkBeds, LinkElectives, Network, Repatriation, SiteRole, Travel};

/// Cases over the five sites and the horizon.
const NETWORK_CASES: u32 = 1_800;
const NETWORK_HORIZON: u32 = 14;

/// Waiting time at the start from which a case is a long waiter (18 weeks, the RTT
/// standard).
const LONG_WAIT_DAYS: i64 = 126;

/// Radii long waiters choose, minutes.
const RADII: [u32; 4] = [30, 45, 60, 90];

/// One site of the network: id, id prefix, name, role, trust, theatres, CEPOD
/// theatres, the weight of its own waiting list per theatre.
struct NetSite {
    id: &'static str,
    prefix: &'static str,
    name: &'static str,
    role: SiteRole,
    trust: &'static str,
    theatres: u32,
    emergency_theatres: u32,
    list_weight: f64,
}

const SKEWED: [NetSite; 5] = [
    NetSite {
        id: "central",
        prefix: "c",
        name: "Central Major Trauma Centre",
        role: SiteRole::Mtc,
        trust: "central",
        theatres: 7,
        emergency_theatres: 2,
        list_weight: 1.0,
    },
    NetSite {
        id: "north",
        prefix: "n",
        name: "North Trauma Unit",
        role: SiteRole::TraumaUnit,
        trust: "north",
        theatres: 5,
        emergency_theatres: 1,
        list_weight: 1.0,
    },
    NetSite {
        id: "south",
        prefix: "s",
        name: "South Trauma Unit",
        role: SiteRole::TraumaUnit,
        trust: "south",
        theatres: 5,
        emergency_theatres: 1,
        list_weight: 1.0,
    },
    NetSite {
        id: "hub",
        prefix: "h",
        name: "Elective Surgical Hub",
        role: SiteRole::Hub,
        trust: "central",
        theatres: 5,
        emergency_theatres: 0,
        list_weight: 0.25,
    },
    NetSite {
        id: "west",
        prefix: "w",
        name: "West Community Hospital",
        role: SiteRole::Spoke,
        trust: "central",
        theatres: 3,
        emergency_theatres: 1,
        list_weight: 1.0,
    },
];

/// The mtc's extra share of the orthopaedic list, its trauma and emergency theatre
/// demand over the drawn level.
const MTC_ORTHO_FACTOR: f64 = 2.5;
const MTC_TRAUMA_FACTOR: f64 = 1.2;

/// Generates the network scenario for `opts` (`opts.size` is [`Size::Network`]).
pub(super) fn generate(opts: &GenerateOptions) -> Scenario {
    let horizon = NETWORK_HORIZON;
    let scale = u32::from(opts.scale.max(1));
    let sites: Vec<SitePlan> = SKEWED
        .iter()
        .map(|s| {
            let (theatres, emergency_theatres) = if opts.balanced {
                (5, 1)
            } else {
                (s.theatres, s.emergency_theatres)
            };
            SitePlan {
                id: s.id.to_string(),
                prefix: s.prefix.to_string(),
                name: s.name.to_string(),
                theatres: theatres * scale,
                emergency_theatres: emergency_theatres * scale,
                hub: !opts.balanced && s.role == SiteRole::Mtc,
            }
        })
        .collect();
    let wards = make_wards(opts, &sites, horizon);
    let inpatients = make_inpatients(opts, &sites, &wards, horizon);
    let theatres = make_theatres(opts, &sites, horizon);
    let mut emergency = make_emergency(opts, &sites, &wards);
    if !opts.balanced {
        shape_emergency(&mut emergency);
    }
    let mut waiting_list = make_waiting_list(opts, &sites, NETWORK_CASES * scale, horizon);
    let surgeons = make_surgeons(opts, &theatres, horizon, &mut waiting_list);
    home_and_movers(opts, &sites, &mut waiting_list);
    own_consultants(opts, &theatres, &surgeons, &mut waiting_list);
    let mut name = String::from("generated-network");
    if opts.balanced {
        name.push_str("-balanced");
    }
    if opts.profile == Profile::Tight {
        name.push_str("-tight");
    }
    if scale > 1 {
        name.push_str(&format!("-x{scale}"));
    }
    name.push_str(&format!(
        "-movers-{}-seed-{}",
        opts.movers_pct.min(100),
        opts.seed
    ));
    Scenario {
        schema: SCENARIO_SCHEMA.to_string(),
        name,
        start: opts.start,
        horizon_days: horizon,
        policy: Policy {
            theatre_utilisation_cap: 0.85,
            emergency_bed_quantile: 0.90,
            emergency_theatre_quantile: 0.90,
        },
        sites: SKEWED
            .iter()
            .map(|s| Site {
                id: s.id.to_string(),
                name: s.name.to_string(),
                trust: Some(s.trust.to_string()),
                role: Some(if opts.balanced {
                    SiteRole::General
                } else {
                    s.role
                }),
            })
            .collect(),
        specialties: SPECIALTIES.iter().map(|s| s.id.to_string()).collect(),
        wards,
        theatres,
        waiting_list,
        inpatients,
        emergency,
        surgeons,
        network: Some(Network { links: links() }),
    }
}

/// The hub takes no emergencies; the mtc takes a heavier trauma stream.
fn shape_emergency(emergency: &mut Emergency) {
    for a in &mut emergency.admissions {
        if a.site == "hub" {
            a.per_day = [0.0; 7];
        } else if a.site == "central" && a.kind == "trauma" {
            a.per_day = a.per_day.map(|x| round_tenth(x * MTC_TRAUMA_FACTOR));
        }
    }
    for t in &mut emergency.theatre {
        if t.site == "hub" {
            t.per_day = [0.0; 7];
        } else if t.site == "central" {
            // Weekdays only: weekend CEPOD lists stay sized to the weekend workload.
            for day in t.per_day.iter_mut().take(5) {
                *day = round_tenth(*day * MTC_TRAUMA_FACTOR);
            }
        }
    }
}

/// Whether mutual aid offers `case` a move: a long waiter (overdue, or listed 18 weeks
/// or more before the start) or one about to breach (due inside the horizon).
fn offered_move(case: &Case, start: NaiveDate, horizon: u32) -> bool {
    let end = start + chrono::Days::new(u64::from(horizon));
    case.due_date().is_some_and(|d| d < end) || (start - case.listed).num_days() >= LONG_WAIT_DAYS
}

/// Every case gets a home site (its pinned site if it has one); of the cases offered
/// a move ([`offered_move`]) and not pinned, `movers_pct`% consent to travel and then
/// wait on a pooled list (no named consultant). Its own stream of the seed.
fn home_and_movers(opts: &GenerateOptions, sites: &[SitePlan], cases: &mut [Case]) {
    let mut rng = stream(opts.seed, 20);
    let share = f64::from(opts.movers_pct.min(100)) / 100.0;
    let weights = |ortho: bool| -> Vec<f64> {
        SKEWED
            .iter()
            .zip(sites)
            .map(|(s, plan)| {
                let mut w = f64::from(plan.elective_theatres());
                if !opts.balanced {
                    w *= s.list_weight;
                    if ortho && s.role == SiteRole::Mtc {
                        w *= MTC_ORTHO_FACTOR;
                    }
                }
                w
            })
            .collect()
    };
    let (plain, ortho) = (weights(false), weights(true));
    for case in cases.iter_mut() {
        let w = if case.specialty == "ortho" {
            &ortho
        } else {
            &plain
        };
        let home = match &case.site {
            Some(site) => site.clone(),
            None => sites
                .get(pick(&mut rng, w))
                .map_or_else(|| "central".to_string(), |s| s.id.clone()),
        };
        let offered = offered_move(case, opts.start, NETWORK_HORIZON);
        let consents = rng.random_bool(share);
        let radius = RADII[rng.random_range(0..RADII.len())];
        if offered && consents && case.site.is_none() {
            case.travel = Some(Travel { max_min: radius });
            case.surgeon = None;
        }
        case.home_site = Some(home);
    }
}

/// The site of each consultant's first fixed block, as `make_surgeons` shares the
/// blocks out (each specialty's weekday blocks sorted by site, theatre, weekday and
/// period, [`LISTS_PER_CONSULTANT`] to a consultant); `None` for a consultant of a
/// specialty without blocks.
fn consultant_sites<'a>(theatres: &'a [Theatre], surgeons: &[Surgeon]) -> Vec<Option<&'a str>> {
    let blocks = super::weekday_blocks(theatres);
    surgeons
        .iter()
        .map(|g| {
            // Ids are `sg-<specialty>-<n>`, n from 1.
            let (spec, n) = g.id.strip_prefix("sg-")?.rsplit_once('-')?;
            let n: usize = n.parse().ok()?;
            let k = SPECIALTIES.iter().position(|s| s.id == spec)?;
            blocks
                .iter()
                .filter(|b| b.0 == k)
                .nth(n.checked_sub(1)? * LISTS_PER_CONSULTANT)
                .map(|b| b.1)
        })
        .collect()
}

/// Trusts do not share consultants: a case on a named consultant's list names one of
/// its specialty at its home site (drawn uniformly), or none (a pooled list) where the
/// home site has none. Its own stream of the seed.
fn own_consultants(
    opts: &GenerateOptions,
    theatres: &[Theatre],
    surgeons: &[Surgeon],
    cases: &mut [Case],
) {
    let mut rng = stream(opts.seed, 21);
    let sites = consultant_sites(theatres, surgeons);
    for case in cases.iter_mut() {
        if case.surgeon.is_none() {
            continue;
        }
        let prefix = format!("sg-{}-", case.specialty);
        let home = case.home_site.as_deref();
        let own: Vec<&Surgeon> = surgeons
            .iter()
            .zip(&sites)
            .filter(|(g, site)| g.id.starts_with(&prefix) && site.is_some() && **site == home)
            .map(|(g, _)| g)
            .collect();
        case.surgeon = if own.is_empty() {
            None
        } else {
            own.get(rng.random_range(0..own.len()))
                .map(|g| g.id.clone())
        };
    }
}

fn links() -> Vec<Link> {
    let electives = |max_per_day| LinkElectives {
        specialties: vec!["ortho".to_string(), "gensurg".to_string()],
        stay_kinds: vec!["surgical".to_string(), "trauma".to_string()],
        max_per_day,
    };
    let to_hub = |from: &str, travel_min, max_per_day| Link {
        from: from.to_string(),
        to: "hub".to_string(),
        travel_min,
        bidirectional: false,
        electives: Some(electives(max_per_day)),
        beds: Vec::new(),
        repatriation: None,
    };
    let unit_to_mtc = |from: &str, travel_min| Link {
        from: from.to_string(),
        to: "central".to_string(),
        travel_min,
        bidirectional: false,
        electives: None,
        beds: vec![
            LinkBeds {
                kind: "trauma".to_string(),
                lend: 3,
            },
            LinkBeds {
                kind: "critical_care".to_string(),
                lend: 1,
            },
        ],
        repatriation: Some(Repatriation {
            kind: "trauma".to_string(),
            after_nights: 3,
            max_per_day: 2,
        }),
    };
    let mtc_to_unit = |to: &str, travel_min| Link {
        from: "central".to_string(),
        to: to.to_string(),
        travel_min,
        bidirectional: false,
        electives: None,
        beds: vec![LinkBeds {
            kind: "trauma".to_string(),
            lend: 2,
        }],
        repatriation: None,
    };
    vec![
        to_hub("central", 25, 6),
        to_hub("north", 35, 4),
        to_hub("south", 40, 4),
        to_hub("west", 30, 3),
        unit_to_mtc("north", 30),
        unit_to_mtc("south", 35),
        mtc_to_unit("north", 30),
        mtc_to_unit("south", 35),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::validate_scenario;

    fn net(seed: u64) -> GenerateOptions {
        GenerateOptions::new(Size::Network, seed)
    }

    #[test]
    fn network_scenarios_validate() {
        for opts in [
            net(1),
            net(2).with_balanced(true),
            net(3).with_movers(100),
            net(4).with_movers(10).with_profile(Profile::Tight),
        ] {
            let s = generate(&opts);
            let errors = validate_scenario(&s);
            assert!(errors.is_empty(), "{}: {errors:?}", s.name);
        }
    }

    #[test]
    fn network_has_every_role_and_a_quiet_hub() {
        let s = super::super::generate(&net(1));
        assert_eq!(s.sites.len(), 5);
        for role in [
            SiteRole::Mtc,
            SiteRole::TraumaUnit,
            SiteRole::Hub,
            SiteRole::Spoke,
        ] {
            assert!(s.sites.iter().any(|x| x.role == Some(role)), "{role:?}");
        }
        assert!(!s.theatres.iter().any(|t| t.site == "hub" && t.emergency));
        assert!(
            s.emergency
                .admissions
                .iter()
                .filter(|a| a.site == "hub")
                .all(|a| a.per_day.iter().all(|&x| x == 0.0))
        );
        // The mtc has the longest orthopaedic list.
        let ortho = |site: &str| {
            s.waiting_list
                .iter()
                .filter(|c| c.specialty == "ortho" && c.home_site.as_deref() == Some(site))
                .count()
        };
        for other in ["north", "south", "hub", "west"] {
            assert!(ortho("central") > ortho(other), "{other}");
        }
        assert!(s.waiting_list.iter().all(|c| c.home_site.is_some()));
        // Balanced: alike general sites, each with an emergency stream.
        let b = super::super::generate(&net(1).with_balanced(true));
        assert!(b.sites.iter().all(|x| x.role == Some(SiteRole::General)));
        for site in &b.sites {
            assert!(b.theatres.iter().any(|t| t.site == site.id && t.emergency));
        }
    }

    #[test]
    fn movers_share_follows_the_knob() {
        for pct in [10u8, 40, 100] {
            let s = generate(&net(5).with_movers(pct));
            let long: Vec<&Case> = s
                .waiting_list
                .iter()
                .filter(|c| c.site.is_none() && offered_move(c, s.start, s.horizon_days))
                .collect();
            // Cases about to breach are offered a move too.
            assert!(
                long.iter()
                    .any(|c| c.due_date().is_some_and(|d| d >= s.start))
            );
            let movers = long.iter().filter(|c| c.travel.is_some()).count();
            let share = movers as f64 / long.len() as f64;
            let want = f64::from(pct) / 100.0;
            assert!((share - want).abs() < 0.05, "{pct}%: {share:.3}");
            // Only cases offered a move move, and they wait on pooled lists.
            assert_eq!(
                s.waiting_list.iter().filter(|c| c.travel.is_some()).count(),
                movers
            );
            assert!(
                s.waiting_list
                    .iter()
                    .filter(|c| c.travel.is_some())
                    .all(|c| c.surgeon.is_none())
            );
        }
    }

    #[test]
    fn named_consultants_operate_at_the_case_home_site() {
        let s = generate(&net(2));
        let mut named = 0;
        for case in &s.waiting_list {
            let Some(id) = &case.surgeon else {
                continue;
            };
            named += 1;
            let home = case.home_site.as_deref().unwrap();
            let g = s.surgeons.iter().find(|g| &g.id == id).unwrap();
            // One of the consultant's days is a fixed block of the specialty at home.
            let at_home = g.days.iter().any(|d| {
                s.theatres.iter().any(|t| {
                    t.site == home
                        && t.sessions.iter().any(|x| {
                            x.date == d.date && x.specialty.as_deref() == Some(&case.specialty)
                        })
                })
            });
            assert!(at_home, "{} ({id}) at {home}", case.id);
        }
        assert!(named > s.waiting_list.len() / 2, "{named}");
    }

    #[test]
    fn network_is_deterministic_per_seed() {
        let a = serde_json::to_string(&generate(&net(7))).unwrap();
        let b = serde_json::to_string(&generate(&net(7))).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, serde_json::to_string(&generate(&net(8))).unwrap());
        assert_ne!(
            a,
            serde_json::to_string(&generate(&net(7).with_balanced(true))).unwrap()
        );
    }
}
