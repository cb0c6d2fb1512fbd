//! Telemetry: the Prometheus registry behind `GET /metrics`, and one struct per
//! telemetry point whose `emit` logs and counts in one place (as vector's internal
//! events do), so a log line and its metric never drift apart.
//!
//! Labels are bounded by construction: event `type` (a closed list, or `unknown`),
//! outcome, solve status, priority, and the scenario's own sites, bed kinds, network
//! links and bed-sharing components, and horizon nights. No patient, case or event id is ever a label or a log field.
//! Theatre time is exported in seconds (Prometheus base units); the HELP text says so.

use std::collections::BTreeMap;
use std::time::Duration;

use flow_core::event::EVENT_TYPES;
use flow_core::plan::Plan;
use flow_core::scenario::{Priority, Scenario};
use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::engine::StateView;
use crate::store::StoreError;

/// Nights of the occupancy forecast exported per pool (label `night`, 0 = tonight).
pub const FORECAST_NIGHTS: usize = 14;

/// Every metric the daemon exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    events: IntCounterVec,
    store_commit: Histogram,
    store_batch: Histogram,
    store_failures: IntCounter,
    solve_duration: Histogram,
    solves: IntCounterVec,
    event_to_plan: Histogram,
    plan_version: IntGauge,
    pool_beds: IntGaugeVec,
    pool_occupied: IntGaugeVec,
    pool_reserve: IntGaugeVec,
    pool_forecast: GaugeVec,
    theatre_booked: IntGaugeVec,
    theatre_reserved: IntGaugeVec,
    theatre_required: IntGaugeVec,
    theatre_trauma: IntGaugeVec,
    waiting: IntGaugeVec,
    breaches: IntGaugeVec,
    state_events: IntGauge,
    hl7: Hl7Metrics,
    plan_generated: prometheus::Gauge,
    plan_basis_seq: IntGauge,
    pool_forecast_beds: IntGaugeVec,
    pool_forecast_reserve: IntGaugeVec,
    unscheduled: IntGaugeVec,
    bed_pressure: IntGaugeVec,
    bed_pressure_parameter: IntGaugeVec,
    opel_declared: IntGaugeVec,
    sse_clients: IntGauge,
    link_moves: IntGaugeVec,
    link_cap: IntGaugeVec,
    pooled_reserve: IntGaugeVec,
    separate_reserve: IntGaugeVec,
}

/// The HL7 listener's metrics (labels: trigger `A00`…`A99` or `other`, a closed
/// outcome list, the ACK code, a closed refusal reason list).
#[derive(Debug, Clone)]
struct Hl7Metrics {
    messages: IntCounterVec,
    discarded: IntCounter,
    open: IntGauge,
    refused: IntCounterVec,
    closed: IntCounterVec,
    ack_latency: Histogram,
}

/// Outcomes of an HL7 message (label `outcome`).
pub const HL7_OUTCOMES: [&str; 8] = [
    "applied",
    "stale",
    "no_op",
    "ignored",
    "duplicate",
    "conflict",
    "refused",
    "unavailable",
];

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help)
}

macro_rules! register {
    ($registry:expr, $metric:expr) => {{
        let m = $metric.map_err(|e| e.to_string())?;
        $registry
            .register(Box::new(m.clone()))
            .map_err(|e| e.to_string())?;
        m
    }};
}

impl Metrics {
    /// A registry with every metric registered (and every bounded label pre-created,
    /// so a scrape shows zeros rather than nothing).
    pub fn new() -> Result<Self, String> {
        let r = Registry::new();
        let secs = |lo: f64, n: usize| prometheus::exponential_buckets(lo, 2.0, n);
        let m = Metrics {
            events: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "flowd_events_ingested_total",
                        "Events received, by type and outcome (applied, rejected by the state, duplicate, invalid)."
                    ),
                    &["type", "outcome"]
                )
            ),
            store_commit: register!(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "flowd_store_commit_seconds",
                        "Time to make one batch of events durable (group commit)."
                    )
                    .buckets(secs(0.0001, 16).map_err(|e| e.to_string())?)
                )
            ),
            store_batch: register!(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "flowd_store_commit_batch_events",
                        "Events per durable commit (group commit batch size)."
                    )
                    .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0, 4096.0, 16384.0])
                )
            ),
            store_failures: register!(
                r,
                IntCounter::with_opts(opts(
                    "flowd_store_commit_failures_total",
                    "Commits that failed (the requests got 503 and the state was reloaded)."
                ))
            ),
            solve_duration: register!(
                r,
                Histogram::with_opts(
                    HistogramOpts::new("flowd_solve_duration_seconds", "Time spent re-planning, per solve.")
                        .buckets(secs(0.001, 16).map_err(|e| e.to_string())?)
                )
            ),
            solves: register!(
                r,
                IntCounterVec::new(
                    opts("flowd_solves_total", "Re-plans by outcome (ok, failed, timeout, invalid)."),
                    &["status"]
                )
            ),
            event_to_plan: register!(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "flowd_event_to_plan_seconds",
                        "From receiving an event that changes the plan to publishing a plan that includes it."
                    )
                    .buckets(secs(0.005, 14).map_err(|e| e.to_string())?)
                )
            ),
            plan_version: register!(
                r,
                IntGauge::with_opts(opts("flowd_plan_version", "Version of the plan being served."))
            ),
            pool_beds: register!(
                r,
                IntGaugeVec::new(opts("flowd_pool_beds", "Open beds tonight, per bed pool."), &["site", "kind"])
            ),
            pool_occupied: register!(
                r,
                IntGaugeVec::new(
                    opts("flowd_pool_occupied_beds", "Patients in a bed now, per bed pool."),
                    &["site", "kind"]
                )
            ),
            pool_reserve: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_pool_emergency_reserve_beds",
                        "Beds held back tonight for emergency admissions (Poisson quantile), per pool."
                    ),
                    &["site", "kind"]
                )
            ),
            pool_forecast: register!(
                r,
                GaugeVec::new(
                    opts(
                        "flowd_pool_forecast_occupied_beds",
                        "Forecast occupancy per pool and night of the plan (current + elective + expected emergency); night 0 is tonight."
                    ),
                    &["site", "kind", "night"]
                )
            ),
            theatre_booked: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_theatre_booked_seconds",
                        "Elective theatre time booked over the horizon, per site (minutes x 60)."
                    ),
                    &["site"]
                )
            ),
            theatre_reserved: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_theatre_reserved_seconds",
                        "Theatre time held for the emergency stream over the horizon (emergency theatres + reserve in elective lists), per site (minutes x 60)."
                    ),
                    &["site"]
                )
            ),
            theatre_required: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_theatre_reserve_required_seconds",
                        "Emergency theatre reserve required today (mu + z sigma), per site (minutes x 60)."
                    ),
                    &["site"]
                )
            ),
            theatre_trauma: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_theatre_trauma_used_seconds",
                        "Theatre time taken by trauma arrivals today, per site (minutes x 60)."
                    ),
                    &["site"]
                )
            ),
            waiting: register!(
                r,
                IntGaugeVec::new(
                    opts("flowd_waiting_list_cases", "Cases on the waiting list, per priority."),
                    &["priority"]
                )
            ),
            breaches: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_avoidable_breaches",
                        "Cases due inside the horizon that the current plan leaves unbooked or books late, per priority."
                    ),
                    &["priority"]
                )
            ),
            state_events: register!(
                r,
                IntGauge::with_opts(opts(
                    "flowd_state_last_seq",
                    "Sequence number of the last event in the state (the audit trail's length)."
                ))
            ),
            plan_generated: register!(
                r,
                prometheus::Gauge::with_opts(opts(
                    "flowd_plan_generated_timestamp_seconds",
                    "When the plan being served was made (Unix time)."
                ))
            ),
            plan_basis_seq: register!(
                r,
                IntGauge::with_opts(opts(
                    "flowd_plan_basis_seq",
                    "Sequence number of the last event the plan being served includes (compare flowd_state_last_seq)."
                ))
            ),
            link_moves: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_network_link_moves",
                        "Elective patients the plan moves along a network link per admission night; night 0 is today."
                    ),
                    &["from", "to", "night"]
                )
            ),
            link_cap: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_network_link_cap",
                        "Most elective moves a network link takes per day (electives.max_per_day)."
                    ),
                    &["from", "to"]
                )
            ),
            pooled_reserve: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_network_pooled_reserve_beds",
                        "Tonight's emergency bed reserve of a bed-sharing component of pools, kept together (the quantile of their summed census)."
                    ),
                    &["kind", "pools"]
                )
            ),
            separate_reserve: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_network_separate_reserve_beds",
                        "Tonight's emergency bed reserve the pools of a bed-sharing component would keep apart (summed)."
                    ),
                    &["kind", "pools"]
                )
            ),
            pool_forecast_beds: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_pool_forecast_beds",
                        "Open beds per pool and night of the plan; night 0 is tonight."
                    ),
                    &["site", "kind", "night"]
                )
            ),
            pool_forecast_reserve: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_pool_forecast_emergency_reserve_beds",
                        "Beds held back for emergency admissions per pool and night of the plan; night 0 is tonight."
                    ),
                    &["site", "kind", "night"]
                )
            ),
            unscheduled: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_unscheduled_cases",
                        "Waiting-list cases the plan being served leaves unbooked, per reason."
                    ),
                    &["reason"]
                )
            ),
            bed_pressure: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_bed_pressure_level",
                        "flow's computed bed-pressure level 1-4 (not OPEL), per site; site=\"all\" is the trust."
                    ),
                    &["site"]
                )
            ),
            bed_pressure_parameter: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_bed_pressure_parameter",
                        "Level 1-4 of each bed-pressure parameter, per site; the level is the highest of them."
                    ),
                    &["site", "parameter"]
                )
            ),
            opel_declared: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "flowd_opel_declared_level",
                        "OPEL level 1-4 declared by the operations centre (opel_declared events), per site; site=\"all\" is the trust; 0 = none declared."
                    ),
                    &["site"]
                )
            ),
            sse_clients: register!(
                r,
                IntGauge::with_opts(opts(
                    "flowd_sse_clients",
                    "Clients connected to GET /v1/stream."
                ))
            ),
            hl7: Hl7Metrics {
                messages: register!(
                    r,
                    IntCounterVec::new(
                        opts(
                            "flowd_hl7_messages_total",
                            "HL7 messages answered, by trigger (A00-A99 or other), outcome (applied, stale, no_op, ignored, duplicate, conflict, refused, unavailable) and ACK code."
                        ),
                        &["trigger", "outcome", "ack"]
                    )
                ),
                discarded: register!(
                    r,
                    IntCounter::with_opts(opts(
                        "flowd_hl7_discarded_bytes_total",
                        "Bytes outside MLLP frames (before a start block), discarded."
                    ))
                ),
                open: register!(
                    r,
                    IntGauge::with_opts(opts(
                        "flowd_hl7_connections_open",
                        "MLLP connections open."
                    ))
                ),
                refused: register!(
                    r,
                    IntCounterVec::new(
                        opts(
                            "flowd_hl7_connections_refused_total",
                            "MLLP connections closed at once, by reason (source not allowed, connection limit)."
                        ),
                        &["reason"]
                    )
                ),
                closed: register!(
                    r,
                    IntCounterVec::new(
                        opts(
                            "flowd_hl7_connections_closed_total",
                            "MLLP connections closed by flowd, by reason (oversize, bad_end, frame_timeout, idle, answer_timeout, shutdown)."
                        ),
                        &["reason"]
                    )
                ),
                ack_latency: register!(
                    r,
                    Histogram::with_opts(
                        HistogramOpts::new(
                            "flowd_hl7_ack_latency_seconds",
                            "From a complete frame to its ACK written (durable commit included)."
                        )
                        .buckets(secs(0.0001, 16).map_err(|e| e.to_string())?)
                    )
                ),
            },
            registry: r,
        };
        for reason in ["source", "limit"] {
            m.hl7.refused.with_label_values(&[reason]);
        }
        for reason in HL7_CLOSE_REASONS {
            m.hl7.closed.with_label_values(&[reason]);
        }
        for reason in UNSCHEDULED_REASONS {
            m.unscheduled.with_label_values(&[reason.as_str()]);
        }
        for kind in EVENT_TYPES.iter().chain(["unknown"].iter()) {
            for outcome in ["applied", "rejected", "duplicate", "invalid"] {
                m.events.with_label_values(&[*kind, outcome]);
            }
        }
        for status in SolveStatus::ALL {
            m.solves.with_label_values(&[status.as_str()]);
        }
        for p in Priority::ALL {
            m.waiting.with_label_values(&[p.as_str()]);
            m.breaches.with_label_values(&[p.as_str()]);
        }
        Ok(m)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }

    /// Sets the gauges that follow the live state (called at scrape time).
    pub fn observe_state(&self, view: &StateView) {
        self.state_events
            .set(i64::try_from(view.last_seq).unwrap_or(i64::MAX));
        for (p, n) in Priority::ALL.iter().zip(view.waiting_by_priority) {
            self.waiting
                .with_label_values(&[p.as_str()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let mut pools: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
        for w in &view.wards {
            let e = pools.entry((&w.site, &w.kind)).or_default();
            e.0 += i64::from(w.beds);
            e.1 += i64::from(w.occupied);
        }
        for ((site, kind), (beds, occupied)) in pools {
            self.pool_beds.with_label_values(&[site, kind]).set(beds);
            self.pool_occupied
                .with_label_values(&[site, kind])
                .set(occupied);
        }
        for (site, minutes) in &view.trauma_today {
            self.theatre_trauma
                .with_label_values(&[site.as_str()])
                .set(i64::from(*minutes) * 60);
        }
    }
}

/// Every unscheduled reason, for pre-created labels.
const UNSCHEDULED_REASONS: [flow_core::plan::Reason; 8] = [
    flow_core::plan::Reason::NoTheatreTime,
    flow_core::plan::Reason::NoBed,
    flow_core::plan::Reason::NotEligible,
    flow_core::plan::Reason::OutsideHorizon,
    flow_core::plan::Reason::LowerPriority,
    flow_core::plan::Reason::NoSurgeonTime,
    flow_core::plan::Reason::NotMovable,
    flow_core::plan::Reason::LinkFull,
];

impl Metrics {
    /// Sets one scope's bed-pressure level and its parameters' levels (`site` is a
    /// scenario site id or `all`; `parameter` a fixed name).
    pub fn observe_bed_pressure(&self, site: &str, level: u8, parameters: &[(&str, u8)]) {
        self.bed_pressure
            .with_label_values(&[site])
            .set(i64::from(level));
        for (name, l) in parameters {
            self.bed_pressure_parameter
                .with_label_values(&[site, name])
                .set(i64::from(*l));
        }
    }

    /// Sets the declared OPEL level of `site` (`all` for the trust; 0 = none).
    pub fn observe_opel(&self, site: &str, level: u8) {
        self.opel_declared
            .with_label_values(&[site])
            .set(i64::from(level));
    }

    /// One more (`+1`) or one fewer (`-1`) stream client.
    pub fn sse_clients_add(&self, delta: i64) {
        self.sse_clients.add(delta);
    }
}

/// How a re-plan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveStatus {
    /// A plan was made, checked and published.
    Ok,
    /// The planner returned an error; the last good plan stays.
    Failed,
    /// The planner ran past its time limit; the last good plan stays.
    Timeout,
    /// The plan failed the independent checker; the last good plan stays.
    Invalid,
}

impl SolveStatus {
    /// Every status.
    pub const ALL: [SolveStatus; 4] = [
        SolveStatus::Ok,
        SolveStatus::Failed,
        SolveStatus::Timeout,
        SolveStatus::Invalid,
    ];

    /// The `status` label.
    pub fn as_str(self) -> &'static str {
        match self {
            SolveStatus::Ok => "ok",
            SolveStatus::Failed => "failed",
            SolveStatus::Timeout => "timeout",
            SolveStatus::Invalid => "invalid",
        }
    }
}

/// Events of one type got one outcome.
#[derive(Debug)]
pub struct EventsIngested<'a> {
    /// Event `type` (or `unknown`).
    pub kind: &'a str,
    /// `applied`, `rejected`, `duplicate` or `invalid`.
    pub outcome: &'a str,
    /// How many.
    pub count: u64,
}

impl EventsIngested<'_> {
    /// Logs (debug) and counts.
    pub fn emit(&self, m: &Metrics) {
        let kind = if EVENT_TYPES.contains(&self.kind) {
            self.kind
        } else {
            "unknown"
        };
        tracing::debug!(
            kind,
            outcome = self.outcome,
            count = self.count,
            "events ingested"
        );
        m.events
            .with_label_values(&[kind, self.outcome])
            .inc_by(self.count);
    }
}

/// A request's events were refused as bad input (nothing stored).
#[derive(Debug)]
pub struct RequestRejected<'a> {
    /// Field path of the first problem (never a value).
    pub first_path: &'a str,
    /// Number of problems.
    pub problems: usize,
}

impl RequestRejected<'_> {
    /// Logs (info); the per-type counts go through [`EventsIngested`].
    pub fn emit(&self) {
        tracing::info!(
            first_path = self.first_path,
            problems = self.problems,
            "rejected a request: bad event input"
        );
    }
}

/// A batch of events became durable.
#[derive(Debug)]
pub struct StoreCommitted {
    /// Events in the batch (new ones; duplicates are not written).
    pub events: usize,
    /// Requests that shared the commit.
    pub requests: usize,
    /// Time to commit.
    pub duration: Duration,
}

impl StoreCommitted {
    /// Logs (trace) and observes.
    pub fn emit(&self, m: &Metrics) {
        tracing::trace!(
            events = self.events,
            requests = self.requests,
            seconds = self.duration.as_secs_f64(),
            "store commit"
        );
        m.store_commit.observe(self.duration.as_secs_f64());
        m.store_batch.observe(self.events as f64);
    }
}

/// A commit failed.
#[derive(Debug)]
pub struct StoreCommitFailed<'a> {
    /// Why.
    pub error: &'a StoreError,
}

impl StoreCommitFailed<'_> {
    /// Logs (error) and counts.
    pub fn emit(&self, m: &Metrics) {
        tracing::error!(error = %self.error, "store commit failed; reloading state from the store");
        m.store_failures.inc();
    }
}

/// A re-plan finished.
#[derive(Debug)]
pub struct SolveCompleted {
    /// How it ended.
    pub status: SolveStatus,
    /// How long it took.
    pub duration: Duration,
}

impl SolveCompleted {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        let seconds = self.duration.as_secs_f64();
        match self.status {
            SolveStatus::Ok => tracing::debug!(status = "ok", seconds, "re-plan finished"),
            other => tracing::warn!(
                status = other.as_str(),
                seconds,
                "re-plan did not produce a plan; serving the last good one"
            ),
        }
        m.solve_duration.observe(seconds);
        m.solves.with_label_values(&[self.status.as_str()]).inc();
    }
}

/// A new plan is being served.
#[derive(Debug)]
pub struct PlanPublished<'a> {
    /// Its version.
    pub version: u64,
    /// Last event sequence number it includes.
    pub seq: u64,
    /// For each change it includes, the time from receiving it to now.
    pub latencies: &'a [Duration],
}

impl PlanPublished<'_> {
    /// Logs (info) and observes.
    pub fn emit(&self, m: &Metrics) {
        let worst = self
            .latencies
            .iter()
            .max()
            .map(Duration::as_secs_f64)
            .unwrap_or(0.0);
        tracing::info!(
            version = self.version,
            seq = self.seq,
            changes = self.latencies.len(),
            worst_latency_seconds = worst,
            "plan published"
        );
        m.plan_version
            .set(i64::try_from(self.version).unwrap_or(i64::MAX));
        m.plan_basis_seq
            .set(i64::try_from(self.seq).unwrap_or(i64::MAX));
        for l in self.latencies {
            m.event_to_plan.observe(l.as_secs_f64());
        }
    }
}

/// The figures of a newly published plan, set as gauges.
#[derive(Debug)]
pub struct PlanFigures<'a> {
    /// The scenario the plan answers.
    pub scenario: &'a Scenario,
    /// The plan.
    pub plan: &'a Plan,
    /// Avoidable breaches per priority (P1a first).
    pub breaches: [usize; 5],
}

impl PlanFigures<'_> {
    /// Sets the plan gauges.
    pub fn emit(&self, m: &Metrics) {
        for (p, n) in Priority::ALL.iter().zip(self.breaches) {
            m.breaches
                .with_label_values(&[p.as_str()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let start = self.scenario.start;
        for o in &self.plan.occupancy {
            let night = self.scenario.day_index(o.date);
            if o.date == start {
                m.pool_reserve
                    .with_label_values(&[&o.site, &o.kind])
                    .set(i64::from(o.emergency_reserve));
            }
            if (0..FORECAST_NIGHTS as i64).contains(&night) {
                let forecast = f64::from(o.current) + f64::from(o.elective) + o.emergency_mean;
                let night = night.to_string();
                m.pool_forecast
                    .with_label_values(&[&o.site, &o.kind, &night])
                    .set(forecast);
                m.pool_forecast_beds
                    .with_label_values(&[&o.site, &o.kind, &night])
                    .set(i64::from(o.beds));
                m.pool_forecast_reserve
                    .with_label_values(&[&o.site, &o.kind, &night])
                    .set(i64::from(o.emergency_reserve));
            }
        }
        if let Some(at) = self
            .plan
            .generated_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            m.plan_generated.set(at.timestamp_millis() as f64 / 1000.0);
        }
        for reason in UNSCHEDULED_REASONS {
            let n = self
                .plan
                .unscheduled
                .iter()
                .filter(|u| u.reason == reason)
                .count();
            m.unscheduled
                .with_label_values(&[reason.as_str()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let theatre_site: BTreeMap<&str, &str> = self
            .scenario
            .theatres
            .iter()
            .map(|t| (t.id.as_str(), t.site.as_str()))
            .collect();
        let duration: BTreeMap<&str, u32> = self
            .scenario
            .waiting_list
            .iter()
            .map(|c| (c.id.as_str(), c.duration_min))
            .collect();
        let mut booked: BTreeMap<&str, i64> = BTreeMap::new();
        let mut reserved: BTreeMap<&str, i64> = BTreeMap::new();
        for site in &self.scenario.sites {
            booked.insert(&site.id, 0);
            reserved.insert(&site.id, 0);
        }
        for s in &self.plan.sessions {
            let Some(site) = theatre_site.get(s.theatre.as_str()) else {
                continue;
            };
            *reserved.entry(site).or_default() += i64::from(s.reserved_emergency_min);
            let minutes: u32 = s
                .cases
                .iter()
                .filter_map(|c| duration.get(c.as_str()))
                .sum();
            *booked.entry(site).or_default() += i64::from(minutes);
        }
        for (site, minutes) in booked {
            m.theatre_booked
                .with_label_values(&[site])
                .set(minutes * 60);
        }
        for (site, minutes) in reserved {
            m.theatre_reserved
                .with_label_values(&[site])
                .set(minutes * 60);
        }
        let required = flow_core::reserve::theatre_reserve(self.scenario);
        for (site, days) in required {
            let today = days.first().copied().unwrap_or(0);
            m.theatre_required
                .with_label_values(&[site.as_str()])
                .set(i64::from(today) * 60);
        }
        self.emit_network(m);
    }

    /// Link use per night and each bed-sharing component's reserve tonight. Every
    /// link carrying electives gets a value on every forecast night (0 when unused),
    /// so a move the new plan no longer makes does not linger.
    fn emit_network(&self, m: &Metrics) {
        if self.scenario.network.is_none() {
            return;
        }
        let mut used: BTreeMap<(&str, &str, i64), u32> = BTreeMap::new();
        let use_ = self.plan.network.as_ref();
        for l in use_.map_or(&[][..], |n| &n.links[..]) {
            let night = self.scenario.day_index(l.date);
            used.insert((l.from.as_str(), l.to.as_str(), night), l.used);
        }
        for d in flow_core::network::elective_directions(self.scenario) {
            m.link_cap
                .with_label_values(&[d.from, d.to])
                .set(i64::from(d.max_per_day));
            for night in 0..FORECAST_NIGHTS as i64 {
                let n = used.get(&(d.from, d.to, night)).copied().unwrap_or(0);
                m.link_moves
                    .with_label_values(&[d.from, d.to, &night.to_string()])
                    .set(i64::from(n));
            }
        }
        let start = self.scenario.start;
        for r in use_.map_or(&[][..], |n| &n.reserve[..]) {
            if r.date != start {
                continue;
            }
            let pools = r.pools.join("+");
            m.pooled_reserve
                .with_label_values(&[&r.kind, &pools])
                .set(i64::from(r.pooled));
            m.separate_reserve
                .with_label_values(&[&r.kind, &pools])
                .set(i64::from(r.separate));
        }
    }
}

/// Why flowd closed an MLLP connection (label `reason`).
pub const HL7_CLOSE_REASONS: [&str; 6] = [
    "oversize",
    "bad_end",
    "frame_timeout",
    "idle",
    "answer_timeout",
    "shutdown",
];

/// One HL7 message was answered.
#[derive(Debug)]
pub struct Hl7Answered<'a> {
    /// `A00`…`A99` or `other`.
    pub trigger: &'a str,
    /// One of [`HL7_OUTCOMES`].
    pub outcome: &'static str,
    /// MSA-1 (`AA`, `AE`, `AR`, `CA`, `CE`, `CR`) or `none` (no ACK wanted).
    pub ack: &'static str,
    /// HL7 table 0357 code on a refusal.
    pub error: Option<u16>,
    /// From the complete frame to the ACK written.
    pub latency: Duration,
}

impl Hl7Answered<'_> {
    /// Logs (debug; info on a refusal) and counts.
    pub fn emit(&self, m: &Metrics) {
        let trigger = if self.trigger.len() == 3
            && self.trigger.starts_with('A')
            && self.trigger[1..].bytes().all(|b| b.is_ascii_digit())
        {
            self.trigger
        } else {
            "other"
        };
        if let Some(error) = self.error {
            tracing::info!(
                trigger,
                outcome = self.outcome,
                ack = self.ack,
                error,
                "hl7 message refused"
            );
        } else {
            tracing::debug!(
                trigger,
                outcome = self.outcome,
                ack = self.ack,
                "hl7 message answered"
            );
        }
        m.hl7
            .messages
            .with_label_values(&[trigger, self.outcome, self.ack])
            .inc();
        m.hl7.ack_latency.observe(self.latency.as_secs_f64());
    }
}

/// MLLP connection bookkeeping.
#[derive(Debug)]
pub enum Hl7Connection {
    /// A connection was accepted.
    Opened,
    /// A connection ended.
    Ended,
    /// A connection was refused at once: `source` or `limit`.
    Refused(&'static str),
    /// flowd closed a connection, for one of [`HL7_CLOSE_REASONS`].
    Closed(&'static str),
    /// Bytes outside frames were discarded.
    Discarded(u64),
}

impl Hl7Connection {
    /// Logs and counts.
    pub fn emit(&self, m: &Metrics) {
        match self {
            Hl7Connection::Opened => m.hl7.open.inc(),
            Hl7Connection::Ended => m.hl7.open.dec(),
            Hl7Connection::Refused(reason) => {
                tracing::warn!(reason, "mllp connection refused");
                m.hl7.refused.with_label_values(&[reason]).inc();
            }
            Hl7Connection::Closed(reason) => {
                tracing::info!(reason, "mllp connection closed");
                m.hl7.closed.with_label_values(&[reason]).inc();
            }
            Hl7Connection::Discarded(n) => {
                if *n > 0 {
                    tracing::debug!(bytes = n, "bytes outside mllp frames discarded");
                    m.hl7.discarded.inc_by(*n);
                }
            }
        }
    }
}
