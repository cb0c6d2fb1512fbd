//! `GET /v1/stream`: server-sent events for the dashboard (and anyone else).
//!
//! - `event: plan`, `id: <version>`, `data: {"version", "generated_at", "basis_seq"}`:
//!   on connect, and whenever a new plan is published. A reconnect whose
//!   `Last-Event-ID` is the current version gets nothing until the next plan; any
//!   other (older) id gets the current plan at once.
//! - `event: state`, `data: {"events_applied", "last_seq", "plan_version"}`: after the
//!   state changes, at most once a second.
//! - keep-alive comments every `sse_keep_alive_ms` (default 15 s).
//!
//! Each stream reads the same `watch` views the API serves and holds no lock. A
//! guard counts it in `flowd_sse_clients` and uncounts it when the connection drops.
//! Streams end when the daemon starts shutting down, so graceful shutdown does not
//! wait on them.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::App;
use crate::engine::{Published, StateView};
use crate::metrics::Metrics;

/// Shortest time between two `state` events of one stream.
pub const STATE_EVERY: Duration = Duration::from_secs(1);

/// Counts a connected client while alive.
struct ClientGuard(Metrics);

impl ClientGuard {
    fn new(m: Metrics) -> Self {
        m.sse_clients_add(1);
        ClientGuard(m)
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.sse_clients_add(-1);
    }
}

struct Client {
    plan: watch::Receiver<Option<Arc<Published>>>,
    view: watch::Receiver<Arc<StateView>>,
    stopping: watch::Receiver<bool>,
    /// Version of the last plan event sent (or the client's `Last-Event-ID`).
    sent: Option<u64>,
    last_state: Option<Instant>,
    state_due: Option<Instant>,
    _guard: ClientGuard,
}

/// The `plan` event of `p`.
pub fn plan_event(p: &Published) -> Event {
    let version = p.plan.version.unwrap_or(0);
    Event::default().event("plan").id(version.to_string()).data(
        json!({
            "version": version,
            "generated_at": p.plan.generated_at,
            "basis_seq": p.seq,
        })
        .to_string(),
    )
}

impl Client {
    fn new_plan(&mut self) -> Option<Event> {
        let current = self.plan.borrow_and_update().clone()?;
        let version = current.plan.version.unwrap_or(0);
        if self.sent == Some(version) {
            return None;
        }
        self.sent = Some(version);
        Some(plan_event(&current))
    }

    fn state_event(&mut self) -> Event {
        let view = self.view.borrow_and_update().clone();
        let plan_version = self.plan.borrow().as_ref().and_then(|p| p.plan.version);
        Event::default().event("state").data(
            json!({
                "events_applied": view.events_applied,
                "last_seq": view.last_seq,
                "plan_version": plan_version,
            })
            .to_string(),
        )
    }

    /// The next event, or `None` when the daemon stops.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if *self.stopping.borrow() {
                return None;
            }
            if let Some(e) = self.new_plan() {
                return Some(e);
            }
            let due = self.state_due;
            tokio::select! {
                r = self.plan.changed() => r.ok()?,
                r = self.view.changed(), if due.is_none() => {
                    r.ok()?;
                    let now = Instant::now();
                    self.state_due = Some(self.last_state.map_or(now, |t| (t + STATE_EVERY).max(now)));
                }
                _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    self.state_due = None;
                    self.last_state = Some(Instant::now());
                    return Some(self.state_event());
                }
                r = self.stopping.changed() => {
                    if r.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

/// The `GET /v1/stream` handler.
pub async fn stream(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut view = app.engine.view.clone();
    view.mark_unchanged();
    let client = Client {
        plan: app.engine.plan.clone(),
        view,
        stopping: app.stopping.clone(),
        sent: last_id,
        last_state: None,
        state_due: None,
        _guard: ClientGuard::new(app.metrics.clone()),
    };
    let events = futures_util::stream::unfold(client, |mut c| async move {
        let e = c.next().await?;
        Some((Ok::<Event, Infallible>(e), c))
    });
    let mut r = Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(app.dashboard.keep_alive)
                .text("keep-alive"),
        )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
