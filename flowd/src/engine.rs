//! The engine: one thread owns the live state and the store; one task re-plans.
//!
//! **State owner** (a dedicated OS thread, `flowd-state`): the only code that touches
//! the [`State`] and the [`Store`]. It takes [`Command`]s from an mpsc queue; every
//! ingest request that is waiting when it wakes up joins one batch (group commit).
//! For a batch it looks up which ids are already stored (duplicates are acknowledged
//! with their first outcome and not applied again), applies the new events in order
//! to its private state to learn each one's outcome, appends them all in one durable
//! transaction, and only then answers the requests, publishes a fresh [`StateView`]
//! and tells the re-plan worker the plan is stale. If the commit fails, nothing is
//! acknowledged and the state is reloaded from the store (the same path as a restart),
//! so the state never holds an event the store does not. Every
//! `snapshot_every` events it writes a snapshot of the state beside the trail.
//!
//! **Re-plan worker** (a tokio task): waits for "stale", lets a burst settle
//! (`debounce`, but never longer than `max_delay` after the first change, counting
//! changes that came during the last solve), asks the owner for the planning problem
//! of the moment, solves it on the blocking pool under a time limit (short for a
//! re-plan, which starts from the plan served; refined in later rounds when the
//! limit bites), checks the plan with the independent checker, and publishes it
//! through a `watch` channel as one `Arc` with the next `version`. Until then, and
//! whenever a solve fails, times out or is refused by the checker, the last good plan
//! stays published (and the worker tries again after a backoff, even if nothing new
//! arrives).
//!
//! A request may carry a message key ([`MessageKey`], the HL7 idempotency key): the
//! owner looks it up in the same batch, answers a resend of the same content as a
//! duplicate and a different content under the same key with
//! [`EngineError::KeyConflict`], and stores a new key in the same transaction as the
//! request's events (also when the message became no event).
//!
//! The planner is called in exactly one place, [`plan`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::NaiveDate;
use flow_core::event::{Catalog, Event, parse_event};
use flow_core::plan::Plan;
use flow_core::scenario::{Period, Scenario};
use flow_core::state::{Outcome, Rejection, State, WardView};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::{
    EventsIngested, Metrics, PlanFigures, PlanPublished, SolveCompleted, SolveStatus,
    StoreCommitFailed, StoreCommitted,
};
use crate::store::{
    Commit, NewEvent, NewKey, NewRefusal, Snapshot, Store, StoreError, StoredEvent, StoredRefusal,
};

/// Meta key holding the scenario a store belongs to.
const META_SCENARIO: &str = "scenario";
/// Meta key holding the last published plan version.
const META_PLAN_VERSION: &str = "plan_version";

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store belongs to another scenario.
    #[error(
        "the data directory belongs to another scenario (`{stored}`); use a new --data-dir or the scenario it was started with"
    )]
    ScenarioMismatch {
        /// Name of the stored scenario.
        stored: String,
    },
    /// A stored event or snapshot does not read back.
    #[error("recovery failed at event {seq}: {message}")]
    Replay {
        /// Sequence number of the event.
        seq: u64,
        /// What went wrong.
        message: String,
    },
    /// The engine is stopping or has stopped.
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// The store could not commit; nothing of the request was stored.
    #[error("the event store is unavailable: {0}")]
    Unavailable(String),
    /// The request's message key is stored with a different content.
    #[error("the message key was used before for a different message")]
    KeyConflict,
}

/// How the engine runs (from the daemon's configuration).
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Quiet time after a change before re-planning.
    pub debounce: Duration,
    /// Longest a change waits for a re-plan to start while changes keep coming.
    pub max_delay: Duration,
    /// Time limit of a cold solve: the first plan, with none to start from.
    pub time_limit: Duration,
    /// Time limit of a re-plan, which starts from the plan being served.
    pub replan_time_limit: Duration,
    /// Days from the current day whose bookings a re-plan keeps (planner option).
    pub freeze_days: u32,
    /// Events between snapshots.
    pub snapshot_every: u64,
    /// Most events in one group commit.
    pub max_batch_events: usize,
    /// Plan versions kept for `GET /v1/plan/changes`.
    pub plan_history: usize,
    /// Check every plan with the independent checker before serving it.
    pub verify_plans: bool,
    /// The planner: [`plan`] (tests substitute one that fails or runs late).
    pub planner: Planner,
}

/// The signature of the one planner call: the problem, the plan being served, options.
pub type Planner = fn(&Scenario, Option<&Plan>, &PlanSettings) -> Result<Plan, SolveError>;

/// An event received over some ingest channel, checked and ready to store.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The typed event.
    pub event: Event,
    /// The event as sent (one JSON object), stored verbatim in the trail.
    pub body: String,
}

/// A batch of events from one request.
#[derive(Debug)]
pub struct Ingest {
    /// The events, in request order.
    pub events: Vec<Incoming>,
    /// Who sent them (`http:<peer>`).
    pub source: String,
    /// When the request arrived (for the event-to-plan latency).
    pub received: Instant,
    /// Where the acknowledgements go, once durable.
    pub reply: oneshot::Sender<Result<Vec<Ack>, EngineError>>,
    /// The message's idempotency key, when the channel has one (HL7).
    pub key: Option<MessageKey>,
    /// The audit row of a message the channel refused (HL7 AE/AR): stored in the
    /// commit, nothing else of the message is.
    pub refusal: Option<Box<Refused>>,
}

/// Why a channel refused a message, for its audit row (no patient data).
#[derive(Debug, Clone)]
pub struct Refused {
    /// Its idempotency key, empty when it has none.
    pub key: String,
    /// The trigger (MSH-9.2) as a bounded label: `A01`…`A99`, else `other`.
    pub trigger: String,
    /// `AE` or `AR`.
    pub ack: &'static str,
    /// The HL7 table 0357 error code.
    pub code: u16,
    /// Where (`SEG^seq^field`).
    pub location: String,
    /// The MSA-3 text.
    pub text: &'static str,
}

/// The idempotency key of one message and what to do when it is new.
#[derive(Debug, Clone)]
pub struct MessageKey {
    /// The key (`MSH-3.1|MSH-4.1|MSH-10`).
    pub key: String,
    /// Digest of the content the key is compared on.
    pub digest: String,
    /// Store the message (its events, possibly none, and the key) when the key is new.
    /// `false`: the message failed its checks; only the lookup is wanted, and a new
    /// key is answered with no acknowledgements and nothing stored.
    pub accept: bool,
}

/// The acknowledgement of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// Event id.
    pub id: String,
    /// Its place in the audit trail.
    pub seq: u64,
    /// What became of it.
    pub outcome: AckOutcome,
}

/// What became of an acknowledged event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    /// Stored and applied.
    Applied,
    /// Stored; the state rejected it (it changed nothing).
    Rejected(Rejection),
    /// Already stored earlier (same id); not applied again. Carries the first outcome.
    Duplicate(String),
}

/// What the re-plan worker plans from.
#[derive(Debug)]
pub struct PlanInput {
    /// The planning problem of the moment.
    pub scenario: Scenario,
    /// The last event it includes.
    pub seq: u64,
    /// Arrival times of the changes not yet in a published plan.
    pub pending: Vec<Instant>,
}

/// A request to the state owner.
#[derive(Debug)]
pub enum Command {
    /// Store and apply events.
    Ingest(Ingest),
    /// Hand over the planning problem of the moment.
    PlanInput(oneshot::Sender<PlanInput>),
    /// A copy of the whole state.
    FullState(oneshot::Sender<State>),
    /// Read the audit trail.
    ReadEvents {
        /// After this sequence number.
        after: u64,
        /// At most this many.
        limit: usize,
        /// The answer.
        reply: oneshot::Sender<Result<Vec<StoredEvent>, EngineError>>,
    },
    /// Read the audit rows of refused messages.
    ReadRefusals {
        /// After this id.
        after: u64,
        /// At most this many.
        limit: usize,
        /// The answer.
        reply: oneshot::Sender<Result<Vec<StoredRefusal>, EngineError>>,
    },
    /// Remember the last published plan version.
    RecordPlanVersion(u64),
}

/// A summary of the state, published after every commit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StateView {
    /// Events applied.
    pub events_applied: u64,
    /// Events stored but rejected by the state.
    pub events_rejected: u64,
    /// Sequence number of the last stored event.
    pub last_seq: u64,
    /// Latest event timestamp (the state's clock).
    pub now: Option<String>,
    /// Day 0 of the current planning horizon.
    #[schema(value_type = String)]
    pub today: NaiveDate,
    /// Wards tonight.
    #[schema(value_type = Vec<Object>)]
    pub wards: Vec<WardView>,
    /// Cases waiting, per priority (P1a, P1b, P2, P3, P4).
    #[schema(value_type = Vec<u64>)]
    pub waiting_by_priority: [u64; 5],
    /// Cases waiting.
    pub waiting_list: usize,
    /// Cases whose patient is in hospital for them.
    pub admitted_cases: usize,
    /// Patients in a bed.
    pub inpatients: usize,
    /// Trauma theatre minutes used today, per site.
    pub trauma_today: BTreeMap<String, u32>,
    /// Cases done since the start.
    pub cases_done: u64,
    /// Cases cancelled since the start.
    pub cases_cancelled: u64,
    /// OPEL levels declared by the operations centre (`opel_declared`), trust first.
    #[schema(value_type = Vec<Object>)]
    pub opel: Vec<flow_core::state::OpelLevel>,
}

impl StateView {
    /// The summary of `state` after event `last_seq`.
    pub fn of(state: &State, last_seq: u64) -> Self {
        let counts = state.counts();
        StateView {
            events_applied: counts.applied,
            events_rejected: counts.rejected,
            last_seq,
            now: state.now().map(|t| t.to_rfc3339()),
            today: state.plan_start(),
            wards: state.wards(),
            waiting_by_priority: state.waiting_by_priority(),
            waiting_list: state.waiting_len(),
            admitted_cases: state.admitted_len(),
            inpatients: state.inpatients_len(),
            trauma_today: state.trauma_today(),
            cases_done: counts.cases_done,
            cases_cancelled: counts.cases_cancelled,
            opel: state.opel().to_vec(),
        }
    }
}

/// Where a case is booked in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Booking {
    /// Theatre id.
    pub theatre: String,
    /// Session date.
    #[schema(value_type = String)]
    pub date: NaiveDate,
    /// `am`, `pm` or `eve`.
    #[schema(value_type = String)]
    pub period: Period,
}

/// Every booked case of a plan and where.
pub type Bookings = BTreeMap<String, Booking>;

/// A plan as served: the plan, its JSON, and its bookings (for diffs).
#[derive(Debug)]
pub struct Published {
    /// The plan (with `version` and `generated_at`).
    pub plan: Arc<Plan>,
    /// The plan serialised once, served as is.
    pub json: Bytes,
    /// Its bookings.
    pub bookings: Arc<Bookings>,
    /// The last event it includes.
    pub seq: u64,
    /// The planning problem it answers (for the dashboard).
    pub scenario: Arc<Scenario>,
    /// The independent checker's figures (`None` when plans are not verified).
    pub kpis: Option<Arc<flow_core::check::Kpis>>,
}

/// Recent plans' bookings, newest last, for `GET /v1/plan/changes`.
#[derive(Debug, Default)]
pub struct History {
    plans: VecDeque<(u64, Arc<Bookings>)>,
    /// When each kept version was made (RFC 3339), same order as `plans`.
    made: VecDeque<(u64, String)>,
}

impl History {
    /// The bookings of plan `version`, if still kept.
    pub fn get(&self, version: u64) -> Option<Arc<Bookings>> {
        self.plans
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, b)| b.clone())
    }

    /// Oldest version kept.
    pub fn oldest(&self) -> Option<u64> {
        self.plans.front().map(|(v, _)| *v)
    }

    /// Every kept version, oldest first, with its bookings and when it was made.
    pub fn versions(&self) -> impl Iterator<Item = (u64, &Arc<Bookings>, &str)> {
        self.plans
            .iter()
            .zip(&self.made)
            .map(|((v, b), (_, at))| (*v, b, at.as_str()))
    }

    fn push(&mut self, version: u64, bookings: Arc<Bookings>, made: String, keep: usize) {
        self.plans.push_back((version, bookings));
        self.made.push_back((version, made));
        while self.plans.len() > keep.max(1) {
            self.plans.pop_front();
            self.made.pop_front();
        }
    }
}

/// The handles the API needs: the command queue and the published views.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    /// Requests to the state owner.
    pub commands: mpsc::Sender<Command>,
    /// The plan being served (`None` until the first one).
    pub plan: watch::Receiver<Option<Arc<Published>>>,
    /// The latest state summary.
    pub view: watch::Receiver<Arc<StateView>>,
    /// Recent plans, for diffs.
    pub history: Arc<Mutex<History>>,
    /// Whether a change is waiting for a re-plan.
    pub stale: watch::Receiver<u64>,
}

/// The running engine: the handle plus what it takes to stop it.
#[derive(Debug)]
pub struct Engine {
    handle: EngineHandle,
    owner: std::thread::JoinHandle<()>,
    worker: tokio::task::JoinHandle<()>,
    stop_worker: watch::Sender<bool>,
}

/// What recovery found in the store.
#[derive(Debug)]
pub struct Recovered {
    /// The state after every stored event.
    pub state: State,
    /// The last stored event.
    pub last_seq: u64,
    /// Events replayed after the latest snapshot.
    pub since_snapshot: u64,
    /// The last published plan version.
    pub plan_version: u64,
}

/// Binds `store` to `scenario` (refusing a store that belongs to another) and
/// recovers the state: the latest snapshot, then every event after it, in order.
/// Blocking.
pub fn recover(
    store: &mut dyn Store,
    scenario: &Scenario,
    catalog: &Catalog,
) -> Result<Recovered, EngineError> {
    let text = serde_json::to_string(scenario).map_err(|e| EngineError::Replay {
        seq: 0,
        message: e.to_string(),
    })?;
    match store.meta(META_SCENARIO)? {
        None => store.set_meta(META_SCENARIO, &text)?,
        Some(stored) if stored == text => {}
        Some(stored) => {
            let name = serde_json::from_str::<Scenario>(&stored)
                .map(|s| s.name)
                .unwrap_or_else(|_| "unreadable".into());
            return Err(EngineError::ScenarioMismatch { stored: name });
        }
    }
    let (mut state, snapshot_seq) = match store.latest_snapshot()? {
        Some(snap) => {
            let state: State =
                serde_json::from_str(&snap.state).map_err(|e| EngineError::Replay {
                    seq: snap.seq,
                    message: format!("snapshot does not read back: {e}"),
                })?;
            (state, snap.seq)
        }
        None => (State::new(scenario.clone()), 0),
    };
    let mut last_seq = snapshot_seq;
    let mut mismatches = 0u64;
    store.replay(snapshot_seq, &mut |stored| {
        let value: serde_json::Value = serde_json::from_str(&stored.body)
            .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", stored.seq)))?;
        let event = parse_event(&value, catalog)
            .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", stored.seq)))?;
        let change = state.apply(&event);
        if change.outcome.as_str() != stored.outcome {
            mismatches += 1;
        }
        last_seq = stored.seq;
        Ok(())
    })?;
    if mismatches > 0 {
        tracing::warn!(
            mismatches,
            "replayed events whose outcome differs from the one recorded"
        );
    }
    let plan_version = store
        .meta(META_PLAN_VERSION)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    tracing::info!(
        snapshot_seq,
        replayed = last_seq - snapshot_seq,
        last_seq,
        "state recovered"
    );
    Ok(Recovered {
        state,
        last_seq,
        since_snapshot: last_seq - snapshot_seq,
        plan_version,
    })
}

impl Engine {
    /// Recovers the state from `store` and starts the owner thread and the worker.
    /// Must be called inside a tokio runtime; recovery itself runs on the blocking pool.
    pub async fn start(
        store: Box<dyn Store>,
        scenario: Arc<Scenario>,
        catalog: Arc<Catalog>,
        metrics: Metrics,
        settings: EngineSettings,
    ) -> Result<Engine, EngineError> {
        let (sc, cat) = (scenario.clone(), catalog.clone());
        let mut store = store;
        let (store, recovered) = tokio::task::spawn_blocking(move || {
            recover(&mut *store, &sc, &cat).map(|r| (store, r))
        })
        .await
        .map_err(|e| EngineError::Unavailable(format!("recovery task failed: {e}")))??;

        let (commands, rx) = mpsc::channel(1024);
        let (view_tx, view) = watch::channel(Arc::new(StateView::of(
            &recovered.state,
            recovered.last_seq,
        )));
        let (stale_tx, stale) = watch::channel(0u64);
        let (plan_tx, plan) = watch::channel(None);
        let (stop_worker, stop_rx) = watch::channel(false);
        let history = Arc::new(Mutex::new(History::default()));

        let owner = Owner {
            store,
            state: recovered.state,
            scenario,
            catalog,
            last_seq: recovered.last_seq,
            since_snapshot: recovered.since_snapshot,
            pending: Vec::new(),
            view_tx,
            stale_tx,
            metrics: metrics.clone(),
            settings: settings.clone(),
            needs_reload: false,
            plan_version_due: None,
        };
        let owner = std::thread::Builder::new()
            .name("flowd-state".into())
            .spawn(move || owner.run(rx))
            .map_err(|e| EngineError::Unavailable(format!("cannot start the state thread: {e}")))?;

        let worker = tokio::spawn(replan_worker(Worker {
            commands: commands.clone(),
            stale: stale.clone(),
            plan_tx,
            history: history.clone(),
            metrics,
            settings,
            stop: stop_rx,
            version: recovered.plan_version,
        }));

        Ok(Engine {
            handle: EngineHandle {
                commands,
                plan,
                view,
                history,
                stale,
            },
            owner,
            worker,
            stop_worker,
        })
    }

    /// The handle the API uses.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Stops the worker (a solve in progress finishes first), then lets the state
    /// owner finish every queued request, write a final snapshot and close the store.
    /// Every other [`EngineHandle`] must have been dropped for the owner to stop.
    pub async fn shutdown(self) {
        let _ = self.stop_worker.send(true);
        let _ = self.worker.await;
        drop(self.handle);
        let owner = self.owner;
        let _ = tokio::task::spawn_blocking(move || owner.join()).await;
    }
}

/// The state owner: the only holder of the state and the store.
struct Owner {
    store: Box<dyn Store>,
    state: State,
    scenario: Arc<Scenario>,
    catalog: Arc<Catalog>,
    last_seq: u64,
    since_snapshot: u64,
    /// Arrival times of committed changes not yet handed to the worker.
    pending: Vec<Instant>,
    view_tx: watch::Sender<Arc<StateView>>,
    stale_tx: watch::Sender<u64>,
    metrics: Metrics,
    settings: EngineSettings,
    /// A failed commit left the state ahead of the store and reloading it failed too
    /// (the database was unreachable): reload before the next batch, or refuse it.
    needs_reload: bool,
    /// A published plan version not yet stored: it rides on the next commit.
    plan_version_due: Option<u64>,
}

/// One new event of a batch, waiting for the commit.
struct Row {
    /// Request index in the batch.
    req: usize,
    /// Event index in the request.
    idx: usize,
    outcome: &'static str,
    reason: Option<&'static str>,
    seq: u64,
    at: String,
}

/// Most pending-change arrival times kept for the latency metric.
const MAX_PENDING: usize = 10_000;

impl Owner {
    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        while let Some(first) = rx.blocking_recv() {
            let mut ingests = Vec::new();
            let mut others = Vec::new();
            let mut events = 0usize;
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Command::Ingest(i) => {
                        events += i.events.len();
                        ingests.push(i);
                    }
                    other => others.push(other),
                }
                if events < self.settings.max_batch_events {
                    next = rx.try_recv().ok();
                }
            }
            // A plan version rides on this round's commit (or is written alone).
            others.retain(|cmd| match cmd {
                Command::RecordPlanVersion(v) => {
                    self.plan_version_due = Some(*v);
                    false
                }
                _ => true,
            });
            if !ingests.is_empty() || self.plan_version_due.is_some() {
                self.commit(ingests);
            }
            for cmd in others {
                self.handle(cmd);
            }
        }
        if self.since_snapshot > 0 || self.plan_version_due.is_some() {
            self.snapshot();
        }
        tracing::info!(last_seq = self.last_seq, "state owner stopped");
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Ingest(_) => {}
            Command::PlanInput(reply) => {
                let input = PlanInput {
                    scenario: self.state.scenario(),
                    seq: self.last_seq,
                    pending: std::mem::take(&mut self.pending),
                };
                let _ = reply.send(input);
            }
            Command::FullState(reply) => {
                let _ = reply.send(self.state.clone());
            }
            Command::ReadEvents {
                after,
                limit,
                reply,
            } => {
                let _ = reply.send(self.store.read(after, limit).map_err(EngineError::from));
            }
            Command::ReadRefusals {
                after,
                limit,
                reply,
            } => {
                let _ = reply.send(
                    self.store
                        .read_refusals(after, limit)
                        .map_err(EngineError::from),
                );
            }
            Command::RecordPlanVersion(v) => self.plan_version_due = Some(v),
        }
    }

    /// Group commit of every request in `batch`: its events, its message keys, the
    /// snapshot due after them and the plan version to record, in one transaction.
    fn commit(&mut self, batch: Vec<Ingest>) {
        if self.needs_reload && !self.reload() {
            for req in batch {
                let _ = req.reply.send(Err(EngineError::Unavailable(
                    "the state is being reloaded from the store; nothing was stored".into(),
                )));
            }
            return;
        }
        let ids: Vec<&str> = batch
            .iter()
            .flat_map(|i| i.events.iter().map(|e| e.event.id.as_str()))
            .collect();
        let existing = match self.store.find_existing(&ids) {
            Ok(found) => found,
            Err(e) => return self.fail(batch, e),
        };
        let keys: Vec<&str> = batch
            .iter()
            .filter_map(|i| i.key.as_ref().map(|k| k.key.as_str()))
            .collect();
        let existing_keys = match self.store.find_keys(&keys) {
            Ok(found) => found,
            Err(e) => return self.fail(batch, e),
        };
        let mut key_rows: Vec<(usize, u64, &'static str)> = Vec::new();
        let mut keys_in_batch: HashMap<&str, (&str, u64, &'static str)> = HashMap::new();
        let received_at = chrono::Utc::now().to_rfc3339();
        let mut seq = self.last_seq;
        let mut acks: Vec<Result<Vec<Ack>, EngineError>> = Vec::with_capacity(batch.len());
        let mut rows: Vec<Row> = Vec::new();
        let mut in_batch: HashMap<&str, (u64, &'static str)> = HashMap::new();
        let mut stale = false;
        let mut counts: BTreeMap<(&'static str, &'static str), u64> = BTreeMap::new();
        let mut stale_arrivals = Vec::new();
        for (r, req) in batch.iter().enumerate() {
            if let Some(k) = &req.key {
                let found = existing_keys
                    .get(&k.key)
                    .map(|e| (e.digest.as_str(), e.seq, e.outcome.as_str()))
                    .or_else(|| {
                        keys_in_batch
                            .get(k.key.as_str())
                            .map(|&(d, s, o)| (d, s, o))
                    });
                match found {
                    Some((digest, s, outcome)) if digest == k.digest => {
                        acks.push(Ok(vec![Ack {
                            id: k.key.clone(),
                            seq: s,
                            outcome: AckOutcome::Duplicate(outcome.to_string()),
                        }]));
                        continue;
                    }
                    Some(_) => {
                        acks.push(Err(EngineError::KeyConflict));
                        continue;
                    }
                    None if !k.accept => {
                        acks.push(Ok(Vec::new()));
                        continue;
                    }
                    None => {}
                }
            }
            let mut req_acks = Vec::with_capacity(req.events.len());
            let mut req_stale = false;
            for (k, inc) in req.events.iter().enumerate() {
                let id = inc.event.id.as_str();
                let kind = inc.event.kind.type_name();
                if let Some(found) = existing.get(id) {
                    req_acks.push(Ack {
                        id: id.to_string(),
                        seq: found.seq,
                        outcome: AckOutcome::Duplicate(found.outcome.clone()),
                    });
                    *counts.entry((kind, "duplicate")).or_default() += 1;
                    continue;
                }
                if let Some(&(s, outcome)) = in_batch.get(id) {
                    req_acks.push(Ack {
                        id: id.to_string(),
                        seq: s,
                        outcome: AckOutcome::Duplicate(outcome.to_string()),
                    });
                    *counts.entry((kind, "duplicate")).or_default() += 1;
                    continue;
                }
                let change = self.state.apply(&inc.event);
                seq += 1;
                let outcome = change.outcome.as_str();
                let reason = match change.outcome {
                    Outcome::Applied => None,
                    Outcome::Rejected(why) => Some(why.as_str()),
                };
                in_batch.insert(id, (seq, outcome));
                rows.push(Row {
                    req: r,
                    idx: k,
                    outcome,
                    reason,
                    seq,
                    at: inc.event.at.to_rfc3339(),
                });
                req_acks.push(Ack {
                    id: id.to_string(),
                    seq,
                    outcome: match change.outcome {
                        Outcome::Applied => AckOutcome::Applied,
                        Outcome::Rejected(why) => AckOutcome::Rejected(why),
                    },
                });
                *counts.entry((kind, outcome)).or_default() += 1;
                req_stale |= change.stale;
            }
            if req_stale {
                stale = true;
                stale_arrivals.push(req.received);
            }
            if let Some(k) = &req.key {
                let (s, outcome) = match req_acks.last().map(|a| &a.outcome) {
                    None => (seq, "ignored"),
                    Some(AckOutcome::Applied) => (seq, "applied"),
                    Some(AckOutcome::Rejected(_)) => (seq, "rejected"),
                    Some(AckOutcome::Duplicate(_)) => (seq, "duplicate"),
                };
                key_rows.push((r, s, outcome));
                keys_in_batch.insert(k.key.as_str(), (k.digest.as_str(), s, outcome));
            }
            acks.push(Ok(req_acks));
        }

        let new: Vec<NewEvent<'_>> = rows
            .iter()
            .map(|row| {
                let inc = &batch[row.req].events[row.idx];
                NewEvent {
                    seq: row.seq,
                    event_id: &inc.event.id,
                    kind: inc.event.kind.type_name(),
                    at: &row.at,
                    received_at: &received_at,
                    source: &batch[row.req].source,
                    body: &inc.body,
                    outcome: row.outcome,
                    reason: row.reason,
                }
            })
            .collect();
        let new_keys: Vec<NewKey<'_>> = key_rows
            .iter()
            .filter_map(|&(r, seq, outcome)| {
                let k = batch[r].key.as_ref()?;
                Some(NewKey {
                    key: &k.key,
                    digest: &k.digest,
                    seq,
                    outcome,
                })
            })
            .collect();
        let refusals: Vec<NewRefusal<'_>> = batch
            .iter()
            .filter_map(|req| {
                let r = req.refusal.as_ref()?;
                Some(NewRefusal {
                    received_at: &received_at,
                    source: &req.source,
                    key: &r.key,
                    trigger: &r.trigger,
                    ack: r.ack,
                    code: r.code,
                    location: &r.location,
                    text: r.text,
                })
            })
            .collect();
        let since_snapshot = self.since_snapshot + (seq - self.last_seq);
        let snapshot = (since_snapshot >= self.settings.snapshot_every.max(1))
            .then(|| self.serialise(seq))
            .flatten();
        let version = self.plan_version_due.map(|v| v.to_string());
        let meta: Vec<(&str, &str)> = version
            .iter()
            .map(|v| (META_PLAN_VERSION, v.as_str()))
            .collect();
        let commit = Commit {
            events: &new,
            keys: &new_keys,
            snapshot: snapshot.as_ref().map(|s| (s, received_at.as_str())),
            meta: &meta,
            refusals: &refusals,
        };
        let mut postponed = false;
        if !commit.is_empty() {
            let started = Instant::now();
            let mut result = self.store.commit(&commit);
            // A snapshot or plan version that will not store (a state too large, a
            // timeout, a permission) must not stop ingestion: the batch alone is tried
            // once more, and what rode on it waits (the snapshot a full interval).
            if let Err(e) = &result
                && !matches!(e, StoreError::Fenced { .. })
                && (commit.snapshot.is_some() || !commit.meta.is_empty())
            {
                tracing::warn!(error = %e, "could not store the snapshot or plan version with the events; storing the events alone");
                let alone = Commit {
                    snapshot: None,
                    meta: &[],
                    ..commit
                };
                result = self.store.commit(&alone).map(|()| {
                    if snapshot.is_some() {
                        postponed = true;
                    }
                });
            }
            let duration = started.elapsed();
            drop(new);
            drop(new_keys);
            drop(refusals);
            if let Err(e) = result {
                return self.fail(batch, e);
            }
            if !rows.is_empty() || !key_rows.is_empty() {
                StoreCommitted {
                    events: rows.len(),
                    requests: batch.len(),
                    duration,
                }
                .emit(&self.metrics);
            }
        }
        self.plan_version_due = None;
        if let Some(snap) = snapshot.as_ref().filter(|_| !postponed) {
            tracing::info!(seq = snap.seq, bytes = snap.state.len(), "snapshot written");
        }

        // Durable: now the world may know.
        self.since_snapshot = if snapshot.is_some() {
            0
        } else {
            since_snapshot
        };
        self.last_seq = seq;
        for ((kind, outcome), count) in counts {
            EventsIngested {
                kind,
                outcome,
                count,
            }
            .emit(&self.metrics);
        }
        // The view first, so a sender reading after its acknowledgement sees its write.
        if !rows.is_empty() {
            self.view_tx
                .send_replace(Arc::new(StateView::of(&self.state, self.last_seq)));
        }
        for (req, req_acks) in batch.into_iter().zip(acks) {
            let _ = req.reply.send(req_acks);
        }
        if stale {
            if self.pending.len() < MAX_PENDING {
                let room = MAX_PENDING - self.pending.len();
                self.pending.extend(stale_arrivals.into_iter().take(room));
            }
            self.stale_tx.send_modify(|g| *g += 1);
        }
    }

    /// A commit failed: refuse every request of the batch and reload the state from
    /// the store, so it holds exactly what is durable.
    fn fail(&mut self, batch: Vec<Ingest>, error: StoreError) {
        StoreCommitFailed { error: &error }.emit(&self.metrics);
        for req in batch {
            let _ = req
                .reply
                .send(Err(EngineError::Unavailable(error.to_string())));
        }
        if matches!(error, StoreError::Fenced { .. }) {
            // Another daemon holds the trust now; this one is stopping.
            return;
        }
        self.reload();
    }

    /// Reloads the state from the store (the restart path); `false` if that failed, in
    /// which case the next batch tries again before anything is applied.
    fn reload(&mut self) -> bool {
        match recover(&mut *self.store, &self.scenario, &self.catalog) {
            Ok(r) => {
                self.state = r.state;
                self.last_seq = r.last_seq;
                self.since_snapshot = r.since_snapshot;
                self.needs_reload = false;
            }
            Err(e) => {
                // Keep serving reads; the next batch retries the store first.
                tracing::error!(error = %e, "could not reload the state from the store");
                self.needs_reload = true;
            }
        }
        !self.needs_reload
    }

    /// The state as a snapshot after `seq` (`None`, logged, if it does not serialise).
    fn serialise(&self, seq: u64) -> Option<Snapshot> {
        match serde_json::to_string(&self.state) {
            Ok(state) => Some(Snapshot { seq, state }),
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a snapshot");
                None
            }
        }
    }

    /// The final snapshot when the owner stops (and any plan version not yet stored),
    /// in one transaction.
    fn snapshot(&mut self) {
        if self.needs_reload && !self.reload() {
            // Never snapshot a state the store does not hold.
            return;
        }
        let started = Instant::now();
        let Some(snap) = self.serialise(self.last_seq) else {
            return;
        };
        let version = self.plan_version_due.map(|v| v.to_string());
        let meta: Vec<(&str, &str)> = version
            .iter()
            .map(|v| (META_PLAN_VERSION, v.as_str()))
            .collect();
        let taken_at = chrono::Utc::now().to_rfc3339();
        let commit = Commit {
            snapshot: Some((&snap, &taken_at)),
            meta: &meta,
            ..Commit::default()
        };
        match self.store.commit(&commit) {
            Ok(()) => {
                tracing::info!(
                    seq = snap.seq,
                    bytes = snap.state.len(),
                    seconds = started.elapsed().as_secs_f64(),
                    "snapshot written"
                );
                self.since_snapshot = 0;
                self.plan_version_due = None;
            }
            Err(e) => tracing::warn!(error = %e, "could not write a snapshot"),
        }
    }
}

/// What a solve may fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SolveError {
    /// The planner failed.
    #[error("planner failed: {0}")]
    Planner(String),
    /// The plan breaks hard constraints (a planner bug); it is not served.
    #[error("plan refused by the checker: {0} violation(s)")]
    Invalid(usize),
}

/// Planner options the daemon passes on every re-plan.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// Stop after this long.
    pub time_limit: Duration,
    /// Keep the previous plan's bookings in the first `freeze_days` days.
    pub freeze_days: u32,
}

/// The one place the daemon calls a planner: flow-core's optimiser, revising the
/// previous plan (its bookings kept where still feasible, never moved inside the
/// freeze window) under the solve time limit.
pub fn plan(
    scenario: &Scenario,
    previous: Option<&Plan>,
    settings: &PlanSettings,
) -> Result<Plan, SolveError> {
    let options = flow_core::PlanOptions {
        previous: previous.cloned(),
        freeze_days: settings.freeze_days,
        time_limit: Some(settings.time_limit.as_secs_f64()),
        ..flow_core::PlanOptions::default()
    };
    flow_core::plan(scenario, &options).map_err(|e| SolveError::Planner(e.to_string()))
}

/// A solved, checked plan ready to publish.
struct Solved {
    published: Published,
    breaches: [usize; 5],
}

/// Solves, checks and serialises; runs on the blocking pool.
fn solve(
    planner: Planner,
    input: PlanInput,
    previous: Option<Arc<Plan>>,
    settings: &PlanSettings,
    verify: bool,
    version: u64,
) -> Result<Solved, SolveError> {
    let started = Instant::now();
    let mut plan = planner(&input.scenario, previous.as_deref(), settings)?;
    plan.solver.seconds = started.elapsed().as_secs_f64();
    let mut breaches = [0usize; 5];
    let mut kpis = None;
    if verify {
        let report = flow_core::check::check(&input.scenario, &plan);
        if !report.is_ok() {
            return Err(SolveError::Invalid(report.violations.len()));
        }
        for p in &report.kpis.by_priority {
            breaches[p.priority.index()] = p.avoidable_breaches;
        }
        kpis = Some(Arc::new(report.kpis));
    }
    plan.version = Some(version);
    plan.generated_at = Some(chrono::Utc::now().to_rfc3339());
    let json = serde_json::to_vec(&plan).map_err(|e| SolveError::Planner(e.to_string()))?;
    let mut bookings = Bookings::new();
    for s in &plan.sessions {
        for c in &s.cases {
            bookings.insert(
                c.clone(),
                Booking {
                    theatre: s.theatre.clone(),
                    date: s.date,
                    period: s.period,
                },
            );
        }
    }
    Ok(Solved {
        published: Published {
            plan: Arc::new(plan),
            json: Bytes::from(json),
            bookings: Arc::new(bookings),
            seq: input.seq,
            scenario: Arc::new(input.scenario),
            kpis,
        },
        breaches,
    })
}

struct Worker {
    commands: mpsc::Sender<Command>,
    stale: watch::Receiver<u64>,
    plan_tx: watch::Sender<Option<Arc<Published>>>,
    history: Arc<Mutex<History>>,
    metrics: Metrics,
    settings: EngineSettings,
    stop: watch::Receiver<bool>,
    version: u64,
}

/// A re-plan whose gap is still above this (its time limit bit) is refined by
/// another round, even without a new change.
const REFINE_GAP: f64 = 0.01;
/// Most refinement rounds in a row without a new change (their limits double: 0.3 s
/// by default grows to 19.2 s, enough for a trust-scale cold solve).
const MAX_REFINE_ROUNDS: u32 = 6;

/// How long the worker waits for a solve with time limit `limit` before giving up
/// on it: the planner's own work around the solver (model building, booking,
/// checking) is bounded but not covered by the solver's limit.
pub fn solve_timeout(limit: Duration) -> Duration {
    limit * 2 + Duration::from_secs(2)
}

/// The re-plan loop: wait for a change, let the burst settle, solve, publish.
///
/// The debounce runs from the first change the worker saw, including changes that
/// arrived while it was solving: those have waited a whole solve already, so a
/// steady stream is re-planned back to back rather than `max_delay` apart. A cold
/// solve (no plan yet) gets `time_limit`; a re-plan starts from the plan served
/// (the planner's MIP start) and gets `replan_time_limit`. When that limit bites
/// (gap above [`REFINE_GAP`]), the worker runs up to [`MAX_REFINE_ROUNDS`] more
/// rounds even without a new change, each starting from the last and with twice the
/// limit of the one before (never beyond the cold limit), so a scenario too big for
/// the short limit still closes its gap in a quiet moment, while under a stream of
/// events the plan stays about one short solve behind them.
async fn replan_worker(mut w: Worker) {
    let mut pending: Vec<Instant> = Vec::new();
    let mut first = true;
    // When the worker first saw a change not yet planned for.
    let mut changed_at: Option<tokio::time::Instant> = None;
    let mut refine_rounds = 0u32;
    let mut refine = false;
    // After a failed solve: wait this long, then try again even without a new change.
    let mut retry: Option<Duration> = None;
    loop {
        // A refinement round with nothing new to plan for.
        let quiet_refine = refine && changed_at.is_none();
        if let Some(backoff) = retry {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {},
                _ = w.stop.changed() => return,
            }
        } else if !(first || quiet_refine) {
            // (A first plan, or a quiet refinement round, starts at once.)
            if changed_at.is_none() {
                tokio::select! {
                    changed = w.stale.changed() => if changed.is_err() { return },
                    _ = w.stop.changed() => return,
                }
                changed_at = Some(tokio::time::Instant::now());
            }
            // Debounce: wait for a quiet spell, but not past max_delay after the
            // first change.
            let deadline =
                changed_at.unwrap_or_else(tokio::time::Instant::now) + w.settings.max_delay;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(w.settings.debounce) => break,
                    _ = tokio::time::sleep_until(deadline) => break,
                    changed = w.stale.changed() => if changed.is_err() { return },
                    _ = w.stop.changed() => return,
                }
            }
        }
        if changed_at.take().is_some() {
            refine_rounds = 0;
        }
        first = false;
        refine = false;
        // Until this solve succeeds, the next attempt backs off (doubling, at most a minute).
        let backoff = retry.map_or(w.settings.max_delay.max(Duration::from_millis(100)), |b| {
            (b * 2).min(Duration::from_secs(60))
        });
        retry = Some(backoff);
        let (tx, rx) = oneshot::channel();
        if w.commands.send(Command::PlanInput(tx)).await.is_err() {
            return;
        }
        let Ok(input) = rx.await else { return };
        pending.extend(input.pending.iter().copied());
        pending.truncate(MAX_PENDING);
        let seq = input.seq;
        let previous = w.plan_tx.borrow().as_ref().map(|p| p.plan.clone());
        let settings = PlanSettings {
            time_limit: if previous.is_some() {
                let doublings = if quiet_refine { refine_rounds } else { 0 };
                (w.settings.replan_time_limit * (1 << doublings.min(MAX_REFINE_ROUNDS)))
                    .min(w.settings.time_limit.max(w.settings.replan_time_limit))
            } else {
                w.settings.time_limit
            },
            freeze_days: w.settings.freeze_days,
        };
        let timeout = solve_timeout(settings.time_limit);
        let version = w.version + 1;
        let verify = w.settings.verify_plans;
        let planner = w.settings.planner;
        let started = Instant::now();
        let mut task = tokio::task::spawn_blocking(move || {
            solve(planner, input, previous, &settings, verify, version)
        });
        let give_up = tokio::time::sleep(timeout);
        tokio::pin!(give_up);
        let result = loop {
            tokio::select! {
                r = &mut task => break Some(r),
                _ = &mut give_up => break None,
                changed = w.stale.changed(), if changed_at.is_none() => {
                    if changed.is_err() {
                        return;
                    }
                    changed_at = Some(tokio::time::Instant::now());
                }
            }
        };
        let status = match result {
            None => {
                SolveCompleted {
                    status: SolveStatus::Timeout,
                    duration: started.elapsed(),
                }
                .emit(&w.metrics);
                // The blocking solve cannot be interrupted: wait for it, so solves
                // never pile up, and discard its answer.
                let _ = task.await;
                continue;
            }
            Some(Err(join)) => {
                tracing::error!(error = %join, "the planner panicked");
                SolveStatus::Failed
            }
            Some(Ok(Err(SolveError::Invalid(n)))) => {
                tracing::error!(violations = n, "the planner produced an invalid plan");
                SolveStatus::Invalid
            }
            Some(Ok(Err(e))) => {
                tracing::error!(error = %e, "re-plan failed");
                SolveStatus::Failed
            }
            Some(Ok(Ok(solved))) => {
                SolveCompleted {
                    status: SolveStatus::Ok,
                    duration: started.elapsed(),
                }
                .emit(&w.metrics);
                w.version = version;
                PlanFigures {
                    scenario: &solved.published.scenario,
                    plan: &solved.published.plan,
                    breaches: solved.breaches,
                }
                .emit(&w.metrics);
                let now = Instant::now();
                let latencies: Vec<Duration> = pending.drain(..).map(|t| now - t).collect();
                PlanPublished {
                    version,
                    seq,
                    latencies: &latencies,
                }
                .emit(&w.metrics);
                if let Ok(mut h) = w.history.lock() {
                    h.push(
                        version,
                        solved.published.bookings.clone(),
                        solved
                            .published
                            .plan
                            .generated_at
                            .clone()
                            .unwrap_or_default(),
                        w.settings.plan_history,
                    );
                }
                let gap = solved.published.plan.solver.gap;
                w.plan_tx.send_replace(Some(Arc::new(solved.published)));
                let _ = w.commands.send(Command::RecordPlanVersion(version)).await;
                retry = None;
                if gap > REFINE_GAP && refine_rounds < MAX_REFINE_ROUNDS {
                    refine_rounds += 1;
                    refine = true;
                }
                continue;
            }
        };
        SolveCompleted {
            status,
            duration: started.elapsed(),
        }
        .emit(&w.metrics);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use flow_core::generate::{GenerateOptions, Size, generate};
    use serde_json::json;

    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{Existing, Snapshot};

    /// A SQLite store whose commits fail while `failing` is set.
    struct Flaky {
        inner: SqliteStore,
        failing: Arc<AtomicBool>,
        /// Fail only the commits that carry a snapshot.
        snapshots_fail: bool,
    }

    impl Store for Flaky {
        fn last_seq(&mut self) -> Result<u64, StoreError> {
            self.inner.last_seq()
        }
        fn find_existing(&mut self, ids: &[&str]) -> Result<HashMap<String, Existing>, StoreError> {
            self.inner.find_existing(ids)
        }
        fn find_keys(
            &mut self,
            keys: &[&str],
        ) -> Result<HashMap<String, crate::store::ExistingKey>, StoreError> {
            self.inner.find_keys(keys)
        }
        fn commit(&mut self, c: &Commit<'_>) -> Result<(), StoreError> {
            if self.failing.load(Ordering::SeqCst) || self.snapshots_fail && c.snapshot.is_some() {
                return Err(StoreError::Corrupt("disk on fire".into()));
            }
            self.inner.commit(c)
        }
        fn replay(
            &mut self,
            after: u64,
            f: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
        ) -> Result<(), StoreError> {
            self.inner.replay(after, f)
        }
        fn read(&mut self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
            self.inner.read(after, limit)
        }
        fn latest_snapshot(&mut self) -> Result<Option<Snapshot>, StoreError> {
            self.inner.latest_snapshot()
        }
        fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
            self.inner.meta(key)
        }
        fn read_refusals(
            &mut self,
            after: u64,
            limit: usize,
        ) -> Result<Vec<crate::store::StoredRefusal>, StoreError> {
            self.inner.read_refusals(after, limit)
        }
    }

    fn settings() -> EngineSettings {
        EngineSettings {
            debounce: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            time_limit: Duration::from_secs(30),
            replan_time_limit: Duration::from_secs(30),
            freeze_days: 1,
            snapshot_every: 2,
            max_batch_events: 1000,
            plan_history: 4,
            verify_plans: true,
            planner: plan,
        }
    }

    async fn ingest(
        h: &EngineHandle,
        c: &Catalog,
        v: serde_json::Value,
    ) -> Result<Vec<Ack>, EngineError> {
        let event = parse_event(&v, c).unwrap();
        crate::ingest::submit(
            h,
            vec![Incoming {
                event,
                body: v.to_string(),
            }],
            "test".into(),
            Instant::now(),
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_snapshot_that_will_not_store_does_not_stop_ingestion() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 3));
        let catalog = Arc::new(Catalog::new(&s));
        let dir = tempfile::tempdir().unwrap();
        let store = Flaky {
            inner: SqliteStore::open(dir.path()).unwrap(),
            failing: Arc::new(AtomicBool::new(false)),
            snapshots_fail: true,
        };
        let engine = Engine::start(
            Box::new(store),
            Arc::new(s.clone()),
            catalog.clone(),
            Metrics::new().unwrap(),
            settings(),
        )
        .await
        .unwrap();
        let h = engine.handle();
        // `settings()` snapshots every 2 events: the second and fourth commits carry
        // one, and it fails; the events are stored and acknowledged all the same.
        for (i, p) in s.inpatients.iter().take(4).enumerate() {
            let e = json!({"id": format!("d{i}"), "at": "2026-12-07T08:00:00Z", "type": "discharge", "patient": p.id});
            let ack = ingest(&h, &catalog, e).await.unwrap();
            assert_eq!(
                (ack[0].seq, &ack[0].outcome),
                (i as u64 + 1, &AckOutcome::Applied)
            );
        }
        drop(h);
        engine.shutdown().await;
        let mut store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.last_seq().unwrap(), 4);
        assert_eq!(store.latest_snapshot().unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_acknowledges_nothing_and_the_state_follows_the_store() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 3));
        let catalog = Arc::new(Catalog::new(&s));
        let dir = tempfile::tempdir().unwrap();
        let failing = Arc::new(AtomicBool::new(false));
        let store = Flaky {
            inner: SqliteStore::open(dir.path()).unwrap(),
            failing: failing.clone(),
            snapshots_fail: false,
        };
        let engine = Engine::start(
            Box::new(store),
            Arc::new(s.clone()),
            catalog.clone(),
            Metrics::new().unwrap(),
            settings(),
        )
        .await
        .unwrap();
        let h = engine.handle();
        let p0 = s.inpatients[0].id.clone();
        let p1 = s.inpatients[1].id.clone();
        let a = json!({"id":"a","at":"2026-12-07T08:00:00Z","type":"discharge","patient":p0});
        let b = json!({"id":"b","at":"2026-12-07T08:01:00Z","type":"discharge","patient":p1});
        assert_eq!(
            ingest(&h, &catalog, a.clone()).await.unwrap()[0].outcome,
            AckOutcome::Applied
        );
        failing.store(true, Ordering::SeqCst);
        assert!(matches!(
            ingest(&h, &catalog, b.clone()).await,
            Err(EngineError::Unavailable(_))
        ));
        failing.store(false, Ordering::SeqCst);
        // The state holds `a` only: what the store holds.
        let (tx, rx) = oneshot::channel();
        h.commands.send(Command::FullState(tx)).await.unwrap();
        let state = rx.await.unwrap();
        let mut expected = State::new(s.clone());
        expected.apply(&parse_event(&a, &catalog).unwrap());
        assert_eq!(state, expected);
        // Sent again, `b` is new (it was never stored) and gets the next seq.
        let ack = ingest(&h, &catalog, b).await.unwrap();
        assert_eq!((ack[0].seq, &ack[0].outcome), (2, &AckOutcome::Applied));
        // The worker publishes a plan that includes it.
        let mut plan = h.plan.clone();
        let published = plan
            .wait_for(|p| p.as_ref().is_some_and(|p| p.seq == 2))
            .await
            .unwrap()
            .clone()
            .unwrap();
        assert!(published.plan.version.unwrap() >= 2);
        drop(plan);
        drop(h);
        engine.shutdown().await;
    }

    fn key(k: &str, digest: &str, accept: bool) -> Option<MessageKey> {
        Some(MessageKey {
            key: k.into(),
            digest: digest.into(),
            accept,
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn message_keys_dedupe_conflict_and_survive_a_restart() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 3));
        let catalog = Arc::new(Catalog::new(&s));
        let dir = tempfile::tempdir().unwrap();
        let start = || async {
            Engine::start(
                Box::new(SqliteStore::open(dir.path()).unwrap()),
                Arc::new(s.clone()),
                catalog.clone(),
                Metrics::new().unwrap(),
                settings(),
            )
            .await
            .unwrap()
        };
        let p0 = s.inpatients[0].id.clone();
        let v = json!({"id":"hl7:k1","at":"2026-12-07T08:00:00Z","type":"discharge","patient":p0});
        let incoming = || Incoming {
            event: parse_event(&v, &catalog).unwrap(),
            body: v.to_string(),
        };
        let submit = |h: EngineHandle, events: Vec<Incoming>, k: Option<MessageKey>| async move {
            crate::ingest::submit_keyed(&h, events, k, "test".into(), Instant::now()).await
        };
        let engine = start().await;
        let h = engine.handle();
        // New and accepted: stored with its event.
        let acks = submit(h.clone(), vec![incoming()], key("k1", "d1", true))
            .await
            .unwrap();
        assert_eq!((acks[0].seq, &acks[0].outcome), (1, &AckOutcome::Applied));
        // Same digest: a duplicate; another digest: a conflict; nothing stored.
        let acks = submit(h.clone(), vec![incoming()], key("k1", "d1", true))
            .await
            .unwrap();
        assert_eq!(acks[0].outcome, AckOutcome::Duplicate("applied".into()));
        let err = submit(h.clone(), Vec::new(), key("k1", "d2", false))
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::KeyConflict));
        // A refused message with a new key: answered empty, its key not stored.
        assert!(
            submit(h.clone(), Vec::new(), key("k2", "d", false))
                .await
                .unwrap()
                .is_empty()
        );
        // An ignored message: no event, but its key is kept.
        assert!(
            submit(h.clone(), Vec::new(), key("k2", "d", true))
                .await
                .unwrap()
                .is_empty()
        );
        let acks = submit(h.clone(), Vec::new(), key("k2", "d", true))
            .await
            .unwrap();
        assert_eq!(acks[0].outcome, AckOutcome::Duplicate("ignored".into()));
        drop(h);
        engine.shutdown().await;
        // Kept across a restart.
        let engine = start().await;
        let h = engine.handle();
        let acks = submit(h.clone(), vec![incoming()], key("k1", "d1", true))
            .await
            .unwrap();
        assert_eq!(acks[0].outcome, AckOutcome::Duplicate("applied".into()));
        assert!(matches!(
            submit(h.clone(), Vec::new(), key("k2", "other", true)).await,
            Err(EngineError::KeyConflict)
        ));
        assert_eq!(h.view.borrow().last_seq, 1);
        drop(h);
        engine.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keyed_message_the_store_cannot_commit_is_refused_and_stored_later() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 3));
        let catalog = Arc::new(Catalog::new(&s));
        let dir = tempfile::tempdir().unwrap();
        let failing = Arc::new(AtomicBool::new(false));
        let store = Flaky {
            inner: SqliteStore::open(dir.path()).unwrap(),
            failing: failing.clone(),
            snapshots_fail: false,
        };
        let engine = Engine::start(
            Box::new(store),
            Arc::new(s.clone()),
            catalog.clone(),
            Metrics::new().unwrap(),
            settings(),
        )
        .await
        .unwrap();
        let h = engine.handle();
        failing.store(true, Ordering::SeqCst);
        let send = || {
            crate::ingest::submit_keyed(
                &h,
                Vec::new(),
                key("k", "d", true),
                "t".into(),
                Instant::now(),
            )
        };
        // The listener answers this AR 207: nothing was stored, so a resend...
        assert!(matches!(send().await, Err(EngineError::Unavailable(_))));
        failing.store(false, Ordering::SeqCst);
        // ...is a new message, stored now; the one after that is its duplicate.
        assert_eq!(send().await.unwrap(), Vec::new());
        let again = send().await.unwrap();
        assert!(matches!(again[0].outcome, AckOutcome::Duplicate(_)));
        drop(h);
        engine.shutdown().await;
    }

    /// What the test planner does: 0 plan, 1 overrun the time limit, 2 break a constraint.
    static MODE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn moody(s: &Scenario, previous: Option<&Plan>, o: &PlanSettings) -> Result<Plan, SolveError> {
        match MODE.load(Ordering::SeqCst) {
            1 => {
                std::thread::sleep(solve_timeout(o.time_limit) + Duration::from_millis(200));
                plan(s, previous, o)
            }
            2 => {
                let mut p = plan(s, previous, o)?;
                if let Some(case) = s.waiting_list.first() {
                    for session in &mut p.sessions {
                        session.cases.push(case.id.clone());
                    }
                }
                Ok(p)
            }
            _ => plan(s, previous, o),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_and_late_solves_keep_the_last_good_plan_and_are_counted() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 4));
        let catalog = Arc::new(Catalog::new(&s));
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new().unwrap();
        let mut settings = settings();
        settings.planner = moody;
        settings.time_limit = Duration::from_millis(100);
        settings.replan_time_limit = Duration::from_millis(100);
        let engine = Engine::start(
            Box::new(SqliteStore::open(dir.path()).unwrap()),
            Arc::new(s.clone()),
            catalog.clone(),
            metrics.clone(),
            settings,
        )
        .await
        .unwrap();
        let h = engine.handle();
        let mut plan_rx = h.plan.clone();
        let v1 = plan_rx
            .wait_for(Option::is_some)
            .await
            .unwrap()
            .as_ref()
            .and_then(|p| p.plan.version)
            .unwrap();
        let counted = |status: &str| {
            let text = String::from_utf8(metrics.render()).unwrap();
            let want = format!("flowd_solves_total{{status=\"{status}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(want.as_str()))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let wait_count = |status: &'static str| async move {
            for _ in 0..500 {
                if counted(status) > 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("no {status} solve counted");
        };
        let p = s.inpatients[0].id.clone();
        MODE.store(1, Ordering::SeqCst);
        let e = json!({"id":"a","at":"2026-12-07T08:00:00Z","type":"discharge","patient":p});
        ingest(&h, &catalog, e).await.unwrap();
        wait_count("timeout").await;
        assert_eq!(
            h.plan.borrow().as_ref().and_then(|p| p.plan.version),
            Some(v1)
        );
        MODE.store(2, Ordering::SeqCst);
        wait_count("invalid").await;
        assert_eq!(
            h.plan.borrow().as_ref().and_then(|p| p.plan.version),
            Some(v1)
        );
        // Back to normal: the retry publishes without any new event.
        MODE.store(0, Ordering::SeqCst);
        let published = plan_rx
            .wait_for(|p| p.as_ref().is_some_and(|p| p.seq == 1))
            .await
            .unwrap()
            .clone()
            .unwrap();
        assert!(published.plan.version.unwrap() > v1);
        drop(plan_rx);
        drop(h);
        engine.shutdown().await;
    }

    /// The time limits `loose` was given, in order.
    static LOOSE_LIMITS: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

    /// A planner whose plans always report a loose gap, as when the time limit bites.
    fn loose(s: &Scenario, previous: Option<&Plan>, o: &PlanSettings) -> Result<Plan, SolveError> {
        LOOSE_LIMITS.lock().unwrap().push(o.time_limit);
        let mut p = plan(s, previous, o)?;
        p.solver.gap = 0.5;
        Ok(p)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_loose_plan_is_refined_a_few_rounds_without_new_events() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 3));
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings();
        settings.planner = loose;
        settings.replan_time_limit = Duration::from_secs(1);
        let engine = Engine::start(
            Box::new(SqliteStore::open(dir.path()).unwrap()),
            Arc::new(s.clone()),
            Arc::new(Catalog::new(&s)),
            Metrics::new().unwrap(),
            settings,
        )
        .await
        .unwrap();
        let h = engine.handle();
        let mut plan_rx = h.plan.clone();
        let last = 1 + u64::from(MAX_REFINE_ROUNDS);
        let version = |p: &Option<Arc<Published>>| p.as_ref().and_then(|p| p.plan.version);
        tokio::time::timeout(
            Duration::from_secs(60),
            plan_rx.wait_for(|p| version(p) >= Some(last)),
        )
        .await
        .expect("refinement rounds")
        .unwrap();
        // Then it rests: no change, no more rounds.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(version(&h.plan.borrow()), Some(last));
        // A cold solve, then quiet refinement rounds whose limit doubles, capped at
        // the cold limit.
        let secs: Vec<u64> = LOOSE_LIMITS
            .lock()
            .unwrap()
            .iter()
            .map(Duration::as_secs)
            .collect();
        assert_eq!(secs, [30, 2, 4, 8, 16, 30, 30]);
        drop(plan_rx);
        drop(h);
        engine.shutdown().await;
    }
}
