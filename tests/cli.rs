//! The `flowd` command line, run as a user would.

use flow_core::generate::Size;
use serde_json::Value;

use crate::support::{flowd, scenario, scenario_file, text};

#[test]
fn generate_is_seeded_and_validates() {
    let a = flowd(&["generate", "--size", "tiny", "--seed", "7"], b"");
    let b = flowd(&["generate", "--size", "tiny", "--seed", "7"], b"");
    let c = flowd(&["generate", "--size", "tiny", "--seed", "8"], b"");
    assert!(a.status.success(), "{}", text(&a).1);
    assert_eq!(a.stdout, b.stdout, "same seed, same scenario");
    assert_ne!(a.stdout, c.stdout, "another seed, another scenario");

    let v = flowd(&["validate", "-"], &a.stdout);
    let (out, err) = text(&v);
    assert!(v.status.success(), "{err}");
    assert!(out.contains("valid"), "one-line summary: {out}");
}

#[test]
fn generate_network_takes_movers_and_the_balanced_control() {
    let out = flowd(
        &[
            "generate", "--size", "network", "--movers", "10", "--seed", "3",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["name"], "generated-network-movers-10-seed-3");
    assert_eq!(s["sites"].as_array().unwrap().len(), 5);
    assert!(!s["network"]["links"].as_array().unwrap().is_empty());
    let v = flowd(&["validate", "-"], &out.stdout);
    assert!(v.status.success(), "{}", text(&v).1);

    let b = flowd(&["generate", "--size", "network", "--balanced"], b"");
    assert!(b.status.success(), "{}", text(&b).1);
    let s: Value = serde_json::from_slice(&b.stdout).unwrap();
    assert!(
        s["sites"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["role"] == "general")
    );

    let bad = flowd(&["generate", "--size", "network", "--movers", "101"], b"");
    assert!(!bad.status.success());
    let help = flowd(&["generate", "--help"], b"");
    let (out, _) = text(&help);
    assert!(out.contains("network") && out.contains("--movers") && out.contains("--balanced"));
}

#[test]
fn generate_writes_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let out = flowd(
        &["generate", "--size", "tiny", "-o", path.to_str().unwrap()],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let v = flowd(&["validate", path.to_str().unwrap()], b"");
    assert!(v.status.success(), "{}", text(&v).1);
}

#[test]
fn validate_names_every_bad_field() {
    let mut s = serde_json::to_value(scenario(Size::Tiny, 1)).unwrap();
    s["horizon_days"] = Value::from(0);
    s["wards"][0]["beds"] = Value::from(0);
    s["waiting_list"][3]["specialty"] = Value::from("astrology");
    s["policy"]["emergency_bed_quantile"] = Value::from(1.5);
    let out = flowd(&["validate", "--json", "-"], s.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let paths: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    for want in [
        "horizon_days",
        "wards[0].beds",
        "waiting_list[3].specialty",
        "policy.emergency_bed_quantile",
    ] {
        assert!(paths.contains(&want), "missing {want} in {paths:?}");
    }

    let human = flowd(&["validate", "-"], s.to_string().as_bytes());
    let (_, err) = text(&human);
    assert!(err.contains("waiting_list[3].specialty"), "{err}");
}

#[test]
fn validate_reports_json_syntax_position() {
    let out = flowd(
        &["validate", "-"],
        b"{\n  \"schema\": \"flow.scenario/1\",\n  oops\n}",
    );
    assert_eq!(out.status.code(), Some(1));
    let (_, err) = text(&out);
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = flowd(&["validate", "/nonexistent/scenario.json"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("/nonexistent/scenario.json"));
}

#[test]
fn greedy_plan_passes_the_checker() {
    let s = scenario(Size::Tiny, 3);
    let (dir, path) = scenario_file(&s);
    let plan_path = dir.path().join("plan.json");
    let plan = flowd(
        &[
            "plan",
            &path,
            "--strategy",
            "greedy",
            "-o",
            plan_path.to_str().unwrap(),
        ],
        b"",
    );
    assert!(plan.status.success(), "{}", text(&plan).1);
    let check = flowd(
        &["check", "--json", &path, plan_path.to_str().unwrap()],
        b"",
    );
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(check.status.code(), Some(0), "{report:#}");
    assert_eq!(report["ok"], true);
    assert!(report["kpis"].is_object());
}

#[test]
fn check_lists_each_violation_and_exits_1() {
    let s = scenario(Size::Tiny, 4);
    let (dir, path) = scenario_file(&s);
    let mut plan = flow_core::greedy::plan(&s);
    // Book the same case twice and a case nobody listed.
    let booked = plan
        .sessions
        .iter()
        .find_map(|x| x.cases.first().cloned())
        .expect("greedy books something");
    let target = plan
        .sessions
        .iter_mut()
        .rfind(|x| !x.cases.is_empty())
        .unwrap();
    target.cases.push(booked);
    target.cases.push("c-ghost".into());
    let plan_path = dir.path().join("bad.json");
    std::fs::write(&plan_path, serde_json::to_vec(&plan).unwrap()).unwrap();

    let out = flowd(&["check", &path, plan_path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let (stdout, _) = text(&out);
    assert!(stdout.contains("c-ghost"), "{stdout}");
}

#[test]
fn bad_bytes_never_panic() {
    let good = serde_json::to_vec(&scenario(Size::Tiny, 2)).unwrap();
    let mut inputs: Vec<Vec<u8>> = vec![Vec::new(), b"null".to_vec(), b"[]".to_vec()];
    for cut in [1, 10, 100, good.len() / 3, good.len() / 2, good.len() - 1] {
        inputs.push(good[..cut].to_vec());
    }
    // Deterministic pseudo-random bytes, and good text with bytes flipped.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..6 {
        let junk: Vec<u8> = (0..512)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        inputs.push(junk);
        let mut flipped = good.clone();
        for _ in 0..8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x as usize) % flipped.len();
            flipped[i] = x as u8;
        }
        inputs.push(flipped);
    }
    // Plans go to a real file: /dev/null is not always the device it should be.
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("plan.json");
    let out_path = out_path.to_str().unwrap();
    for input in &inputs {
        for args in [&["validate", "-"][..], &["plan", "-", "-o", out_path][..]] {
            let out = flowd(args, input);
            let (_, err) = text(&out);
            assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
            assert!(matches!(out.status.code(), Some(0..=2)), "{args:?}: {err}");
        }
    }
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["generate", "validate", "plan", "check", "demo", "serve"] {
        let out = flowd(&[sub, "--help"], b"");
        assert!(out.status.success(), "{sub} --help");
        assert!(text(&out).0.contains("Usage"), "{sub} --help");
    }
}

/// The IHTC-2024 instance i03, as published by the competition, from the shared
/// benchmarks beside the repository (`../shared/benchmarks/ihtc2024/`).
const IHTC_I03: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/benchmarks/ihtc2024/instances/i03.json"
);

#[test]
fn import_ihtc_gives_a_valid_scenario_that_plans_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("i03.scenario.json");
    let out_path = out_path.to_str().unwrap();
    let import = flowd(&["import", "ihtc", IHTC_I03, "-o", out_path], b"");
    assert!(import.status.success(), "{}", text(&import).1);
    assert!(text(&import).1.contains("45 cases"), "{}", text(&import).1);
    let validate = flowd(&["--strict", "validate", out_path], b"");
    assert_eq!(validate.status.code(), Some(0), "{}", text(&validate).1);
    let s: Value = serde_json::from_str(&std::fs::read_to_string(out_path).unwrap()).unwrap();
    assert_eq!(s["name"], "ihtc-i03");
    assert_eq!(s["surgeons"][0]["id"], "s0");
    assert_eq!(s["waiting_list"][1]["due"], "2026-12-20");

    // Another start, to standard output.
    let stdout = flowd(&["import", "ihtc", IHTC_I03, "--start", "2027-01-04"], b"");
    let s: Value = serde_json::from_slice(&stdout.stdout).unwrap();
    assert_eq!(s["start"], "2027-01-04");

    // The plan of the import passes the checker, surgeons' minutes included.
    let plan_path = dir.path().join("plan.json");
    let plan_path = plan_path.to_str().unwrap();
    let plan = flowd(&["plan", out_path, "-o", plan_path], b"");
    assert!(plan.status.success(), "{}", text(&plan).1);
    let check = flowd(&["check", out_path, plan_path], b"");
    assert_eq!(check.status.code(), Some(0), "{}", text(&check).0);
}

#[test]
fn import_ihtc_names_the_bad_field() {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(IHTC_I03).unwrap()).unwrap();
    v["patients"][3]["surgeon_id"] = Value::from("s9");
    let out = flowd(&["import", "ihtc", "-"], v.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains("patients[3].surgeon_id: unknown surgeon \"s9\""),
        "{}",
        text(&out).1
    );
    assert!(out.stdout.is_empty());
    let out = flowd(&["import", "ihtc", "-"], b"[1, 2");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("line 1"), "{}", text(&out).1);
}

#[test]
fn check_and_simulate_judge_plans_from_other_tools() {
    let s = scenario(Size::Tiny, 3);
    let (dir, path) = scenario_file(&s);
    let mut plan = serde_json::to_value(flow_core::greedy::plan(&s)).unwrap();
    plan["solver"]["objective"] = Value::Null;
    plan["solver"]["gap"] = Value::Null;
    for session in plan["sessions"].as_array_mut().unwrap() {
        let minutes = session["minutes"].as_u64().unwrap();
        session["minutes"] = Value::from(minutes as f64);
    }
    let plan_path = dir.path().join("theirs.json");
    let text_out = plan.to_string();
    assert!(text_out.contains(".0,"), "{text_out}");
    std::fs::write(&plan_path, &text_out).unwrap();
    let plan_path = plan_path.to_str().unwrap();
    let check = flowd(&["check", &path, plan_path], b"");
    assert_eq!(check.status.code(), Some(0), "{}", text(&check).1);
    let sim = flowd(&["simulate", &path, plan_path, "--runs", "3"], b"");
    assert_eq!(sim.status.code(), Some(0), "{}", text(&sim).1);

    // A fractional minute is an error naming the field.
    plan["sessions"][0]["minutes"] = Value::from(240.5);
    std::fs::write(plan_path, plan.to_string()).unwrap();
    let check = flowd(&["check", &path, plan_path], b"");
    assert_eq!(check.status.code(), Some(2));
    assert!(
        text(&check)
            .1
            .contains("sessions[0].minutes: expected integer, found 240.5"),
        "{}",
        text(&check).1
    );
}

#[test]
fn unknown_fields_are_warnings_or_with_strict_errors() {
    let s = scenario(Size::Tiny, 5);
    let mut v = serde_json::to_value(&s).unwrap();
    v["wards"][0]["closurez"] = serde_json::json!([]);
    v["policy"]["emergency_bed_quantil"] = Value::from(0.5);
    v["x-owner"] = Value::from("analytics");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let path = path.to_str().unwrap();
    let closurez = "wards[0].closurez: unknown field (did you mean closures?)";
    let quantil =
        "policy.emergency_bed_quantil: unknown field (did you mean emergency_bed_quantile?)";

    let out = flowd(&["validate", path], b"");
    assert_eq!(out.status.code(), Some(0));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains(closurez) && stderr.contains(quantil),
        "{stderr}"
    );
    assert!(!stderr.contains("x-owner"), "{stderr}");

    let out = flowd(&["validate", "--strict", path], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains(closurez), "{}", text(&out).1);

    let out = flowd(&["validate", "--json", path], b"");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["warnings"].as_array().unwrap().len(), 2);
    let out = flowd(&["--strict", "validate", "--json", path], b"");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"][1]["path"], "wards[0].closurez");

    let out = flowd(&["plan", "--strict", "--strategy", "greedy", path], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let plan_out = flowd(&["plan", "--strategy", "greedy", path], b"");
    assert_eq!(plan_out.status.code(), Some(0));
    assert!(text(&plan_out).1.contains(closurez));

    // Plans too.
    let mut plan: Value = serde_json::from_slice(&plan_out.stdout).unwrap();
    plan["solver"]["secs"] = Value::from(1);
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let (_keep, scenario_path) = scenario_file(&s);
    let out = flowd(&["check", &scenario_path, plan_path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).1.contains("solver.secs: unknown field"),
        "{}",
        text(&out).1
    );
    let out = flowd(
        &[
            "check",
            "--strict",
            &scenario_path,
            plan_path.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
}
