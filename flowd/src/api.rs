//! The HTTP API: handlers, their wire types, and the OpenAPI document generated from
//! them (utoipa), served at `GET /openapi.json`.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/events` | one event or an array; answers once durable |
//! | `GET /v1/events?after=SEQ&limit=N` | the audit trail |
//! | `GET /v1/hl7/refusals?after=ID&limit=N` | audit rows of HL7 messages answered AE/AR |
//! | `GET /v1/plan` | the plan being served (`flow.plan/1` + `version`, `generated_at`) |
//! | `GET /v1/plan/changes?since=V` | cases moved, added, cancelled since version V |
//! | `GET /v1/state[?full=true]` | state summary (and the whole state) |
//! | `GET /metrics` | Prometheus text |
//! | `GET /healthz`, `GET /readyz` | liveness, readiness |
//!
//! Handlers never touch the state or the store: they read published views (`watch`
//! channels) or send a command to the state owner and await its answer. When a token
//! is configured, writes, the audit trail and the full state (which hold patient
//! identifiers) need `Authorization: Bearer <token>`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flow_core::event::Catalog;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::engine::{AckOutcome, Booking, Command, EngineError, EngineHandle, StateView};
use crate::ingest;
use crate::metrics::{EventsIngested, Metrics, RequestRejected};
use crate::store::{StoredEvent, StoredRefusal};

/// Most audit-trail events one `GET /v1/events` returns.
pub const MAX_EVENTS_PAGE: usize = 1000;

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    /// The engine's queue and published views.
    pub engine: EngineHandle,
    /// The scenario's static facts, for checking events.
    pub catalog: Arc<Catalog>,
    /// Telemetry.
    pub metrics: Metrics,
    /// Bearer token writes need, if any.
    pub token: Option<String>,
    /// Most events per request.
    pub max_events: usize,
    /// Refuse events carrying fields the contract does not know (else warn).
    pub strict: bool,
    /// Set once shutdown began (readiness goes false).
    pub closing: Arc<AtomicBool>,
    /// The dashboard's settings (keep-alive, bed-pressure cut points).
    pub dashboard: crate::dashboard::Settings,
    /// Turns true when shutdown begins (event streams end on it).
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// The router with every route and the body limit.
pub fn router(app: Arc<App>, max_body_bytes: usize) -> axum::Router {
    axum::Router::new()
        .route("/v1/events", get(get_events).post(post_events))
        .route("/v1/hl7/refusals", get(get_refusals))
        .route("/v1/plan", get(get_plan))
        .route("/v1/plan/changes", get(get_plan_changes))
        .route("/v1/state", get(get_state))
        .route("/metrics", get(get_metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .merge(crate::dashboard::routes())
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(app)
}

/// The OpenAPI description of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "flowd",
        description = "flow's live daemon: ingest patient-flow events, serve the plan that keeps elective surgery around the emergency reserve. Event and plan documents follow CONTRACT.md (schemas/plan.schema.json)."
    ),
    paths(
        post_events,
        get_events,
        get_refusals,
        get_plan,
        get_plan_changes,
        get_state,
        get_metrics,
        healthz,
        readyz,
        openapi
    ),
    components(schemas(
        IngestResponse,
        AckBody,
        ErrorBody,
        FieldErrorBody,
        ChangesResponse,
        Moved,
        Placed,
        Booking,
        StateResponse,
        StateView,
        EventsPage,
        StoredEvent,
        RefusalsPage,
        StoredRefusal,
        Ready
    )),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// An error answer: what is wrong, and each field problem at its path.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Summary.
    pub error: String,
    /// Field problems (bad input only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorBody>,
}

/// One field problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// Field path, e.g. `[3].case.stay[0].kind` (empty: the body as a whole).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            error: message.into(),
            errors: Vec::new(),
        }),
    )
        .into_response()
}

fn engine_error(e: &EngineError) -> Response {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// `None` when no token is configured or the request carries it; otherwise the 401.
fn unauthorised(app: &App, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = &app.token else {
        return None;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        None
    } else {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (Authorization: Bearer <token>)",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        Some(r)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The answer to `POST /v1/events`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResponse {
    /// New events stored (applied or rejected by the state).
    pub accepted: usize,
    /// Events whose id was already stored (not applied again).
    pub duplicates: usize,
    /// Of the accepted, those the state rejected (stored in the trail, changed nothing).
    pub rejected: usize,
    /// One entry per event, in request order.
    pub results: Vec<AckBody>,
    /// Fields the contract does not know, at their paths (their content was ignored);
    /// absent when there are none. With `strict` the request is refused instead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldErrorBody>,
}

/// The acknowledgement of one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AckBody {
    /// Event id.
    pub id: String,
    /// Its place in the audit trail.
    pub seq: u64,
    /// `applied`, `rejected` or `duplicate`.
    pub outcome: String,
    /// Why the state rejected it, or (duplicates) what became of the first copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Ingest events.
///
/// Takes one event or an array (CONTRACT.md, "Live events"). Answers 200 only once
/// every event is durable; concurrent requests share one commit. A repeated `id` is
/// acknowledged as `duplicate` and not applied again. Any bad event refuses the whole
/// request with 400 naming each field; nothing of it is stored.
#[utoipa::path(
    post,
    path = "/v1/events",
    request_body(content = Object, description = "One event object or an array of them", content_type = "application/json"),
    responses(
        (status = 200, description = "Durable; one result per event", body = IngestResponse),
        (status = 400, description = "Bad input; each problem names its field", body = ErrorBody),
        (status = 401, description = "Token required", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 503, description = "Store unavailable or shutting down; nothing stored", body = ErrorBody)
    ),
    security((), ("bearer" = [])),
    tag = "events"
)]
async fn post_events(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let received = Instant::now();
    if let Some(r) = unauthorised(&app, &headers) {
        return r;
    }
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    let (events, unknown_fields) =
        match ingest::json::decode_checked(&body, &app.catalog, app.max_events, app.strict) {
            Ok(decoded) => decoded,
            Err(bad) => {
                RequestRejected {
                    first_path: bad.errors.first().map(|e| e.path.as_str()).unwrap_or(""),
                    problems: bad.errors.len(),
                }
                .emit();
                let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
                for k in &bad.kinds {
                    *counts.entry(k).or_default() += 1;
                }
                for (kind, count) in counts {
                    EventsIngested {
                        kind,
                        outcome: "invalid",
                        count,
                    }
                    .emit(&app.metrics);
                }
                let summary = match bad.errors.first() {
                    Some(e) if bad.errors.len() == 1 => format!("bad event: {e}"),
                    _ => format!("{} problems in the request", bad.errors.len()),
                };
                return (
                    StatusCode::BAD_REQUEST,
                    Json(ErrorBody {
                        error: summary,
                        errors: bad
                            .errors
                            .into_iter()
                            .map(|e| FieldErrorBody {
                                path: e.path,
                                message: e.message,
                            })
                            .collect(),
                    }),
                )
                    .into_response();
            }
        };
    if let Some(first) = unknown_fields.first() {
        // Field paths of the request body, never ids.
        tracing::warn!(
            fields = unknown_fields.len(),
            first = %first.path,
            "events carry fields the contract does not know (ignored)"
        );
    }
    match ingest::submit(&app.engine, events, format!("http:{peer}"), received).await {
        Ok(acks) => {
            let mut out = IngestResponse {
                accepted: 0,
                duplicates: 0,
                rejected: 0,
                results: Vec::with_capacity(acks.len()),
                warnings: unknown_fields
                    .into_iter()
                    .map(|e| FieldErrorBody {
                        path: e.path,
                        message: e.message,
                    })
                    .collect(),
            };
            for ack in acks {
                let (outcome, reason) = match ack.outcome {
                    AckOutcome::Applied => {
                        out.accepted += 1;
                        ("applied", None)
                    }
                    AckOutcome::Rejected(why) => {
                        out.accepted += 1;
                        out.rejected += 1;
                        ("rejected", Some(why.as_str().to_string()))
                    }
                    AckOutcome::Duplicate(first) => {
                        out.duplicates += 1;
                        ("duplicate", Some(format!("first copy {first}")))
                    }
                };
                out.results.push(AckBody {
                    id: ack.id,
                    seq: ack.seq,
                    outcome: outcome.to_string(),
                    reason,
                });
            }
            Json(out).into_response()
        }
        Err(e) => engine_error(&e),
    }
}

/// Audit-trail query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Events after this sequence number (default 0).
    pub after: Option<u64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// A page of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    /// Events in order.
    pub events: Vec<StoredEvent>,
    /// Pass as `after` for the next page.
    pub next_after: u64,
}

/// Read the audit trail: every stored event, in order, with who sent it, when, and
/// whether it was applied or rejected.
#[utoipa::path(
    get,
    path = "/v1/events",
    params(EventsQuery),
    responses(
        (status = 200, body = EventsPage),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody)
    ),
    security((), ("bearer" = [])),
    tag = "events"
)]
async fn get_events(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    if let Some(r) = unauthorised(&app, &headers) {
        return r;
    }
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_EVENTS_PAGE);
    let asked = ask(&app, |reply| Command::ReadEvents {
        after,
        limit,
        reply,
    });
    match asked.await {
        Ok(events) => {
            let next_after = events.last().map(|e| e.seq).unwrap_or(after);
            Json(EventsPage { events, next_after }).into_response()
        }
        Err(e) => engine_error(&e),
    }
}

/// Sends the state owner a read and awaits its answer.
async fn ask<T>(
    app: &App,
    command: impl FnOnce(oneshot::Sender<Result<T, EngineError>>) -> Command,
) -> Result<T, EngineError> {
    let (reply, answer) = oneshot::channel();
    app.engine
        .commands
        .send(command(reply))
        .await
        .map_err(|_| EngineError::ShuttingDown)?;
    answer.await.map_err(|_| EngineError::ShuttingDown)?
}

/// A page of refused HL7 messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusalsPage {
    /// Audit rows in order.
    pub refusals: Vec<StoredRefusal>,
    /// Pass as `after` for the next page.
    pub next_after: u64,
}

/// Read the audit rows of HL7 messages answered AE or AR: when, from where, the
/// message key, the trigger and why (HL7 table 0357 code, location, text). Nothing
/// else of a refused message is stored. `after` and `limit` as for `/v1/events`.
#[utoipa::path(
    get,
    path = "/v1/hl7/refusals",
    params(EventsQuery),
    responses(
        (status = 200, body = RefusalsPage),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody)
    ),
    security((), ("bearer" = [])),
    tag = "events"
)]
async fn get_refusals(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    if let Some(r) = unauthorised(&app, &headers) {
        return r;
    }
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_EVENTS_PAGE);
    let asked = ask(&app, |reply| Command::ReadRefusals {
        after,
        limit,
        reply,
    });
    match asked.await {
        Ok(refusals) => {
            let next_after = refusals.last().map(|r| r.id).unwrap_or(after);
            Json(RefusalsPage {
                refusals,
                next_after,
            })
            .into_response()
        }
        Err(e) => engine_error(&e),
    }
}

/// The plan being served: `flow.plan/1` plus `version` and `generated_at`. It always
/// passes the independent checker against the state it was made from.
#[utoipa::path(
    get,
    path = "/v1/plan",
    responses(
        (status = 200, description = "flow.plan/1 (schemas/plan.schema.json)", body = Object),
        (status = 503, description = "No plan yet", body = ErrorBody)
    ),
    tag = "plan"
)]
async fn get_plan(State(app): State<Arc<App>>) -> Response {
    let published = app.engine.plan.borrow().clone();
    match published {
        Some(p) => {
            let mut r =
                ([(header::CONTENT_TYPE, "application/json")], p.json.clone()).into_response();
            if let Some(v) = p
                .plan
                .version
                .and_then(|v| HeaderValue::from_str(&v.to_string()).ok())
            {
                r.headers_mut().insert("x-flow-plan-version", v);
            }
            r
        }
        None => error(StatusCode::SERVICE_UNAVAILABLE, "no plan yet; see /readyz"),
    }
}

/// `GET /v1/plan/changes` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ChangesQuery {
    /// The version to compare the current plan with.
    pub since: u64,
}

/// What changed between two plan versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesResponse {
    /// The older version.
    pub since: u64,
    /// The current version.
    pub version: u64,
    /// Cases booked in both, elsewhere now.
    pub moved: Vec<Moved>,
    /// Cases booked now but not then.
    pub added: Vec<Placed>,
    /// Cases booked then but not now (done, delisted, cancelled or bumped).
    pub cancelled: Vec<Placed>,
}

/// A case that moved.
#[derive(Debug, Serialize, ToSchema)]
pub struct Moved {
    /// Case id.
    pub case: String,
    /// Where it was.
    pub from: Booking,
    /// Where it is.
    pub to: Booking,
}

/// A case and one booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct Placed {
    /// Case id.
    pub case: String,
    /// The booking (the new one for `added`, the old one for `cancelled`).
    pub booking: Booking,
}

/// Cases moved, added and cancelled between plan `since` and the current plan.
#[utoipa::path(
    get,
    path = "/v1/plan/changes",
    params(ChangesQuery),
    responses(
        (status = 200, body = ChangesResponse),
        (status = 400, description = "`since` is newer than the current plan", body = ErrorBody),
        (status = 410, description = "`since` is no longer kept", body = ErrorBody),
        (status = 503, description = "No plan yet", body = ErrorBody)
    ),
    tag = "plan"
)]
async fn get_plan_changes(State(app): State<Arc<App>>, Query(q): Query<ChangesQuery>) -> Response {
    let Some(current) = app.engine.plan.borrow().clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "no plan yet; see /readyz");
    };
    let version = current.plan.version.unwrap_or(0);
    if q.since > version {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "since: version {} is newer than the current plan ({version})",
                q.since
            ),
        );
    }
    let old = match app.engine.history.lock() {
        Ok(h) => h.get(q.since).ok_or(h.oldest()),
        Err(_) => Err(None),
    };
    let old = match old {
        Ok(b) => b,
        Err(oldest) => {
            return error(
                StatusCode::GONE,
                format!(
                    "since: version {} is no longer kept (oldest kept: {})",
                    q.since,
                    oldest
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "none".into())
                ),
            );
        }
    };
    let new = &current.bookings;
    let mut out = ChangesResponse {
        since: q.since,
        version,
        moved: Vec::new(),
        added: Vec::new(),
        cancelled: Vec::new(),
    };
    for (case, was) in old.iter() {
        match new.get(case) {
            None => out.cancelled.push(Placed {
                case: case.clone(),
                booking: was.clone(),
            }),
            Some(now) if now != was => out.moved.push(Moved {
                case: case.clone(),
                from: was.clone(),
                to: now.clone(),
            }),
            Some(_) => {}
        }
    }
    for (case, now) in new.iter() {
        if !old.contains_key(case) {
            out.added.push(Placed {
                case: case.clone(),
                booking: now.clone(),
            });
        }
    }
    Json(out).into_response()
}

/// `GET /v1/state` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct StateQuery {
    /// Include the whole state (patients, cases, bed changes) under `state`.
    pub full: Option<bool>,
}

/// The state summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateResponse {
    /// The summary.
    #[serde(flatten)]
    pub view: StateView,
    /// Version of the plan being served (null before the first).
    pub plan_version: Option<u64>,
    /// Last event the plan being served includes.
    pub plan_seq: Option<u64>,
    /// The whole state (`full=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub state: Option<serde_json::Value>,
}

/// The live state: events applied, plan version, wards (beds and patients in).
#[utoipa::path(
    get,
    path = "/v1/state",
    params(StateQuery),
    responses((status = 200, body = StateResponse), (status = 401, body = ErrorBody)),
    tag = "state"
)]
async fn get_state(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<StateQuery>,
) -> Response {
    let full = if q.full.unwrap_or(false) {
        if let Some(r) = unauthorised(&app, &headers) {
            return r;
        }
        let (reply, answer) = oneshot::channel();
        if app
            .engine
            .commands
            .send(Command::FullState(reply))
            .await
            .is_err()
        {
            return engine_error(&EngineError::ShuttingDown);
        }
        match answer.await {
            Ok(state) => match serde_json::to_value(&state) {
                Ok(v) => Some(v),
                Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            },
            Err(_) => return engine_error(&EngineError::ShuttingDown),
        }
    } else {
        None
    };
    let view = app.engine.view.borrow().as_ref().clone();
    let plan = app.engine.plan.borrow().clone();
    Json(StateResponse {
        view,
        plan_version: plan.as_ref().and_then(|p| p.plan.version),
        plan_seq: plan.as_ref().map(|p| p.seq),
        state: full,
    })
    .into_response()
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(
    get,
    path = "/metrics",
    responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")),
    tag = "operations"
)]
async fn get_metrics(State(app): State<Arc<App>>) -> Response {
    let view = app.engine.view.borrow().clone();
    app.metrics.observe_state(&view);
    crate::dashboard::observe(&app, &view);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    responses((status = 200, description = "ok", body = String, content_type = "text/plain")),
    tag = "operations"
)]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// State recovered, a plan published, not shutting down.
    pub ready: bool,
    /// Version of the plan being served.
    pub plan_version: Option<u64>,
}

/// Readiness: the state is recovered, a plan is being served, and the daemon is not
/// shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    responses((status = 200, body = Ready), (status = 503, body = Ready)),
    tag = "operations"
)]
async fn readyz(State(app): State<Arc<App>>) -> Response {
    let version = app
        .engine
        .plan
        .borrow()
        .as_ref()
        .and_then(|p| p.plan.version);
    let ready = version.is_some() && !app.closing.load(Ordering::SeqCst);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Ready {
            ready,
            plan_version: version,
        }),
    )
        .into_response()
}

/// This API's OpenAPI 3 description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    responses((status = 200, description = "OpenAPI document", body = Object)),
    tag = "operations"
)]
async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_lists_every_route() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for path in [
            "/v1/events",
            "/v1/hl7/refusals",
            "/v1/plan",
            "/v1/plan/changes",
            "/v1/state",
            "/metrics",
            "/healthz",
            "/readyz",
            "/openapi.json",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
