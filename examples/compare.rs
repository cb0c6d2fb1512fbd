//! Greedy against the optimising planner on generated scenarios: avoidable breaches,
//! overdue cases booked, utilisation, checker verdict and wall time per plan.
//!
//! `cargo run --release --example compare -- medium 1 5` (size, first seed, last seed).

use std::time::Instant;

use flow_core::check::check;
use flow_core::generate::{GenerateOptions, Size, generate};
use flow_core::{PlanOptions, Strategy, plan};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size: Size = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(Size::Medium);
    let first: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let last: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(first);
    println!(
        "{:<6} {:<5} {:<9} {:>8} {:>8} {:>9} {:>7} {:>6} {:>8}",
        "size", "seed", "strategy", "breaches", "overdue", "util", "check", "status", "seconds"
    );
    for seed in first..=last {
        let scenario = generate(&GenerateOptions::new(size, seed));
        for strategy in [Strategy::Greedy, Strategy::Optimise] {
            let t = Instant::now();
            let Ok(p) = plan(&scenario, &PlanOptions::with_strategy(strategy)) else {
                println!("{seed}: plan failed");
                continue;
            };
            let secs = t.elapsed().as_secs_f64();
            let report = check(&scenario, &p);
            println!(
                "{:<6} {:<5} {:<9} {:>8} {:>4}/{:<4} {:>8.4} {:>7} {:>6} {:>8.3}",
                size.as_str(),
                seed,
                format!("{strategy:?}"),
                report.kpis.avoidable_breaches,
                report.kpis.overdue_booked,
                report.kpis.overdue,
                report.kpis.utilisation,
                if report.is_ok() { "ok" } else { "FAIL" },
                p.solver.status,
                secs
            );
            for v in report.violations.iter().take(3) {
                println!("    {v:?}");
            }
        }
    }
}
