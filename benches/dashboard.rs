//! Dashboard render time and page weight on the large (trust-scale) scenario: five
//! sites, 60 theatres, 28 nights, 20,000 cases. The plan is the greedy baseline's
//! (what is timed is the page, not the planner), checked by the independent checker
//! as the daemon does, with its figures on the page.
//!
//! `cargo bench --bench dashboard`. Goal: ≤ 50 ms per page, ≤ 300 KB.

use std::sync::Arc;

use axum::body::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use flow_core::generate::{GenerateOptions, Size, generate};
use flow_core::{State, check};
use flowd::dashboard::pressure::Cuts;
use flowd::dashboard::render::{self, Input};
use flowd::engine::{Bookings, Published, StateView};

fn bench(c: &mut Criterion) {
    let scenario = generate(&GenerateOptions::new(Size::Large, 1));
    let mut plan = flow_core::greedy::plan(&scenario);
    plan.version = Some(7);
    plan.generated_at = Some("2026-12-07T06:00:00+00:00".into());
    let kpis = check::check(&scenario, &plan).kpis;
    let state = State::new(scenario.clone());
    let view = StateView::of(&state, 0);
    let published = Published {
        plan: Arc::new(plan),
        json: Bytes::new(),
        bookings: Arc::new(Bookings::new()),
        seq: 0,
        scenario: Arc::new(scenario),
        kpis: Some(Arc::new(kpis)),
    };
    let cuts = Cuts::default();
    let now = chrono::Utc::now();
    let site = published.scenario.sites[0].id.clone();
    let whole = render::page(&Input::new(&published, &view, &[], &cuts, now), None);
    let one = render::page(&Input::new(&published, &view, &[], &cuts, now), Some(&site));
    eprintln!(
        "page weight (large): whole trust {:.1} KB, one site {:.1} KB",
        whole.len() as f64 / 1024.0,
        one.len() as f64 / 1024.0
    );
    let mut group = c.benchmark_group("dashboard");
    group.sample_size(20);
    group.bench_function("large/page", |b| {
        b.iter(|| render::page(&Input::new(&published, &view, &[], &cuts, now), None).len())
    });
    group.bench_function("large/site", |b| {
        b.iter(|| render::page(&Input::new(&published, &view, &[], &cuts, now), Some(&site)).len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
