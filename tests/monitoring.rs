//! The shipped monitoring files: `deploy/prometheus/flowd.rules.yml` through
//! `promtool check rules` and its unit tests, the Grafana dashboard JSON checked for
//! shape, and Debian's real `prometheus` scraping a real flowd with the rules loaded,
//! where every Grafana panel query must return data. (Grafana itself is not packaged
//! in Debian, so the dashboard is checked through the queries it would send.)

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flow_core::generate::Size;
use serde_json::{Value, json};

use crate::live::{Daemon, Http};
use crate::support::{scenario, scenario_file};

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

/// `Some(program)` if it runs; in CI a missing tool fails, elsewhere it skips.
fn tool(program: &str) -> Option<&str> {
    match Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Some(program),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{program} missing in CI: scripts/setup installs it (Debian package prometheus)"
            );
            eprintln!("NOTE: {program} not found; skipping (apt-get install prometheus)");
            None
        }
    }
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}:\n{text}");
    text
}

#[test]
fn rules_pass_promtool_check_and_unit_tests() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let out = run_ok(
        Command::new(promtool)
            .args(["check", "rules"])
            .arg(deploy("prometheus/flowd.rules.yml")),
    );
    assert!(out.contains("SUCCESS"), "{out}");
    let out = run_ok(
        Command::new(promtool)
            .args(["test", "rules", "flowd.rules.test.yml"])
            .current_dir(deploy("prometheus")),
    );
    assert!(out.contains("SUCCESS"), "{out}");
    run_ok(
        Command::new(promtool)
            .args(["check", "config", "prometheus.example.yml"])
            .current_dir(deploy("prometheus")),
    );
    // Each alert the issue asks for is there.
    let rules = std::fs::read_to_string(deploy("prometheus/flowd.rules.yml")).unwrap();
    for alert in [
        "FlowdGeneralAcuteOccupancyHigh",
        "FlowdEmergencyReserveEroded",
        "FlowdForecastOverCapacity",
        "FlowdPlanStale",
        "FlowdSolvesFailing",
        "FlowdDown",
    ] {
        assert!(rules.contains(&format!("alert: {alert}")), "{alert}");
    }
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(deploy("grafana/flowd-dashboard.json")).expect("test I/O");
    serde_json::from_str(&text).expect("dashboard JSON")
}

/// Every panel query, with the dashboard variables replaced as Grafana's "All" does.
fn panel_queries(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("test I/O") {
        for t in p["targets"].as_array().expect("test I/O") {
            let expr = t["expr"].as_str().expect("test I/O");
            out.push((
                p["title"].as_str().expect("test I/O").to_string(),
                expr.replace("$site", ".*").replace("$kind", ".*"),
            ));
        }
    }
    out
}

/// Names a PromQL expression refers to that look like flowd's or the rules' own.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == '"' {
            // Skip label values.
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                i += 1;
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == '_' || bytes[i] == ':')
            {
                i += 1;
            }
            let word: String = bytes[start..i].iter().collect();
            if word.starts_with("flowd_") || word.contains(":flowd_") || word.starts_with("flowd:")
            {
                names.push(word);
            }
            continue;
        }
        i += 1;
    }
    names
}

#[test]
fn grafana_dashboard_is_well_formed() {
    let d = dashboard();
    assert_eq!(d["uid"], "flowd-overview");
    let vars = d["templating"]["list"].as_array().unwrap();
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("${name}"))
    };
    assert_eq!(var("DS_PROMETHEUS")["type"], "datasource");
    for name in ["site", "kind"] {
        let q = var(name)["definition"].as_str().unwrap();
        assert!(q.starts_with("label_values("), "{q}");
        assert_eq!(var(name)["datasource"]["uid"], "${DS_PROMETHEUS}");
    }
    let mut ids = BTreeSet::new();
    for p in d["panels"].as_array().unwrap() {
        let title = p["title"].as_str().unwrap();
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "duplicate id at {title}"
        );
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap(), g["w"].as_u64().unwrap());
        assert!(w >= 1 && x + w <= 24, "{title} leaves the 24-column grid");
        assert!(g["h"].as_u64().unwrap() >= 1 && g["y"].is_u64());
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        }
    }
    // The panels the issue lists (by title words).
    let titles: Vec<String> = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_lowercase())
        .collect();
    for words in [
        "occupancy (trust)",
        "bed pressure",
        "declared opel",
        "plan age",
        "occupancy by pool",
        "elective ceiling",
        "forecast by night",
        "headroom after reserve",
        "theatre hours",
        "breaches by priority",
        "events per second",
        "p95",
        "failures",
        "network link moves",
        "pooled emergency bed reserve",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(words)),
            "no panel for {words}"
        );
    }
    // Every query parses: promtool parses them as recording rules.
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("groups:\n  - name: grafana-panels\n    rules:\n");
    for (i, (_, expr)) in panel_queries(&d).iter().enumerate() {
        yaml.push_str(&format!(
            "      - record: panel_query_{i}\n        expr: {}\n",
            json!(expr)
        ));
    }
    let file = dir.path().join("panels.yml");
    std::fs::write(&file, yaml).unwrap();
    run_ok(Command::new(promtool).args(["check", "rules"]).arg(&file));
}

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("test I/O")
        .local_addr()
        .expect("test I/O")
        .port()
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[test]
fn prometheus_scrapes_flowd_and_every_panel_query_returns_data() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    // A clinical network, so the network panels have data too.
    let s = scenario(Size::Network, 2);
    let (dir, path) = scenario_file(&s);
    let d = Daemon::start(&path, &dir.path().join("data"), &[]);
    d.wait_ready();
    let mut http = d.http();
    // Something to count: an event that re-plans, a declared OPEL level.
    let ward = &s.wards[0];
    let events = json!([
        {"id": "mon-1", "at": format!("{}T06:00:00Z", s.start), "type": "ward_beds", "ward": ward.id,
         "beds": ward.beds.saturating_sub(1).max(1), "from": s.start.to_string(), "to": s.date(2).to_string()},
        {"id": "mon-2", "at": format!("{}T06:01:00Z", s.start), "type": "opel_declared", "site": null,
         "level": 2, "by": "duty manager"},
        {"id": "mon-3", "at": format!("{}T06:02:00Z", s.start), "type": "trauma_arrival",
         "site": s.sites[0].id, "minutes_est": 45, "urgency": "urgent"}
    ]);
    assert_eq!(http.post("/v1/events", &events).unwrap().status, 200);

    // Every metric name the queries use is one flowd exports or the rules record.
    let metrics = http.get("/metrics").text();
    let mut known: BTreeSet<String> = metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect();
    let rules = std::fs::read_to_string(deploy("prometheus/flowd.rules.yml")).unwrap();
    for l in rules.lines() {
        if let Some(name) = l.trim().strip_prefix("- record: ") {
            known.insert(name.trim().to_string());
        }
    }
    let d_json = dashboard();
    let queries = panel_queries(&d_json);
    for (title, expr) in &queries {
        for name in metric_names(expr) {
            assert!(
                known.contains(&name),
                "{title}: `{name}` is neither exported nor recorded"
            );
        }
    }

    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {:?}\nscrape_configs:\n  - job_name: flowd\n    static_configs:\n      - targets: [\"{}\"]\n",
            deploy("prometheus/flowd.rules.yml").to_str().unwrap(),
            d.addr
        ),
    )
    .unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(data.path().join("prometheus.log")).unwrap();
    let _p = Prometheus(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus"),
    );
    let addr: SocketAddr = listen.parse().unwrap();
    let mut api = Http::new(addr);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut missing: Vec<String> = queries.iter().map(|(t, e)| format!("{t}: {e}")).collect();
    let mut n = 0;
    while !missing.is_empty() {
        assert!(
            Instant::now() < deadline,
            "queries without data after 90 s:\n{}\n{}",
            missing.join("\n"),
            std::fs::read_to_string(data.path().join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
        // Keep events flowing so rates have something to measure.
        n += 1;
        let e = json!({"id": format!("mon-t{n}"), "at": format!("{}T07:00:00Z", s.start), "type": "trauma_arrival",
                       "site": s.sites[0].id, "minutes_est": 30, "urgency": "urgent"});
        let _ = http.post("/v1/events", &e);
        let mut still = Vec::new();
        for (title, expr) in &queries {
            let r = match api.request("GET", &format!("/api/v1/query?query={}", encode(expr)), b"")
            {
                Ok(r) if r.status == 200 => r.json(),
                _ => {
                    still.push(format!("{title}: {expr}"));
                    continue;
                }
            };
            let results = r["data"]["result"].as_array().map_or(0, Vec::len);
            if results == 0 {
                still.push(format!("{title}: {expr}"));
            }
        }
        missing = still;
    }
    assert_eq!(d.terminate().code(), Some(0));
}
