//! A generated clinical network planned five ways: each site alone (the scenario
//! without its links, every case at home) by the greedy and by the optimiser, the
//! hand mutual-aid baseline, the greedy (first fit anywhere a case may go) and the
//! optimising planner on the network as is — avoidable breaches, overdue cases booked, transfers, travel minutes and the
//! checker's verdict per plan.
//!
//! `cargo run --example network -- 1 5 40` (first seed, last seed, movers percent);
//! add `balanced` for the balanced control network, `x3` for sites three times as
//! large.

use std::time::Instant;

use flow_core::check::check;
use flow_core::generate::{GenerateOptions, Size, generate};
use flow_core::greedy::mutual_aid;
use flow_core::{Plan, PlanOptions, Scenario, Strategy, plan};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let first: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let last: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(first);
    let movers: u8 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(40);
    let balanced = args.iter().any(|a| a == "balanced");
    let scale: u8 = args
        .iter()
        .find_map(|a| a.strip_prefix('x').and_then(|n| n.parse().ok()))
        .unwrap_or(1);
    println!(
        "{:<5} {:<12} {:>8} {:>9} {:>9} {:>7} {:>6} {:>8}",
        "seed", "variant", "breaches", "overdue", "transfers", "travel", "check", "seconds"
    );
    for seed in first..=last {
        let scenario = generate(
            &GenerateOptions::new(Size::Network, seed)
                .with_movers(movers)
                .with_balanced(balanced)
                .with_scale(scale),
        );
        let mut alone = scenario.clone();
        alone.network = None;
        let variants: [(&str, &Scenario, Planner); 5] = [
            ("greedy-alone", &alone, greedy),
            ("alone", &alone, optimise),
            ("mutual-aid", &scenario, |s| Some(mutual_aid::plan(s))),
            ("greedy", &scenario, greedy),
            ("network", &scenario, optimise),
        ];
        for (name, s, run) in variants {
            let t = Instant::now();
            let Some(p) = run(s) else {
                println!("{seed:<5} {name:<12} plan failed");
                continue;
            };
            let secs = t.elapsed().as_secs_f64();
            let report = check(s, &p);
            let travel: u32 = p.transfers.iter().map(|t| t.travel_min).sum();
            println!(
                "{:<5} {:<12} {:>8} {:>4}/{:<4} {:>9} {:>7} {:>6} {:>8.2}",
                seed,
                name,
                report.kpis.avoidable_breaches,
                report.kpis.overdue_booked,
                report.kpis.overdue,
                p.transfers.len(),
                travel,
                if report.is_ok() { "ok" } else { "FAIL" },
                secs
            );
        }
    }
}

/// One way to plan a scenario.
type Planner = fn(&Scenario) -> Option<Plan>;

fn greedy(s: &Scenario) -> Option<Plan> {
    plan(s, &PlanOptions::with_strategy(Strategy::Greedy)).ok()
}

fn optimise(s: &Scenario) -> Option<Plan> {
    plan(s, &PlanOptions::default()).ok()
}
