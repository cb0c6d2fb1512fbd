//! Server-side rendering of the dashboard: plain `String` building, every text
//! escaped, no template engine. [`page`] is the whole document; [`main`] is its
//! `<main>` alone, which the script swaps in when a new plan arrives.
//!
//! Sections, in order: `#status` and `#capacity` (here), `#forecast`
//! ([`forecast`]), `#theatres` ([`theatres`]), `#network` for a clinical network
//! ([`network`]), `#breaches` and `#changes` ([`lists`]). A site filter narrows capacity, forecast, theatres and changes to
//! one site; the waiting list is the trust's (cases are pooled across sites).
//!
//! Accessibility rules the markup keeps (the browser test checks them with axe):
//! one `h1`, a heading per section, a caption per table with `th` scopes, every chart
//! an `svg role="img"` with a title and a table of the same numbers beside it, words
//! beside every colour ("Over", "Reserve eroded", "Level 3"), labelled controls,
//! focusable scroll regions, and no inline style or script (the CSP forbids them).

pub mod forecast;
pub mod lists;
pub mod network;
pub mod theatres;

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};
use flow_core::check::Kpis;
use flow_core::plan::Plan;
use flow_core::scenario::Scenario;

use super::ChangeRow;
use super::pressure::{self, Assessment, Cuts, PoolNight, PoolNow};
use crate::engine::{Published, StateView};

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}
pub(crate) use w;

/// What one render reads.
#[derive(Debug)]
pub struct Input<'a> {
    /// The plan being served.
    pub plan: &'a Plan,
    /// The problem it answers.
    pub scenario: &'a Scenario,
    /// The checker's figures, when plans are verified.
    pub kpis: Option<&'a Kpis>,
    /// The last event the plan includes.
    pub basis_seq: u64,
    /// The state summary.
    pub view: &'a StateView,
    /// Recent plan changes, newest first.
    pub changes: &'a [ChangeRow],
    /// Bed-pressure cut points.
    pub cuts: &'a Cuts,
    /// The wall clock, for the plan's age.
    pub now: DateTime<Utc>,
    /// Pools now.
    pub pools_now: Vec<PoolNow>,
    /// Pools per forecast night.
    pub pool_nights: Vec<PoolNight>,
}

impl<'a> Input<'a> {
    /// Gathers a render's input from the published views.
    pub fn new(
        published: &'a Published,
        view: &'a StateView,
        changes: &'a [ChangeRow],
        cuts: &'a Cuts,
        now: DateTime<Utc>,
    ) -> Self {
        let (pools_now, pool_nights) = pools(published, view);
        Input {
            plan: &published.plan,
            scenario: &published.scenario,
            kpis: published.kpis.as_deref(),
            basis_seq: published.seq,
            view,
            changes,
            cuts,
            now,
            pools_now,
            pool_nights,
        }
    }

    pub(crate) fn site_name(&self, id: &str) -> String {
        self.scenario
            .sites
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| id.to_string(), |s| s.name.clone())
    }

    fn sites<'s>(&'s self, site: Option<&'s str>) -> Vec<&'s str> {
        self.scenario
            .sites
            .iter()
            .map(|s| s.id.as_str())
            .filter(|s| site.is_none_or(|x| x == *s))
            .collect()
    }

    fn assess(&self, site: Option<&str>) -> Assessment {
        pressure::assess(site, &self.pools_now, &self.pool_nights, self.cuts)
    }
}

/// The pools now (beds and patients from the state, tonight's reserve from the plan)
/// and per forecast night (from the plan), sorted by (site, kind, night).
pub fn pools(published: &Published, view: &StateView) -> (Vec<PoolNow>, Vec<PoolNight>) {
    let mut now: BTreeMap<(&str, &str), PoolNow> = BTreeMap::new();
    for w in &view.wards {
        let p = now
            .entry((w.site.as_str(), w.kind.as_str()))
            .or_insert_with(|| PoolNow {
                site: w.site.clone(),
                kind: w.kind.clone(),
                beds: 0,
                occupied: 0,
                reserve: 0,
            });
        p.beds += w.beds;
        p.occupied += w.occupied;
    }
    // Tonight's reserve: the plan's night of the state's current day, or its first.
    let mut reserve: BTreeMap<(&str, &str), (NaiveDate, u32)> = BTreeMap::new();
    for o in &published.plan.occupancy {
        let e = reserve
            .entry((o.site.as_str(), o.kind.as_str()))
            .or_insert((o.date, o.emergency_reserve));
        let better = o.date == view.today || (e.0 != view.today && o.date < e.0);
        if better {
            *e = (o.date, o.emergency_reserve);
        }
    }
    for (key, p) in now.iter_mut() {
        if let Some((_, r)) = reserve.get(key) {
            p.reserve = *r;
        }
    }
    let nights = published
        .plan
        .occupancy
        .iter()
        .filter(|o| o.date >= view.today)
        .map(|o| PoolNight {
            site: o.site.clone(),
            date: o.date,
            census: f64::from(o.current) + f64::from(o.elective) + o.emergency_mean,
            beds: o.beds,
            reserve: o.emergency_reserve,
        })
        .collect();
    (now.into_values().collect(), nights)
}

/// Escapes text for HTML element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `Mon 7 Dec`.
pub fn day(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}

/// A signed number with a real minus sign.
pub fn signed(n: i64) -> String {
    if n < 0 {
        format!("\u{2212}{}", n.unsigned_abs())
    } else {
        n.to_string()
    }
}

/// A short error page (400 for a bad `site`, 503 before the first plan).
pub fn error_page(message: &str) -> String {
    let mut out = String::new();
    head(&mut out, "flow dashboard: error");
    w!(
        out,
        "<main id=\"main\"><h1>flow dashboard</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/dashboard\">Back to the whole trust</a></p></main></body></html>",
        esc(message)
    );
    out
}

fn head(out: &mut String, title: &str) {
    w!(
        out,
        "<!doctype html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><link rel=\"stylesheet\" href=\"/dashboard/assets/dashboard.css\"><script src=\"/dashboard/assets/dashboard.js\" defer></script></head><body>",
        esc(title)
    );
}

/// The whole page.
pub fn page(input: &Input<'_>, site: Option<&str>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let scope = site.map_or_else(|| "whole trust".to_string(), |s| input.site_name(s));
    head(
        &mut out,
        &format!(
            "{} · {scope} · flow bed manager's view",
            input.scenario.name
        ),
    );
    out.push_str("<a class=\"skip\" href=\"#main\">Skip to the dashboard</a><header class=\"top\"><p class=\"brand\">flow · bed manager's view</p>");
    out.push_str("<form method=\"get\" action=\"/dashboard\" class=\"filter\"><label for=\"site\">Site</label><select id=\"site\" name=\"site\">");
    w!(
        out,
        "<option value=\"\"{}>Whole trust</option>",
        if site.is_none() { " selected" } else { "" }
    );
    for s in &input.scenario.sites {
        w!(
            out,
            "<option value=\"{}\"{}>{}</option>",
            esc(&s.id),
            if site == Some(s.id.as_str()) {
                " selected"
            } else {
                ""
            },
            esc(&s.name)
        );
    }
    out.push_str("</select><button type=\"submit\">Show</button></form>");
    out.push_str("<nav aria-label=\"Sections\"><ul>");
    for (id, name) in [
        ("status", "Status"),
        ("capacity", "Capacity"),
        ("forecast", "Forecast"),
        ("theatres", "Theatres"),
        ("breaches", "Breaches"),
        ("changes", "Changes"),
    ] {
        w!(out, "<li><a href=\"#{id}\">{name}</a></li>");
    }
    out.push_str("</ul></nav><p id=\"announce\" class=\"announce\" role=\"status\" aria-live=\"polite\"></p></header>");
    out.push_str(&main(input, site));
    out.push_str("<footer><p>Bed-pressure levels are flow's own, computed from beds; the declared OPEL level is the operations centre's. Data: <a href=\"/v1/plan\">plan</a>, <a href=\"/v1/state\">state</a>, <a href=\"/metrics\">metrics</a>.</p></footer></body></html>");
    out
}

/// The page's `<main>` alone.
pub fn main(input: &Input<'_>, site: Option<&str>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let version = input.plan.version.unwrap_or(0);
    w!(
        out,
        "<main id=\"main\" tabindex=\"-1\" data-version=\"{version}\" data-basis-seq=\"{}\" data-site=\"{}\">",
        input.basis_seq,
        esc(site.unwrap_or(""))
    );
    let scope = site.map_or_else(|| "Whole trust".to_string(), |s| input.site_name(s));
    w!(
        out,
        "<h1>{} — {}</h1>",
        esc(&scope),
        esc(&input.scenario.name)
    );
    status(&mut out, input, site);
    capacity(&mut out, input, site);
    forecast::section(&mut out, input, site);
    theatres::section(&mut out, input, site);
    network::section(&mut out, input, site);
    lists::breaches(&mut out, input, site);
    lists::changes(&mut out, input, site);
    out.push_str("</main>");
    out
}

fn age(input: &Input<'_>) -> (String, String) {
    let Some(at) = input
        .plan
        .generated_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    else {
        return (String::new(), "unknown".into());
    };
    let secs = (input.now - at.with_timezone(&Utc)).num_seconds().max(0);
    let words = match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        _ => format!("{} h {} min ago", secs / 3600, (secs % 3600) / 60),
    };
    (
        format!(
            "<time datetime=\"{}\">{}</time>",
            esc(&at.to_rfc3339()),
            at.with_timezone(&Utc).format("%H:%M:%S UTC, %-d %b %Y")
        ),
        words,
    )
}

fn status(out: &mut String, input: &Input<'_>, site: Option<&str>) {
    let plan = input.plan;
    let version = plan.version.unwrap_or(0);
    let (made, age) = age(input);
    let live = if input.basis_seq < input.view.last_seq {
        "Plan older than the latest event"
    } else {
        "Live"
    };
    out.push_str("<section id=\"status\" aria-labelledby=\"status-h\"><h2 id=\"status-h\">Status</h2><dl class=\"facts\">");
    let sites: Vec<&str> = input
        .scenario
        .sites
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    w!(
        out,
        "<div><dt>Trust</dt><dd>{} site{}: {}</dd></div>",
        sites.len(),
        if sites.len() == 1 { "" } else { "s" },
        esc(&sites.join(", "))
    );
    w!(
        out,
        "<div><dt>Scenario</dt><dd>{}</dd></div>",
        esc(&plan.scenario)
    );
    w!(
        out,
        "<div><dt>Plan version</dt><dd id=\"plan-version\">{version}</dd></div>"
    );
    w!(
        out,
        "<div><dt>Made</dt><dd>{made} <span class=\"age\">({age})</span></dd></div>"
    );
    w!(
        out,
        "<div><dt>Solver</dt><dd>{} ({}), gap {:.2}%, {:.1} s</dd></div>",
        esc(&plan.solver.status),
        esc(&plan.solver.backend),
        plan.solver.gap * 100.0,
        plan.solver.seconds
    );
    w!(
        out,
        "<div><dt>Events applied</dt><dd id=\"events-applied\">{}</dd></div>",
        input.view.events_applied
    );
    w!(
        out,
        "<div><dt>Plan includes</dt><dd>events up to {} of {}</dd></div>",
        input.basis_seq,
        input.view.last_seq
    );
    w!(
        out,
        "<div><dt>Live state</dt><dd id=\"live-state\">{live}</dd></div></dl>"
    );

    // Bed pressure and the declared OPEL level for the page's scope.
    let a = input.assess(site);
    let scope_words = site.map_or_else(|| "the trust".to_string(), |s| input.site_name(s));
    let label = site.unwrap_or("all");
    let driver = a
        .readings
        .iter()
        .find(|r| r.parameter == a.driver)
        .map(|r| r.shown.clone())
        .unwrap_or_default();
    out.push_str("<div class=\"levels\">");
    w!(
        out,
        "<div class=\"level-card pressure l{lvl}\" data-scope=\"{}\" data-level=\"{lvl}\" data-driver=\"{}\"><h3>Bed pressure (flow's, not OPEL)</h3><p class=\"big\">Level {lvl}</p><p>Driven by <strong>{}</strong>: {}.</p></div>",
        esc(label),
        a.driver.as_str(),
        a.driver.words(),
        esc(&driver),
        lvl = a.level,
    );
    let declared = input.view.opel.iter().find(|o| o.site.as_deref() == site);
    match declared {
        Some(o) => w!(
            out,
            "<div class=\"level-card opel l{lvl}\" data-opel=\"{lvl}\"><h3>Declared OPEL (authoritative)</h3><p class=\"big\">OPEL {lvl}</p><p>Declared for {} by {} at {}.</p></div>",
            esc(&scope_words),
            esc(&o.by),
            esc(&o.at),
            lvl = o.level
        ),
        None => w!(
            out,
            "<div class=\"level-card opel\" data-opel=\"0\"><h3>Declared OPEL (authoritative)</h3><p class=\"big\">None declared</p><p>No <code>opel_declared</code> event for {} yet.</p></div>",
            esc(&scope_words)
        ),
    }
    out.push_str("</div>");

    // The parameters behind the level.
    w!(
        out,
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"bp-cap\"><table class=\"num\"><caption id=\"bp-cap\">Bed-pressure parameters for {} (level = the highest; cut points are flow's defaults unless configured)</caption><thead><tr><th scope=\"col\">Parameter</th><th scope=\"col\">Now</th><th scope=\"col\">Level</th><th scope=\"col\">Level 2 / 3 / 4 at</th></tr></thead><tbody>",
        esc(&scope_words)
    );
    let c = input.cuts;
    for r in &a.readings {
        let cuts = match r.parameter {
            pressure::Parameter::GeneralAcuteOccupancy => {
                let v = c.general_acute_occupancy_pct;
                format!("≥ {}% / {}% / {}%", v[0], v[1], v[2])
            }
            pressure::Parameter::CriticalCareOccupancy => {
                let v = c.critical_care_occupancy_pct;
                format!("≥ {}% / {}% / {}%", v[0], v[1], v[2])
            }
            pressure::Parameter::Headroom => {
                let v = c.headroom_beds;
                format!(
                    "&lt; {} / {} / {} beds",
                    signed(v[0]),
                    signed(v[1]),
                    signed(v[2])
                )
            }
            pressure::Parameter::OverCapacityNights => {
                let v = c.over_capacity_nights;
                format!("≥ {} / {} / {} nights", v[0], v[1], v[2])
            }
        };
        w!(
            out,
            "<tr data-parameter=\"{}\"><th scope=\"row\">{}{}</th><td>{}</td><td>{}</td><td>{cuts}</td></tr>",
            r.parameter.as_str(),
            r.parameter.words(),
            if r.parameter == a.driver {
                " <strong>(drives the level)</strong>"
            } else {
                ""
            },
            esc(&r.shown),
            r.level
        );
    }
    out.push_str("</tbody></table></div>");

    // The trust view also lists each site.
    if site.is_none() && input.scenario.sites.len() > 1 {
        out.push_str("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"bps-cap\"><table><caption id=\"bps-cap\">Bed pressure and declared OPEL by site</caption><thead><tr><th scope=\"col\">Site</th><th scope=\"col\">Bed pressure</th><th scope=\"col\">Driven by</th><th scope=\"col\">Declared OPEL</th></tr></thead><tbody>");
        for s in &input.scenario.sites {
            let a = input.assess(Some(&s.id));
            let opel = input
                .view
                .opel
                .iter()
                .find(|o| o.site.as_deref() == Some(s.id.as_str()))
                .map_or_else(
                    || "none declared".to_string(),
                    |o| format!("OPEL {}", o.level),
                );
            w!(
                out,
                "<tr data-scope=\"{}\" data-level=\"{lvl}\"><th scope=\"row\"><a href=\"/dashboard?site={}\">{}</a></th><td>Level {lvl}</td><td>{}</td><td>{opel}</td></tr>",
                esc(&s.id),
                esc(&s.id),
                esc(&s.name),
                a.driver.words(),
                lvl = a.level
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
}

#[derive(Default, Clone, Copy)]
struct Tally {
    beds: i64,
    occupied: i64,
    reserve: i64,
}

impl Tally {
    fn add(&mut self, p: &PoolNow) {
        self.beds += i64::from(p.beds);
        self.occupied += i64::from(p.occupied);
        self.reserve += i64::from(p.reserve);
    }
}

fn capacity_row(out: &mut String, class: &str, head: &str, t: Tally, data: &str) {
    let available = t.beds - t.occupied;
    let headroom = available - t.reserve;
    let occupancy = if t.beds > 0 {
        format!("{:.1}%", 100.0 * t.occupied as f64 / t.beds as f64)
    } else {
        "—".to_string()
    };
    let headroom_cell = if headroom < 0 {
        format!(
            "<td class=\"bad\">{} <strong>Reserve eroded</strong></td>",
            signed(headroom)
        )
    } else {
        format!("<td>{headroom}</td>")
    };
    w!(
        out,
        "<tr class=\"{class}\"{data}><th scope=\"row\">{head}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{headroom_cell}<td>{occupancy}</td></tr>",
        t.beds,
        t.occupied,
        signed(available),
        t.reserve
    );
}

fn capacity(out: &mut String, input: &Input<'_>, site: Option<&str>) {
    out.push_str("<section id=\"capacity\" aria-labelledby=\"capacity-h\"><h2 id=\"capacity-h\">Capacity now</h2>");
    out.push_str("<p class=\"note\">Open beds tonight and patients in a bed now, from the live state; the emergency reserve is tonight's from the plan. Headroom = open − occupied − reserve.</p>");
    out.push_str("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"cap-cap\"><table class=\"num\"><caption id=\"cap-cap\">Beds by site and pool, with subtotals</caption><thead><tr><th scope=\"col\">Pool</th><th scope=\"col\">Open beds</th><th scope=\"col\">Occupied</th><th scope=\"col\">Available</th><th scope=\"col\">Emergency reserve tonight</th><th scope=\"col\">Headroom after reserve</th><th scope=\"col\">Occupancy</th></tr></thead><tbody>");
    let (mut trust_ga, mut trust_cc) = (Tally::default(), Tally::default());
    for s in input.sites(site) {
        let (mut ga, mut cc) = (Tally::default(), Tally::default());
        w!(
            out,
            "<tr class=\"site\"><th scope=\"rowgroup\" colspan=\"7\">{}</th></tr>",
            esc(&input.site_name(s))
        );
        for p in input.pools_now.iter().filter(|p| p.site == s) {
            let mut t = Tally::default();
            t.add(p);
            if input.cuts.is_critical_care(&p.kind) {
                cc.add(p);
            } else {
                ga.add(p);
            }
            capacity_row(
                out,
                "pool",
                &esc(&p.kind),
                t,
                &format!(" data-pool=\"{}/{}\"", esc(&p.site), esc(&p.kind)),
            );
        }
        capacity_row(out, "sub", "General and acute", ga, "");
        capacity_row(out, "sub", "Critical care", cc, "");
        for (a, b) in [(&mut trust_ga, ga), (&mut trust_cc, cc)] {
            a.beds += b.beds;
            a.occupied += b.occupied;
            a.reserve += b.reserve;
        }
    }
    if site.is_none() {
        out.push_str("<tr class=\"site\"><th scope=\"rowgroup\" colspan=\"7\">Trust</th></tr>");
        capacity_row(out, "sub", "General and acute (trust)", trust_ga, "");
        capacity_row(out, "sub", "Critical care (trust)", trust_cc, "");
    }
    out.push_str("</tbody></table></div></section>");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Bytes;
    use flow_core::generate::{GenerateOptions, Size, generate};
    use flow_core::{State, check};

    use super::*;
    use crate::engine::Bookings;

    fn published(size: Size) -> (Published, StateView) {
        let scenario = generate(&GenerateOptions::new(size, 3));
        let mut plan = flow_core::greedy::plan(&scenario);
        plan.version = Some(2);
        plan.generated_at = Some("2026-12-07T06:00:00+00:00".into());
        let kpis = check::check(&scenario, &plan).kpis;
        let view = StateView::of(&State::new(scenario.clone()), 0);
        (
            Published {
                plan: Arc::new(plan),
                json: Bytes::new(),
                bookings: Arc::new(Bookings::new()),
                seq: 0,
                scenario: Arc::new(scenario),
                kpis: Some(Arc::new(kpis)),
            },
            view,
        )
    }

    #[test]
    fn escapes_text() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(signed(-3), "\u{2212}3");
        assert_eq!(signed(4), "4");
    }

    #[test]
    fn a_site_view_narrows_pools_and_theatres() {
        let (p, view) = published(Size::Medium);
        let cuts = Cuts::default();
        let now = DateTime::parse_from_rfc3339("2026-12-07T06:02:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let input = Input::new(&p, &view, &[], &cuts, now);
        let whole = page(&input, None);
        let site = &p.scenario.sites[0].id;
        let one = page(&input, Some(site));
        assert!(whole.contains("(2 min ago)"));
        for id in [
            "status", "capacity", "forecast", "theatres", "breaches", "changes",
        ] {
            assert!(one.contains(&format!("<section id=\"{id}\"")), "{id}");
        }
        let pools = |html: &str| html.matches("<figure class=\"pool\"").count();
        let here = p
            .scenario
            .pools()
            .iter()
            .filter(|k| &k.site == site)
            .count();
        assert_eq!(pools(&one), here);
        assert_eq!(pools(&whole), p.scenario.pools().len());
        let theatres = p
            .scenario
            .theatres
            .iter()
            .filter(|t| &t.site == site)
            .count();
        assert_eq!(
            one.matches("<th scope=\"row\" class=\"theatre\">").count(),
            theatres
        );
        assert!(!whole.contains("http://") && !whole.contains("https://"));
        // The fragment is the page's <main>, byte for byte.
        let m = main(&input, None);
        assert!(whole.contains(&m));
    }
}
