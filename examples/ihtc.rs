//! The planner on the IHTC-2024 public instances: import each instance, plan it with
//! the defaults, referee the plan with the independent checker, and print one Markdown
//! row per instance against the best-known competition solution (`best_known.csv`).
//!
//! `cargo run --release --example ihtc` (all of `../shared/benchmarks/ihtc2024/instances/`)
//! or `cargo run --release --example ihtc -- PATH/i03.json PATH/i10.json`. The
//! best-known figures are read from `best_known.csv` in the instances folder's parent.
//!
//! Columns: cases (mandatory/optional); avoidable breaches (the checker's count);
//! mandatory patients left unscheduled or booked after their due day; admitted patients
//! and total admission delay (Σ over admitted patients of admission day − release day)
//! for flow and for the best-known solution (`admitted`, `patient_delay`); the checker's
//! verdict (all hard constraints of flow, surgeons' daily minutes included) and the
//! planning time. The best-known solution also keeps the constraints flow cannot hold
//! yet (room gender and age mix, incompatible rooms, nurses), so it admits under
//! tighter rules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flow_core::check::check;
use flow_core::import::ihtc;
use flow_core::scenario::Priority;
use flow_core::{PlanOptions, plan};

const DEFAULT_DIR: &str = "../shared/benchmarks/ihtc2024/instances";

/// `admitted` and `patient_delay` of the best-known solution, by instance name.
fn best_known(path: &Path) -> HashMap<String, (u64, u64)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("no {} (best-known columns left empty)", path.display());
        return HashMap::new();
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(instance), Some(admitted), Some(delay)) =
        (col("instance"), col("admitted"), col("patient_delay"))
    else {
        eprintln!("{}: missing columns", path.display());
        return HashMap::new();
    };
    lines
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            Some((
                (*cells.get(instance)?).to_owned(),
                (
                    cells.get(admitted)?.parse().ok()?,
                    cells.get(delay)?.parse().ok()?,
                ),
            ))
        })
        .collect()
}

fn main() {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let files: Vec<PathBuf> = if args.is_empty() {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(DEFAULT_DIR) {
            Ok(dir) => dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) => {
                eprintln!("{DEFAULT_DIR}: {e}");
                std::process::exit(2);
            }
        };
        files.sort();
        files
    } else {
        args
    };
    let mut known_by_dir: HashMap<PathBuf, HashMap<String, (u64, u64)>> = HashMap::new();

    println!(
        "| instance | cases (mand./opt.) | avoidable breaches | mandatory late | admitted flow / best | admission delay flow / best (days) | check | time (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for file in &files {
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let csv = file
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
            .join("best_known.csv");
        let known = known_by_dir
            .entry(csv.clone())
            .or_insert_with(|| best_known(&csv));
        let (best_admitted, best_delay) = known
            .get(&name)
            .map_or(("–".to_owned(), "–".to_owned()), |(a, d)| {
                (a.to_string(), d.to_string())
            });
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                println!("| {name} | cannot read: {e} | | | | | | |");
                continue;
            }
        };
        let scenario = match ihtc::import(&text, &format!("ihtc-{name}"), ihtc::DEFAULT_START) {
            Ok(s) => s,
            Err(e) => {
                println!(
                    "| {name} | import failed: {} | | | | | | |",
                    e.to_string().replace('\n', "; ")
                );
                continue;
            }
        };
        let started = Instant::now();
        let planned = plan(&scenario, &PlanOptions::default());
        let seconds = started.elapsed().as_secs_f64();
        let p = match planned {
            Ok(p) => p,
            Err(e) => {
                println!("| {name} | plan failed: {e} | | | | | | {seconds:.2} |");
                continue;
            }
        };
        let report = check(&scenario, &p);

        let booked: HashMap<&str, chrono::NaiveDate> = p
            .sessions
            .iter()
            .flat_map(|s| s.cases.iter().map(move |c| (c.as_str(), s.date)))
            .collect();
        let mandatory = scenario
            .waiting_list
            .iter()
            .filter(|c| c.priority == Priority::P2)
            .count();
        let optional = scenario.waiting_list.len() - mandatory;
        let late = scenario
            .waiting_list
            .iter()
            .filter(|c| c.priority == Priority::P2)
            .filter(|c| match (booked.get(c.id.as_str()), c.due) {
                (Some(date), Some(due)) => *date > due,
                (None, _) => true,
                (Some(_), None) => false,
            })
            .count();
        let delay: i64 = scenario
            .waiting_list
            .iter()
            .filter_map(|c| {
                booked
                    .get(c.id.as_str())
                    .map(|d| (*d - c.earliest).num_days())
            })
            .sum();
        println!(
            "| {name} | {} ({mandatory}/{optional}) | {} | {late} | {} / {best_admitted} | {delay} / {best_delay} | {} | {seconds:.2} |",
            scenario.waiting_list.len(),
            report.kpis.avoidable_breaches,
            booked.len(),
            if report.is_ok() {
                "ok".to_owned()
            } else {
                format!("{} violation(s)", report.violations.len())
            },
        );
    }
}
