//! Criterion benchmarks of the Monte Carlo simulator: one replication of a generated
//! medium (14-day) and large (28-day) trust against its greedy plan, and a batch of
//! 100 medium replications. Run with `cargo bench --bench simulate`; the product's
//! targets are 1,000 medium runs ≤ 10 s and 1,000 large runs ≤ 30 s on 2 cores.

use criterion::{Criterion, criterion_group, criterion_main};
use flow_core::generate::{GenerateOptions, Size, generate};
use flow_core::simulate::{SimOptions, Simulator};
use std::hint::black_box;

fn simulator(size: Size) -> Simulator {
    let scenario = generate(&GenerateOptions::new(size, 1));
    let plan = flow_core::greedy::plan(&scenario);
    Simulator::new(&scenario, &plan, &SimOptions::with_seed(1)).expect("greedy plan simulates")
}

fn bench(c: &mut Criterion) {
    let medium = simulator(Size::Medium);
    let mut run = 0u64;
    c.bench_function("simulate/medium/1 run", |b| {
        b.iter(|| {
            run += 1;
            black_box(medium.replicate(run))
        })
    });
    c.bench_function("simulate/medium/100 runs serial", |b| {
        b.iter(|| black_box((0..100).map(|r| medium.replicate(r)).collect::<Vec<_>>()))
    });
    let large = simulator(Size::Large);
    let mut run = 0u64;
    c.bench_function("simulate/large/1 run", |b| {
        b.iter(|| {
            run += 1;
            black_box(large.replicate(run))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
