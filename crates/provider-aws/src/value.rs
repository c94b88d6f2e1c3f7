//! Turning SDK output into [`SecretValue`]s without leaving copies behind, and the tag JSON
//! `metadataPolicy: Fetch` returns.

use std::collections::BTreeMap;

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

/// Tags as the JSON object ESO returns for `metadataPolicy: Fetch`: keys sorted, and `<`, `>`,
/// `&`, U+2028 and U+2029 escaped like Go's `encoding/json`.
pub(crate) fn tags_json<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> SecretValue {
    let map: BTreeMap<&str, &str> = tags.into_iter().collect();
    let json = serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_string());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    SecretValue::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_sorted_and_go_escaped() {
        let v = tags_json([("b", "x<y"), ("a", "1&2")]);
        assert_eq!(v.expose_str(), Some(r#"{"a":"1\u00262","b":"x\u003cy"}"#));
        assert_eq!(tags_json([]).expose_str(), Some("{}"));
    }

    #[test]
    fn values_keep_their_bytes() {
        let mut s = String::with_capacity(64);
        s.push_str("canary");
        assert_eq!(secret_from_string(s).expose(), b"canary");
        assert_eq!(secret_from_bytes(vec![0, 1, 255]).expose(), &[0, 1, 255]);
    }
}
