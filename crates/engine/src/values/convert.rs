//! `conversionStrategy` and key validation: ESO's `ConvertKeys` and `ValidateKeys`.

use std::collections::BTreeMap;

use secretsync_model::external_secret::ConversionStrategy;
use secretsync_model::validate::is_valid_secret_key;

/// Converts one key: characters other than letters, digits, `-`, `.` and `_` become `_`
/// (`Default`) or `_UXXXX_` with the code point in lower-case hex (`Unicode`).
pub fn convert_key(strategy: ConversionStrategy, key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if c.is_alphabetic() || c.is_numeric() || matches!(c, '-' | '.' | '_') {
            out.push(c);
        } else {
            match strategy {
                ConversionStrategy::Default => out.push('_'),
                ConversionStrategy::Unicode => out.push_str(&format!("_U{:04x}_", c as u32)),
            }
        }
    }
    out
}

/// Converts every key of `map`; two keys converting to the same name are an error naming it.
pub fn convert_keys<V>(
    strategy: ConversionStrategy,
    map: BTreeMap<String, V>,
) -> Result<BTreeMap<String, V>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let converted = convert_key(strategy, &k);
        if out.contains_key(&converted) {
            return Err(format!(
                "secret name collision during conversion: {converted:?}"
            ));
        }
        out.insert(converted, v);
    }
    Ok(out)
}

/// ESO's `ValidateKeys`: empty keys are dropped (they did not exist upstream); every other key
/// must be a valid Secret key. Returns the first invalid key's description.
pub fn validate_keys<V>(map: &mut BTreeMap<String, V>) -> Result<(), String> {
    map.remove("");
    for key in map.keys() {
        if !is_valid_secret_key(key) {
            return Err(format!(
                "key {key:?} is not a valid Secret key (expected ^[-._a-zA-Z0-9]+$, at most 253 characters)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_eso() {
        assert_eq!(
            convert_key(ConversionStrategy::Default, "foo/bar baz"),
            "foo_bar_baz"
        );
        assert_eq!(
            convert_key(ConversionStrategy::Unicode, "foo/bar"),
            "foo_U002f_bar"
        );
        assert_eq!(convert_key(ConversionStrategy::Unicode, "a@b"), "a_U0040_b");
        assert_eq!(
            convert_key(ConversionStrategy::Default, "ok-key_1.x"),
            "ok-key_1.x"
        );
    }

    #[test]
    fn collisions_are_errors() {
        let map: BTreeMap<String, u8> = [("a/b".to_string(), 1), ("a_b".to_string(), 2)].into();
        assert!(convert_keys(ConversionStrategy::Default, map).is_err());
    }
}
