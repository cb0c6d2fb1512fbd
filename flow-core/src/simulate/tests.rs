//! The simulator checked against theory and against itself: the emergency census is
//! Poisson(m(t)), a loss pool blocks as Erlang-B says, runs are reproducible, and a plan
//! that overfills a pool scores worse than a valid one.
//!
//! Every test uses a fixed seed, so it either always passes or always fails; the
//! tolerances are set so that a correct engine passes with a wide margin (stated per
//! test), while an engine with the wrong census, stay or blocking law fails.

use chrono::NaiveDate;
use statrs::distribution::{ChiSquared, ContinuousCDF, Discrete, Poisson};

use super::policy::{self, TheatrePolicy};
use super::*;
use crate::check;
use crate::generate::{GenerateOptions, Size, generate};
use crate::plan::{PLAN_SCHEMA, SolverInfo};
use crate::reserve;
use crate::scenario::{
    Emergency, EmergencyAdmissions, EmergencyTheatre, Period, Policy, SCENARIO_SCHEMA, Session,
    Site, Theatre, Ward,
};

fn monday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

/// One site, one ward per (kind, beds), the given admission streams, nothing else.
fn bare_scenario(
    horizon: u32,
    wards: &[(&str, u32)],
    admissions: Vec<EmergencyAdmissions>,
) -> Scenario {
    Scenario {
        schema: SCENARIO_SCHEMA.into(),
        name: "theory".into(),
        start: monday(),
        horizon_days: horizon,
        policy: Policy::default(),
        sites: vec![Site {
            id: "s".into(),
            name: "Site".into(),
            trust: None,
            role: None,
        }],
        specialties: vec!["gen".into()],
        wards: wards
            .iter()
            .map(|(kind, beds)| Ward {
                id: format!("w-{kind}"),
                site: "s".into(),
                kind: kind.to_string(),
                beds: *beds,
                closures: vec![],
            })
            .collect(),
        theatres: vec![],
        waiting_list: vec![],
        inpatients: vec![],
        emergency: Emergency {
            admissions,
            theatre: vec![],
        },
        surgeons: vec![],
        network: None,
    }
}

fn empty_plan(s: &Scenario) -> Plan {
    Plan {
        schema: PLAN_SCHEMA.into(),
        scenario: s.name.clone(),
        solver: SolverInfo {
            backend: "none".into(),
            status: "heuristic".into(),
            objective: 0.0,
            gap: 0.0,
            seconds: 0.0,
        },
        sessions: vec![],
        unscheduled: vec![],
        occupancy: vec![],
        theatre_reserve: vec![],
        version: None,
        generated_at: None,
        changes: None,
        transfers: vec![],
        network: None,
    }
}

fn stream(kind: &str, per_day: [f64; 7], los: f64) -> EmergencyAdmissions {
    EmergencyAdmissions {
        site: "s".into(),
        kind: kind.into(),
        per_day,
        los_mean_nights: los,
    }
}

const WEEK: [f64; 7] = [9.0, 8.0, 8.0, 8.0, 9.0, 7.0, 7.0];

/// Census of the single pool on every night of every run.
fn censuses(runs: u64, seed: u64) -> (Vec<f64>, Vec<Vec<u32>>) {
    let s = bare_scenario(
        14,
        &[("surgical", 10_000)],
        vec![stream("surgical", WEEK, 4.5)],
    );
    let m = reserve::expected_census(&WEEK, 4.5, 14, |t| s.weekday(t));
    let sim = Simulator::new(&s, &empty_plan(&s), &SimOptions::with_seed(seed)).unwrap();
    let by_run: Vec<Vec<u32>> = (0..runs)
        .map(|r| sim.replicate(r).emergency_census[0].clone())
        .collect();
    (m, by_run)
}

#[test]
fn emergency_census_mean_is_m_t() {
    // Unlimited beds, no electives: the census on night t is Poisson(m(t)), so the mean
    // of 2,000 runs has standard error √(m/2000) (≤ 0.15 here). Allowing 4 standard
    // errors, a correct engine fails on a given night with probability 6·10⁻⁵; a census
    // off by one night of stay (m(t) ± λ) is ≥ 40 standard errors out.
    let runs = 2000;
    let (m, by_run) = censuses(runs, 11);
    for (t, &m_t) in m.iter().enumerate() {
        let mean = by_run.iter().map(|c| f64::from(c[t])).sum::<f64>() / runs as f64;
        let se = (m_t / runs as f64).sqrt();
        assert!(
            (mean - m_t).abs() <= 4.0 * se,
            "night {t}: simulated mean {mean:.3}, m(t) = {m_t:.3}, se {se:.3}"
        );
    }
}

#[test]
fn emergency_census_is_poisson() {
    // Chi-square goodness of fit of the census to Poisson(m(t)) on three nights, bins
    // pooled so every expected count is ≥ 5, at the 0.1% level; and the dispersion
    // index var/mean within 1 ± 0.12 (its sd is √(2/n) ≈ 0.032 at n = 2000: ±3.8 sd).
    let runs = 2000;
    let (m, by_run) = censuses(runs, 12);
    for t in [0usize, 6, 13] {
        let dist = Poisson::new(m[t]).unwrap();
        let values: Vec<u64> = by_run.iter().map(|c| u64::from(c[t])).collect();
        let n = values.len() as f64;
        // Bins [0, lo), lo, lo+1, …, hi, (hi, ∞) with every expected count ≥ 5.
        let max = values.iter().copied().max().unwrap() + 20;
        let expected: Vec<f64> = (0..=max).map(|k| n * dist.pmf(k)).collect();
        let mut bins: Vec<(f64, f64)> = Vec::new(); // (observed, expected)
        let (mut obs, mut exp) = (0.0, 0.0);
        for k in 0..=max {
            obs += values.iter().filter(|&&v| v == k).count() as f64;
            exp += expected[k as usize];
            if exp >= 5.0 {
                bins.push((obs, exp));
                (obs, exp) = (0.0, 0.0);
            }
        }
        let tail = n - bins.iter().map(|b| b.1).sum::<f64>();
        let last = bins.last_mut().unwrap();
        last.0 += obs;
        last.1 += tail; // everything beyond goes into the last bin
        let chi2: f64 = bins.iter().map(|(o, e)| (o - e) * (o - e) / e).sum();
        let df = (bins.len() - 1) as f64;
        let critical = ChiSquared::new(df).unwrap().inverse_cdf(0.999);
        assert!(
            chi2 < critical,
            "night {t}: χ² = {chi2:.1} ≥ {critical:.1} (df {df})"
        );
        let mean = values.iter().sum::<u64>() as f64 / n;
        let var = values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        assert!(
            (var / mean - 1.0).abs() < 0.12,
            "night {t}: dispersion {:.3}",
            var / mean
        );
    }
}

#[test]
fn loss_pool_blocks_as_erlang_b() {
    // M/M/c/c: Poisson arrivals (20 a day, constant), exponential stays (mean 1 day),
    // c = 24 beds, a blocked arrival outlies to a roomy pool (is lost to this one).
    // Offered load a = 20 erlangs; Erlang-B gives B(24, 20) ≈ 0.0661. 40 runs of 200
    // days see ~160,000 arrivals; the run-to-run standard error of the blocking rate is
    // about 0.001 (1.2% of B). The pool starts empty, which lowers blocking over the
    // first ~2 days (1% of the horizon) — a bias under 1% of B. Tolerance: 5% of B.
    let per_day = [20.0; 7];
    let s = bare_scenario(
        200,
        &[("acute", 24), ("overflow", 10_000)],
        vec![stream("acute", per_day, 1.0)],
    );
    let options = SimOptions {
        outlying: true,
        stay_model: StayModel::Exponential,
        ..SimOptions::with_seed(7)
    };
    let sim = Simulator::new(&s, &empty_plan(&s), &options).unwrap();
    let rates: Vec<f64> = (0..40)
        .map(|r| {
            let o = sim.replicate(r);
            f64::from(o.outlied_admissions) / f64::from(o.emergency_admissions)
        })
        .collect();
    let (mean, _, ci) = mean_ci(&rates);
    let b = erlang_b(24, 20.0);
    assert!((b - 0.0661).abs() < 0.0001, "Erlang-B itself: {b}");
    assert!(
        (mean - b).abs() < 0.05 * b,
        "simulated blocking {mean:.4} (95% CI {:.4}–{:.4}) vs Erlang-B {b:.4}",
        ci[0],
        ci[1]
    );
}

#[test]
fn erlang_b_matches_tables() {
    // Classic table values.
    assert!((erlang_b(1, 1.0) - 0.5).abs() < 1e-12);
    assert!((erlang_b(2, 1.0) - 0.2).abs() < 1e-12);
    assert!((erlang_b(10, 5.0) - 0.018_384).abs() < 1e-5);
}

#[test]
fn boarding_when_the_pool_is_full() {
    // 5 beds, ~20 admissions a day staying ~3 nights: the pool is always full, patients
    // board, some for 12 hours or more, and overflow nights are counted.
    let s = bare_scenario(
        7,
        &[("medical", 5)],
        vec![stream("medical", [20.0; 7], 3.0)],
    );
    let o = replicate(&s, &empty_plan(&s), &SimOptions::with_seed(3), 0).unwrap();
    assert!(o.boarding_hours > 0.0);
    assert!(o.twelve_hour_waits > 0);
    assert!(o.bed_overflow_patient_nights > 0);
    assert!(o.peak_occupancy[0] > 1.0);
    assert_eq!(o.outlied_admissions, 0, "outlying is off by default");
}

fn tiny(seed: u64) -> Scenario {
    generate(&GenerateOptions::new(Size::Tiny, seed))
}

#[test]
fn same_seed_same_results_and_runs_are_independent() {
    let s = tiny(5);
    let plan = crate::greedy::plan(&s);
    let sim = Simulator::new(&s, &plan, &SimOptions::with_seed(42)).unwrap();
    let a: Vec<RunOutcome> = (0..10).map(|r| sim.replicate(r)).collect();
    let b: Vec<RunOutcome> = (0..10).rev().map(|r| sim.replicate(r)).collect();
    for (x, y) in a.iter().zip(b.iter().rev()) {
        assert_eq!(x, y, "run {} depends on what ran before it", x.run);
    }
    assert_ne!(a[0], a[1], "runs differ");
    let again = simulate(&s, &plan, &SimOptions::with_seed(42), 10).unwrap();
    assert_eq!(sim.summarise(&a), again);
    let other = simulate(&s, &plan, &SimOptions::with_seed(43), 10).unwrap();
    assert_ne!(again, other, "another seed, other outcomes");
}

#[test]
fn overfilled_plan_scores_worse_than_a_valid_one() {
    // The valid plan is greedy's; the overfilled one is greedy's plan for the same trust
    // with every ward twice as big, so it books patients into beds that do not exist.
    // Both meet the same emergencies (common random numbers).
    let s = tiny(2);
    let valid = crate::greedy::plan(&s);
    let mut bigger = s.clone();
    for ward in &mut bigger.wards {
        ward.beds *= 2;
    }
    let overfilled = crate::greedy::plan(&bigger);
    assert!(check::check(&s, &valid).is_ok());
    let report = check::check(&s, &overfilled);
    assert!(report.count(check::ViolationKind::BedsOverRoom) > 0);

    // Paired by run (same emergencies in run r), the difference overfilled − valid of
    // each figure must have a 95% confidence interval above zero.
    let options = SimOptions::with_seed(9);
    let a = Simulator::new(&s, &valid, &options).unwrap();
    let b = Simulator::new(&s, &overfilled, &options).unwrap();
    let pairs: Vec<(RunOutcome, RunOutcome)> =
        (0..100).map(|r| (a.replicate(r), b.replicate(r))).collect();
    let figure = |name: &str, o: &RunOutcome| {
        let i = FIGURES.iter().position(|f| *f == name).unwrap();
        o.scalars()[i]
    };
    for name in [
        "elective_cancellations",
        "bed_overflow_patient_nights",
        "boarding_hours",
    ] {
        let diffs: Vec<f64> = pairs
            .iter()
            .map(|(x, y)| figure(name, y) - figure(name, x))
            .collect();
        let (mean, _, ci) = mean_ci(&diffs);
        assert!(
            ci[0] > 0.0,
            "{name}: overfilled − valid = {mean:.2} (95% CI {:.2}–{:.2})",
            ci[0],
            ci[1]
        );
    }
}

#[test]
fn electives_run_as_booked_when_nothing_competes() {
    // No emergencies, beds for everyone, exact case times: every booked case is done,
    // for exactly its booked minutes, and nothing is cancelled or overruns.
    let mut s = tiny(4);
    s.emergency = Emergency::default();
    for ward in &mut s.wards {
        ward.beds += 500;
    }
    let plan = crate::greedy::plan(&s);
    let booked: u32 = plan.sessions.iter().map(|x| x.cases.len() as u32).sum();
    let minutes: u32 = plan
        .sessions
        .iter()
        .flat_map(|x| &x.cases)
        .map(|id| {
            s.waiting_list
                .iter()
                .find(|c| &c.id == id)
                .unwrap()
                .duration_min
        })
        .sum();
    let options = SimOptions {
        elective_duration_cv: 0.0,
        ..SimOptions::with_seed(1)
    };
    let o = replicate(&s, &plan, &options, 0).unwrap();
    assert!(booked > 0);
    assert_eq!(o.electives_done, booked);
    assert_eq!(o.elective_cancellations, 0);
    assert_eq!(o.elective_minutes_done, f64::from(minutes));
    assert_eq!(o.session_overrun_minutes, 0.0);
    assert_eq!(o.trauma_cases, 0);
}

/// One site, one emergency theatre with the given lists each day, trauma demand.
fn theatre_scenario(lists: &[Period], per_day: f64) -> Scenario {
    let mut s = bare_scenario(7, &[("surgical", 100)], vec![]);
    s.theatres.push(Theatre {
        id: "em".into(),
        site: "s".into(),
        emergency: true,
        sessions: (0..7)
            .flat_map(|t| {
                lists.iter().map(move |&period| Session {
                    date: monday() + chrono::Duration::days(t),
                    period,
                    minutes: 240,
                    specialty: None,
                })
            })
            .collect(),
    });
    s.emergency.theatre.push(EmergencyTheatre {
        site: "s".into(),
        per_day: [per_day; 7],
        minutes_mean: 60.0,
        minutes_sd: 20.0,
    });
    s
}

#[test]
fn trauma_breaches_fall_with_theatre_time() {
    // Six cases a day of ~1 hour. Without an on-call team, one 4-hour list a day cannot
    // keep urgent cases within 6 hours; three lists breach far less. With it, the
    // cases that cannot wait for the next list are operated out of hours instead.
    let one = theatre_scenario(&[Period::Am], 6.0);
    let three = theatre_scenario(&[Period::Am, Period::Pm, Period::Eve], 6.0);
    let lists_only = SimOptions {
        on_call: false,
        ..SimOptions::with_seed(5)
    };
    let a = simulate(&one, &empty_plan(&one), &lists_only, 50).unwrap();
    let b = simulate(&three, &empty_plan(&three), &lists_only, 50).unwrap();
    assert!(a.mean("trauma_cases") > 30.0);
    assert!(a.mean("trauma_window_breaches") > 2.0 * b.mean("trauma_window_breaches"));
    assert!(a.mean("trauma_wait_hours") > b.mean("trauma_wait_hours"));
    assert_eq!(a.mean("on_call_cases"), 0.0);

    let on_call = SimOptions::with_seed(5);
    let c = simulate(&one, &empty_plan(&one), &on_call, 50).unwrap();
    let d = simulate(&three, &empty_plan(&three), &on_call, 50).unwrap();
    assert!(c.mean("on_call_cases") > d.mean("on_call_cases"));
    assert!(c.mean("trauma_window_breaches") < a.mean("trauma_window_breaches"));
}

#[test]
fn bad_plan_references_are_field_errors() {
    let s = tiny(1);
    let mut plan = crate::greedy::plan(&s);
    let i = plan
        .sessions
        .iter()
        .position(|x| !x.cases.is_empty())
        .unwrap();
    plan.sessions[i].cases.push("c-nobody".into());
    plan.sessions[0].theatre = "nowhere".into();
    let err = Simulator::new(&s, &plan, &SimOptions::default()).unwrap_err();
    let crate::Error::Invalid { errors } = err else {
        panic!("expected Invalid");
    };
    let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
    let want = format!("sessions[{i}].cases[{}]", plan.sessions[i].cases.len() - 1);
    assert!(paths.contains(&want.as_str()), "{paths:?}");
    assert!(paths.contains(&"sessions[0].theatre"), "{paths:?}");

    let bad = SimOptions {
        discharge_hour: 25.0,
        ..SimOptions::default()
    };
    let err = Simulator::new(&s, &crate::greedy::plan(&s), &bad).unwrap_err();
    assert!(err.to_string().contains("options.discharge_hour"), "{err}");
}

#[test]
fn summary_has_mean_and_t_interval() {
    let outcomes: Vec<RunOutcome> = [1.0, 2.0, 3.0, 4.0]
        .iter()
        .map(|&x| {
            let s = bare_scenario(1, &[("k", 1)], vec![]);
            let mut o = replicate(&s, &empty_plan(&s), &SimOptions::default(), 0).unwrap();
            o.boarding_hours = x;
            o
        })
        .collect();
    let summary = summarise(&outcomes);
    let f = summary.figure("boarding_hours").unwrap();
    // mean 2.5, sd √(5/3), t(0.975, 3) = 3.182446…
    let half = 3.182_446_305_284_263 * (5.0f64 / 3.0).sqrt() / 2.0;
    assert!((f.mean - 2.5).abs() < 1e-12);
    assert!((f.ci95[0] - (2.5 - half)).abs() < 1e-9);
    assert!((f.ci95[1] - (2.5 + half)).abs() < 1e-9);
    assert_eq!(summary.runs, 4);
    assert!(summary.figure("peak_occupancy[pool0]").is_some());
}

#[test]
fn policy_transforms_do_what_they_say() {
    let s = tiny(3);
    // Dedicated: emergency lists alone cover the reserve on every elective day, so the
    // greedy plan holds no reserve inside elective lists.
    let dedicated = policy::dedicated_only(&s);
    assert!(
        dedicated.theatres.iter().filter(|t| t.emergency).count()
            >= s.theatres.iter().filter(|t| t.emergency).count()
    );
    let plan = crate::greedy::plan(&dedicated);
    assert!(check::check(&dedicated, &plan).is_ok());
    let elective: std::collections::BTreeSet<&str> = dedicated
        .theatres
        .iter()
        .filter(|t| !t.emergency)
        .map(|t| t.id.as_str())
        .collect();
    let held: u32 = plan
        .sessions
        .iter()
        .filter(|x| elective.contains(x.theatre.as_str()))
        .map(|x| x.reserved_emergency_min)
        .sum();
    assert_eq!(
        held, 0,
        "dedicated policy still holds reserve in elective lists"
    );

    // Flexible: no day-time emergency lists on elective days; the plan holds reserve.
    let flexible = policy::flexible_only(&s);
    let plan = crate::greedy::plan(&flexible);
    assert!(check::check(&flexible, &plan).is_ok());
    let held: u32 = plan
        .sessions
        .iter()
        .filter(|x| elective.contains(x.theatre.as_str()))
        .map(|x| x.reserved_emergency_min)
        .sum();
    assert!(
        held > 0,
        "flexible policy holds no reserve in elective lists"
    );

    assert_eq!(TheatrePolicy::Hybrid.apply(&s), s);
    let v = policy::standard_variants(&s, &policy::DEFAULT_QUANTILES);
    assert_eq!(v.len(), 3 + 4, "the scenario's own 0.90 is not repeated");
    assert_eq!(v[5].apply(&s).policy.emergency_bed_quantile, 0.95);
}

/// The pooled bed reserve holds up in simulation. On the generated network planned
/// with its lending links (each pool keeps its reserve less what others lend it, each
/// bed-sharing component the quantile of its summed census) and simulated with
/// tonight's overflow placed along those links by maximum flow, the share of
/// component-nights on which a patient is left without a bed is no worse than with
/// the pools kept apart (the same scenario without lending: every pool its own
/// reserve, no transfers) — though the pooled plan books more electives into the beds
/// pooling frees.
#[test]
fn a_pooled_reserve_overflows_no_more_often_than_separate_pools() {
    use crate::generate::{GenerateOptions, Size, generate};
    use crate::reserve::{bed_reserve, shared_reserve};
    let pooled = generate(&GenerateOptions::new(Size::Network, 1));
    let mut apart = pooled.clone();
    for link in &mut apart.network.as_mut().unwrap().links {
        link.beds.clear();
    }
    let keys = pooled.pools();
    let components: Vec<Vec<usize>> = shared_reserve(&pooled, &bed_reserve(&pooled))
        .iter()
        .map(|c| {
            c.pools
                .iter()
                .map(|p| keys.iter().position(|k| k == p).unwrap())
                .collect()
        })
        .collect();
    assert!(!components.is_empty());
    assert!(shared_reserve(&apart, &bed_reserve(&apart)).is_empty());
    let runs = 60;
    let mut shares = Vec::new();
    for s in [&pooled, &apart] {
        let plan = crate::plan(s, &crate::PlanOptions::default()).unwrap();
        let report = crate::check::check(s, &plan);
        assert!(report.is_ok(), "{:#?}", report.violations);
        let sim = Simulator::new(s, &plan, &SimOptions::default()).unwrap();
        let (mut over, mut nights, mut moved) = (0u32, 0u32, 0u32);
        for run in 0..runs {
            let o = sim.replicate(run);
            moved += o.network_transfers;
            for pools in &components {
                for n in 0..s.horizon_days as usize {
                    nights += 1;
                    if pools.iter().any(|&p| o.pool_overflow[p][n] > 0) {
                        over += 1;
                    }
                }
            }
        }
        let electives: usize = plan.sessions.iter().map(|x| x.cases.len()).sum();
        shares.push((f64::from(over) / f64::from(nights), moved, electives));
    }
    let ((pooled_share, moved, pooled_electives), (apart_share, none, apart_electives)) =
        (shares[0], shares[1]);
    eprintln!(
        "component-nights overflowing: pooled {pooled_share:.4} ({moved} transfers, \
         {pooled_electives} electives), apart {apart_share:.4} ({apart_electives} electives)"
    );
    assert!(moved > 0 && none == 0);
    assert!(
        pooled_share <= apart_share,
        "{pooled_share} > {apart_share}"
    );
}

/// A centre `s` and a unit `u`, trauma wards of `beds` each, the weekly trauma stream
/// at the centre, and the link u → s repatriating trauma patients after 3 nights, at
/// most `per_day` a day.
fn repatriating(per_day: u32, beds: u32) -> Scenario {
    repatriating_to(&[("u", per_day)], beds)
}

/// [`repatriating`] with one unit per `(site, per_day)`, linked in that order.
fn repatriating_to(units: &[(&str, u32)], beds: u32) -> Scenario {
    let mut s = bare_scenario(14, &[], vec![stream("trauma", WEEK, 4.5)]);
    let mut links = Vec::new();
    for &(unit, per_day) in units {
        s.sites.push(Site {
            id: unit.into(),
            name: format!("Unit {unit}"),
            trust: None,
            role: None,
        });
        links.push(serde_json::json!({
            "from": unit, "to": "s", "travel_min": 30,
            "repatriation": { "kind": "trauma", "after_nights": 3, "max_per_day": per_day }
        }));
    }
    for site in s.sites.clone() {
        s.wards.push(Ward {
            id: format!("w-{}", site.id),
            site: site.id.clone(),
            kind: "trauma".into(),
            beds,
            closures: vec![],
        });
    }
    s.network = Some(serde_json::from_value(serde_json::json!({ "links": links })).unwrap());
    s
}

/// Mean simulated emergency census per pool and night against the reserve's m(t),
/// within 4 standard errors.
fn census_matches_the_model(s: &Scenario, runs: u64) -> Vec<RunOutcome> {
    let reserve = reserve::bed_reserve(s);
    let keys = s.pools();
    let sim = Simulator::new(s, &empty_plan(s), &SimOptions::with_seed(5)).unwrap();
    let outcomes: Vec<RunOutcome> = (0..runs).map(|r| sim.replicate(r)).collect();
    for (p, key) in keys.iter().enumerate() {
        for (t, night) in reserve[key].iter().enumerate() {
            let m_t = night.emergency_mean;
            let mean = outcomes
                .iter()
                .map(|o| f64::from(o.emergency_census[p][t]))
                .sum::<f64>()
                / runs as f64;
            let se = (m_t.max(0.05) / runs as f64).sqrt();
            assert!(
                (mean - m_t).abs() <= 4.0 * se,
                "{key} night {t}: simulated {mean:.3}, transformed m(t) {m_t:.3}"
            );
        }
    }
    outcomes
}

#[test]
fn two_links_from_one_centre_repatriate_each_patient_once() {
    // Both units take every patient still in after 3 nights (caps that never bind):
    // the first link takes them all, the second finds none left — in the model and
    // in the simulator alike, and the censuses still add up to the centre's alone.
    let s = repatriating_to(&[("u", 1_000), ("v", 1_000)], 10_000);
    let outcomes = census_matches_the_model(&s, 800);
    let reserve = reserve::bed_reserve(&s);
    let keys = s.pools();
    let v = keys.iter().position(|k| k.site == "v").unwrap();
    assert!(reserve[&keys[v]].iter().all(|n| n.emergency_mean == 0.0));
    assert!(
        outcomes
            .iter()
            .all(|o| o.emergency_census[v].iter().all(|&c| c == 0))
    );
    let whole = reserve::expected_census(&WEEK, 4.5, 14, |t| s.weekday(t));
    for (t, &w) in whole.iter().enumerate() {
        let all: f64 = keys.iter().map(|k| reserve[k][t].emergency_mean).sum();
        assert!((all - w).abs() < 1e-9, "night {t}: {all} vs {w}");
    }
}

#[test]
fn repatriation_moves_the_census_the_reserve_expects() {
    // Unlimited beds and no cap that binds: patients still in after 3 nights go home,
    // a thinning of the Poisson census. The simulated mean census of the centre and
    // the unit on every night is the transformed m(t) of `reserve` within 4 standard
    // errors, and the two add up to the census without repatriation.
    let s = repatriating(1_000, 10_000);
    let reserve = reserve::bed_reserve(&s);
    let keys = s.pools();
    let outcomes = census_matches_the_model(&s, 1500);
    assert!(outcomes.iter().all(|o| o.repatriations > 0));
    let whole = reserve::expected_census(&WEEK, 4.5, 14, |t| s.weekday(t));
    for (t, &w) in whole.iter().enumerate() {
        let both: f64 = keys.iter().map(|k| reserve[k][t].emergency_mean).sum();
        assert!((both - w).abs() < 1e-9, "night {t}: {both} vs {w}");
        // Nobody goes home before three nights.
        let unit = &reserve[&keys[1]][t];
        assert_eq!(keys[1].site, "u");
        if t < 3 {
            assert_eq!(unit.emergency_mean, 0.0, "night {t}");
        }
    }
    // A cap: at most 2 a day go home, in the model and in every run.
    let capped = repatriating(2, 10_000);
    let sim = Simulator::new(&capped, &empty_plan(&capped), &SimOptions::with_seed(5)).unwrap();
    for run in 0..50 {
        assert!(sim.replicate(run).repatriations <= 2 * (14 - 3));
    }
    let unit_capped: f64 = reserve::bed_reserve(&capped)[&keys[1]]
        .iter()
        .map(|n| n.emergency_mean)
        .sum();
    let unit_free: f64 = reserve[&keys[1]].iter().map(|n| n.emergency_mean).sum();
    assert!(unit_capped < unit_free);
}
