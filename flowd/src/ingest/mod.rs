//! Ingest: turning what a sender delivers into checked events and handing them to
//! the state owner, which answers once they are durable.
//!
//! Each channel decodes its own wire format into [`Incoming`] events and calls
//! [`submit`]; everything after that (deduplication, group commit, apply, the
//! acknowledgement) is shared. [`json`] decodes the HTTP API's bodies. [`hl7`] is HL7
//! v2 ADT over MLLP: it maps A01/A02/A03… onto the same events and sends its ACK (MSA
//! AA) only when [`submit_keyed`] returns, with the message's idempotency key checked
//! and stored in the same commit.

pub mod hl7;
pub mod json;

use std::time::Instant;

use tokio::sync::oneshot;

use crate::engine::{
    Ack, Command, EngineError, EngineHandle, Incoming, Ingest, MessageKey, Refused,
};

/// Hands `events` to the state owner and waits until they are durable (or refused).
/// The acknowledgements come back in request order.
pub async fn submit(
    engine: &EngineHandle,
    events: Vec<Incoming>,
    source: String,
    received: Instant,
) -> Result<Vec<Ack>, EngineError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    submit_keyed(engine, events, None, source, received).await
}

/// [`submit`] with a message key: the key is looked up and, when new and accepted,
/// stored in the same durable commit as `events` (which may be empty). A resend of the
/// same content is answered with one `Duplicate` acknowledgement carrying the key, a
/// different content with [`EngineError::KeyConflict`].
pub async fn submit_keyed(
    engine: &EngineHandle,
    events: Vec<Incoming>,
    key: Option<MessageKey>,
    source: String,
    received: Instant,
) -> Result<Vec<Ack>, EngineError> {
    let (reply, answer) = oneshot::channel();
    engine
        .commands
        .send(Command::Ingest(Ingest {
            events,
            source,
            received,
            reply,
            key,
            refusal: None,
        }))
        .await
        .map_err(|_| EngineError::ShuttingDown)?;
    answer.await.map_err(|_| EngineError::ShuttingDown)?
}

/// Stores the audit row of a message the channel refused (an HL7 AE or AR) in the
/// next group commit and waits until it is durable. Nothing else of the message is
/// stored.
pub async fn submit_refusal(
    engine: &EngineHandle,
    refusal: Refused,
    source: String,
    received: Instant,
) -> Result<(), EngineError> {
    let (reply, answer) = oneshot::channel();
    engine
        .commands
        .send(Command::Ingest(Ingest {
            events: Vec::new(),
            source,
            received,
            reply,
            key: None,
            refusal: Some(Box::new(refusal)),
        }))
        .await
        .map_err(|_| EngineError::ShuttingDown)?;
    answer
        .await
        .map_err(|_| EngineError::ShuttingDown)?
        .map(drop)
}
