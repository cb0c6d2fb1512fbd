//! Property tests over generated scenarios, through the public API only:
//! every generated scenario validates; the greedy plan of any of them passes the
//! independent checker; and breaking any one hard constraint is always caught.

use flow_core::generate::Size;
use flow_core::plan::PlanSession;
use flow_core::scenario::Closure;
use flow_core::{Plan, Scenario, check, greedy, validate};
use proptest::prelude::*;

use crate::support::scenario;

/// One way to break a hard constraint, and the constraint it breaks.
#[derive(Debug, Clone, Copy)]
enum Break {
    DoubleBooking,
    UnknownCase,
    PhantomSession,
    WrongSpecialty,
    Overtime,
    EmergencyTheatre,
    BeforeEarliest,
    WrongSite,
    BedsOverRoom,
    TheatreReserve,
}

const BREAKS: [Break; 10] = [
    Break::DoubleBooking,
    Break::UnknownCase,
    Break::PhantomSession,
    Break::WrongSpecialty,
    Break::Overtime,
    Break::EmergencyTheatre,
    Break::BeforeEarliest,
    Break::WrongSite,
    Break::BedsOverRoom,
    Break::TheatreReserve,
];

fn booked(plan: &Plan) -> Option<(usize, String)> {
    plan.sessions
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.cases.first().map(|c| (i, c.clone())))
}

/// Applies `b` to (scenario, plan); returns the constraint it must break, or `None`
/// when this scenario offers no way to apply it.
fn apply(b: Break, s: &mut Scenario, p: &mut Plan) -> Option<u8> {
    let (i, case) = booked(p)?;
    match b {
        Break::DoubleBooking => {
            let other = p
                .sessions
                .iter()
                .position(|x| x.date != p.sessions[i].date)?;
            p.sessions[other].cases.push(case);
            Some(1)
        }
        Break::UnknownCase => {
            p.sessions[i].cases.push("c-nobody".into());
            Some(1)
        }
        Break::PhantomSession => {
            p.sessions.push(PlanSession {
                theatre: "th-nowhere".into(),
                ..p.sessions[i].clone()
            });
            Some(1)
        }
        Break::WrongSpecialty => {
            let current = p.sessions[i].specialty.clone();
            let other = s
                .specialties
                .iter()
                .find(|k| Some(*k) != current.as_ref())?;
            p.sessions[i].specialty = Some(other.clone());
            Some(2)
        }
        Break::Overtime => {
            p.sessions[i].reserved_emergency_min = p.sessions[i].minutes;
            Some(3)
        }
        Break::EmergencyTheatre => {
            let emergency: Vec<&str> = s
                .theatres
                .iter()
                .filter(|t| t.emergency)
                .map(|t| t.id.as_str())
                .collect();
            let e = p
                .sessions
                .iter()
                .position(|x| emergency.contains(&x.theatre.as_str()))?;
            p.sessions[i].cases.retain(|c| *c != case);
            p.sessions[e].cases.push(case);
            Some(1)
        }
        Break::BeforeEarliest => {
            let date = p.sessions[i].date;
            let c = s.waiting_list.iter_mut().find(|c| c.id == case)?;
            c.earliest = date + chrono::Duration::days(1);
            Some(4)
        }
        Break::WrongSite => {
            s.sites.push(flow_core::scenario::Site {
                id: "elsewhere".into(),
                name: "Elsewhere".into(),
                trust: None,
                role: None,
            });
            let c = s.waiting_list.iter_mut().find(|c| c.id == case)?;
            c.site = Some("elsewhere".into());
            Some(4)
        }
        Break::BedsOverRoom => {
            let night = p.occupancy.iter().find(|o| o.elective > 0)?.clone();
            for w in s
                .wards
                .iter_mut()
                .filter(|w| w.site == night.site && w.kind == night.kind)
            {
                w.closures = vec![Closure {
                    from: night.date,
                    to: night.date,
                    beds: w.beds,
                }];
            }
            Some(5)
        }
        Break::TheatreReserve => {
            let demand = s.emergency.theatre.first_mut()?;
            for x in demand.per_day.iter_mut() {
                *x = (*x).max(1.0) * 20.0;
            }
            for x in &mut p.sessions {
                x.reserved_emergency_min = 0;
            }
            Some(6)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn generated_scenarios_validate_and_round_trip(seed in 0u64..10_000) {
        let s = scenario(Size::Tiny, seed);
        let errors = validate::validate_scenario(&s);
        prop_assert!(errors.is_empty(), "seed {seed}: {errors:?}");
        let text = serde_json::to_string(&s).unwrap();
        let back = validate::parse_scenario(&text);
        prop_assert!(back.is_ok(), "seed {seed}: {:?}", back.err());
        prop_assert_eq!(back.unwrap(), s);
    }

    #[test]
    fn greedy_plans_pass_the_checker(seed in 0u64..10_000) {
        let s = scenario(Size::Tiny, seed);
        let plan = greedy::plan(&s);
        let report = check::check(&s, &plan);
        prop_assert!(report.is_ok(), "seed {seed}:\n{}", check::render_text(&report));
        // The plan also survives its own JSON round trip.
        let text = serde_json::to_string(&plan).unwrap();
        prop_assert_eq!(validate::parse_plan(&text).unwrap(), plan);
    }

    #[test]
    fn breaking_one_constraint_is_caught(seed in 0u64..10_000, which in 0usize..BREAKS.len()) {
        let mut s = scenario(Size::Tiny, seed);
        let mut plan = greedy::plan(&s);
        let b = BREAKS[which];
        let Some(constraint) = apply(b, &mut s, &mut plan) else {
            return Ok(());
        };
        let report = check::check(&s, &plan);
        prop_assert!(
            report.violations.iter().any(|v| v.constraint == constraint),
            "seed {seed}, {b:?}: expected a constraint {constraint} violation, got:\n{}",
            check::render_text(&report)
        );
    }
}

/// The property above is only as strong as the breaks it manages to apply: each one
/// must apply to some of the first seeds (so none silently skips everywhere).
#[test]
fn every_break_applies_to_some_scenario() {
    for b in BREAKS {
        let applied = (0..20u64).any(|seed| {
            let mut s = scenario(Size::Tiny, seed);
            let mut plan = greedy::plan(&s);
            match apply(b, &mut s, &mut plan) {
                Some(constraint) => {
                    let report = check::check(&s, &plan);
                    assert!(
                        report.violations.iter().any(|v| v.constraint == constraint),
                        "seed {seed}, {b:?}:\n{}",
                        check::render_text(&report)
                    );
                    true
                }
                None => false,
            }
        });
        assert!(applied, "{b:?} never applied");
    }
}
