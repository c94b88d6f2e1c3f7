//! `remoteRef.property`: a gjson path into a JSON value, as ESO's providers evaluate it.
//!
//! A top-level member whose name equals the whole property wins (ESO's Vault provider checks
//! the literal key first, its AWS provider tries the property with every `.` escaped first);
//! otherwise the property is a gjson path: `.` separates members, `\` escapes the next
//! character, `*` and `?` are wildcards in member names, a number indexes an array and `#`
//! is an array's length. gjson queries (`#(...)`), modifiers (`@...`) and pipes (`|`) are not
//! supported and never match.

use serde_json::value::RawValue;

use super::json::{RawKind, gjson_string, kind, parse_array, parse_object};

/// Why a property lookup failed (never contains the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyError {
    /// The value is not JSON, so it has no properties.
    NotJson,
    /// The path matches nothing.
    NotFound,
}

impl std::fmt::Display for PropertyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PropertyError::NotJson => f.write_str("the remote value is not a JSON document"),
            PropertyError::NotFound => f.write_str("no such property in the remote value"),
        }
    }
}

/// Looks `property` up in the JSON document `document` and returns the leaf as bytes
/// (gjson's `String()`: strings unquoted, nested values as raw JSON, `null` empty).
pub fn lookup_property(document: &[u8], property: &str) -> Result<Vec<u8>, PropertyError> {
    let text = std::str::from_utf8(document).map_err(|_| PropertyError::NotJson)?;
    // Common case first: a JSON object with the property as a literal member (one parse).
    if let Some(members) = parse_object(text)
        && let Some(v) = members.get(property)
    {
        return Ok(gjson_string(v));
    }
    let root: &RawValue = serde_json::from_str(text).map_err(|_| PropertyError::NotJson)?;
    let components = split_path(property);
    let mut current: &RawValue = root;
    // Values parsed along the path borrow from `text`, so they live long enough.
    for component in &components {
        current = step(current, component).ok_or(PropertyError::NotFound)?;
    }
    if components.is_empty() {
        return Err(PropertyError::NotFound);
    }
    Ok(gjson_string(current))
}

/// One path component: its text (escapes removed) and whether it had unescaped wildcards.
#[derive(Debug, PartialEq, Eq)]
struct Component {
    text: String,
    /// Per character: true when the character is a wildcard (`*`/`?` not escaped).
    wild: Vec<bool>,
}

fn split_path(path: &str) -> Vec<Component> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut wild = Vec::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    text.push(n);
                    wild.push(false);
                }
            }
            '.' => {
                out.push(Component {
                    text: std::mem::take(&mut text),
                    wild: std::mem::take(&mut wild),
                });
            }
            _ => {
                text.push(c);
                wild.push(c == '*' || c == '?');
            }
        }
    }
    out.push(Component { text, wild });
    out
}

fn step<'a>(value: &'a RawValue, component: &Component) -> Option<&'a RawValue> {
    match kind(value) {
        RawKind::Object => {
            let members = parse_object(value.get())?;
            let has_wild = component.wild.iter().any(|w| *w);
            members
                .into_iter()
                .find(|(name, _)| {
                    if has_wild {
                        wildcard_match(component, name)
                    } else {
                        *name == component.text
                    }
                })
                .map(|(_, v)| v)
        }
        RawKind::Array => {
            let items = parse_array(value.get())?;
            if component.text == "#" {
                // gjson yields the length as a number; we cannot return a new RawValue that
                // borrows from the document, so the length is not supported as a leaf here.
                return None;
            }
            let index: usize = component.text.parse().ok()?;
            items.get(index).copied()
        }
        _ => None,
    }
}

fn wildcard_match(pattern: &Component, name: &str) -> bool {
    let p: Vec<(char, bool)> = pattern
        .text
        .chars()
        .zip(pattern.wild.iter().copied())
        .collect();
    let n: Vec<char> = name.chars().collect();
    // Classic two-pointer glob match with backtracking on `*`.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi].1 && p[pi].0 == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && ((p[pi].1 && p[pi].0 == '?') || (!p[pi].1 && p[pi].0 == n[ni])) {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi].1 && p[pi].0 == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(doc: &str, prop: &str) -> Result<String, PropertyError> {
        lookup_property(doc.as_bytes(), prop).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn literal_key_with_dots_wins() {
        let doc = r#"{"a.b": "literal", "a": {"b": "nested"}}"#;
        assert_eq!(get(doc, "a.b").unwrap(), "literal");
        assert_eq!(get(r#"{"a": {"b": "nested"}}"#, "a.b").unwrap(), "nested");
    }

    #[test]
    fn nested_paths_arrays_and_escapes() {
        let doc = r#"{"name": {"first": "Tom", "last": "Anderson"}, "friends": [{"first": "Dale"}, {"first": "Roger"}], "fav.movie": "Deer Hunter", "age": 37}"#;
        assert_eq!(get(doc, "name.last").unwrap(), "Anderson");
        assert_eq!(get(doc, "friends.1.first").unwrap(), "Roger");
        assert_eq!(get(doc, r"fav\.movie").unwrap(), "Deer Hunter");
        assert_eq!(get(doc, "age").unwrap(), "37");
        assert_eq!(
            get(doc, "name").unwrap(),
            r#"{"first": "Tom", "last": "Anderson"}"#
        );
        assert_eq!(get(doc, "na*.f?rst").unwrap(), "Tom");
        assert_eq!(get(doc, "name.middle"), Err(PropertyError::NotFound));
        assert_eq!(get(doc, "friends.9"), Err(PropertyError::NotFound));
    }

    #[test]
    fn non_json_has_no_properties() {
        assert_eq!(get("plain text", "a"), Err(PropertyError::NotJson));
    }
}
