//! Planner benchmarks on generated scenarios (tiny, medium, large): the optimising
//! planner end to end, its two solver-facing stages apart — building the aggregate
//! model (`model::build`, with the ledger it reads) and solving it (`model::solve`) —
//! and the greedy baseline beside it. Booking and repair take the rest of the total.
//! `replan` is the daemon's path: the same scenario with two beds fewer on one ward,
//! re-planned from the plan before the change (kept bookings, the MIP started from
//! the previous decisions).
//!
//! `cargo bench --bench plan` (add a filter such as `medium` to run one size;
//! `medium-seeds` times the optimiser on seeds 1–5, `medium-tight` on seeds 1–5 of the
//! tight waiting-list profile, `medium-tight-floor` seed 1 with the breach floor as
//! `flowd plan` runs it; `network` the five-site clinical network at its default
//! size and with each site about a medium trust, `--scale 3`).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use flow_core::generate::{GenerateOptions, Profile, Size, generate};
use flow_core::ledger::Ledger;
use flow_core::model::{self, SolveOptions};
use flow_core::{PlanOptions, Strategy, plan};

fn bench(c: &mut Criterion) {
    for size in Size::ALL {
        let scenario = generate(&GenerateOptions::new(size, 1));
        let mut group = c.benchmark_group(size.as_str());
        group.sample_size(10);
        group.bench_function("optimise", |b| {
            b.iter(|| plan(&scenario, &PlanOptions::default()))
        });
        group.bench_function("build", |b| {
            b.iter(|| {
                let ledger = Ledger::new(&scenario);
                model::build(&ledger).stats()
            })
        });
        group.bench_function("solve", |b| {
            b.iter_batched(
                || model::build(&Ledger::new(&scenario)).model,
                |m| model::solve(m, &SolveOptions::default()),
                BatchSize::PerIteration,
            )
        });
        let previous = plan(&scenario, &PlanOptions::default()).expect("plan");
        let mut changed = scenario.clone();
        if let Some(ward) = changed.wards.first_mut() {
            ward.beds = ward.beds.saturating_sub(2);
        }
        let replan = PlanOptions {
            previous: Some(previous),
            ..PlanOptions::default()
        };
        group.bench_function("replan", |b| b.iter(|| plan(&changed, &replan)));
        group.bench_function("greedy", |b| {
            b.iter(|| plan(&scenario, &PlanOptions::with_strategy(Strategy::Greedy)))
        });
        group.finish();
    }
    // One seed can be unlucky for the MIP's heuristics: the optimiser on five medium
    // scenarios, so the median is over trusts, not one draw.
    let mut group = c.benchmark_group("medium-seeds");
    group.sample_size(10);
    for seed in 1..=5 {
        let scenario = generate(&GenerateOptions::new(Size::Medium, seed));
        group.bench_function(format!("optimise/{seed}"), |b| {
            b.iter(|| plan(&scenario, &PlanOptions::default()))
        });
    }
    group.finish();
    // Tight trusts (many cases due inside the horizon, half released after the start).
    let mut group = c.benchmark_group("medium-tight");
    group.sample_size(10);
    for seed in 1..=5 {
        let scenario =
            generate(&GenerateOptions::new(Size::Medium, seed).with_profile(Profile::Tight));
        group.bench_function(format!("optimise/{seed}"), |b| {
            b.iter(|| plan(&scenario, &PlanOptions::default()))
        });
    }
    group.finish();
    // The breach floor (`flowd plan`'s default, off in the library and the daemon):
    // the exact breach-count model and a re-plan around it, tight seed 1.
    let mut group = c.benchmark_group("medium-tight-floor");
    group.sample_size(10);
    let scenario = generate(&GenerateOptions::new(Size::Medium, 1).with_profile(Profile::Tight));
    let floor = PlanOptions {
        floor_seconds: Some(30.0),
        ..PlanOptions::default()
    };
    group.bench_function("optimise/1", |b| b.iter(|| plan(&scenario, &floor)));
    group.finish();
    // The clinical network: five sites planned together.
    let mut group = c.benchmark_group("network");
    group.sample_size(10);
    for scale in [1, 3] {
        let scenario = generate(&GenerateOptions::new(Size::Network, 1).with_scale(scale));
        group.bench_function(format!("optimise/x{scale}"), |b| {
            b.iter(|| plan(&scenario, &PlanOptions::default()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
