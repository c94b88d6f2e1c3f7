//! ESO's hashes, byte-compatible with Go: every one is `sha3-224` of Go's `fmt.Sprintf("%+v", x)`
//! (`esutils.ObjectHash`). Proven against vectors printed by Go itself
//! (`tests/data/eso_hashes/`, checked by `tests/integration/eso_hashes.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use secretsync_model::external_secret::ExternalSecret;
use sha3::{Digest, Sha3_224};
use zeroize::Zeroize;

/// ESO's `GetResourceVersion`: `<generation>-<HashMeta>`, the value of
/// `status.syncedResourceVersion`. `HashMeta` hashes Go's `%+v` of
/// `struct{annotations, labels map[string]string}`: `{annotations:map[k:v …] labels:map[…]}`,
/// keys in byte order, keys and values printed raw (no quoting or escaping); a nil map and an
/// empty one print alike.
pub fn resource_version(
    generation: i64,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> String {
    let mut text = String::from("{annotations:");
    go_string_map(&mut text, annotations);
    text.push_str(" labels:");
    go_string_map(&mut text, labels);
    text.push('}');
    format!("{generation}-{}", sha3_224_hex(text.as_bytes()))
}

/// [`resource_version`] of an ExternalSecret as it is now (`metadata.generation`, labels,
/// annotations; a missing generation counts as 0, as Go's zero value).
pub fn current_resource_version(es: &ExternalSecret) -> String {
    let empty = BTreeMap::new();
    resource_version(
        es.metadata.generation.unwrap_or(0),
        es.metadata.labels.as_ref().unwrap_or(&empty),
        es.metadata.annotations.as_ref().unwrap_or(&empty),
    )
}

/// ESO's `reconcile.external-secrets.io/data-hash`: Go's `%+v` of `map[string][]byte` is
/// `map[k:[1 2 3] k2:[]]` (keys sorted, bytes in decimal). The text holds the values, so it is
/// zeroized before it is freed.
pub fn data_hash<'a>(data: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let sorted: BTreeMap<&str, &[u8]> = data.into_iter().collect();
    let mut text = String::from("map[");
    for (i, (k, v)) in sorted.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(k);
        text.push_str(":[");
        for (j, b) in v.iter().enumerate() {
            if j > 0 {
                text.push(' ');
            }
            let _ = write!(text, "{b}");
        }
        text.push(']');
    }
    text.push(']');
    let hash = sha3_224_hex(text.as_bytes());
    text.zeroize();
    hash
}

/// ESO's `reconcile.external-secrets.io/created-by` label of an Owner target:
/// `ObjectHash(fmt.Sprintf("%v/%v", namespace, name))`.
pub fn created_by(namespace: &str, name: &str) -> String {
    sha3_224_hex(format!("{namespace}/{name}").as_bytes())
}

fn go_string_map(out: &mut String, m: &BTreeMap<String, String>) {
    out.push_str("map[");
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(k);
        out.push(':');
        out.push_str(v);
    }
    out.push(']');
}

fn sha3_224_hex(bytes: &[u8]) -> String {
    let digest = Sha3_224::digest(bytes);
    let mut out = String::with_capacity(56);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_hash_matches_eso_object_hash() {
        // ESO runtime/esutils/utils_test.go TestObjectHash "map also works".
        let data = [("foo", b"value1".as_slice()), ("bar", b"value2".as_slice())];
        assert_eq!(
            data_hash(data),
            "1bed8bcbcb4547ffe19a19cd47d9078e84aa6598266d86b99f992d64"
        );
    }

    #[test]
    fn resource_version_depends_on_generation_labels_and_annotations() {
        let empty = BTreeMap::new();
        let one = BTreeMap::from([("a".to_string(), "b".to_string())]);
        let base = resource_version(3, &empty, &empty);
        assert!(base.starts_with("3-") && base.len() == 2 + 56);
        assert_ne!(base, resource_version(4, &empty, &empty));
        assert_ne!(base, resource_version(3, &one, &empty));
        assert_ne!(
            resource_version(3, &one, &empty),
            resource_version(3, &empty, &one)
        );
    }
}
