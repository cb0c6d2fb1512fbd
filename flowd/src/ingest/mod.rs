//! Ingest: turning what a sender delivers into checked events and handing them to
//! the state owner, which answers once they are durable.
//!
//! Each channel decodes its own wire format into [`Incoming`] events and calls
//! [`submit`]; everything after that (deduplication, group commit, apply, the
//! acknowledgement) is shared. [`json`] decodes the HTTP API's bodies. HL7 v2 ADT over
//! MLLP will be a sibling module that maps A01/A02/A03… onto the same events (MSH-10
//! as the id) and sends its ACK (MSA AA) only when `submit` returns.

pub mod json;

use std::time::Instant;

use tokio::sync::oneshot;

use crate::engine::{Ack, Command, EngineError, EngineHandle, Incoming, Ingest};

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
    let (reply, answer) = oneshot::channel();
    engine
        .commands
        .send(Command::Ingest(Ingest {
            events,
            source,
            received,
            reply,
        }))
        .await
        .map_err(|_| EngineError::ShuttingDown)?;
    answer.await.map_err(|_| EngineError::ShuttingDown)?
}
