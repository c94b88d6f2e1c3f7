//! The cut-over's proof, as a pure function: the Secret rendered through `vault` against the
//! live target Secret, byte for byte. It names the first differing key or field, never a value.

use k8s_openapi::api::core::v1::Secret;
use secretsync_engine::DesiredSecret;
use secretsync_kube::writer::plan::merge_mode;

/// The first difference between what `desired` would write and `live`, or None when the writer
/// would find the Secret as desired: the type (unless merging into someone else's Secret),
/// every data key (and, unless merging, no key only in the live Secret), `immutable`, and
/// every label and annotation the template renders. Labels and annotations the writer or
/// others add are not compared.
pub fn first_difference(desired: &DesiredSecret, live: &Secret) -> Option<String> {
    let merging = merge_mode(desired.creation_policy);
    if !merging && live.type_.as_deref().unwrap_or("Opaque") != desired.type_ {
        return Some("type".into());
    }
    let empty = Default::default();
    let data = live.data.as_ref().unwrap_or(&empty);
    for (key, value) in &desired.data {
        if data.get(key).map(|b| b.0.as_slice()) != Some(value.expose()) {
            return Some(format!("data key {key:?}"));
        }
    }
    if !merging && let Some(key) = data.keys().find(|k| !desired.data.contains_key(*k)) {
        return Some(format!("data key {key:?} (only in the live Secret)"));
    }
    if desired.immutable && live.immutable != Some(true) {
        return Some("immutable".into());
    }
    let meta = &live.metadata;
    for (kind, wanted, got) in [
        ("label", &desired.labels, &meta.labels),
        ("annotation", &desired.annotations, &meta.annotations),
    ] {
        if let Some(key) = wanted
            .iter()
            .find(|(k, v)| got.as_ref().and_then(|g| g.get(*k)) != Some(*v))
            .map(|(k, _)| k)
        {
            return Some(format!("{kind} {key:?}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use secretsync_model::SecretValue;
    use secretsync_model::external_secret::CreationPolicy;
    use std::collections::BTreeMap;

    fn desired(policy: CreationPolicy) -> DesiredSecret {
        let mut d = DesiredSecret {
            name: "s".into(),
            namespace: "ns".into(),
            type_: "Opaque".into(),
            data: Default::default(),
            labels: BTreeMap::from([("app".to_string(), "x".to_string())]),
            annotations: BTreeMap::new(),
            finalizers: Vec::new(),
            immutable: false,
            creation_policy: policy,
            deletion_policy: Default::default(),
            templated: true,
        };
        d.data
            .insert("k".into(), SecretValue::from(b"canary-prove-1".to_vec()));
        d
    }

    fn live(data: &[(&str, &str)]) -> Secret {
        let mut s = Secret {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Secret::default()
        };
        s.metadata.labels = Some(BTreeMap::from([
            ("app".to_string(), "x".to_string()),
            (
                "reconcile.external-secrets.io/managed".to_string(),
                "true".to_string(),
            ),
        ]));
        s
    }

    #[test]
    fn differences_name_keys_never_values() {
        let owner = desired(CreationPolicy::Owner);
        let merge = desired(CreationPolicy::Merge);
        let same = live(&[("k", "canary-prove-1")]);
        let typed = Secret {
            type_: Some("kubernetes.io/tls".into()),
            ..same.clone()
        };
        let mut unlabelled = same.clone();
        unlabelled.metadata.labels = None;
        let table: Vec<(&str, &DesiredSecret, Secret, Option<&str>)> = vec![
            ("identical", &owner, same.clone(), None),
            (
                "value differs",
                &owner,
                live(&[("k", "canary-prove-2")]),
                Some("data key \"k\""),
            ),
            ("key missing", &owner, live(&[]), Some("data key \"k\"")),
            (
                "extra key",
                &owner,
                live(&[("k", "canary-prove-1"), ("old", "x")]),
                Some("data key \"old\" (only in the live Secret)"),
            ),
            (
                "extra key, merging",
                &merge,
                live(&[("k", "canary-prove-1"), ("old", "x")]),
                None,
            ),
            ("type", &owner, typed.clone(), Some("type")),
            ("type, merging", &merge, typed, None),
            ("template label", &owner, unlabelled, Some("label \"app\"")),
        ];
        for (name, d, l, want) in table {
            let got = first_difference(d, &l);
            assert_eq!(got.as_deref(), want, "{name}");
            assert!(!got.unwrap_or_default().contains("canary"), "{name}");
        }
    }
}
