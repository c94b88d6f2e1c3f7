//! JSON text exactly as Go's `encoding/json` writes it, for everything in secretsync that
//! must match bytes ESO produces: sprig's `toJson`/`toRawJson`/`toPrettyJson`, ESO's
//! `GetByteValue` and rewrite merges, and provider metadata (AWS tags, Azure attributes).
//!
//! Go's rules (Go ≥ 1.22): `"` `\` `\b` `\f` `\n` `\r` `\t` get short escapes, other
//! control characters `\u00XX` (lowercase hex); `<`, `>`, `&` become `\u003c`… unless HTML
//! escaping is off (`SetEscapeHTML(false)`); U+2028 and U+2029 are always escaped; each
//! byte that is not valid UTF-8 becomes U+FFFD. Floats use the shortest representation,
//! `'f'` format between 1e-6 and 1e21 and `'e'` outside (`1e+21`, `1e-7`); NaN and ±Inf are
//! errors. Map keys are sorted (Go's maps); [`Encoder`] is the streaming form every value
//! type drives, with a size limit checked as it writes.
//!
//! `tests/go_vectors.rs` checks all of this against output of Go's own `encoding/json`.

mod encoder;
mod float;
mod string;

pub use encoder::{Encoder, Error, Options};
pub use float::format_float;
pub use string::write_string;

/// `json.Marshal` (or an encoder with `SetEscapeHTML(false)`, or `MarshalIndent(v, "", "  ")`)
/// of a `serde_json::Value` decoded into Go's `any`: objects are `map[string]any`, so their
/// keys are sorted; numbers are `float64`.
pub fn encode_value(value: &serde_json::Value, options: Options) -> Result<String, Error> {
    encode(value, options, true)
}

/// Like [`encode_value`], but objects keep their member order: the JSON of a Go struct,
/// whose fields Go writes in declaration order (build the `serde_json::Value` in that order).
pub fn encode_value_in_order(value: &serde_json::Value, options: Options) -> Result<String, Error> {
    encode(value, options, false)
}

fn encode(value: &serde_json::Value, options: Options, sort: bool) -> Result<String, Error> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, options, usize::MAX);
    write_value(&mut enc, value, sort)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn write_value(enc: &mut Encoder<'_>, value: &serde_json::Value, sort: bool) -> Result<(), Error> {
    use serde_json::Value;
    match value {
        Value::Null => enc.null(),
        Value::Bool(b) => enc.bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            // Integers that fit a float64 exactly print the same either way.
            (Some(i), _) if i.unsigned_abs() < (1 << 53) => enc.int(i),
            (_, Some(u)) if u < (1 << 53) => enc.int(u as i64),
            _ => enc.float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => enc.string(s.as_bytes()),
        Value::Array(items) => {
            enc.begin_array()?;
            for item in items {
                enc.element()?;
                write_value(enc, item, sort)?;
            }
            enc.end_array()
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if sort {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            enc.begin_object()?;
            for (k, v) in entries {
                enc.key(k.as_bytes())?;
                write_value(enc, v, sort)?;
            }
            enc.end_object()
        }
    }
}

/// `json.Marshal` of a Go `map[string]string` (keys sorted, HTML escaped, compact).
pub fn encode_string_map<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<(&str, &str)> = entries.into_iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    sorted.dedup_by(|a, b| a.0 == b.0);
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, Options::default(), usize::MAX);
    // Writing to an unbounded buffer cannot fail.
    let _ = enc.begin_object();
    for (k, v) in sorted {
        let _ = enc.key(k.as_bytes());
        let _ = enc.string(v.as_bytes());
    }
    let _ = enc.end_object();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structs_keep_their_field_order_and_maps_are_sorted() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"kid":"x","kty":"RSA","e":"<"}"#).expect("JSON");
        let o = Options::default();
        assert_eq!(
            encode_value_in_order(&v, o).unwrap(),
            r#"{"kid":"x","kty":"RSA","e":"\u003c"}"#
        );
        assert_eq!(
            encode_value(&v, o).unwrap(),
            r#"{"e":"\u003c","kid":"x","kty":"RSA"}"#
        );
    }
}
