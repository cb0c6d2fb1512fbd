//! `flowd simulate` and `flowd compare` end to end: the JSON shape, determinism (same
//! seed and any thread count give the same bytes), the table, the chart file, and a
//! clear failure on a plan that does not belong to the scenario.

use std::process::{Command, Output, Stdio};

use flow_core::generate::Size;
use serde_json::Value;

use crate::support::{flowd, flowd_path, scenario, scenario_file, text};

/// Runs `flowd args…` with `RAYON_NUM_THREADS=threads`.
fn flowd_threads(args: &[&str], threads: usize) -> Output {
    Command::new(flowd_path())
        .args(args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run flowd")
}

/// A tiny scenario and its greedy plan, written to a temporary folder.
fn tiny_files() -> (tempfile::TempDir, String, String) {
    let s = scenario(Size::Tiny, 6);
    let (dir, path) = scenario_file(&s);
    let plan_path = dir.path().join("plan.json");
    let plan = flow_core::greedy::plan(&s);
    std::fs::write(&plan_path, serde_json::to_vec(&plan).expect("json")).expect("write plan");
    let plan_path = plan_path.to_string_lossy().into_owned();
    (dir, path, plan_path)
}

#[test]
fn simulate_json_has_every_figure_with_an_interval() {
    let (_dir, s, p) = tiny_files();
    let out = flowd(&["simulate", &s, &p, "--runs", "20", "--json"], b"");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["runs"], 20);
    let figures = v["figures"].as_object().unwrap();
    for name in [
        "elective_cancellations",
        "bed_overflow_patient_nights",
        "boarding_hours",
        "twelve_hour_waits",
        "trauma_window_breaches",
        "elective_minutes_done",
    ] {
        let f = &figures[name];
        let mean = f["mean"].as_f64().unwrap_or_else(|| panic!("{name}: {f}"));
        let ci = f["ci95"].as_array().unwrap();
        assert_eq!(ci.len(), 2, "{name}");
        let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
        assert!(lo <= mean && mean <= hi, "{name}: {lo} ≤ {mean} ≤ {hi}");
    }
    assert!(
        figures.keys().any(|k| k.starts_with("peak_occupancy[")),
        "peak occupancy per pool: {:?}",
        figures.keys()
    );
    assert!(figures["elective_minutes_done"]["mean"].as_f64().unwrap() > 0.0);
}

#[test]
fn simulate_is_deterministic_whatever_the_thread_count() {
    let (_dir, s, p) = tiny_files();
    let args = ["simulate", &s, &p, "--runs", "20", "--seed", "4", "--json"];
    let one = flowd_threads(&args, 1);
    let two = flowd_threads(&args, 2);
    let again = flowd_threads(&args, 2);
    assert!(one.status.success(), "{}", text(&one).1);
    assert_eq!(one.stdout, two.stdout, "1 thread vs 2 threads");
    assert_eq!(two.stdout, again.stdout, "same seed, same output");
    let other = flowd_threads(
        &["simulate", &s, &p, "--runs", "20", "--seed", "5", "--json"],
        2,
    );
    assert_ne!(one.stdout, other.stdout, "another seed, other figures");
}

#[test]
fn simulate_prints_a_table() {
    let (_dir, s, p) = tiny_files();
    let out = flowd(&["simulate", &s, &p, "--runs", "20"], b"");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("20 runs"), "{stdout}");
    for name in ["elective_cancellations", "boarding_hours", "95% CI"] {
        assert!(stdout.contains(name), "{name} missing:\n{stdout}");
    }
    assert!(
        !stderr.contains("runs,"),
        "no progress bar off a terminal: {stderr}"
    );
}

#[test]
fn simulate_refuses_a_plan_of_another_scenario() {
    let (dir, s, _) = tiny_files();
    let other = scenario(Size::Tiny, 7);
    let mut plan = flow_core::greedy::plan(&other);
    plan.sessions[0].theatre = "no-such-theatre".into();
    let path = dir.path().join("other.json");
    std::fs::write(&path, serde_json::to_vec(&plan).unwrap()).unwrap();
    let out = flowd(
        &["simulate", &s, path.to_str().unwrap(), "--runs", "5"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("sessions[0].theatre"),
        "{}",
        text(&out).1
    );

    let bad = flowd(&["simulate", &s, "/nonexistent/plan.json"], b"");
    assert_eq!(bad.status.code(), Some(2));
    let zero = flowd(&["simulate", &s, &s, "--runs", "0"], b"");
    assert_eq!(zero.status.code(), Some(2));
}

#[test]
fn compare_prints_policies_and_writes_the_chart() {
    let (dir, s, _) = tiny_files();
    let chart = dir.path().join("policies.svg");
    let out = flowd(
        &[
            "compare",
            &s,
            "--runs",
            "10",
            "--quantiles",
            "0.5,0.99",
            "--chart",
            chart.to_str().unwrap(),
        ],
        b"",
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for policy in ["dedicated", "flexible", "hybrid q=0.90", "q=0.50", "q=0.99"] {
        assert!(stdout.contains(policy), "{policy} missing:\n{stdout}");
    }
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.contains("cancellations"));

    let json = flowd(
        &["compare", &s, "--runs", "5", "--quantiles", "0.5", "--json"],
        b"",
    );
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let policies = v["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 4);
    assert!(policies[0]["figures"]["elective_cancellations"]["ci95"].is_array());

    let bad = flowd(&["compare", &s, "--quantiles", "1.5"], b"");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn simulate_and_compare_have_help() {
    for sub in ["simulate", "compare"] {
        let out = flowd(&[sub, "--help"], b"");
        assert!(out.status.success(), "{sub} --help");
        assert!(text(&out).0.contains("--runs"), "{sub} --help");
    }
}

#[test]
fn compare_network_puts_each_site_alone_beside_the_network_and_free_pooling() {
    let s = scenario(Size::Network, 2);
    let (_dir, path) = scenario_file(&s);
    let out = flowd(
        &["compare", &path, "--network", "--runs", "4", "--json"],
        b"",
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let policies = v["policies"].as_array().unwrap();
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alone", "network", "free pooling"]);
    let field = |i: usize, f: &str| policies[i][f].as_u64().unwrap();
    for i in 0..3 {
        assert_eq!(policies[i]["plan_ok"], true, "{}", names[i]);
    }
    // Alone moves nobody and lends no bed; linked, the network moves and lends.
    assert_eq!(field(0, "transfers"), 0);
    assert_eq!(policies[0]["figures"]["network_transfers"]["mean"], 0.0);
    assert!(field(1, "transfers") > 0);
    assert!(
        policies[1]["figures"]["network_transfers"]["mean"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // Free pooling lifts the caps: lent beds are used at least once in all.
    assert!(
        policies[2]["figures"]["network_transfers"]["mean"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(policies[1]["network"], "network");

    let table = flowd(&["compare", &path, "--network", "--runs", "2"], b"");
    let (stdout, stderr) = text(&table);
    assert!(table.status.success(), "{stderr}");
    for head in ["alone", "network", "free pooling", "moves", "lent beds"] {
        assert!(stdout.contains(head), "{head} missing:\n{stdout}");
    }

    // A scenario without a network is refused with a reason.
    let (_tiny_dir, tiny, _) = tiny_files();
    let out = flowd(&["compare", &tiny, "--network"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--network"), "{}", text(&out).1);
}
