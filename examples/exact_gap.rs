//! How far the decomposition is from the exact case × session MIP.
//!
//! `cargo run --release --example exact_gap -- tiny 1 5`: per seed, the planner's
//! objective ([`flow_core::model::score`]) for greedy, the optimised plan and the exact
//! MIP, the relative gap, and the fewest avoidable breaches possible (exact MIP with
//! the breach count alone as objective) beside the breaches each plan leaves.
//! `medium` runs only the breach-count MIP (about 166k columns; tens of seconds).

use std::time::Instant;

use flow_core::check::check;
use flow_core::generate::{GenerateOptions, Size, generate};
use flow_core::model::exact::{Objective, plan_exact};
use flow_core::model::{SolveOptions, score};
use flow_core::{PlanOptions, Strategy, plan};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = match args.get(1).map(String::as_str) {
        Some("medium") => Size::Medium,
        Some("large") => Size::Large,
        _ => Size::Tiny,
    };
    let first: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let last: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(first);
    let exact_options = SolveOptions {
        mip_gap: 0.0,
        time_limit: Some(120.0),
        ..SolveOptions::default()
    };
    for seed in first..=last {
        let s = generate(&GenerateOptions::new(size, seed));
        let greedy = plan(&s, &PlanOptions::with_strategy(Strategy::Greedy)).expect("greedy");
        let t = Instant::now();
        let optimised = plan(&s, &PlanOptions::default()).expect("optimise");
        let t_opt = t.elapsed().as_secs_f64();
        let (gb, ob) = (
            check(&s, &greedy).kpis.avoidable_breaches,
            check(&s, &optimised).kpis.avoidable_breaches,
        );
        let t = Instant::now();
        let min = plan_exact(&s, &exact_options, Objective::Breaches);
        let t_min = t.elapsed().as_secs_f64();
        let min_report = check(&s, &min);
        println!(
            "{} seed {seed}: avoidable breaches greedy {gb}, optimised {ob}, exact minimum {} ({}, {:.1}s, ok={}); optimise {:.2}s",
            size.as_str(),
            min_report.kpis.avoidable_breaches,
            min.solver.status,
            t_min,
            min_report.is_ok(),
            t_opt,
        );
        if size == Size::Tiny {
            let t = Instant::now();
            let exact = plan(
                &s,
                &PlanOptions {
                    mip_gap: 0.0,
                    time_limit: Some(120.0),
                    ..PlanOptions::with_strategy(Strategy::Exact)
                },
            )
            .expect("exact");
            let t_exact = t.elapsed().as_secs_f64();
            let (g, o, e) = (score(&s, &greedy), score(&s, &optimised), score(&s, &exact));
            let er = check(&s, &exact);
            println!(
                "  exact gap {:.4}; objective greedy {g:.1}, optimised {o:.1}, exact {e:.1} ({}, {:.2}s, ok={}, breaches {}, overdue {}); gap optimised {:.2}%, greedy {:.2}%",
                exact.solver.gap,
                exact.solver.status,
                t_exact,
                er.is_ok(),
                er.kpis.avoidable_breaches,
                er.kpis.overdue_booked,
                100.0 * (e - o) / e,
                100.0 * (e - g) / e,
            );
        }
    }
}
