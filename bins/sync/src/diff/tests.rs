use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, ObjectMeta};
use secretsync_model::SecretValue;

use super::*;

fn desired(policy: CreationPolicy, data: &[(&str, &str)]) -> DesiredSecret {
    DesiredSecret {
        name: "app".into(),
        namespace: "ns".into(),
        type_: "Opaque".into(),
        data: data
            .iter()
            .map(|(k, v)| ((*k).to_string(), SecretValue::from(*v)))
            .collect(),
        labels: BTreeMap::from([("team".to_string(), "a".to_string())]),
        annotations: BTreeMap::new(),
        finalizers: Vec::new(),
        immutable: false,
        creation_policy: policy,
        deletion_policy: Default::default(),
        templated: false,
    }
}

fn live(data: &[(&str, &str)], owned_by_us: &[&str], type_: &str) -> Secret {
    let fields: serde_json::Map<String, serde_json::Value> = owned_by_us
        .iter()
        .map(|k| (format!("f:{k}"), serde_json::json!({})))
        .collect();
    Secret {
        metadata: ObjectMeta {
            name: Some("app".into()),
            namespace: Some("ns".into()),
            labels: Some(BTreeMap::from([("team".to_string(), "a".to_string())])),
            managed_fields: Some(vec![ManagedFieldsEntry {
                manager: Some(field_manager("es")),
                operation: Some("Apply".into()),
                fields_v1: Some(FieldsV1(serde_json::json!({ "f:data": fields }))),
                ..Default::default()
            }]),
            ..Default::default()
        },
        type_: Some(type_.into()),
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// (desired, live, change, key changes as (sign, key))
type Case = (
    DesiredSecret,
    Option<Secret>,
    Change,
    Vec<(&'static str, &'static str)>,
);

#[test]
fn writes_are_compared_key_by_key() {
    let h = ValueHasher::new();
    let owner = CreationPolicy::Owner;
    let same = live(&[("a", "1"), ("b", "2")], &["a", "b"], "Opaque");
    // (desired, live, change, key changes as (sign, key))
    let cases: Vec<Case> = vec![
        (
            desired(owner, &[("a", "1")]),
            None,
            Change::Create,
            vec![("+", "a")],
        ),
        (
            desired(CreationPolicy::Merge, &[("a", "1")]),
            None,
            Change::Skip("missing, and creationPolicy Merge never creates it".into()),
            vec![],
        ),
        (
            desired(owner, &[("a", "1"), ("b", "2")]),
            Some(same.clone()),
            Change::Unchanged,
            vec![],
        ),
        (
            desired(owner, &[("a", "9"), ("c", "3")]),
            Some(live(
                &[("a", "1"), ("b", "2"), ("x", "other")],
                &["a", "b"],
                "Opaque",
            )),
            Change::Update,
            vec![("~", "a"), ("+", "c"), ("-", "b")],
        ),
        (
            desired(CreationPolicy::None, &[("a", "1")]),
            None,
            Change::Skip("creationPolicy None writes nothing".into()),
            vec![],
        ),
    ];
    for (d, l, change, keys) in cases {
        let diff = diff_write(&d, l.as_ref(), "es", &h);
        assert_eq!(diff.change, change, "{diff:?}");
        let got: Vec<(&str, &str)> = diff
            .keys
            .iter()
            .map(|k| match k {
                KeyChange::Added { key, .. } => ("+", key.as_str()),
                KeyChange::Changed { key, .. } => ("~", key.as_str()),
                KeyChange::Removed { key, .. } => ("-", key.as_str()),
            })
            .collect();
        assert_eq!(got, keys, "{diff:?}");
    }
}

#[test]
fn type_and_metadata_changes_are_named() {
    let h = ValueHasher::new();
    let mut d = desired(CreationPolicy::Owner, &[("a", "1")]);
    d.type_ = "kubernetes.io/basic-auth".into();
    d.labels.insert("tier".into(), "gold".into());
    let diff = diff_write(&d, Some(&live(&[("a", "1")], &["a"], "Opaque")), "es", &h);
    assert_eq!(diff.change, Change::Update);
    assert_eq!(
        diff.notes,
        [
            "type Opaque -> kubernetes.io/basic-auth (the Secret is recreated)",
            "label tier set"
        ]
    );
    // In merge mode the type is not ours.
    d.creation_policy = CreationPolicy::Merge;
    d.labels.remove("tier");
    let diff = diff_write(&d, Some(&live(&[("a", "1")], &["a"], "Opaque")), "es", &h);
    assert_eq!(diff.change, Change::Unchanged, "{diff:?}");
}

#[test]
fn hashes_are_short_keyed_and_never_the_value() {
    let canary = "canary-diff-0a1b2c";
    let h = ValueHasher::new();
    let other = ValueHasher::new();
    let a = h.hash(canary.as_bytes());
    assert!(a.starts_with("hmac:") && a.len() == 17, "{a}");
    assert_eq!(a, h.hash(canary.as_bytes()));
    assert_ne!(a, other.hash(canary.as_bytes()), "keyed per run");
    let d = desired(CreationPolicy::Owner, &[("a", canary)]);
    let diff = diff_write(&d, Some(&live(&[("a", "old")], &["a"], "Opaque")), "es", &h);
    let text = diff.lines().join("\n");
    assert!(!text.contains(canary) && !text.contains("old"), "{text}");
    assert!(text.contains("~ a  hmac:"), "{text}");
}
