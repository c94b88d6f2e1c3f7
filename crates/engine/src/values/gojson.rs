//! Go's `encoding/json` output for values decoded into `map[string]any`: sorted keys,
//! numbers as float64, Go's string escaping (optionally without HTML escaping).

use serde_json::Value;

use super::json::format_float_f;

/// Encodes `value` as Go's `json.Marshal` would after `json.Unmarshal` into `any`.
/// `escape_html` chooses between `json.Marshal` (true) and an encoder with
/// `SetEscapeHTML(false)` (false).
pub(crate) fn encode(value: &Value, escape_html: bool) -> String {
    let mut out = String::new();
    write_value(value, escape_html, &mut out);
    out
}

fn write_value(value: &Value, escape_html: bool, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&format_go_json_float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => write_string(s, escape_html, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, escape_html, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, escape_html, out);
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_value(v, escape_html, out);
                }
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, escape_html: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's float64 JSON encoding: `'f'` format, or `'e'` below 1e-6 / from 1e21 on.
pub(crate) fn format_go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust: "1.5e-7" / "1e21"; Go: "1.5e-07" cleaned to "1.5e-7", "1e+21".
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = match exp.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', exp),
                };
                let digits = if sign == '+' && digits.len() < 2 {
                    format!("0{digits}")
                } else {
                    digits.to_string()
                };
                format!("{mantissa}e{sign}{digits}")
            }
            None => s,
        }
    } else {
        format_float_f(f)
    }
}

/// Go's `GetByteValue` for a value decoded into `any` (no `UseNumber`).
pub(crate) fn byte_value(value: &Value) -> Vec<u8> {
    match value {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Null => Vec::new(),
        Value::Bool(b) => b.to_string().into_bytes(),
        Value::Number(n) => format_float_f(n.as_f64().unwrap_or(0.0)).into_bytes(),
        Value::Object(_) | Value::Array(_) => encode(value, true).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_go() {
        let v: Value =
            serde_json::from_str(r#"{"b": 1, "a": "<x>", "c": [1.5, 1e21, 0.0000001]}"#).unwrap();
        assert_eq!(
            encode(&v, true),
            r#"{"a":"\u003cx\u003e","b":1,"c":[1.5,1e+21,1e-7]}"#
        );
        assert_eq!(
            encode(&v, false),
            r#"{"a":"<x>","b":1,"c":[1.5,1e+21,1e-7]}"#
        );
    }
}
