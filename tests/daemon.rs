//! `flowd serve` end to end: the real binary on port 0, driven over HTTP.
//!
//! Idempotent ingest (also across a restart), 4xx naming the field with nothing
//! stored, the plan version advancing after a capacity change (and every served plan
//! passing the independent checker), Prometheus exposition accepted by `promtool`,
//! the OpenAPI document, bearer tokens, the config file, and clean SIGTERM shutdown.

use flow_core::check;
use flow_core::generate::Size;
use serde_json::{Value, json};

use crate::live::{Daemon, audit_trail, full_state, plan_and_seq, replay};
use crate::support::{flowd, scenario, scenario_file, text};

fn discharge(id: &str, patient: &str) -> Value {
    json!({"id": id, "at": "2026-12-07T09:00:00Z", "type": "discharge", "patient": patient})
}

#[test]
fn events_are_idempotent_also_across_restarts() {
    let s = scenario(Size::Tiny, 11);
    let (dir, path) = scenario_file(&s);
    let data = dir.path().join("data");
    let patient = s.inpatients[0].id.clone();

    let d = Daemon::start(&path, &data, &[]);
    d.wait_ready();
    let mut http = d.http();
    let r = http
        .post("/v1/events", &discharge("e-1", &patient))
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["results"][0]["outcome"], "applied");
    let r = http
        .post("/v1/events", &discharge("e-1", &patient))
        .unwrap();
    assert_eq!(r.json()["results"][0]["outcome"], "duplicate");
    assert_eq!(r.json()["duplicates"], 1);
    // A batch mixing a repeat, a new event and the same new event twice.
    let batch = json!([
        discharge("e-1", &patient),
        discharge("e-2", "nobody"),
        discharge("e-2", "nobody")
    ]);
    let r = http.post("/v1/events", &batch).unwrap().json();
    assert_eq!(r["results"][0]["outcome"], "duplicate");
    assert_eq!(r["results"][1]["outcome"], "rejected");
    assert_eq!(r["results"][1]["reason"], "patient_not_in");
    assert_eq!(r["results"][2]["outcome"], "duplicate");
    let state = http.get("/v1/state").json();
    assert_eq!(state["events_applied"], 1);
    assert_eq!(state["events_rejected"], 1);
    assert_eq!(d.terminate().code(), Some(0), "SIGTERM exits 0");

    let d = Daemon::start(&path, &data, &[]);
    d.wait_ready();
    let mut http = d.http();
    let r = http
        .post("/v1/events", &discharge("e-1", &patient))
        .unwrap()
        .json();
    assert_eq!(r["results"][0]["outcome"], "duplicate");
    assert_eq!(r["results"][0]["seq"], 1);
    let state = http.get("/v1/state").json();
    assert_eq!(state["events_applied"], 1);
    assert_eq!(state["last_seq"], 2);
    let trail = audit_trail(&mut http);
    assert_eq!(trail.len(), 2);
    assert_eq!(
        trail[0]["source"].as_str().unwrap().split(':').next(),
        Some("http")
    );
    assert_eq!(full_state(&mut http).1, replay(&s, &trail, None));
    assert_eq!(d.terminate().code(), Some(0));
}

#[test]
fn bad_input_gets_4xx_naming_the_field_and_nothing_is_stored() {
    let s = scenario(Size::Tiny, 12);
    let (dir, path) = scenario_file(&s);
    let d = Daemon::start(
        &path,
        &dir.path().join("data"),
        &["--max-body-bytes", "2000"],
    );
    d.wait_ready();
    let mut http = d.http();
    let ward = &s.wards[0].id;
    let good = discharge("ok-1", &s.inpatients[0].id);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"at": "2026-12-07T09:00:00Z", "type": "discharge", "patient": "p"}),
            "id",
        ),
        (
            json!({"id": "x", "at": "soon", "type": "discharge", "patient": "p"}),
            "at",
        ),
        (
            json!({"id": "x", "at": "2026-12-07T09:00:00Z", "type": "teleport"}),
            "type",
        ),
        (
            json!({"id": "x", "at": "2026-12-07T09:00:00Z", "type": "transfer", "patient": "p",
                "ward": "no-such-ward"}),
            "ward",
        ),
        (
            json!({"id": "x", "at": "2026-12-07T09:00:00Z", "type": "admit", "patient": "p",
                "ward": ward, "expected_discharge": "2026-12-09", "route": "by-air"}),
            "route",
        ),
        (
            json!({"id": "x", "at": "2026-12-07T09:00:00Z", "type": "ward_beds", "ward": ward,
                "beds": "many", "from": "2026-12-08", "to": "2026-12-09"}),
            "beds",
        ),
        (
            json!([good.clone(), {"id": "y", "at": "2026-12-07T09:00:00Z", "type": "trauma_arrival",
                "site": "atlantis", "minutes_est": 60, "urgency": "urgent"}]),
            "[1].site",
        ),
        (json!([good.clone(), 7]), "[1]"),
        (json!("an event"), ""),
    ];
    for (body, want) in cases {
        let r = http.post("/v1/events", &body).unwrap();
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let v = r.json();
        let paths: Vec<&str> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&want), "{body}: want {want:?} in {paths:?}");
        assert!(v["error"].as_str().unwrap().contains(want), "{v}");
    }
    let r = http.request("POST", "/v1/events", b"{\"id\": ").unwrap();
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("line 1"));
    let big = Value::Array(vec![good; 40]);
    let r = http.post("/v1/events", &big).unwrap();
    assert_eq!(r.status, 413, "{}", r.text());

    // Nothing of any refused request was stored.
    assert!(audit_trail(&mut http).is_empty());
    let state = http.get("/v1/state").json();
    assert_eq!(state["events_applied"], 0);
    assert_eq!(state["last_seq"], 0);
    // The metrics counted them as invalid.
    let metrics = http.get("/metrics").text();
    assert!(
        metrics.contains("flowd_events_ingested_total{outcome=\"invalid\",type=\"discharge\"} 4"),
        "{metrics}"
    );
    assert_eq!(d.terminate().code(), Some(0));
}

#[test]
fn plan_version_advances_after_a_capacity_change_and_plans_pass_the_checker() {
    let s = scenario(Size::Tiny, 13);
    let (dir, path) = scenario_file(&s);
    let d = Daemon::start(&path, &dir.path().join("data"), &[]);
    d.wait_ready();
    let mut http = d.http();
    let (plan, seq) = plan_and_seq(&mut http);
    let v1 = plan.version.unwrap();
    assert_eq!(seq, 0);
    assert!(plan.generated_at.is_some());
    assert!(check::check(&s, &plan).is_ok());

    // Close most of the surgical beds for three nights: capacity changes.
    let ward = s.wards.iter().find(|w| w.kind == "surgical").unwrap();
    let e = json!({"id": "beds-1", "at": "2026-12-07T06:00:00Z", "type": "ward_beds",
                   "ward": ward.id, "beds": 1, "from": "2026-12-07", "to": "2026-12-09"});
    assert_eq!(http.post("/v1/events", &e).unwrap().status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (plan, seq) = loop {
        let (plan, seq) = plan_and_seq(&mut http);
        if plan.version.unwrap() > v1 && seq >= 1 {
            break (plan, seq);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "plan version did not advance"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (view, state) = full_state(&mut http);
    assert_eq!(view["plan_version"], plan.version.unwrap());
    let w = view["wards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == ward.id.as_str())
        .unwrap();
    assert_eq!(w["beds"], 1);
    let trail = audit_trail(&mut http);
    let at_plan = replay(&s, &trail, Some(seq));
    assert_eq!(at_plan, state);
    let report = check::check(&state.scenario(), &plan);
    assert!(report.is_ok(), "{}", check::render_text(&report));

    let changes = http.get(&format!("/v1/plan/changes?since={v1}"));
    assert_eq!(changes.status, 200, "{}", changes.text());
    let c = changes.json();
    assert_eq!(c["since"], v1);
    assert!(c["moved"].is_array() && c["added"].is_array() && c["cancelled"].is_array());
    assert_eq!(http.get("/v1/plan/changes?since=999").status, 400);
    assert_eq!(d.terminate().code(), Some(0));
}

#[test]
fn metrics_pass_promtool_and_carry_no_identifiers() {
    let s = scenario(Size::Tiny, 14);
    let (dir, path) = scenario_file(&s);
    let d = Daemon::start(&path, &dir.path().join("data"), &[]);
    d.wait_ready();
    let mut http = d.http();
    let patient = s.inpatients[0].id.clone();
    let case = s.waiting_list[0].id.clone();
    let events = json!([
        discharge("m-1", &patient),
        {"id": "m-2", "at": "2026-12-07T10:00:00Z", "type": "case_done", "case": case},
        {"id": "m-3", "at": "2026-12-07T10:05:00Z", "type": "trauma_arrival",
         "site": s.sites[0].id, "minutes_est": 90, "urgency": "immediate"}
    ]);
    assert_eq!(http.post("/v1/events", &events).unwrap().status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while http.get("/v1/state").json()["plan_seq"] != 3 {
        assert!(std::time::Instant::now() < deadline, "no re-plan");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let metrics = http.get("/metrics").text();
    for name in [
        "flowd_pool_beds",
        "flowd_pool_occupied_beds",
        "flowd_pool_emergency_reserve_beds",
        "flowd_pool_forecast_occupied_beds",
        "flowd_theatre_booked_seconds",
        "flowd_theatre_reserved_seconds",
        "flowd_theatre_trauma_used_seconds",
        "flowd_waiting_list_cases",
        "flowd_avoidable_breaches",
        "flowd_solve_duration_seconds_bucket",
        "flowd_solves_total{status=\"ok\"}",
        "flowd_events_ingested_total{outcome=\"applied\",type=\"case_done\"} 1",
        "flowd_event_to_plan_seconds_count",
        "flowd_store_commit_seconds_count",
        "flowd_plan_version",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
    for id in [&patient, &case, &"m-1".to_string()] {
        assert!(!metrics.contains(id.as_str()), "{id} leaked into metrics");
    }
    let log = std::fs::read_to_string(&d.log).unwrap();
    assert!(
        !log.contains(&patient) && !log.contains(&case),
        "identifier in the log"
    );

    match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(metrics.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool check metrics:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool missing in CI: .ci/run installs it"
            );
            eprintln!(
                "NOTE: promtool not found; skipping `promtool check metrics` (apt-get install prometheus; CI installs it)"
            );
        }
    }
    assert_eq!(d.terminate().code(), Some(0));
}

#[test]
fn openapi_health_token_and_config_file() {
    let s = scenario(Size::Tiny, 15);
    let (dir, path) = scenario_file(&s);
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let config = dir.path().join("flowd.toml");
    std::fs::write(
        &config,
        format!(
            "token_file = {:?}\nsnapshot_every = 5\nsolve_time_limit_s = 10.0\n",
            token.to_str().unwrap()
        ),
    )
    .unwrap();
    let d = Daemon::start(
        &path,
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    d.wait_ready();
    let mut http = d.http();
    assert_eq!(http.get("/healthz").text(), "ok\n");
    let doc = http.get("/openapi.json").json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/v1/events"]["post"].is_object());

    let e = discharge("t-1", &s.inpatients[0].id);
    let r = http.post("/v1/events", &e).unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(http.get("/v1/events").status, 401);
    assert_eq!(http.get("/v1/state?full=true").status, 401);
    assert_eq!(http.get("/v1/plan").status, 200, "reads stay open");
    let mut authed = d.http().with_token("s3cret");
    assert_eq!(authed.post("/v1/events", &e).unwrap().status, 200);
    assert_eq!(authed.get("/v1/events").status, 200);
    assert_eq!(d.terminate().code(), Some(0));

    // Without a token, a non-loopback address is refused.
    let out = flowd(
        &[
            "serve",
            "--scenario",
            &path,
            "--data-dir",
            dir.path().join("other").to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--token-file"), "{}", text(&out).1);
    // A store belongs to its scenario.
    let other = scenario(Size::Tiny, 16);
    let (_dir2, other_path) = scenario_file(&other);
    let out = flowd(
        &[
            "serve",
            "--scenario",
            &other_path,
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("another scenario"),
        "{}",
        text(&out).1
    );
}

#[test]
fn unknown_fields_warn_or_with_strict_are_refused() {
    let s = scenario(Size::Tiny, 13);
    let (dir, path) = scenario_file(&s);
    let typo = json!({"id": "t-1", "at": "2026-12-07T09:00:00Z", "type": "discharge",
                      "patient": s.inpatients[0].id, "pationt": "p"});

    // By default: stored, with a warning naming the field.
    let d = Daemon::start(&path, &dir.path().join("data"), &[]);
    d.wait_ready();
    let mut http = d.http();
    let r = http.post("/v1/events", &typo).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["accepted"], 1);
    assert_eq!(v["warnings"][0]["path"], "pationt");
    assert!(
        v["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean patient?"),
        "{v}"
    );
    assert_eq!(d.terminate().code(), Some(0));

    // With --strict: 400 naming the field, nothing stored.
    let d = Daemon::start(&path, &dir.path().join("strict"), &["--strict"]);
    d.wait_ready();
    let mut http = d.http();
    let r = http.post("/v1/events", &typo).unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["path"], "pationt");
    assert!(audit_trail(&mut http).is_empty());
    let mut good = typo.clone();
    good.as_object_mut().unwrap().remove("pationt");
    assert_eq!(http.post("/v1/events", &good).unwrap().status, 200);
    assert_eq!(d.terminate().code(), Some(0));

    // A scenario with a misspelt field: the strict daemon does not start.
    let mut value = serde_json::to_value(&s).unwrap();
    value["wards"][0]["closurez"] = json!([]);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, value.to_string()).unwrap();
    let out = flowd(
        &[
            "serve",
            "--strict",
            "--scenario",
            bad.to_str().unwrap(),
            "--data-dir",
            dir.path().join("bad-data").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .1
            .contains("wards[0].closurez: unknown field (did you mean closures?)"),
        "{}",
        text(&out).1
    );
}

#[test]
fn a_network_daemon_serves_transfers_and_exports_link_use() {
    let s = scenario(Size::Network, 3);
    let (dir, path) = scenario_file(&s);
    let d = Daemon::start(&path, &dir.path().join("data"), &[]);
    d.wait_ready();
    let mut http = d.http();
    let (plan, _) = plan_and_seq(&mut http);
    let report = check::check(&s, &plan);
    assert!(report.is_ok(), "{}", check::render_text(&report));
    assert!(!plan.transfers.is_empty(), "the live plan moves patients");
    let network = plan.network.as_ref().unwrap();
    assert!(!network.links.is_empty() && !network.reserve.is_empty());
    let raw = http.get("/v1/plan").json();
    assert!(
        raw["transfers"][0]["why"].is_string(),
        "{}",
        raw["transfers"][0]
    );

    let metrics = http.get("/metrics").text();
    let first = &network.links[0];
    let night = s.day_index(first.date);
    let line = format!(
        "flowd_network_link_moves{{from=\"{}\",night=\"{night}\",to=\"{}\"}} {}",
        first.from, first.to, first.used
    );
    assert!(metrics.contains(&line), "{line} missing");
    for name in [
        "flowd_network_link_cap{from=\"north\",to=\"hub\"} 4",
        "flowd_network_pooled_reserve_beds{kind=\"trauma\",pools=\"central+north+south\"}",
        "flowd_network_separate_reserve_beds{kind=\"trauma\",pools=\"central+north+south\"}",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
    for t in &plan.transfers {
        assert!(!metrics.contains(&t.case), "case id in metrics");
    }

    // The dashboard shows the same link use and the pooled reserve tonight.
    let page = http.get("/dashboard").text();
    assert!(
        page.contains("<section id=\"network\""),
        "no network section"
    );
    let moved = format!("{} patients moved in all", plan.transfers.len());
    assert!(page.contains(&moved), "{moved} missing");
    assert!(page.contains("North Trauma Unit → Elective Surgical Hub"));
    let tonight = network
        .reserve
        .iter()
        .find(|r| r.date == s.start && r.kind == "trauma")
        .unwrap();
    // Freed: apart, less the larger of pooled and what each pool keeps itself.
    let kept: u32 = plan
        .occupancy
        .iter()
        .filter(|o| o.date == s.start && o.kind == "trauma" && tonight.pools.contains(&o.site))
        .map(|o| o.emergency_reserve)
        .sum();
    let row = format!(
        "<td>{}</td><td>{}</td><td>{}</td>",
        tonight.separate,
        tonight.pooled,
        tonight.separate.saturating_sub(kept.max(tonight.pooled))
    );
    assert!(page.contains(&row), "{row} missing");
    // A site without links shows none, and a scenario without a network no section.
    let west = http.get("/dashboard?site=west").text();
    assert!(
        !west.contains("→ Elective Surgical Hub</th><td>25"),
        "central's link at west"
    );
    assert_eq!(d.terminate().code(), Some(0));
}
