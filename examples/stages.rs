//! Where the optimising planner's time goes: building the aggregate model, solving
//! it, and the whole plan (booking and repair are the difference), with model sizes.
//!
//! `cargo run --release --example stages -- large 1 3 [runs]`. Built with more
//! backends (`--features flow-core/cbc,flow-core/microlp`) it also times the solve
//! alone on each of them (60 s limit).

use std::time::Instant;

use flow_core::generate::{GenerateOptions, Size, generate};
use flow_core::ledger::Ledger;
use flow_core::model::{self, Backend, SolveOptions};
use flow_core::{PlanOptions, plan};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size: Size = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(Size::Medium);
    let first: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let last: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(first);
    let runs: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(3);
    for seed in first..=last {
        let s = generate(&GenerateOptions::new(size, seed));
        let (mut build, mut solve, mut total) = (Vec::new(), Vec::new(), Vec::new());
        let mut stats = None;
        let mut status = String::new();
        for _ in 0..runs {
            let t = Instant::now();
            let ledger = Ledger::new(&s);
            let agg = model::build(&ledger);
            build.push(t.elapsed().as_secs_f64());
            stats = Some(agg.stats());
            let t = Instant::now();
            let solved = model::solve(agg.model, &SolveOptions::default());
            solve.push(t.elapsed().as_secs_f64());
            if let Ok(x) = &solved {
                status = format!(
                    "{:?} objective {:.1} gap {:.4}",
                    x.status, x.objective, x.gap
                );
            }
            let t = Instant::now();
            let _ = plan(&s, &PlanOptions::default());
            total.push(t.elapsed().as_secs_f64());
        }
        let (b, so, to) = (median(build), median(solve), median(total));
        for backend in Backend::all_available().into_iter().skip(1) {
            let agg = model::build(&Ledger::new(&s));
            let options = SolveOptions {
                backend,
                time_limit: Some(60.0),
                ..SolveOptions::default()
            };
            let t = Instant::now();
            let solved = model::solve(agg.model, &options);
            let secs = t.elapsed().as_secs_f64();
            match solved {
                Ok(x) => println!(
                    "  {backend}: solve {secs:.3}s, {:?}, objective {:.1}, gap {:.4}",
                    x.status, x.objective, x.gap
                ),
                Err(e) => println!("  {backend}: {secs:.3}s, {e}"),
            }
        }
        println!(
            "{} seed {seed}: total {to:.3}s = build {b:.3}s ({:.1}%) + solve {so:.3}s ({:.1}%) + booking/repair {:.3}s; model {:?}; {status}",
            size.as_str(),
            100.0 * b / to,
            100.0 * so / to,
            to - b - so,
            stats.unwrap_or_default(),
        );
    }
}
