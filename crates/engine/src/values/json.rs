//! JSON helpers that keep nested values byte-for-byte (ESO passes `json.RawMessage` on) and
//! turn leaves into strings the way gjson's `Result.String()` does.

use indexmap::IndexMap;
use serde_json::value::RawValue;

/// The JSON type of a raw value, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawKind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// Classifies a raw JSON value.
pub(crate) fn kind(raw: &RawValue) -> RawKind {
    match raw.get().trim_start().as_bytes().first() {
        Some(b'{') => RawKind::Object,
        Some(b'[') => RawKind::Array,
        Some(b'"') => RawKind::String,
        Some(b't') | Some(b'f') => RawKind::Bool,
        Some(b'n') => RawKind::Null,
        _ => RawKind::Number,
    }
}

/// Parses a JSON object, keeping member order and raw member values.
pub(crate) fn parse_object(text: &str) -> Option<IndexMap<String, &RawValue>> {
    serde_json::from_str::<IndexMap<String, &RawValue>>(text).ok()
}

/// Parses a JSON array, keeping raw elements.
pub(crate) fn parse_array(text: &str) -> Option<Vec<&RawValue>> {
    serde_json::from_str::<Vec<&RawValue>>(text).ok()
}

/// ESO's extract conversion (`JSONToSecretDataMap`): strings are unquoted, everything else
/// is kept as its raw JSON text.
pub(crate) fn extract_bytes(raw: &RawValue) -> Vec<u8> {
    // Go: json.Unmarshal(`null`, &str) succeeds and leaves the string empty.
    if kind(raw) == RawKind::Null {
        return Vec::new();
    }
    if kind(raw) == RawKind::String
        && let Ok(s) = serde_json::from_str::<String>(raw.get())
    {
        return s.into_bytes();
    }
    raw.get().trim().as_bytes().to_vec()
}

/// gjson's `Result.String()`: strings unquoted, integers as written, other numbers in Go's
/// `strconv.FormatFloat(f, 'f', -1, 64)` form, `true`/`false`, `null` as empty, objects and
/// arrays as their raw JSON text.
pub(crate) fn gjson_string(raw: &RawValue) -> Vec<u8> {
    let text = raw.get().trim();
    match kind(raw) {
        RawKind::String => serde_json::from_str::<String>(text)
            .map(String::into_bytes)
            .unwrap_or_default(),
        RawKind::Null => Vec::new(),
        RawKind::Bool => text.as_bytes().to_vec(),
        RawKind::Object | RawKind::Array => text.as_bytes().to_vec(),
        RawKind::Number => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                text.as_bytes().to_vec()
            } else {
                match text.parse::<f64>() {
                    Ok(f) => format_float_f(f).into_bytes(),
                    Err(_) => text.as_bytes().to_vec(),
                }
            }
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, no exponent.
pub(crate) fn format_float_f(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's Display prints the shortest representation that round-trips, never with an exponent.
    let s = format!("{f}");
    if s == "-0" { "-0".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn gjson_string_matches_go() {
        assert_eq!(gjson_string(&raw(r#""a\nb""#)), b"a\nb");
        assert_eq!(gjson_string(&raw("42")), b"42");
        assert_eq!(gjson_string(&raw("-7")), b"-7");
        assert_eq!(gjson_string(&raw("1.50")), b"1.5");
        assert_eq!(gjson_string(&raw("1e3")), b"1000");
        assert_eq!(gjson_string(&raw("true")), b"true");
        assert_eq!(gjson_string(&raw("null")), b"");
        assert_eq!(gjson_string(&raw(r#"{"a": 1}"#)), br#"{"a": 1}"#);
        assert_eq!(gjson_string(&raw("[1, 2]")), b"[1, 2]");
    }

    #[test]
    fn extract_keeps_raw_numbers() {
        assert_eq!(extract_bytes(&raw("1.50")), b"1.50");
        assert_eq!(extract_bytes(&raw(r#""x""#)), b"x");
        assert_eq!(extract_bytes(&raw("null")), b"");
    }
}
