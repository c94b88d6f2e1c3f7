//! The checks ESO's admission webhook makes, applied wherever resources enter secretsync.

use std::collections::BTreeSet;

use crate::duration::parse_go_duration;
use crate::error::ModelError;
use crate::external_secret::{CreationPolicy, DeletionPolicy, ExternalSecretSpec, MergeStrategy};

/// Maximum length of a Secret key.
pub const MAX_SECRET_KEY_LEN: usize = 253;

/// True when `key` is a valid Kubernetes Secret data key (`^[-._a-zA-Z0-9]+$`, ≤ 253).
pub fn is_valid_secret_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_SECRET_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Validates an ExternalSecret spec with ESO's webhook rules; returns every problem found.
pub fn validate_external_secret(spec: &ExternalSecretSpec) -> Vec<ModelError> {
    let mut errors = Vec::new();
    let has_template = spec
        .target
        .template
        .as_ref()
        .is_some_and(|t| !t.data.is_empty() || !t.template_from.is_empty());
    if spec.data.is_empty() && spec.data_from.is_empty() && !has_template {
        errors.push(ModelError::field(
            "spec",
            "at least one of spec.data or spec.dataFrom",
        ));
    }
    let target = &spec.target;
    // ESO's webhook rejects Delete only with Merge and None, which the controller never owns.
    if target.deletion_policy == DeletionPolicy::Delete
        && matches!(
            target.creation_policy,
            CreationPolicy::Merge | CreationPolicy::None
        )
    {
        errors.push(ModelError::field(
            "spec.target.deletionPolicy",
            "creationPolicy=Owner when deletionPolicy=Delete (the controller must own the Secret to delete it)",
        ));
    }
    if target.deletion_policy == DeletionPolicy::Merge
        && target.creation_policy == CreationPolicy::None
    {
        errors.push(ModelError::field(
            "spec.target.deletionPolicy",
            "a policy other than Merge when creationPolicy=None (there is no Secret to merge with)",
        ));
    }
    if let Some(t) = &target.template {
        match t.type_.as_deref() {
            Some("kubernetes.io/service-account-token") | Some("bootstrap.kubernetes.io/token") => {
                errors.push(ModelError::field(
                    "spec.target.template.type",
                    "a type other than kubernetes.io/service-account-token or bootstrap.kubernetes.io/token",
                ));
            }
            _ => {}
        }
    }
    if let Some(interval) = &spec.refresh_interval
        && let Err(e) = parse_go_duration(interval)
    {
        errors.push(ModelError::field("spec.refreshInterval", e));
    }
    let mut seen = BTreeSet::new();
    for (i, d) in spec.data.iter().enumerate() {
        if !is_valid_secret_key(&d.secret_key) {
            errors.push(ModelError::field(
                format!("spec.data[{i}].secretKey"),
                format!(
                    "a key matching ^[-._a-zA-Z0-9]+$ of at most 253 characters, got {:?}",
                    d.secret_key
                ),
            ));
        }
        // ESO checks duplicate keys only under deletionPolicy Retain (validateDuplicateKeys).
        if target.deletion_policy == DeletionPolicy::Retain && !seen.insert(d.secret_key.as_str()) {
            errors.push(ModelError::field(
                format!("spec.data[{i}].secretKey"),
                format!(
                    "unique secret keys, {:?} appears more than once",
                    d.secret_key
                ),
            ));
        }
        if d.remote_ref.key.is_empty() {
            errors.push(ModelError::field(
                format!("spec.data[{i}].remoteRef.key"),
                "a non-empty key",
            ));
        }
        if d.source_ref
            .as_ref()
            .is_some_and(|s| s.generator_ref.is_some())
        {
            errors.push(ModelError::field(
                format!("spec.data[{i}].sourceRef.generatorRef"),
                "a storeRef (generatorRef is not implemented for spec.data)",
            ));
        }
        let has_store = d
            .source_ref
            .as_ref()
            .and_then(|s| s.store_ref.as_ref())
            .is_some();
        if !has_store
            && spec
                .secret_store_ref
                .as_ref()
                .is_none_or(|r| r.name.is_empty())
        {
            errors.push(ModelError::field(
                "spec.secretStoreRef.name",
                format!("a store name (spec.data[{i}] has no sourceRef.storeRef)"),
            ));
        }
    }
    for (i, df) in spec.data_from.iter().enumerate() {
        let generator = df
            .source_ref
            .as_ref()
            .and_then(|s| s.generator_ref.as_ref())
            .is_some();
        let set = [df.extract.is_some(), df.find.is_some(), generator]
            .iter()
            .filter(|b| **b)
            .count();
        if set != 1 {
            errors.push(ModelError::field(
                format!("spec.dataFrom[{i}]"),
                "exactly one of extract, find or sourceRef.generatorRef",
            ));
        }
        for (j, rw) in df.rewrite.iter().enumerate() {
            let ops = [
                rw.merge.is_some(),
                rw.regexp.is_some(),
                rw.transform.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if ops != 1 {
                errors.push(ModelError::field(
                    format!("spec.dataFrom[{i}].rewrite[{j}]"),
                    "exactly one of merge, regexp or transform",
                ));
            }
            if let Some(re) = &rw.regexp
                && let Err(e) = regex::Regex::new(&re.source)
            {
                errors.push(ModelError::field(
                    format!("spec.dataFrom[{i}].rewrite[{j}].regexp.source"),
                    format!("a valid regular expression ({e})"),
                ));
            }
        }
        let has_store = df
            .source_ref
            .as_ref()
            .and_then(|s| s.store_ref.as_ref())
            .is_some();
        if !generator
            && !has_store
            && spec
                .secret_store_ref
                .as_ref()
                .is_none_or(|r| r.name.is_empty())
        {
            errors.push(ModelError::field(
                "spec.secretStoreRef.name",
                format!("a store name (spec.dataFrom[{i}] has no sourceRef.storeRef)"),
            ));
        }
    }
    errors.extend(supported_spec_rules(spec));
    errors
}

/// Pure spec checks beyond ESO's webhook: what ESO's controller rejects at sync time, and
/// what secretsync does not support. Part of [`validate_external_secret`].
pub fn supported_spec_rules(spec: &ExternalSecretSpec) -> Vec<ModelError> {
    let mut errors = Vec::new();
    if spec.target.manifest.is_some() {
        errors.push(ModelError::field(
            "spec.target.manifest",
            "no manifest (generic targets need ESO's --unsafe-allow-generic-targets and are not supported by secretsync)",
        ));
    }
    for (i, df) in spec.data_from.iter().enumerate() {
        if let Some(source) = &df.source_ref
            && source.generator_ref.is_none()
            && source.store_ref.is_none()
        {
            errors.push(ModelError::field(
                format!("spec.dataFrom[{i}].sourceRef"),
                "generatorRef or storeRef when sourceRef is set",
            ));
        }
        if let Some(find) = &df.find
            && find.path.as_deref().is_none_or(str::is_empty)
            && find
                .name
                .as_ref()
                .and_then(|n| n.regexp.as_deref())
                .is_none_or(str::is_empty)
            && find.tags.is_empty()
        {
            errors.push(ModelError::field(
                format!("spec.dataFrom[{i}].find"),
                "at least one of path, name.regexp or tags",
            ));
        }
        if let Some(name) = df
            .find
            .as_ref()
            .and_then(|f| f.name.as_ref())
            .and_then(|n| n.regexp.as_deref())
            && let Err(e) = regex::Regex::new(name)
        {
            errors.push(ModelError::field(
                format!("spec.dataFrom[{i}].find.name.regexp"),
                format!("a valid regular expression ({e})"),
            ));
        }
        for (j, rw) in df.rewrite.iter().enumerate() {
            if let Some(m) = &rw.merge
                && m.strategy == MergeStrategy::Json
                && m.into.is_empty()
            {
                errors.push(ModelError::field(
                    format!("spec.dataFrom[{i}].rewrite[{j}].merge.into"),
                    "a target key when strategy is JSON",
                ));
            }
        }
    }
    if let Some(t) = &spec.target.template {
        for (i, from) in t.template_from.iter().enumerate() {
            let sources = [
                from.config_map.is_some(),
                from.secret.is_some(),
                from.literal.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if sources == 0 {
                errors.push(ModelError::field(
                    format!("spec.target.template.templateFrom[{i}]"),
                    "one of configMap, secret or literal",
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::external_secret::{ExternalSecretData, RemoteRef, SecretStoreRef};

    fn spec_with_keys(keys: &[&str]) -> ExternalSecretSpec {
        ExternalSecretSpec {
            secret_store_ref: Some(SecretStoreRef {
                name: "s".into(),
                ..Default::default()
            }),
            data: keys
                .iter()
                .map(|k| ExternalSecretData {
                    secret_key: k.to_string(),
                    remote_ref: RemoteRef {
                        key: "remote".into(),
                        ..Default::default()
                    },
                    source_ref: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_a_plain_spec() {
        assert!(validate_external_secret(&spec_with_keys(&["a", "b.c"])).is_empty());
    }

    #[test]
    fn rejects_duplicate_and_invalid_keys() {
        let errors = validate_external_secret(&spec_with_keys(&["a", "a", "bad/key"]));
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("spec.data[1].secretKey") && t.contains("more than once")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("spec.data[2].secretKey")),
            "{text:?}"
        );
    }

    #[test]
    fn requires_data_or_data_from() {
        let errors = validate_external_secret(&spec_with_keys(&[]));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("spec.data or spec.dataFrom"));
    }

    #[test]
    fn rejects_what_esos_controller_rejects_and_what_is_unsupported() {
        let spec: ExternalSecretSpec = serde_yaml::from_str(
            r#"
secretStoreRef: {name: s}
target: {manifest: {apiVersion: v1, kind: ConfigMap}, template: {templateFrom: [{target: Data}]}}
dataFrom:
  - find: {}
  - find: {name: {regexp: "("}}
  - extract: {key: k}
    rewrite: [{merge: {strategy: JSON}}]
  - extract: {key: k}
    sourceRef: {}
"#,
        )
        .unwrap();
        let found: Vec<String> = validate_external_secret(&spec)
            .iter()
            .map(ToString::to_string)
            .collect();
        for expected in [
            "spec.target.manifest",
            "spec.dataFrom[0].find",
            "spec.dataFrom[1].find.name.regexp",
            "spec.dataFrom[2].rewrite[0].merge.into",
            "spec.dataFrom[3].sourceRef",
            "spec.target.template.templateFrom[0]",
        ] {
            assert!(
                found.iter().any(|m| m.starts_with(expected)),
                "{expected} missing in {found:?}"
            );
        }
        let fine: ExternalSecretSpec =
            serde_yaml::from_str("secretStoreRef: {name: s}\ndataFrom: [{find: {path: p}}]")
                .unwrap();
        assert!(validate_external_secret(&fine).is_empty());
    }

    #[test]
    fn delete_needs_owner() {
        let mut spec = spec_with_keys(&["a"]);
        spec.target.deletion_policy = DeletionPolicy::Delete;
        spec.target.creation_policy = CreationPolicy::Merge;
        assert!(
            validate_external_secret(&spec)[0]
                .to_string()
                .contains("creationPolicy=Owner")
        );
    }
}
