//! `flowd compare`: one trust planned under several emergency policies, each plan
//! simulated, and the trade-off between cancellations, breaches and utilisation shown
//! as a table, JSON and an SVG chart.
//!
//! The policies are scenario transforms from `flow_core::simulate::policy` (dedicated
//! emergency theatres, flexible reserve inside elective lists, the hybrid the scenario
//! describes, and a sweep of the bed reserve quantile; with `--network`, each site of
//! a clinical network alone, the network, and free pooling). Every variant is planned by
//! [`planner`], checked, and simulated with the same seed, so run r of every variant
//! meets the same emergencies (common random numbers).

use std::fmt::Write as _;
use std::path::Path;

use flow_core::check;
use flow_core::simulate::policy::{NetworkPolicy, Variant};
use flow_core::simulate::{SimOptions, Simulator, Summary};
use flow_core::{Plan, Scenario};
use plotters::prelude::*;
use serde_json::{Value, json};

use crate::simulate::{figures_json, num, progress, replicate_all};

/// The planner every policy variant is planned with: flow-core's optimiser with its
/// default options, so each policy is judged by the best plan it allows.
pub fn planner(scenario: &Scenario) -> Result<Plan, flow_core::PlanError> {
    flow_core::plan(scenario, &flow_core::PlanOptions::default())
}

/// One policy's plan and simulated outcomes.
#[derive(Debug, Clone)]
pub struct Row {
    /// The policy.
    pub variant: Variant,
    /// Cases the plan books.
    pub booked_cases: usize,
    /// Avoidable breaches the plan itself makes (checker KPI).
    pub planned_breaches: usize,
    /// Whether the plan passes every hard constraint of its (transformed) scenario.
    pub plan_ok: bool,
    /// Overdue cases the plan books (checker KPI).
    pub overdue_booked: usize,
    /// Moves between sites the plan makes, and their travel minutes.
    pub transfers: usize,
    pub travel_min: u64,
    /// Elective minutes operated per run ÷ the original scenario's bookable minutes.
    pub utilisation: f64,
    /// The simulated figures.
    pub summary: Summary,
}

/// Σ `⌊cap × minutes⌋` over the scenario's elective lists inside the horizon: the
/// common denominator of every variant's utilisation.
fn bookable_minutes(scenario: &Scenario) -> f64 {
    let cap = scenario.policy.theatre_utilisation_cap;
    scenario
        .theatres
        .iter()
        .filter(|t| !t.emergency)
        .flat_map(|t| &t.sessions)
        .filter(|s| scenario.day_in_horizon(s.date).is_some())
        .map(|s| (cap * f64::from(s.minutes) + 1e-9).floor())
        .sum()
}

/// Plans, checks and simulates `scenario` under every variant (runs `0..runs` each).
pub fn compare(
    scenario: &Scenario,
    variants: &[Variant],
    options: &SimOptions,
    runs: u64,
) -> anyhow::Result<Vec<Row>> {
    let bookable = bookable_minutes(scenario);
    let bar = progress(runs * variants.len() as u64, "policies");
    let mut rows = Vec::with_capacity(variants.len());
    for variant in variants {
        bar.set_message(variant.name.clone());
        let transformed = variant.apply(scenario);
        let plan = planner(&transformed)
            .map_err(|e| anyhow::anyhow!("planning policy {}: {e}", variant.name))?;
        let report = check::check(&transformed, &plan);
        let sim = Simulator::new(&transformed, &plan, options)?;
        let outcomes = replicate_all(&sim, runs, &bar);
        let summary = sim.summarise(&outcomes);
        let done = summary.mean("elective_minutes_done");
        rows.push(Row {
            variant: variant.clone(),
            booked_cases: report.kpis.booked_cases,
            planned_breaches: report.kpis.avoidable_breaches,
            plan_ok: report.is_ok(),
            overdue_booked: report.kpis.overdue_booked,
            transfers: plan.transfers.len(),
            travel_min: plan.transfers.iter().map(|t| u64::from(t.travel_min)).sum(),
            utilisation: if bookable > 0.0 { done / bookable } else { 0.0 },
            summary,
        });
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// Mean ± half-width of the 95% interval of figure `name`.
fn cell(summary: &Summary, name: &str) -> String {
    match summary.figure(name) {
        Some(f) => format!(
            "{} ±{}",
            num(f.mean, f.mean),
            num((f.ci95[1] - f.ci95[0]) / 2.0, f.mean)
        ),
        None => "–".to_string(),
    }
}

const COLUMNS: [(&str, &str); 6] = [
    ("elective_cancellations", "cancelled"),
    ("avoidable_breaches", "avoid.breach"),
    ("trauma_window_breaches", "trauma breach"),
    ("boarding_hours", "boarding h"),
    ("twelve_hour_waits", "12h waits"),
    ("mean_bed_occupancy", "bed occ."),
];

/// Simulated figures the network comparison adds.
const NETWORK_COLUMNS: [(&str, &str); 2] = [
    ("network_transfers", "lent beds"),
    ("refused_transfers", "refused"),
];

/// The comparison table: one row per policy, simulated figures as mean ± 95% half-width.
/// Network variants add the plan's overdue bookings, moves and travel, and the
/// simulated use of lent beds.
pub fn table(title: &str, rows: &[Row]) -> String {
    let network = rows
        .iter()
        .any(|r| r.variant.network != NetworkPolicy::Linked);
    let columns: Vec<(&str, &str)> = if network {
        COLUMNS.iter().chain(&NETWORK_COLUMNS).copied().collect()
    } else {
        COLUMNS.to_vec()
    };
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = write!(
        out,
        "  {:<20}{:>8}{:>8}{:>8}",
        "policy", "booked", "breach", "util%"
    );
    if network {
        let _ = write!(out, "{:>9}{:>7}{:>8}", "overdue", "moves", "travel");
    }
    for (_, head) in &columns {
        let _ = write!(out, "{head:>18}");
    }
    let _ = writeln!(out);
    let _ = write!(
        out,
        "  {:<20}{:>8}{:>8}{:>8}",
        "", "(plan)", "(plan)", "(sim)"
    );
    if network {
        let _ = write!(out, "{:>9}{:>7}{:>8}", "(plan)", "(plan)", "(min)");
    }
    let _ = writeln!(out, "{:>18}", "(per run, sim)");
    for row in rows {
        let flag = if row.plan_ok { "" } else { " !" };
        let _ = write!(
            out,
            "  {:<20}{:>8}{:>8}{:>8.1}",
            format!("{}{flag}", row.variant.name),
            row.booked_cases,
            row.planned_breaches,
            row.utilisation * 100.0
        );
        if network {
            let _ = write!(
                out,
                "{:>9}{:>7}{:>8}",
                row.overdue_booked, row.transfers, row.travel_min
            );
        }
        for (name, _) in &columns {
            let _ = write!(out, "{:>18}", cell(&row.summary, name));
        }
        let _ = writeln!(out);
    }
    if rows.iter().any(|r| !r.plan_ok) {
        let _ = writeln!(
            out,
            "  ! the plan breaks a hard constraint (run `flowd check`)"
        );
    }
    out
}

/// `compare --json`: `{"runs": N, "policies": [{name, theatre, bed_quantile, …, figures}]}`.
pub fn json(rows: &[Row]) -> Value {
    let runs = rows.first().map_or(0, |r| r.summary.runs);
    let policies: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "name": r.variant.name,
                "theatre": r.variant.theatre.as_str(),
                "bed_quantile": r.variant.bed_quantile,
                "network": r.variant.network.as_str(),
                "booked_cases": r.booked_cases,
                "planned_avoidable_breaches": r.planned_breaches,
                "overdue_booked": r.overdue_booked,
                "transfers": r.transfers,
                "travel_min": r.travel_min,
                "plan_ok": r.plan_ok,
                "utilisation": r.utilisation,
                "figures": figures_json(&r.summary),
            })
        })
        .collect();
    json!({"runs": runs, "policies": policies})
}

/// Colour of a theatre (or network) policy in the chart.
fn colour(row: &Row) -> RGBColor {
    match row.variant.network {
        NetworkPolicy::Alone => return RGBColor(200, 60, 40),
        NetworkPolicy::Free => return RGBColor(40, 140, 60),
        NetworkPolicy::Linked => {}
    }
    match row.variant.theatre.as_str() {
        "dedicated" => RGBColor(200, 60, 40),
        "flexible" => RGBColor(40, 140, 60),
        _ => RGBColor(40, 80, 200),
    }
}

/// Writes the trade-off chart to `path` (SVG): cancellations, elective avoidable
/// breaches and trauma window breaches, each against elective utilisation, one point
/// per policy with its 95% interval; the bed quantile sweep is joined by a line.
pub fn chart(title: &str, rows: &[Row], path: &Path) -> std::io::Result<()> {
    draw(title, rows, path).map_err(|e| std::io::Error::other(format!("drawing chart: {e}")))
}

fn draw(title: &str, rows: &[Row], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1500, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let panels = root.split_evenly((1, 3));
    let specs = [
        ("elective_cancellations", "On-the-day cancellations"),
        ("avoidable_breaches", "Elective avoidable breaches"),
        ("trauma_window_breaches", "Trauma window breaches"),
    ];
    let xs: Vec<f64> = rows.iter().map(|r| r.utilisation * 100.0).collect();
    let (x_lo, x_hi) = span(&xs);
    for (area, (name, caption)) in panels.iter().zip(specs) {
        let points: Vec<(f64, f64, f64, f64)> = rows
            .iter()
            .zip(&xs)
            .map(|(r, &x)| {
                let f = r.summary.figure(name);
                let mean = f.map_or(0.0, |f| f.mean);
                let (lo, hi) = f.map_or((mean, mean), |f| (f.ci95[0], f.ci95[1]));
                (x, mean, lo, hi)
            })
            .collect();
        let ys: Vec<f64> = points.iter().flat_map(|p| [p.2, p.3]).collect();
        let (y_lo, y_hi) = span(&ys);
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 16))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x_lo..x_hi, 0.0f64.min(y_lo)..y_hi)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(238, 238, 238))
            .x_desc("elective utilisation, % of bookable minutes")
            .y_desc("per run (mean, 95% CI)")
            .draw()?;
        // The bed quantile sweep (hybrid), in quantile order.
        let mut sweep: Vec<(f64, (f64, f64))> = rows
            .iter()
            .zip(&points)
            .filter(|(r, _)| r.variant.theatre.as_str() == "hybrid")
            .map(|(r, p)| (r.variant.bed_quantile, (p.0, p.1)))
            .collect();
        sweep.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart.draw_series(LineSeries::new(
            sweep.iter().map(|s| s.1),
            RGBColor(40, 80, 200).mix(0.5),
        ))?;
        for (row, &(x, y, lo, hi)) in rows.iter().zip(&points) {
            let c = colour(row);
            chart.draw_series(std::iter::once(PathElement::new(vec![(x, lo), (x, hi)], c)))?;
            chart.draw_series(std::iter::once(Circle::new((x, y), 4, c.filled())))?;
            let label = if row.variant.theatre.as_str() == "hybrid" {
                format!("q={:.2}", row.variant.bed_quantile)
            } else {
                row.variant.theatre.as_str().to_string()
            };
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, y))
                    + Text::new(label, (7, -14), ("sans-serif", 11).into_font().color(&c)),
            ))?;
        }
    }
    root.present()?;
    Ok(())
}

/// A padded axis range covering `values`.
fn span(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.12).max(0.5);
    // Counts and rates are never negative: do not pad below zero.
    let low = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    (low, hi + pad)
}
