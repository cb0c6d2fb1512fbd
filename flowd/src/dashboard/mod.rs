//! The bed manager's view: a live dashboard served by the daemon itself, and the
//! event stream that keeps it live.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | redirects to `/dashboard` |
//! | `GET /dashboard[?site=ID]` | the whole page (`text/html`), one site or the trust |
//! | `GET /dashboard/main[?site=ID]` | only its `<main>`, for live refresh |
//! | `GET /dashboard/assets/…` | the embedded CSS and JavaScript |
//! | `GET /v1/stream` | server-sent events: `plan` on connect and every new plan, `state` at most once a second |
//!
//! The page is rendered on the server ([`render`]) from the same published views the
//! API serves: the plan being served (with the scenario it answers and the checker's
//! figures) and the state summary; nothing is computed twice differently. Charts are
//! inline SVG, each beside a table of the same numbers. The stylesheet and the small
//! hand-written script are compiled into the binary ([`assets`]); every response of
//! the page carries `Content-Security-Policy: default-src 'self'`, so nothing inline
//! runs and nothing leaves the daemon. Access is as for `GET /v1/plan` (no token):
//! the page shows what `/v1/plan` and `/v1/plan/changes` already publish.
//!
//! [`pressure`] computes flow's bed-pressure level (never called OPEL); the declared
//! OPEL level comes from `opel_declared` events and is shown as the authoritative one.

pub mod assets;
pub mod pressure;
pub mod render;
pub mod stream;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use flow_core::scenario::Scenario;
use serde::Deserialize;

use crate::api::App;
use crate::engine::{Bookings, Published, StateView};

/// The page's Content-Security-Policy: everything from the daemon, nothing inline.
pub const CSP: &str = "default-src 'self'";

/// How the dashboard and its stream behave.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Interval of keep-alive comments on the event stream.
    pub keep_alive: Duration,
    /// Bed-pressure cut points.
    pub cuts: pressure::Cuts,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            keep_alive: Duration::from_secs(15),
            cuts: pressure::Cuts::default(),
        }
    }
}

/// The dashboard's routes (state: the API's [`App`]).
pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard", get(page))
        .route("/dashboard/main", get(main_only))
        .route("/dashboard/assets/{file}", get(assets::serve))
        .route("/v1/stream", get(stream::stream))
}

/// `?site=` of the page.
#[derive(Debug, Deserialize)]
pub struct SiteQuery {
    /// A site id; absent or empty for the trust.
    pub site: Option<String>,
}

/// One plan change for the `#changes` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    /// The version that made the change.
    pub version: u64,
    /// When that version was made (RFC 3339).
    pub at: String,
    /// Case id.
    pub case: String,
    /// `moved`, `added` or `removed`.
    pub what: &'static str,
    /// Theatre and date before (`None` when added).
    pub old: Option<(String, chrono::NaiveDate)>,
    /// Theatre and date now (`None` when removed).
    pub new: Option<(String, chrono::NaiveDate)>,
}

/// Rows most recent first, at most `limit`: the differences between consecutive kept
/// plan versions.
pub fn change_rows(versions: &[(u64, Arc<Bookings>, String)], limit: usize) -> Vec<ChangeRow> {
    let mut rows = Vec::new();
    for pair in versions.windows(2).rev() {
        let ((_, old, _), (version, new, at)) = (&pair[0], &pair[1]);
        let mut here = Vec::new();
        for (case, was) in old.iter() {
            match new.get(case) {
                None => here.push(ChangeRow {
                    version: *version,
                    at: at.clone(),
                    case: case.clone(),
                    what: "removed",
                    old: Some((was.theatre.clone(), was.date)),
                    new: None,
                }),
                Some(now) if now != was => here.push(ChangeRow {
                    version: *version,
                    at: at.clone(),
                    case: case.clone(),
                    what: "moved",
                    old: Some((was.theatre.clone(), was.date)),
                    new: Some((now.theatre.clone(), now.date)),
                }),
                Some(_) => {}
            }
        }
        for (case, now) in new.iter() {
            if !old.contains_key(case) {
                here.push(ChangeRow {
                    version: *version,
                    at: at.clone(),
                    case: case.clone(),
                    what: "added",
                    old: None,
                    new: Some((now.theatre.clone(), now.date)),
                });
            }
        }
        for r in here {
            if rows.len() == limit {
                return rows;
            }
            rows.push(r);
        }
    }
    rows
}

/// Everything one render reads, taken from the published views at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The plan being served (`None` before the first).
    pub plan: Option<Arc<Published>>,
    /// The state summary.
    pub view: Arc<StateView>,
    /// The kept plan versions (bookings, when made), oldest first.
    pub versions: Vec<(u64, Arc<Bookings>, String)>,
}

/// Most rows of `#changes`.
pub const CHANGES_SHOWN: usize = 20;

impl Snapshot {
    /// Reads the views the API serves.
    pub fn take(app: &App) -> Snapshot {
        let plan = app.engine.plan.borrow().clone();
        let view = app.engine.view.borrow().clone();
        let versions: Vec<(u64, Arc<Bookings>, String)> = match app.engine.history.lock() {
            Ok(h) => h
                .versions()
                .map(|(v, b, at)| (v, b.clone(), at.to_string()))
                .collect(),
            Err(_) => Vec::new(),
        };
        Snapshot {
            plan,
            view,
            versions,
        }
    }
}

/// The site asked for, checked against the scenario: `Ok(None)` for the trust.
fn site_filter(scenario: &Scenario, q: &SiteQuery) -> Result<Option<String>, String> {
    match q.site.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if scenario.sites.iter().any(|x| x.id == s) => Ok(Some(s.to_string())),
        Some(s) => Err(format!(
            "site: unknown site `{s}` (known: {})",
            scenario
                .sites
                .iter()
                .map(|x| x.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn render_route(app: Arc<App>, q: SiteQuery, whole: bool) -> Response {
    let snap = Snapshot::take(&app);
    let Some(published) = snap.plan.clone() else {
        let mut r = html_response(
            StatusCode::SERVICE_UNAVAILABLE,
            render::error_page(
                "No plan yet: the first solve is running. This page will work once /readyz says ready.",
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    let site = match site_filter(&published.scenario, &q) {
        Ok(s) => s,
        Err(message) => {
            return html_response(StatusCode::BAD_REQUEST, render::error_page(&message));
        }
    };
    let cuts = app.dashboard.cuts.clone();
    let now = chrono::Utc::now();
    // Rendering a trust-scale page takes milliseconds: keep it off the async threads.
    let html = tokio::task::spawn_blocking(move || {
        let changes = change_rows(&snap.versions, CHANGES_SHOWN);
        let input = render::Input::new(&published, &snap.view, &changes, &cuts, now);
        if whole {
            render::page(&input, site.as_deref())
        } else {
            render::main(&input, site.as_deref())
        }
    })
    .await;
    match html {
        Ok(html) => html_response(StatusCode::OK, html),
        Err(e) => html_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            render::error_page(&format!("render failed: {e}")),
        ),
    }
}

async fn page(State(app): State<Arc<App>>, Query(q): Query<SiteQuery>) -> Response {
    render_route(app, q, true).await
}

async fn main_only(State(app): State<Arc<App>>, Query(q): Query<SiteQuery>) -> Response {
    render_route(app, q, false).await
}

/// Sets the bed-pressure and declared-OPEL gauges from the views (at scrape time).
pub fn observe(app: &App, view: &StateView) {
    let Some(published) = app.engine.plan.borrow().clone() else {
        return;
    };
    let (now, nights) = render::pools(&published, view);
    let cuts = &app.dashboard.cuts;
    let mut scopes: Vec<Option<&str>> = vec![None];
    scopes.extend(published.scenario.sites.iter().map(|s| Some(s.id.as_str())));
    for scope in scopes {
        let a = pressure::assess(scope, &now, &nights, cuts);
        let params: Vec<(&str, u8)> = a
            .readings
            .iter()
            .map(|r| (r.parameter.as_str(), r.level))
            .collect();
        let label = scope.unwrap_or("all");
        app.metrics.observe_bed_pressure(label, a.level, &params);
        let declared = view
            .opel
            .iter()
            .find(|o| o.site.as_deref() == scope)
            .map_or(0, |o| o.level);
        app.metrics.observe_opel(label, declared);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Booking;
    use chrono::NaiveDate;
    use flow_core::scenario::Period;

    #[test]
    fn change_rows_newest_first_and_bounded() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 12, n).unwrap();
        let b = |t: &str, n| Booking {
            theatre: t.into(),
            date: d(n),
            period: Period::Am,
        };
        let v1: Bookings = [
            ("c1".to_string(), b("t1", 7)),
            ("c2".to_string(), b("t1", 8)),
        ]
        .into_iter()
        .collect();
        let v2: Bookings = [
            ("c1".to_string(), b("t2", 9)),
            ("c3".to_string(), b("t1", 8)),
        ]
        .into_iter()
        .collect();
        let versions = vec![
            (1, Arc::new(v1), "t1".to_string()),
            (2, Arc::new(v2), "t2".to_string()),
        ];
        let rows = change_rows(&versions, 20);
        let got: Vec<(&str, &str)> = rows.iter().map(|r| (r.case.as_str(), r.what)).collect();
        assert_eq!(got, [("c1", "moved"), ("c2", "removed"), ("c3", "added")]);
        assert_eq!(rows[0].old, Some(("t1".to_string(), d(7))));
        assert_eq!(rows[0].new, Some(("t2".to_string(), d(9))));
        assert_eq!(change_rows(&versions, 2).len(), 2);
    }
}
