//! ESO's hashes against vectors printed by Go's own `fmt` and `crypto/sha3`
//! (`tests/data/eso_hashes/main.go`, a transcription of ESO's `ObjectHash`, `HashMeta`,
//! `GetResourceVersion`, data-hash and created-by): byte-identical results, so an operator taking
//! over from ESO sees ESO's `syncedResourceVersion` as current and re-reads nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use base64::Engine as _;
use secretsync_engine::refresh::{created_by, data_hash, resource_version};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vectors {
    go: String,
    resource_version: Vec<MetaCase>,
    data_hash: Vec<DataCase>,
    created_by: Vec<CreatedByCase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaCase {
    name: String,
    generation: i64,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    resource_version: String,
}

#[derive(Deserialize)]
struct DataCase {
    name: String,
    data: Option<BTreeMap<String, Option<String>>>,
    hash: String,
}

#[derive(Deserialize)]
struct CreatedByCase {
    namespace: String,
    name: String,
    hash: String,
}

fn vectors() -> Vectors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/eso_hashes/vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn synced_resource_version_matches_go() {
    let v = vectors();
    assert!(v.go.starts_with("go1."), "{}", v.go);
    assert!(v.resource_version.len() >= 14);
    for case in &v.resource_version {
        let labels = case.labels.clone().unwrap_or_default();
        let annotations = case.annotations.clone().unwrap_or_default();
        assert_eq!(
            resource_version(case.generation, &labels, &annotations),
            case.resource_version,
            "{}",
            case.name
        );
    }
}

#[test]
fn data_hash_matches_go() {
    for case in vectors().data_hash {
        let decoded: BTreeMap<String, Vec<u8>> = case
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let bytes = v
                    .map(|b| base64::engine::general_purpose::STANDARD.decode(b).unwrap())
                    .unwrap_or_default();
                (k, bytes)
            })
            .collect();
        let pairs = decoded.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
        assert_eq!(data_hash(pairs), case.hash, "{}", case.name);
    }
}

#[test]
fn created_by_matches_go() {
    for case in vectors().created_by {
        assert_eq!(
            created_by(&case.namespace, &case.name),
            case.hash,
            "{}/{}",
            case.namespace,
            case.name
        );
    }
}
