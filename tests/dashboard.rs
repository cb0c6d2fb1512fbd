//! The bed manager's dashboard and its event stream, end to end against the real
//! `flowd serve`: the page's sections and numbers against `/v1/plan`, `/v1/state`
//! and `/metrics`, the bed-pressure level against an independent recomputation at a
//! cut point, the security headers, and `GET /v1/stream` (first event, new plans,
//! `Last-Event-ID`, keep-alive, 100 clients closing).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use flow_core::Plan;
use flow_core::generate::Size;
use serde_json::{Value, json};

use crate::live::{Daemon, plan_and_seq};
use crate::support::{scenario, scenario_file};

/// One response with its headers (lower-case names), over a fresh connection.
pub fn get_raw(addr: SocketAddr, path: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("test I/O");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("test I/O");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The text between `start` (inclusive) and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)?;
    let rest = &text[i..];
    let j = rest.find(end)?;
    Some(&rest[..j + end.len()])
}

/// Text of each `<td>` of an HTML row, tags stripped.
fn cells(row: &str) -> Vec<String> {
    row.split("<td")
        .skip(1)
        .map(|c| {
            let c = &c[c.find('>').map_or(0, |i| i + 1)..];
            let c = c.split("</td>").next().unwrap_or("");
            let mut out = String::new();
            let mut tag = false;
            for ch in c.chars() {
                match ch {
                    '<' => tag = true,
                    '>' => tag = false,
                    ch if !tag => out.push(ch),
                    _ => {}
                }
            }
            out.trim().to_string()
        })
        .collect()
}

fn metric(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l[series.len()..].trim().parse().ok())
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn dashboard_page_matches_the_plan_state_and_metrics() {
    let s = scenario(Size::Tiny, 31);
    let (dir, path) = scenario_file(&s);
    // The general and acute occupancy at the start, recomputed here from the
    // scenario alone: the level-3 cut point is set exactly on it, the other
    // parameters out of reach, so the level is 3 only if `value >= cut` holds at the
    // boundary and the level is the general and acute one.
    let critical = |kind: &str| kind == "critical_care";
    let (mut beds, mut occupied) = (0u64, 0u64);
    for w in s.wards.iter().filter(|w| !critical(&w.kind)) {
        beds += u64::from(w.open_beds(s.start));
        occupied += s.inpatients.iter().filter(|p| p.ward == w.id).count() as u64;
    }
    let pct = 100.0 * occupied as f64 / beds as f64;
    let config = dir.path().join("flowd.toml");
    std::fs::write(
        &config,
        format!(
            "[bed_pressure]\ngeneral_acute_occupancy_pct = [{}, {}, {}]\ncritical_care_occupancy_pct = [1000.0, 1001.0, 1002.0]\nheadroom_beds = [-1000, -1001, -1002]\nover_capacity_nights = [100, 101, 102]\n",
            pct - 10.0,
            pct,
            pct + 1.0
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
    // A consistent trio: the page, /v1/plan and /metrics of one plan version (a quiet
    // refinement round may publish another in between).
    let (plan, page, headers, metrics) = wait_for("a consistent page", || {
        let (plan, seq) = plan_and_seq(&mut http);
        assert_eq!(seq, 0);
        let (status, headers, page) = get_raw(d.addr, "/dashboard");
        assert_eq!(status, 200, "{page}");
        let metrics = http.get("/metrics").text();
        let v = plan.version.expect("version");
        let same = page.contains(&format!("data-version=\"{v}\""))
            && metric(&metrics, "flowd_plan_version") == Some(v as f64);
        same.then_some((plan, page, headers, metrics))
    });
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        header(&headers, "content-security-policy"),
        Some("default-src 'self'")
    );
    // The six sections, in order.
    let mut at = 0;
    for id in [
        "status", "capacity", "forecast", "theatres", "breaches", "changes",
    ] {
        let i = page
            .find(&format!("<section id=\"{id}\""))
            .unwrap_or_else(|| panic!("#{id} missing"));
        assert!(i > at, "#{id} out of order");
        at = i;
    }
    // Nothing from elsewhere, nothing inline.
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(!page.contains(" style=") && !page.contains("<style"));
    assert!(!page.contains("<script>"), "inline script");
    assert!(page.contains("<script src=\"/dashboard/assets/dashboard.js\""));
    assert!(page.contains("<form method=\"get\" action=\"/dashboard\""));
    assert!(page.contains("aria-live=\"polite\""));
    assert!(page.contains(&format!(
        "<dd id=\"plan-version\">{}</dd>",
        plan.version.unwrap()
    )));

    // One forecast figure per pool of the plan's occupancy; its rows are the plan's.
    let mut pools: Vec<(String, String)> = plan
        .occupancy
        .iter()
        .map(|o| (o.site.clone(), o.kind.clone()))
        .collect();
    pools.sort();
    pools.dedup();
    assert_eq!(page.matches("<figure class=\"pool\"").count(), pools.len());
    for (site, kind) in &pools {
        let figure = between(
            &page,
            &format!("<figure class=\"pool\" data-pool=\"{site}/{kind}\""),
            "</figure>",
        )
        .unwrap_or_else(|| panic!("no figure for {site}/{kind}"));
        assert!(figure.contains("<svg") && figure.contains("role=\"img\""));
        let nights: Vec<_> = plan
            .occupancy
            .iter()
            .filter(|o| &o.site == site && &o.kind == kind)
            .collect();
        assert_eq!(figure.matches("<tr data-night=").count(), nights.len());
        for o in nights {
            let row = between(figure, &format!("<tr data-night=\"{}\"", o.date), "</tr>")
                .unwrap_or_else(|| panic!("{site}/{kind} {}", o.date));
            let c = cells(row);
            assert_eq!(c[0], o.beds.to_string());
            assert_eq!(c[1], o.current.to_string());
            assert_eq!(c[2], o.elective.to_string());
            let mean: f64 = between(row, "data-value=\"", "\">")
                .and_then(|v| v[12..v.len() - 2].parse().ok())
                .expect("data-value");
            assert_eq!(mean, o.emergency_mean);
            assert_eq!(c[5], o.emergency_reserve.to_string());
            let census = f64::from(o.current) + f64::from(o.elective) + o.emergency_mean;
            let over = census > f64::from(o.beds) - f64::from(o.emergency_reserve);
            assert_eq!(c[7], if over { "Over" } else { "Within" });
        }
    }

    // One theatre row per theatre, one cell per plan session (the tiny horizon is
    // the grid's seven days).
    assert_eq!(s.horizon_days, 7);
    assert_eq!(
        page.matches("<th scope=\"row\" class=\"theatre\">").count(),
        s.theatres.len()
    );
    assert_eq!(
        page.matches("<td class=\"s\">").count() + page.matches("<td class=\"s e\">").count(),
        plan.sessions.len()
    );

    // Breach totals equal /metrics.
    let mut total = 0.0;
    for p in ["P1a", "P1b", "P2", "P3", "P4"] {
        let m = metric(
            &metrics,
            &format!("flowd_avoidable_breaches{{priority=\"{p}\"}}"),
        )
        .expect(p);
        let row = between(&page, &format!("<tr data-priority=\"{p}\""), "</tr>").expect(p);
        assert_eq!(cells(row)[3], format!("{m}"), "{p}");
        total += m;
    }
    let all = between(&page, "<tr class=\"sub\" data-priority=\"all\"", "</tr>").unwrap();
    assert_eq!(cells(all)[3], format!("{total}"));
    let unscheduled = plan.unscheduled.len();
    assert!(page.contains(&format!("Unscheduled cases ({unscheduled})")));

    // The bed-pressure level, recomputed from the live state: exactly on the cut.
    let state = http.get("/v1/state").json();
    let (mut b, mut o) = (0u64, 0u64);
    for w in state["wards"].as_array().unwrap() {
        if !critical(w["kind"].as_str().unwrap()) {
            b += w["beds"].as_u64().unwrap();
            o += w["occupied"].as_u64().unwrap();
        }
    }
    assert_eq!(100.0 * o as f64 / b as f64, pct);
    let site = &s.sites[0].id;
    assert!(
        page.contains(
            "data-scope=\"all\" data-level=\"3\" data-driver=\"general_acute_occupancy\""
        ),
        "{}",
        between(&page, "<div class=\"levels\"", "</div>").unwrap_or("")
    );
    assert_eq!(
        metric(&metrics, "flowd_bed_pressure_level{site=\"all\"}"),
        Some(3.0)
    );
    assert_eq!(
        metric(
            &metrics,
            &format!(
                "flowd_bed_pressure_parameter{{parameter=\"general_acute_occupancy\",site=\"{site}\"}}"
            )
        ),
        Some(3.0)
    );

    // One site's view; an unknown site is a 400 naming `site`.
    let (status, _, one) = get_raw(d.addr, &format!("/dashboard?site={site}"));
    assert_eq!(status, 200);
    assert!(one.contains(&format!("data-site=\"{site}\"")));
    let (status, headers, bad) = get_raw(d.addr, "/dashboard?site=atlantis");
    assert_eq!(status, 400);
    assert!(bad.contains("site: unknown site `atlantis`"), "{bad}");
    assert_eq!(
        header(&headers, "content-security-policy"),
        Some("default-src 'self'")
    );
    // `/` redirects; `/dashboard/main` is the <main> alone; the assets are embedded.
    let (status, headers, _) = get_raw(d.addr, "/");
    assert!((300..400).contains(&status), "{status}");
    assert_eq!(header(&headers, "location"), Some("/dashboard"));
    let (status, _, main) = get_raw(d.addr, "/dashboard/main");
    assert_eq!(status, 200);
    assert!(main.starts_with("<main id=\"main\"") && main.ends_with("</main>"));
    for asset in ["dashboard.css", "dashboard.js"] {
        let (status, headers, body) = get_raw(d.addr, &format!("/dashboard/assets/{asset}"));
        assert_eq!(status, 200);
        assert!(!body.contains("http://") && !body.contains("https://"));
        assert_eq!(
            header(&headers, "content-security-policy"),
            Some("default-src 'self'")
        );
    }

    // A declared OPEL level is stored and shown as the authoritative one, and it
    // does not re-plan.
    let e = json!({"id": "opel-1", "at": format!("{}T08:00:00Z", s.start), "type": "opel_declared",
                   "site": null, "level": 3, "by": "duty manager"});
    let r = http.post("/v1/events", &e).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["results"][0]["outcome"], "applied");
    let page = wait_for("the declared level", || {
        let (_, _, p) = get_raw(d.addr, "/dashboard");
        p.contains("data-opel=\"3\"").then_some(p)
    });
    assert!(page.contains("Declared OPEL (authoritative)") && page.contains("duty manager"));
    let metrics = http.get("/metrics").text();
    assert_eq!(
        metric(&metrics, "flowd_opel_declared_level{site=\"all\"}"),
        Some(3.0)
    );
    assert_eq!(d.terminate().code(), Some(0));
}

/// A server-sent-events reader over one connection (de-chunks the body).
struct Sse {
    r: BufReader<TcpStream>,
    pending: Vec<u8>,
}

/// One event (or a comment, with `comment` set).
#[derive(Debug, Default)]
struct SseEvent {
    event: String,
    id: String,
    data: String,
    comment: bool,
}

impl Sse {
    fn open(addr: SocketAddr, last_event_id: Option<u64>) -> Sse {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("test I/O");
        let mut r = BufReader::new(s);
        let extra = last_event_id.map_or(String::new(), |v| format!("Last-Event-ID: {v}\r\n"));
        write!(
            r.get_mut(),
            "GET /v1/stream HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{extra}\r\n"
        )
        .expect("test I/O");
        let mut line = String::new();
        r.read_line(&mut line).expect("test I/O");
        assert!(line.contains(" 200 "), "{line}");
        let mut chunked = false;
        loop {
            line.clear();
            r.read_line(&mut line).expect("test I/O");
            if line.trim().is_empty() {
                break;
            }
            let l = line.to_ascii_lowercase();
            if l.starts_with("content-type:") {
                assert!(l.contains("text/event-stream"), "{l}");
            }
            chunked |= l.starts_with("transfer-encoding:") && l.contains("chunked");
        }
        assert!(chunked);
        Sse {
            r,
            pending: Vec::new(),
        }
    }

    fn fill(&mut self) {
        let mut size = String::new();
        self.r.read_line(&mut size).expect("chunk size");
        let n = usize::from_str_radix(size.trim(), 16).expect("hex size");
        let mut chunk = vec![0; n + 2];
        self.r.read_exact(&mut chunk).expect("chunk");
        self.pending.extend_from_slice(&chunk[..n]);
    }

    /// The next event or comment block.
    fn next(&mut self) -> SseEvent {
        loop {
            if let Some(i) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..i + 2).collect();
                let text = String::from_utf8_lossy(&block).into_owned();
                let mut e = SseEvent::default();
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix(':') {
                        e.comment = true;
                        e.data = v.trim().to_string();
                    } else if let Some((k, v)) = line.split_once(':') {
                        let v = v.strip_prefix(' ').unwrap_or(v).to_string();
                        match k {
                            "event" => e.event = v,
                            "id" => e.id = v,
                            "data" => e.data = v,
                            _ => {}
                        }
                    }
                }
                return e;
            }
            self.fill();
        }
    }

    /// The next `plan` event, skipping state events and comments.
    fn next_plan(&mut self) -> (u64, Value) {
        loop {
            let e = self.next();
            if e.event == "plan" {
                let data: Value = serde_json::from_str(&e.data).expect("json");
                let id: u64 = e.id.parse().expect("id");
                assert_eq!(data["version"], id);
                return (id, data);
            }
        }
    }
}

#[test]
fn stream_sends_plans_state_keep_alives_and_counts_clients() {
    let s = scenario(Size::Tiny, 32);
    let (dir, path) = scenario_file(&s);
    let d = Daemon::start(
        &path,
        &dir.path().join("data"),
        &["--sse-keep-alive-ms", "200"],
    );
    d.wait_ready();
    let mut http = d.http();
    let (plan, seq): (Plan, u64) = plan_and_seq(&mut http);
    let v1 = plan.version.unwrap();

    // The first event is the current plan.
    let mut a = Sse::open(d.addr, None);
    let first = a.next();
    assert_eq!(first.event, "plan", "{first:?}");
    assert_eq!(first.id, v1.to_string());
    let data: Value = serde_json::from_str(&first.data).unwrap();
    assert_eq!(data["version"], v1);
    assert_eq!(data["basis_seq"], seq);
    assert_eq!(data["generated_at"], plan.generated_at.clone().unwrap());
    // Keep-alive comments arrive on the configured interval.
    let comment = loop {
        let e = a.next();
        if e.comment {
            break e;
        }
    };
    assert_eq!(comment.data, "keep-alive");

    // An event that changes the plan brings a new plan event, and a state event.
    let ward = s.wards.iter().find(|w| w.kind == "surgical").unwrap();
    let e = json!({"id": "sse-1", "at": format!("{}T06:00:00Z", s.start), "type": "ward_beds",
                   "ward": ward.id, "beds": 1, "from": s.start.to_string(), "to": s.date(3).to_string()});
    assert_eq!(http.post("/v1/events", &e).unwrap().status, 200);
    let mut saw_state = false;
    let (v2, data) = loop {
        let e = a.next();
        if e.event == "state" {
            let st: Value = serde_json::from_str(&e.data).unwrap();
            assert!(st["events_applied"].is_u64() && st.get("plan_version").is_some());
            saw_state = true;
        }
        if e.event == "plan" {
            let data = serde_json::from_str::<Value>(&e.data).unwrap();
            // (A quiet refinement of the first plan may come first.)
            if data["basis_seq"] == 1 {
                break (e.id.parse::<u64>().unwrap(), data);
            }
        }
    };
    assert!(v2 > v1);
    assert_eq!(data["basis_seq"], 1);
    if !saw_state {
        let e = loop {
            let e = a.next();
            if !e.comment {
                break e;
            }
        };
        assert_eq!(e.event, "state", "{e:?}");
    }

    // A reconnect with an older Last-Event-ID gets the current plan at once.
    let mut b = Sse::open(d.addr, Some(v1));
    let (v, _) = b.next_plan();
    assert!(v >= v2);
    drop(a);
    drop(b);

    // 100 clients, all counted; closing them returns the gauge to 0.
    let clients: Vec<Sse> = (0..100)
        .map(|_| {
            let mut c = Sse::open(d.addr, None);
            c.next_plan();
            c
        })
        .collect();
    let count = |http: &mut crate::live::Http| {
        metric(&http.get("/metrics").text(), "flowd_sse_clients").expect("flowd_sse_clients")
    };
    wait_for("100 clients counted", || {
        (count(&mut http) == 100.0).then_some(())
    });
    drop(clients);
    wait_for("the gauge back to 0", || {
        (count(&mut http) == 0.0).then_some(())
    });
    assert_eq!(d.terminate().code(), Some(0));
}
