//! Decoding `POST /v1/events` bodies: one event object or an array of them.
//!
//! All or nothing: a body with any bad event is refused whole, and every problem is
//! reported at its field path (`ward`, `[3].case.stay[0].kind`), so nothing of a
//! rejected request is stored. Each accepted event keeps its JSON text for the audit
//! trail. Fields the contract does not know are named (`[2].wrd: unknown field (did
//! you mean ward?)`): as warnings beside the events, or with `strict` as problems
//! that refuse the body.

use flow_core::FieldError;
use flow_core::event::{Catalog, EVENT_TYPES, parse_event_with_warnings};
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

/// Decodes a body into events, or says everything that is wrong with it. Unknown
/// fields are read past.
pub fn decode(body: &[u8], catalog: &Catalog, max_events: usize) -> Result<Vec<Incoming>, BadBody> {
    decode_checked(body, catalog, max_events, false).map(|(events, _)| events)
}

/// [`decode`], also naming the fields the contract does not know: returned beside the
/// events, or with `strict` problems that refuse the whole body.
pub fn decode_checked(
    body: &[u8],
    catalog: &Catalog,
    max_events: usize,
    strict: bool,
) -> Result<(Vec<Incoming>, Vec<FieldError>), BadBody> {
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
    let mut unknown = Vec::new();
    let at = |i: usize, e: FieldError| {
        let path = match (array, e.path.is_empty()) {
            (false, _) => e.path,
            (true, true) => format!("[{i}]"),
            (true, false) => format!("[{i}].{}", e.path),
        };
        FieldError::new(path, e.message)
    };
    let mut kinds = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        kinds.push(kind_of(item));
        match parse_event_with_warnings(item, catalog) {
            Ok(parsed) => {
                events.push(Incoming {
                    event: parsed.value,
                    body: item.to_string(),
                });
                let found = if strict { &mut errors } else { &mut unknown };
                for e in parsed.unknown_fields {
                    if found.len() < MAX_REPORTED {
                        found.push(at(i, e));
                    }
                }
            }
            Err(errs) => {
                for e in errs.0 {
                    if errors.len() >= MAX_REPORTED {
                        break;
                    }
                    errors.push(at(i, e));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok((events, unknown))
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

    #[test]
    fn unknown_fields_warn_or_with_strict_refuse_the_body() {
        let s = generate(&GenerateOptions::new(Size::Tiny, 1));
        let c = Catalog::new(&s);
        let good = r#"{"id":"a","at":"2026-12-07T08:00:00Z","type":"discharge","patient":"p"}"#;
        let typo = r#"{"id":"b","at":"2026-12-07T08:00:00Z","type":"discharge","patient":"p","pationt":"q"}"#;
        let body = format!("[{good},{typo}]");
        let (events, warnings) = decode_checked(body.as_bytes(), &c, 10, false).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["[1].pationt: unknown field (did you mean patient?)"]
        );
        // The stored text is what was sent.
        assert!(events[1].body.contains("pationt"));
        let bad = decode_checked(body.as_bytes(), &c, 10, true).unwrap_err();
        assert_eq!(bad.errors.len(), 1);
        assert_eq!(bad.errors[0].path, "[1].pationt");
        assert!(
            decode_checked(good.as_bytes(), &c, 10, true)
                .unwrap()
                .1
                .is_empty()
        );
    }
}
