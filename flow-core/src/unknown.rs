//! Fields a document carries that its types do not know, so that a misspelt field is
//! named rather than silently lost (`wards[0].closurez: unknown field (did you mean
//! closures?)`).
//!
//! Detection is serde's own: a document is deserialised once through
//! `serde_ignored`, which reports every key the types read past, so what is reported
//! is exactly what is lost. The hint comes from the names that *are* known there: the
//! generated JSON Schema's `properties` at the parent path for scenarios and plans,
//! the payload struct's own field list for events. Keys starting with `x-` are private
//! extensions by convention (as in OpenAPI) and are never reported.
//!
//! Whether an unknown field is a warning or an error is the caller's choice
//! (`--strict`); [`crate::validate::parse_scenario_with_warnings`] and its siblings
//! return them beside the document.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::FieldError;

/// Keys with this prefix are private extensions and never reported.
pub const PRIVATE_PREFIX: &str = "x-";

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// An unknown field: where it is.
pub(crate) type Unknown = Vec<Step>;

/// `[Key(wards), Index(0), Key(closurez)]` → `wards[0].closurez`.
pub(crate) fn path_text(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn steps(path: &serde_ignored::Path<'_>, out: &mut Vec<Step>) {
    use serde_ignored::Path;
    match path {
        Path::Root => {}
        Path::Seq { parent, index } => {
            steps(parent, out);
            out.push(Step::Index(*index));
        }
        Path::Map { parent, key } => {
            steps(parent, out);
            out.push(Step::Key(key.clone()));
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => {
            steps(parent, out);
        }
    }
}

/// Deserialises `value` as `T`, locating an error at its field path (a missing field
/// at the field itself) and noting every key `T` reads past in `unknown`.
pub(crate) fn deserialize<T: DeserializeOwned>(
    value: &Value,
    unknown: &mut Vec<Unknown>,
) -> Result<T, FieldError> {
    let mut note = |path: serde_ignored::Path<'_>| {
        let mut at = Vec::new();
        steps(&path, &mut at);
        if !matches!(at.last(), Some(Step::Key(k)) if k.starts_with(PRIVATE_PREFIX)) {
            unknown.push(at);
        }
    };
    let ignoring = serde_ignored::Deserializer::new(value, &mut note);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(ignoring, &mut track);
    T::deserialize(tracked).map_err(|e| {
        let path = track.path().to_string();
        let mut path = if path == "." { String::new() } else { path };
        let message = e.to_string();
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(field);
        }
        FieldError::new(path, message)
    })
}

/// The problem to report for an unknown field whose known siblings are `known`.
pub(crate) fn describe(at: &[Step], known: &[String]) -> FieldError {
    let path = path_text(at);
    let Some(Step::Key(name)) = at.last() else {
        return FieldError::new(path, "unknown field");
    };
    let message = match closest(name, known) {
        Some(best) => format!("unknown field (did you mean {best}?)"),
        None if known.is_empty() => "unknown field".to_owned(),
        None => format!("unknown field (known here: {})", known.join(", ")),
    };
    FieldError::new(path, message)
}

/// The known name nearest to `name`, if it is near enough to be a slip: within a third
/// of the name's length in edits (at least one), or differing only in case.
fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (levenshtein(&name.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Edit distance (insertions, deletions, substitutions) between `a` and `b`.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The property names the JSON Schema `schema` allows for the object at `parent`
/// (following `$ref`, `anyOf`/`oneOf`/`allOf` and array `items`); empty when the
/// schema says nothing there.
pub(crate) fn schema_fields(schema: &Value, parent: &[Step]) -> Vec<String> {
    let mut node = Some(schema);
    for step in parent {
        node = node.and_then(|n| child(schema, n, step));
    }
    let mut names: Vec<String> = node
        .and_then(|n| find(schema, n, &|x| x.get("properties").is_some()))
        .and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The schema of `step` under `node`.
fn child<'a>(root: &'a Value, node: &'a Value, step: &Step) -> Option<&'a Value> {
    match step {
        Step::Key(k) => find(root, node, &|x| {
            x.get("properties")
                .and_then(|p| p.get(k.as_str()))
                .is_some()
        })?
        .get("properties")?
        .get(k.as_str()),
        Step::Index(i) => {
            let array = find(root, node, &|x| {
                x.get("items").is_some() || x.get("prefixItems").is_some()
            })?;
            array
                .get("prefixItems")
                .and_then(|p| p.get(*i))
                .or_else(|| array.get("items"))
        }
    }
}

/// The first schema reachable from `node` through `$ref` and the combinators that
/// satisfies `wanted`.
fn find<'a>(
    root: &'a Value,
    node: &'a Value,
    wanted: &dyn Fn(&Value) -> bool,
) -> Option<&'a Value> {
    fn walk<'a>(
        root: &'a Value,
        node: &'a Value,
        wanted: &dyn Fn(&Value) -> bool,
        depth: usize,
    ) -> Option<&'a Value> {
        if depth > 16 {
            return None;
        }
        if wanted(node) {
            return Some(node);
        }
        if let Some(target) = node.get("$ref").and_then(Value::as_str) {
            let pointer = target.strip_prefix('#')?;
            return walk(root, root.pointer(pointer)?, wanted, depth + 1);
        }
        ["anyOf", "oneOf", "allOf"]
            .iter()
            .filter_map(|k| node.get(*k).and_then(Value::as_array))
            .flatten()
            .find_map(|branch| walk(root, branch, wanted, depth + 1))
    }
    walk(root, node, wanted, 0)
}

/// The field names serde reads for struct `T` at its top level (for hints where no
/// schema exists). Empty for anything but a plain struct.
pub(crate) fn struct_fields<T: DeserializeOwned>() -> Vec<String> {
    use serde::de::{self, Visitor};

    struct Probe<'a>(&'a mut Vec<String>);

    impl<'de> de::Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("probe"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend(fields.iter().map(|f| (*f).to_owned()));
            Err(de::Error::custom("probe"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields = Vec::new();
    let _ = T::deserialize(Probe(&mut fields));
    fields.sort();
    fields
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("closurez", "closures"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(
            levenshtein("emergency_bed_quantil", "emergency_bed_quantile"),
            1
        );
    }

    #[test]
    fn hints_are_near_names_or_the_list() {
        let known = vec!["beds".to_owned(), "closures".to_owned(), "id".to_owned()];
        let at = [
            Step::Key("wards".into()),
            Step::Index(0),
            Step::Key("closurez".into()),
        ];
        assert_eq!(
            describe(&at, &known).to_string(),
            "wards[0].closurez: unknown field (did you mean closures?)"
        );
        let at = [Step::Key("colour".into())];
        assert_eq!(
            describe(&at, &known).to_string(),
            "colour: unknown field (known here: beds, closures, id)"
        );
        let at = [Step::Key("BEDS".into())];
        assert!(describe(&at, &known).message.contains("did you mean beds?"));
    }

    #[test]
    fn struct_fields_come_from_serde() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct S {
            b: u32,
            #[serde(rename = "a-b")]
            a: u32,
        }
        assert_eq!(struct_fields::<S>(), ["a-b", "b"]);
        assert!(struct_fields::<u32>().is_empty());
    }
}
