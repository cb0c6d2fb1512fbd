//! `flowd simulate`: replications in parallel, then the table or JSON the CLI prints.
//!
//! flow-core computes each replication purely from (seed, run index); here rayon spreads
//! the runs over the machine's cores and collects the outcomes *in run order*, so the
//! summary is the same, bit for bit, whatever the thread count (`RAYON_NUM_THREADS`).
//! A progress bar (indicatif) is drawn on standard error for long jobs when it is a
//! terminal, and never otherwise.

use std::fmt::Write as _;
use std::io::IsTerminal;

use flow_core::simulate::{RunOutcome, Simulator, Summary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde_json::{Map, Value, json};

/// Jobs with at least this many runs get a progress bar (on a terminal).
const PROGRESS_MIN_RUNS: u64 = 100;

/// A progress bar over `len` runs labelled `label`: drawn on standard error when it is
/// a terminal and the job is long, hidden otherwise.
pub fn progress(len: u64, label: &str) -> ProgressBar {
    if len < PROGRESS_MIN_RUNS || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} runs, {eta} left")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar
}

/// Runs replications `0..runs` of `sim` in parallel, returned in run order.
pub fn replicate_all(sim: &Simulator, runs: u64, bar: &ProgressBar) -> Vec<RunOutcome> {
    (0..runs)
        .into_par_iter()
        .map(|run| {
            let outcome = sim.replicate(run);
            bar.inc(1);
            outcome
        })
        .collect()
}

/// `{"<name>": {"mean": .., "ci95": [lo, hi]}, …}` for every figure of `summary`.
pub fn figures_json(summary: &Summary) -> Value {
    let mut figures = Map::new();
    for f in &summary.figures {
        figures.insert(
            f.name.clone(),
            json!({"mean": f.mean, "ci95": [f.ci95[0], f.ci95[1]]}),
        );
    }
    Value::Object(figures)
}

/// `simulate --json`: `{"runs": N, "figures": {"<name>": {"mean", "ci95": [lo, hi]}}}`.
pub fn summary_json(summary: &Summary) -> Value {
    json!({"runs": summary.runs, "figures": figures_json(summary)})
}

/// What each figure means, for the table.
fn describe(name: &str) -> &'static str {
    match name {
        "elective_cancellations" => "booked electives cancelled on the day",
        "cancelled_no_bed" => "  … no bed free when due in theatre",
        "cancelled_no_theatre_time" => "  … list ran out of time",
        "electives_done" => "elective cases operated",
        "elective_minutes_done" => "elective theatre minutes operated",
        "session_overrun_minutes" => "minutes elective lists overran",
        "avoidable_breaches" => "due in horizon, not operated in time",
        "bed_overflow_patient_nights" => "patient-nights without a bed of their pool",
        "boarding_hours" => "hours emergency patients boarded in A&E",
        "twelve_hour_waits" => "emergency patients waiting ≥ 12 h for a bed",
        "emergency_admissions" => "emergency admissions",
        "outlied_admissions" => "emergency admissions outlied",
        "trauma_cases" => "emergency theatre cases",
        "trauma_window_breaches" => "operated outside NCEPOD / 36 h window",
        "hip_fracture_breaches" => "  … hip fractures past 36 h",
        "trauma_wait_hours" => "hours emergency cases waited for theatre",
        "on_call_cases" => "cases operated out of hours by on-call team",
        "emergency_minutes_in_elective_lists" => "emergency minutes inside elective lists",
        "mean_bed_occupancy" => "mean midnight bed occupancy",
        "network_transfers" => "emergency patients moved into lent beds",
        "refused_transfers" => "patient-nights boarding with every lent bed full",
        "repatriations" => "trauma patients returned from the centre to their unit",
        _ => "peak midnight demand ÷ open beds",
    }
}

/// The human table of `simulate`: one line per figure, mean and 95% interval.
pub fn summary_table(title: &str, summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "  {:<38}{:>12}  {:<23}",
        "figure (per run)", "mean", "95% CI"
    );
    for f in &summary.figures {
        let d = decimals(f.mean);
        let ci = format!("[{:.d$}, {:.d$}]", f.ci95[0], f.ci95[1]);
        let _ = writeln!(
            out,
            "  {:<38}{:>12.d$}  {:<23}  {}",
            f.name,
            f.mean,
            ci,
            describe(&f.name)
        );
    }
    out
}

/// Decimals to show a figure of this size with: 3 below 10 (ratios, rare events),
/// 1 above.
pub fn decimals(x: f64) -> usize {
    if x.abs() < 10.0 { 3 } else { 1 }
}

/// `x` with [`decimals`] of `like`.
pub fn num(x: f64, like: f64) -> String {
    if x.is_finite() {
        format!("{x:.d$}", d = decimals(like))
    } else {
        "–".to_string()
    }
}
