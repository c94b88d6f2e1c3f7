//! Table tests of the decisions taken from metadata.

use serde_json::json;

use super::*;
use crate::drift::HMAC_ANNOTATION;
use crate::test_util::{UID, desired, external_secret};
use crate::writer::plan::{WritePlan, plan_write};
use CreationPolicy::{CreateOrMerge, Merge, Orphan, Owner};

fn controller(api_version: &str, kind: &str, uid: &str) -> Option<ControllerRef> {
    Some(ControllerRef {
        api_version: api_version.into(),
        kind: kind.into(),
        name: "x".into(),
        uid: uid.into(),
    })
}

#[test]
fn ownership_conflict_table() {
    let ours = controller("external-secrets.io/v1", "ExternalSecret", UID);
    let other_es = controller("external-secrets.io/v1", "ExternalSecret", "other");
    let cert = controller("cert-manager.io/v1", "Certificate", "c");
    let by_other_es = Some(Conflict::ControlledByOther {
        kind: "ExternalSecret".into(),
        name: "x".into(),
    });
    let by_cert = Some(Conflict::ControlledByOther {
        kind: "Certificate".into(),
        name: "x".into(),
    });
    // (policy, controller, expected)
    let cases = [
        (Owner, ours.clone(), None),
        (Owner, None, Some(Conflict::NotOwned)),
        (Owner, other_es.clone(), by_other_es.clone()),
        (Owner, cert.clone(), by_cert),
        (Orphan, None, None),
        (Orphan, ours.clone(), None),
        (Orphan, other_es.clone(), by_other_es.clone()),
        (Orphan, cert.clone(), None),
        (Merge, cert.clone(), None),
        (Merge, other_es.clone(), by_other_es.clone()),
        (CreateOrMerge, other_es, by_other_es),
        (CreateOrMerge, cert, None),
    ];
    for (policy, c, expected) in cases {
        let es = external_secret(policy);
        assert_eq!(
            ownership_conflict(&es, policy, c.as_ref()),
            expected,
            "{policy:?} {c:?}"
        );
    }
}

#[test]
fn desired_fingerprint_is_what_the_write_carries() {
    let key = DriftKey::from_bytes(vec![7; 32]);
    for policy in [Owner, Orphan, Merge, CreateOrMerge] {
        let es = external_secret(policy);
        let d = desired(policy, &[("k", "v")]);
        let live = matches!(policy, Merge).then(|| {
            crate::test_util::secret(json!({"metadata": {"labels": {}}, "data": {"other": "eA=="}}))
        });
        let WritePlan::Write { body, .. } = plan_write(&es, &d, live.as_ref(), &key, true) else {
            panic!("{policy:?}: a write");
        };
        assert_eq!(
            body["metadata"]["annotations"][HMAC_ANNOTATION],
            json!(desired_fingerprint(&es, &d, &key, true)),
            "{policy:?}"
        );
        let changed = desired(policy, &[("k", "w")]);
        assert_ne!(
            desired_fingerprint(&es, &d, &key, true),
            desired_fingerprint(&es, &changed, &key, true),
            "a changed value changes the fingerprint"
        );
    }
}

const ME: &str = "externalsecrets.external-secrets.io/app";

fn entry(manager: &str, operation: &str, fields: serde_json::Value) -> ManagedFieldsEntry {
    ManagedFieldsEntry {
        manager: Some(manager.into()),
        operation: Some(operation.into()),
        api_version: Some("v1".into()),
        fields_type: Some("FieldsV1".into()),
        fields_v1: Some(FieldsV1(fields)),
        ..Default::default()
    }
}

#[test]
fn ownership_upgrade_moves_update_fields_to_the_apply_entry() {
    let created = entry(
        ME,
        "Update",
        json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}, "f:type": {}}),
    );
    let applied = entry(ME, "Apply", json!({"f:data": {"f:a": {}, "f:c": {}}}));
    let other = entry("kubectl", "Update", json!({"f:data": {"f:z": {}}}));
    let mut status = entry(ME, "Update", json!({"f:status": {}}));
    status.subresource = Some("status".into());

    assert_eq!(ownership_upgrade(&[], ME), None, "nothing owned");
    assert_eq!(
        ownership_upgrade(&[applied.clone(), other.clone()], ME),
        None,
        "already owned by apply only"
    );

    let upgraded =
        ownership_upgrade(&[created.clone(), other.clone(), status.clone()], ME).expect("moved");
    assert_eq!(upgraded.len(), 3);
    assert!(upgraded.contains(&other), "other managers untouched");
    assert!(upgraded.contains(&status), "subresource entries untouched");
    let apply = upgraded
        .iter()
        .find(|e| e.operation.as_deref() == Some("Apply"))
        .expect("an Apply entry");
    assert_eq!(apply.manager.as_deref(), Some(ME));
    assert_eq!(apply.fields_v1, created.fields_v1);

    let merged = ownership_upgrade(&[created, applied, other], ME).expect("merged");
    assert_eq!(merged.len(), 2, "one entry per manager and operation");
    let apply = merged
        .iter()
        .find(|e| e.manager.as_deref() == Some(ME))
        .expect("ours");
    assert_eq!(apply.operation.as_deref(), Some("Apply"));
    assert_eq!(
        apply.fields_v1.as_ref().map(|f| f.0.clone()),
        Some(json!({"f:data": {".": {}, "f:a": {}, "f:b": {}, "f:c": {}}, "f:type": {}})),
        "the union of both"
    );
}

#[test]
fn an_upgrade_is_needed_only_when_the_apply_would_leave_update_owned_fields() {
    let created = entry(
        ME,
        "Update",
        json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}, "f:metadata": {"f:ownerReferences": {"k:{\"uid\":\"u\"}": {}}}, "f:type": {}}),
    );
    let other = entry("someone", "Update", json!({"f:data": {"f:zzz": {}}}));
    let full = json!({"data": {"a": "x", "b": "y", "c": "z"}, "metadata": {"ownerReferences": [{"uid": "u"}]}, "type": "Opaque"});
    let dropped_b = json!({"data": {"a": "x"}, "metadata": {"ownerReferences": [{"uid": "u"}]}, "type": "Opaque"});
    let no_type =
        json!({"data": {"a": "x", "b": "y"}, "metadata": {"ownerReferences": [{"uid": "u"}]}});
    let cases = [
        (vec![created.clone()], &full, false),
        (vec![created.clone()], &dropped_b, true),
        (vec![created.clone()], &no_type, true),
        (vec![other.clone()], &dropped_b, false),
        (vec![], &dropped_b, false),
        (vec![other, created], &full, false),
    ];
    for (entries, body, expected) in cases {
        assert_eq!(upgrade_needed(&entries, ME, body), expected, "{body}");
    }
}
