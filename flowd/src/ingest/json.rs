//! Decoding `POST /v1/events` bodies: one event object or an array of them.
//!
//! All or nothing: a body with any bad event is refused whole, and every problem is
//! reported at its field path (`ward`, `[3].case.stay[0].kind`), so nothing of a
//! rejected request is stored. Each accepted event keeps its JSON text for the audit
//! trail.

use flow_core::FieldError;
use flow_core::event::{Catalog, EVENT_TYPES, parse_event};
use serde_json::Value;

use crate::engine::Incoming;

/// At most this many problems are reported for one body.
pub const MAX_REPORTED: usize = 100;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct BadBody {
    /// Every problem (up to [`MAX_REPORTED`]), at its field path.
    pub errors: Vec<FieldError>,
    /// The `type` of each event in the body (`unknown` where unreadable), for metrics.
    pub kinds: Vec<&'static str>,
}

impl BadBody {
    fn whole(message: String) -> Self {
        BadBody {
            errors: vec![FieldError::new("", message)],
            kinds: Vec::new(),
        }
    }
}

/// Decodes a body into events, or says everything that is wrong with it.
pub fn decode(body: &[u8], catalog: &Catalog, max_events: usize) -> Result<Vec<Incoming>, BadBody> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        BadBody::whole(format!(
            "body is not valid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let (items, array) = match value {
        Value::Array(items) => (items, true),
        object @ Value::Object(_) => (vec![object], false),
        _ => {
            return Err(BadBody::whole(
                "body must be one event object or an array of events".into(),
            ));
        }
    };
    if items.len() > max_events {
        return Err(BadBody::whole(format!(
            "{} events in one request; at most {max_events}",
            items.len()
        )));
    }
    let mut events = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    let mut kinds = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        kinds.push(kind_of(item));
        match parse_event(item, catalog) {
            Ok(event) => events.push(Incoming {
                event,
                body: item.to_string(),
            }),
            Err(errs) => {
                for e in errs.0 {
                    if errors.len() >= MAX_REPORTED {
                        break;
                    }
                    let path = match (array, e.path.is_empty()) {
                        (false, _) => e.path,
                        (true, true) => format!("[{i}]"),
                        (true, false) => format!("[{i}].{}", e.path),
                    };
                    errors.push(FieldError::new(path, e.message));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(BadBody { errors, kinds })
    }
}

fn kind_of(item: &Value) -> &'static str {
    let t = item.get("type").and_then(Value::as_str).unwrap_or("");
    EVENT_TYPES
        .iter()
        .find(|k| **k == t)
        .copied()
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use flow_core::generate::{GenerateOptions, Size, generate};

    use super::*;

    #[test]
    fn paths_are_prefixed_in_arrays_and_nothing_passes_with_an_error() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 1));
        let c = Catalog::new(&s);
        let good = r#"{"id":"a","at":"2026-12-07T08:00:00Z","type":"discharge","patient":"p"}"#;
        let bad = r#"{"id":"b","at":"2026-12-07T08:00:00Z","type":"transfer","patient":"p"}"#;
        assert_eq!(decode(good.as_bytes(), &c, 10).unwrap().len(), 1);
        let err = decode(format!("[{good},{bad}]").as_bytes(), &c, 10).unwrap_err();
        assert_eq!(err.errors[0].path, "[1].ward");
        assert_eq!(err.kinds, ["discharge", "transfer"]);
        let err = decode(bad.as_bytes(), &c, 10).unwrap_err();
        assert_eq!(err.errors[0].path, "ward");
        let err = decode(b"[1, {}]", &c, 10).unwrap_err();
        assert_eq!(err.errors[0].path, "[0]");
        assert!(
            decode(b"{nope", &c, 10).unwrap_err().errors[0]
                .message
                .contains("line 1")
        );
        assert!(decode(format!("[{good},{good}]").as_bytes(), &c, 1).is_err());
        assert!(decode(b"\"x\"", &c, 10).is_err());
    }
}
