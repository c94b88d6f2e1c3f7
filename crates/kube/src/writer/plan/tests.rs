//! Table tests of the write plan: every branch of [`plan_write`], [`may_delete`] and
//! [`target_intact`].

use serde_json::json;

use super::*;
use crate::test_util::{UID, desired, external_secret, secret};
use CreationPolicy::{CreateOrMerge, Merge, None as NoPolicy, Orphan, Owner};

fn key() -> DriftKey {
    DriftKey::from_bytes(vec![7; 32])
}

fn owner_ref(kind: &str, name: &str, uid: &str, controller: bool) -> serde_json::Value {
    json!({"apiVersion": if kind == "ExternalSecret" { "external-secrets.io/v1" } else { "cert-manager.io/v1" },
           "kind": kind, "name": name, "uid": uid, "controller": controller})
}

fn ours() -> serde_json::Value {
    owner_ref("ExternalSecret", "app", UID, true)
}

/// The Secret exactly as `plan_write` would write it for `policy` and `data`.
fn as_written(policy: CreationPolicy, data: &[(&str, &str)]) -> Secret {
    let es = external_secret(policy);
    let d = desired(policy, data);
    let WritePlan::Write { body, .. } = plan_write(&es, &d, None, &key(), true) else {
        panic!("a create plan");
    };
    serde_json::from_value(body).expect("a Secret")
}

#[test]
fn plan_write_table() {
    let v = &[("k", "v")];
    // (name, creation policy, live Secret, expected plan)
    let cases: Vec<(&str, CreationPolicy, Option<Secret>, WritePlan)> = vec![
        (
            "None writes nothing",
            NoPolicy,
            Some(secret(json!({"data": {}}))),
            WritePlan::Skip,
        ),
        ("None, absent", NoPolicy, None, WritePlan::Skip),
        ("Merge, absent: missing", Merge, None, WritePlan::Missing),
        (
            "Owner, absent: create",
            Owner,
            None,
            write(WriteAction::Create),
        ),
        (
            "Orphan, absent: create",
            Orphan,
            None,
            write(WriteAction::Create),
        ),
        (
            "CreateOrMerge, absent: create",
            CreateOrMerge,
            None,
            write(WriteAction::Create),
        ),
        (
            "Owner, as written: unchanged",
            Owner,
            Some(as_written(Owner, v)),
            WritePlan::Unchanged,
        ),
        (
            "Orphan, as written: unchanged",
            Orphan,
            Some(as_written(Orphan, v)),
            WritePlan::Unchanged,
        ),
        (
            "CreateOrMerge, as created: unchanged",
            CreateOrMerge,
            Some(as_written(CreateOrMerge, v)),
            WritePlan::Unchanged,
        ),
        (
            "Owner, data edited: apply",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.data
                    .get_or_insert_default()
                    .insert("k".into(), k8s_openapi::ByteString(b"x".to_vec()));
            })),
            write(WriteAction::Apply),
        ),
        (
            "Owner, owned label edited: apply",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.metadata
                    .labels
                    .get_or_insert_default()
                    .insert(labels::MANAGED.into(), "false".into());
            })),
            write(WriteAction::Apply),
        ),
        (
            "Owner, a co-owner's extra key: unchanged",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.data
                    .get_or_insert_default()
                    .insert("theirs".into(), k8s_openapi::ByteString(b"x".to_vec()));
            })),
            WritePlan::Unchanged,
        ),
        (
            "Owner, type changed on our Secret: recreate",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.type_ = Some("kubernetes.io/tls".into());
            })),
            write(WriteAction::Recreate),
        ),
        (
            "Orphan, type differs on a Secret an ExternalSecret wrote: recreate",
            Orphan,
            Some(edited(as_written(Orphan, v), |s| {
                s.type_ = Some("kubernetes.io/tls".into());
            })),
            write(WriteAction::Recreate),
        ),
        (
            "Orphan, type differs on a foreign Secret: conflict",
            Orphan,
            Some(secret(
                json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}),
            )),
            WritePlan::Conflict(Conflict::TypeChange {
                live: "kubernetes.io/tls".into(),
                desired: "Opaque".into(),
            }),
        ),
        (
            "Orphan, unowned Secret of the same type: apply",
            Orphan,
            Some(secret(json!({"type": "Opaque", "data": {"k": "eA=="}}))),
            write(WriteAction::Apply),
        ),
        (
            "Owner, existing unowned Secret: conflict, never adopted",
            Owner,
            Some(secret(
                json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}),
            )),
            WritePlan::Conflict(Conflict::NotOwned),
        ),
        (
            "Owner, same type, unowned: conflict",
            Owner,
            Some(secret(json!({"type": "Opaque"}))),
            WritePlan::Conflict(Conflict::NotOwned),
        ),
        (
            "Owner, our ownerReference without controller: conflict",
            Owner,
            Some(secret(
                json!({"metadata": {"ownerReferences": [owner_ref("ExternalSecret", "app", UID, false)]}}),
            )),
            WritePlan::Conflict(Conflict::NotOwned),
        ),
        (
            "Owner, a stale ownerReference (recreated ExternalSecret): conflict",
            Owner,
            Some(secret(
                json!({"metadata": {"ownerReferences": [owner_ref("ExternalSecret", "app", "old-uid", true)]}}),
            )),
            WritePlan::Conflict(Conflict::ControlledByOther {
                kind: "ExternalSecret".into(),
                name: "app".into(),
            }),
        ),
        (
            "Owner, controlled by cert-manager: conflict",
            Owner,
            Some(secret(
                json!({"metadata": {"ownerReferences": [owner_ref("Certificate", "web", "c1", true)]}}),
            )),
            WritePlan::Conflict(Conflict::ControlledByOther {
                kind: "Certificate".into(),
                name: "web".into(),
            }),
        ),
        (
            "Orphan, controlled by another ExternalSecret: conflict (ESO ErrSecretIsOwned)",
            Orphan,
            Some(secret(
                json!({"metadata": {"ownerReferences": [owner_ref("ExternalSecret", "other", "u2", true)]}}),
            )),
            WritePlan::Conflict(Conflict::ControlledByOther {
                kind: "ExternalSecret".into(),
                name: "other".into(),
            }),
        ),
        (
            "Merge, controlled by another ExternalSecret: conflict",
            Merge,
            Some(secret(
                json!({"metadata": {"ownerReferences": [owner_ref("ExternalSecret", "other", "u2", true)]}}),
            )),
            WritePlan::Conflict(Conflict::ControlledByOther {
                kind: "ExternalSecret".into(),
                name: "other".into(),
            }),
        ),
        (
            "Orphan, controlled by a non-ExternalSecret: apply",
            Orphan,
            Some(secret(
                json!({"metadata": {"ownerReferences": [owner_ref("Certificate", "web", "c1", true)]}}),
            )),
            write(WriteAction::Apply),
        ),
        (
            "Merge, existing foreign Secret: apply (merge, type untouched)",
            Merge,
            Some(secret(
                json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}),
            )),
            write(WriteAction::Apply),
        ),
        (
            "CreateOrMerge, existing: merge, type untouched",
            CreateOrMerge,
            Some(secret(json!({"type": "kubernetes.io/tls"}))),
            write(WriteAction::Apply),
        ),
        (
            "Merge, as merged before: unchanged",
            Merge,
            Some(merged(Merge, v)),
            WritePlan::Unchanged,
        ),
        (
            "immutable, data would change: conflict",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.immutable = Some(true);
                s.data
                    .get_or_insert_default()
                    .insert("k".into(), k8s_openapi::ByteString(b"x".to_vec()));
            })),
            WritePlan::Conflict(Conflict::Immutable),
        ),
        (
            "immutable, only a label drifted: apply",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.immutable = Some(true);
                s.metadata
                    .labels
                    .get_or_insert_default()
                    .insert(labels::MANAGED.into(), "no".into());
            })),
            write(WriteAction::Apply),
        ),
    ];
    for (name, policy, live, expected) in cases {
        let es = external_secret(policy);
        let plan = plan_write(&es, &desired(policy, v), live.as_ref(), &key(), true);
        match (&plan, &expected) {
            (WritePlan::Write { action, .. }, WritePlan::Write { action: e, .. }) => {
                assert_eq!(action, e, "{name}")
            }
            _ => assert_eq!(plan, expected, "{name}"),
        }
    }
}

fn write(action: WriteAction) -> WritePlan {
    WritePlan::Write {
        action,
        body: serde_json::Value::Null,
    }
}

fn edited(mut s: Secret, f: impl FnOnce(&mut Secret)) -> Secret {
    f(&mut s);
    s
}

/// A foreign Secret after a Merge write (the double's SSA would merge; here: the body's fields
/// laid over it).
fn merged(policy: CreationPolicy, data: &[(&str, &str)]) -> Secret {
    let es = external_secret(policy);
    let live = secret(json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}));
    let WritePlan::Write { body, .. } =
        plan_write(&es, &desired(policy, data), Some(&live), &key(), true)
    else {
        panic!("a merge plan");
    };
    let applied: Secret = serde_json::from_value(body).expect("a Secret");
    let mut out = live;
    out.data
        .get_or_insert_default()
        .extend(applied.data.unwrap_or_default());
    out.metadata.labels = applied.metadata.labels;
    out.metadata.annotations = applied.metadata.annotations;
    out
}

#[test]
fn owner_body_sets_controller_reference_created_by_and_hashes() {
    let s = as_written(Owner, &[("k", "v")]);
    let refs = s.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(refs.len(), 1);
    assert_eq!(
        (refs[0].uid.as_str(), refs[0].controller),
        (UID, Some(true))
    );
    let labels = s.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get(labels::MANAGED).map(String::as_str),
        Some("true")
    );
    assert_eq!(
        labels.get(labels::CREATED_BY),
        Some(&refresh::created_by("ns", "app"))
    );
    let annotations = s.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations.get(labels::DATA_HASH),
        Some(&refresh::data_hash([("k", b"v".as_slice())]))
    );
    assert!(annotations.contains_key(HMAC_ANNOTATION));
    assert_eq!(s.type_.as_deref(), Some("Opaque"));

    let orphan = as_written(Orphan, &[("k", "v")]);
    assert!(orphan.metadata.owner_references.is_none());
    assert!(
        !orphan
            .metadata
            .labels
            .unwrap_or_default()
            .contains_key(labels::CREATED_BY)
    );
    let es = external_secret(Owner);
    let WritePlan::Write { body, .. } =
        plan_write(&es, &desired(Owner, &[("k", "v")]), None, &key(), false)
    else {
        panic!("create");
    };
    assert!(
        body["metadata"]["annotations"]
            .get(labels::DATA_HASH)
            .is_none(),
        "eso_data_hash off"
    );
    let merge = merged(Merge, &[("k", "v")]);
    assert!(merge.metadata.owner_references.is_none());
}

#[test]
fn a_plan_never_prints_values() {
    let es = external_secret(Owner);
    let plan = plan_write(
        &es,
        &desired(Owner, &[("k", "CANARY-value")]),
        None,
        &key(),
        true,
    );
    let printed = format!("{plan:?}");
    assert!(
        !printed.contains("CANARY") && !printed.contains("Q0FOQVJZ"),
        "{printed}"
    );
    assert_eq!(plan.action(), Some(WriteAction::Create));
    assert_eq!(WritePlan::Skip.action(), None);
}

#[test]
fn may_delete_only_what_this_external_secret_controls() {
    let es = external_secret(Owner);
    let cases = [
        ("absent", None, false),
        (
            "ours",
            Some(secret(json!({"metadata": {"ownerReferences": [ours()]}}))),
            true,
        ),
        ("unowned", Some(secret(json!({}))), false),
        (
            "another ExternalSecret",
            Some(secret(
                json!({"metadata": {"ownerReferences": [owner_ref("ExternalSecret", "app", "u2", true)]}}),
            )),
            false,
        ),
        (
            "ours, not controller",
            Some(secret(
                json!({"metadata": {"ownerReferences": [owner_ref("ExternalSecret", "app", UID, false)]}}),
            )),
            false,
        ),
    ];
    for (name, live, expected) in cases {
        assert_eq!(may_delete(&es, live.as_ref()), expected, "{name}");
    }
}

/// A Secret as ESO writes it: ESO's ownerReference, managed label, data-hash; no HMAC.
fn eso_written(data: &[(&str, &[u8])]) -> Secret {
    let encoded: serde_json::Map<String, serde_json::Value> = data
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                json!(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    secret(json!({
        "metadata": {
            "labels": {labels::MANAGED: "true", labels::CREATED_BY: refresh::created_by("ns", "app")},
            "annotations": {labels::DATA_HASH: refresh::data_hash(data.iter().map(|(k, v)| (*k, *v)))},
            "ownerReferences": [ours()]
        },
        "type": "Opaque",
        "data": encoded
    }))
}

#[test]
fn target_intact_table() {
    let v = &[("k", "v")];
    let eso = eso_written(&[("k", b"v")]);
    let cases: Vec<(&str, CreationPolicy, Option<Secret>, bool)> = vec![
        ("ours, as written", Owner, Some(as_written(Owner, v)), true),
        (
            "orphan, as written",
            Orphan,
            Some(as_written(Orphan, v)),
            true,
        ),
        ("absent", Owner, None, false),
        (
            "merge is never judged",
            Merge,
            Some(merged(Merge, v)),
            false,
        ),
        (
            "create-or-merge is never judged",
            CreateOrMerge,
            Some(as_written(CreateOrMerge, v)),
            false,
        ),
        (
            "data edited",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.data
                    .get_or_insert_default()
                    .insert("k".into(), k8s_openapi::ByteString(b"x".to_vec()));
            })),
            false,
        ),
        (
            "a key added",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.data
                    .get_or_insert_default()
                    .insert("extra".into(), k8s_openapi::ByteString(b"x".to_vec()));
            })),
            false,
        ),
        (
            "a label added",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.metadata
                    .labels
                    .get_or_insert_default()
                    .insert("x".into(), "y".into());
            })),
            false,
        ),
        (
            "type changed",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.type_ = Some("kubernetes.io/tls".into())
            })),
            false,
        ),
        (
            "not controlled by us",
            Owner,
            Some(edited(as_written(Owner, v), |s| {
                s.metadata.owner_references = None
            })),
            false,
        ),
        (
            "ESO wrote it (no HMAC): ESO's isSecretValid",
            Owner,
            Some(eso.clone()),
            true,
        ),
        (
            "ESO wrote it, data edited",
            Owner,
            Some(edited(eso.clone(), |s| {
                s.data
                    .get_or_insert_default()
                    .insert("k".into(), k8s_openapi::ByteString(b"x".to_vec()));
            })),
            false,
        ),
        (
            "ESO wrote it, managed label gone",
            Owner,
            Some(edited(eso.clone(), |s| {
                s.metadata
                    .labels
                    .get_or_insert_default()
                    .remove(labels::MANAGED);
            })),
            false,
        ),
        (
            "ESO wrote it, data-hash gone",
            Owner,
            Some(edited(eso.clone(), |s| s.metadata.annotations = None)),
            false,
        ),
        (
            "a wrong HMAC wins over a matching data-hash",
            Owner,
            Some(edited(eso, |s| {
                s.metadata
                    .annotations
                    .get_or_insert_default()
                    .insert(HMAC_ANNOTATION.into(), "v1:forged".into());
            })),
            false,
        ),
    ];
    for (name, policy, live, expected) in cases {
        let es = external_secret(policy);
        assert_eq!(
            target_intact(&es, live.as_ref(), &key()),
            expected,
            "{name}"
        );
    }
}
