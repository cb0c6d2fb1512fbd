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
