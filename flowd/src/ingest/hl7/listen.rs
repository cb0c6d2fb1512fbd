//! The MLLP listener: accepts connections (loopback and `[hl7] allow` networks, at
//! most `max_connections`; others are closed at once and counted), and on each one
//! reads frames in order, answers each before reading the next (so ACKs leave in
//! order, each one frame in one write), and closes on a framing error, an unfinished
//! frame older than `frame_timeout`, `idle_timeout` of silence, or a frame not answered
//! within `answer_within`.
//!
//! Shutdown: the listener stops accepting; a connection finishes the frame in hand
//! (its ACK says AA only if the commit succeeded, AR 207 when the engine is stopping)
//! and closes. [`serve`] returns once every connection has ended, so the engine's
//! handles are all dropped before it stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::BytesMut;
use flow_core::event::Catalog;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::codec::{Decoder, Encoder};

use super::ack::{self, Code, Location, Refusal};
use super::map::Mapped;
use super::mllp::{FrameError, Mllp};
use super::{Settings, Step, prepare};
use crate::engine::{AckOutcome, EngineError, EngineHandle, Incoming, MessageKey, Refused};
use crate::metrics::{Hl7Answered, Hl7Connection, Metrics};

/// What every connection shares.
#[derive(Debug)]
pub struct Shared {
    /// The engine.
    pub engine: EngineHandle,
    /// The scenario's ids.
    pub catalog: Arc<Catalog>,
    /// The settings.
    pub settings: Arc<Settings>,
    /// Metrics.
    pub metrics: Metrics,
    control: AtomicU64,
    started: i64,
}

impl Shared {
    /// Bundles what connections share.
    pub fn new(
        engine: EngineHandle,
        catalog: Arc<Catalog>,
        settings: Arc<Settings>,
        metrics: Metrics,
    ) -> Self {
        Shared {
            engine,
            catalog,
            settings,
            metrics,
            control: AtomicU64::new(0),
            started: chrono::Utc::now().timestamp(),
        }
    }

    fn control_id(&self) -> String {
        let n = self.control.fetch_add(1, Ordering::Relaxed);
        format!("FLOWD{}-{n}", self.started)
    }
}

/// Serves MLLP on `listener` until `shutdown` turns true, then waits for every
/// connection to finish.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(shared.settings.max_connections));
    let mut connections = JoinSet::new();
    let stopping = shutdown.clone();
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            accepted = listener.accept() => {
                let (sock, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "mllp accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let ip = peer.ip();
                let loopback = match ip {
                    std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
                    v4 => v4.is_loopback(),
                };
                if !loopback && !shared.settings.allow.iter().any(|c| c.contains(ip)) {
                    Hl7Connection::Refused("source").emit(&shared.metrics);
                    drop(sock);
                    continue;
                }
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    Hl7Connection::Refused("limit").emit(&shared.metrics);
                    drop(sock);
                    continue;
                };
                let shared = shared.clone();
                let shutdown = stopping.clone();
                connections.spawn(async move {
                    Hl7Connection::Opened.emit(&shared.metrics);
                    connection(sock, peer, &shared, shutdown).await;
                    Hl7Connection::Ended.emit(&shared.metrics);
                    drop(permit);
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn connection(
    mut sock: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = sock.set_nodelay(true);
    let settings = &shared.settings;
    let mut codec = Mllp::new(settings.max_frame_bytes);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::with_capacity(1024);
    let source = format!("hl7:{peer}");
    let close = |reason: &'static str| Hl7Connection::Closed(reason).emit(&shared.metrics);
    loop {
        loop {
            let frame = match codec.decode(&mut buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    Hl7Connection::Discarded(codec.take_discarded()).emit(&shared.metrics);
                    return close(match e {
                        FrameError::TooLong(_) => "oversize",
                        _ => "bad_end",
                    });
                }
            };
            Hl7Connection::Discarded(codec.take_discarded()).emit(&shared.metrics);
            let received = Instant::now();
            let answered = tokio::time::timeout(
                settings.answer_within,
                answer(shared, &frame, &source, received),
            )
            .await;
            let Ok((payload, metric)) = answered else {
                return close("answer_timeout");
            };
            if let Some(payload) = payload {
                out.clear();
                if codec.encode(&payload[..], &mut out).is_err()
                    || sock.write_all(&out).await.is_err()
                {
                    return;
                }
            }
            Hl7Answered {
                latency: received.elapsed(),
                ..metric
            }
            .emit(&shared.metrics);
        }
        Hl7Connection::Discarded(codec.take_discarded()).emit(&shared.metrics);
        if *shutdown.borrow() {
            return close("shutdown");
        }
        let (wait, reason) = match codec.frame_started() {
            Some(t) => (
                settings.frame_timeout.saturating_sub(t.elapsed()),
                "frame_timeout",
            ),
            None => (settings.idle_timeout, "idle"),
        };
        tokio::select! {
            read = tokio::time::timeout(wait, sock.read_buf(&mut buf)) => match read {
                Err(_) => return close(reason),
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(_)) => {}
            },
            () = stopped(&mut shutdown) => return close("shutdown"),
        }
    }
}

/// Processes one frame: the ACK to send (none when the sender asked for none) and
/// its metric.
async fn answer(
    shared: &Shared,
    payload: &[u8],
    source: &str,
    received: Instant,
) -> (Option<Vec<u8>>, Hl7Answered<'static>) {
    let settings = &shared.settings;
    let prepared = prepare(payload, settings, &shared.catalog);
    let trigger: &'static str = trigger_label(&prepared.trigger);
    let mut message_key = String::new();
    let (code, refusal, outcome) = match prepared.step {
        Step::Answer(r) => (r.code, Some(r), "refused"),
        Step::Keyed { key, digest, then } => {
            message_key.clone_from(&key);
            let (events, accept, pending) = match then {
                Ok(Mapped::Event(event)) => match serde_json::to_string(&event) {
                    Ok(body) => (vec![Incoming { event, body }], true, None),
                    Err(_) => (Vec::new(), false, Some(unavailable())),
                },
                Ok(Mapped::Ignored(_)) => (Vec::new(), true, None),
                Err(r) => (Vec::new(), false, Some(r)),
            };
            let key = MessageKey {
                key,
                digest,
                accept,
            };
            let result = crate::ingest::submit_keyed(
                &shared.engine,
                events,
                Some(key),
                source.to_string(),
                received,
            )
            .await;
            match result {
                Ok(acks)
                    if acks
                        .iter()
                        .any(|a| matches!(a.outcome, AckOutcome::Duplicate(_))) =>
                {
                    (Code::Aa, None, "duplicate")
                }
                Ok(acks) => match pending {
                    Some(r) => (r.code, Some(r), "refused"),
                    None => match acks.first().map(|a| &a.outcome) {
                        None => (Code::Aa, None, "ignored"),
                        Some(AckOutcome::Applied) => (Code::Aa, None, "applied"),
                        Some(AckOutcome::Rejected(flow_core::state::Rejection::Stale)) => {
                            (Code::Aa, None, "stale")
                        }
                        Some(_) => (Code::Aa, None, "no_op"),
                    },
                },
                Err(EngineError::KeyConflict) => (
                    Code::Ae,
                    Some(Refusal::error(
                        205,
                        Location::at("MSH", 1, 10),
                        "this message id was used for another message",
                    )),
                    "conflict",
                ),
                Err(_) => (Code::Ar, Some(unavailable()), "unavailable"),
            }
        }
    };
    // An AE or AR leaves an audit row (not when the store itself is what failed).
    if let Some(r) = refusal.as_ref().filter(|_| outcome != "unavailable") {
        let audit = Refused {
            key: message_key,
            trigger: prepared.trigger.chars().take(16).collect(),
            ack: r.code.as_str(false),
            code: r.error,
            location: r.location.to_string(),
            text: r.text,
        };
        let stored =
            crate::ingest::submit_refusal(&shared.engine, audit, source.to_string(), received)
                .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "could not store the audit row of a refused message");
        }
    }
    let now = chrono::Utc::now().format("%Y%m%d%H%M%S+0000").to_string();
    let payload = ack::build(
        &prepared.header,
        code,
        refusal.as_ref(),
        settings.enhanced_ack,
        &now,
        &shared.control_id(),
    );
    let enhanced = settings.enhanced_ack && !prepared.header.accept_ack.is_empty();
    let ack_label = if payload.is_some() {
        code.as_str(enhanced)
    } else {
        "none"
    };
    (
        payload,
        Hl7Answered {
            trigger,
            outcome,
            ack: ack_label,
            error: refusal.map(|r| r.error),
            latency: std::time::Duration::ZERO,
        },
    )
}

/// Resolves once the shutdown flag is set (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn unavailable() -> Refusal {
    Refusal::reject(
        207,
        Location::segment("MSH"),
        "the message could not be stored; send it again",
    )
}

/// `A00`…`A99` as static labels, anything else `other`.
fn trigger_label(t: &str) -> &'static str {
    static LABELS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let labels = LABELS.get_or_init(|| (0..100).map(|n| format!("A{n:02}")).collect());
    let n = t
        .strip_prefix('A')
        .filter(|d| d.len() == 2)
        .and_then(|d| d.parse::<usize>().ok());
    match n.and_then(|n| labels.get(n)) {
        Some(l) => l.as_str(),
        None => "other",
    }
}
