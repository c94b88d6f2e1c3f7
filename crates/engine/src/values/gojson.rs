//! ESO's `GetByteValue` and JSON re-encoding of values decoded into `map[string]any`, through
//! the workspace's one Go `encoding/json` encoder (`secretsync-gojson`).

use secretsync_gojson::Options;
use serde_json::Value;

use super::json::format_float_f;

/// Encodes `value` as Go's `json.Marshal` would after `json.Unmarshal` into `any`.
/// `escape_html` chooses between `json.Marshal` (true) and an encoder with
/// `SetEscapeHTML(false)` (false).
pub(crate) fn encode(value: &Value, escape_html: bool) -> String {
    let options = Options {
        escape_html,
        pretty: false,
    };
    // JSON read by serde_json holds no NaN or infinity, the only values Go refuses.
    secretsync_gojson::encode_value(value, options).unwrap_or_default()
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
