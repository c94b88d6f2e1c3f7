//! Turning SDK output into [`SecretValue`]s without leaving copies behind, and the tag JSON
//! `metadataPolicy: Fetch` returns.

use secretsync_model::SecretValue;
use zeroize::Zeroize;

/// Moves bytes into a [`SecretValue`]; if the buffer has spare capacity (so boxing it would
/// reallocate), the value is copied once and the original buffer zeroized.
pub(crate) fn secret_from_bytes(mut bytes: Vec<u8>) -> SecretValue {
    if bytes.capacity() == bytes.len() {
        return SecretValue::new(bytes);
    }
    let exact = bytes.as_slice().to_vec();
    bytes.zeroize();
    SecretValue::new(exact)
}

/// Moves a string into a [`SecretValue`] (see [`secret_from_bytes`]).
pub(crate) fn secret_from_string(s: String) -> SecretValue {
    secret_from_bytes(s.into_bytes())
}

/// Tags as the JSON object ESO returns for `metadataPolicy: Fetch` (Go's `json.Marshal` of a
/// `map[string]string`: keys sorted, Go's escaping).
pub(crate) fn tags_json<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> SecretValue {
    SecretValue::from(secretsync_gojson::encode_string_map(tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_sorted_and_go_escaped() {
        let v = tags_json([("b", "x<y"), ("a", "1&2")]);
        assert_eq!(v.expose_str(), Some(r#"{"a":"1\u00262","b":"x\u003cy"}"#));
        assert_eq!(tags_json([]).expose_str(), Some("{}"));
        // Go writes \b and \f short and other controls as \u00XX (serde_json differs).
        let v = tags_json([("k", "\u{8}\u{c}\u{1}")]);
        assert_eq!(v.expose_str(), Some(r#"{"k":"\b\f\u0001"}"#));
    }

    #[test]
    fn values_keep_their_bytes() {
        let mut s = String::with_capacity(64);
        s.push_str("canary");
        assert_eq!(secret_from_string(s).expose(), b"canary");
        assert_eq!(secret_from_bytes(vec![0, 1, 255]).expose(), &[0, 1, 255]);
    }
}
