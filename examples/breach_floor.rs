//! The breach floor: the planner against the fewest avoidable breaches possible and
//! against hand booking, on generated trusts of either waiting-list profile.
//!
//! `cargo run --release --example breach_floor -- medium tight 1 5` prints one
//! Markdown row per seed: the exact minimum of avoidable breaches (the case × session
//! MIP with the breach count alone as objective, solved to optimality), the planner's
//! with the breach floor (as `flowd plan` runs it, 30 s) and without (the library
//! default, the daemon's), and hand booking's (greedy: treat in turn, first fit)
//! breaches, overdue cases booked and utilisation, and the planner's times. Arguments: size (`tiny`, `medium`,
//! `large`), profile (`standard`, `tight`), first and last seed.

use std::time::Instant;

use flow_core::check::check;
use flow_core::generate::{GenerateOptions, Profile, Size, generate};
use flow_core::model::SolveOptions;
use flow_core::model::exact::{Objective, plan_exact};
use flow_core::{PlanOptions, Strategy, plan};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size: Size = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(Size::Medium);
    let profile: Profile = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(Profile::Tight);
    let first: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let last: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(first);
    let exact = SolveOptions {
        mip_gap: 0.0,
        time_limit: Some(300.0),
        ..SolveOptions::default()
    };
    println!("{size} trusts, {profile} profile");
    println!(
        "| seed | due in horizon | breaches: minimum / planner with floor / without / greedy | overdue booked: floor / without / greedy (of) | utilisation: floor / without / greedy | planner s: floor / without |"
    );
    println!("|---|---|---|---|---|---|");
    for seed in first..=last {
        let s = generate(&GenerateOptions::new(size, seed).with_profile(profile));
        let t = Instant::now();
        let planned = plan(&s, &PlanOptions::default()).expect("plan");
        let seconds = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let floor = PlanOptions {
            floor_seconds: Some(30.0),
            ..PlanOptions::default()
        };
        let floored = plan(&s, &floor).expect("plan");
        let floor_seconds = t.elapsed().as_secs_f64();
        let greedy = plan(&s, &PlanOptions::with_strategy(Strategy::Greedy)).expect("greedy");
        let minimum = plan_exact(&s, &exact, Objective::Breaches);
        let (p, g, m) = (check(&s, &planned), check(&s, &greedy), check(&s, &minimum));
        let f = check(&s, &floored);
        assert!(
            p.is_ok() && g.is_ok() && m.is_ok() && f.is_ok(),
            "seed {seed}: a plan fails the checker"
        );
        let due: usize = p.kpis.by_priority.iter().map(|k| k.due_in_horizon).sum();
        println!(
            "| {seed} | {due} | {} ({}) / {} / {} / {} | {} / {} / {} ({}) | {:.1}% / {:.1}% / {:.1}% | {floor_seconds:.1} / {seconds:.2} |",
            m.kpis.avoidable_breaches,
            minimum.solver.status,
            f.kpis.avoidable_breaches,
            p.kpis.avoidable_breaches,
            g.kpis.avoidable_breaches,
            f.kpis.overdue_booked,
            p.kpis.overdue_booked,
            g.kpis.overdue_booked,
            p.kpis.overdue,
            100.0 * f.kpis.utilisation,
            100.0 * p.kpis.utilisation,
            100.0 * g.kpis.utilisation,
        );
    }
}
