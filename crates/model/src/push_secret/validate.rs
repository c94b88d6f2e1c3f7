//! Checks of PushSecret and ClusterPushSecret specs: every problem names the field and what was
//! expected (the caller adds the object).

use std::collections::BTreeMap;

use super::{ClusterPushSecretSpec, PushSecretSpec, PushSecretStoreRef};
use crate::duration::parse_go_duration;
use crate::error::ModelError;

/// Validates a PushSecret spec; returns every problem found. `prefix` is the path of the spec
/// (`spec`, or `spec.pushSecretSpec` inside a ClusterPushSecret).
pub fn validate_push_secret(spec: &PushSecretSpec, prefix: &str) -> Vec<ModelError> {
    let mut errors = Vec::new();
    if let Some(interval) = &spec.refresh_interval
        && let Err(e) = parse_go_duration(interval)
    {
        errors.push(ModelError::field(
            format!("{prefix}.refreshInterval"),
            format!("a Go duration such as 1h0m0s ({e})"),
        ));
    }
    if spec.secret_store_refs.is_empty() {
        errors.push(ModelError::field(
            format!("{prefix}.secretStoreRefs"),
            "at least one store reference",
        ));
    }
    for (i, r) in spec.secret_store_refs.iter().enumerate() {
        check_store_ref(r, &format!("{prefix}.secretStoreRefs[{i}]"), &mut errors);
    }
    check_selector(spec, prefix, &mut errors);
    let mut seen: BTreeMap<(&str, Option<&str>), usize> = BTreeMap::new();
    for (i, d) in spec.data.iter().enumerate() {
        let remote = &d.match_.remote_ref;
        if remote.remote_key.is_empty() {
            errors.push(ModelError::field(
                format!("{prefix}.data[{i}].match.remoteRef.remoteKey"),
                "a non-empty remote key",
            ));
        }
        if let Some(first) = seen.insert((remote.remote_key.as_str(), remote.property()), i) {
            errors.push(ModelError::field(
                format!("{prefix}.data[{i}].match.remoteRef"),
                format!(
                    "a destination not already used by {prefix}.data[{first}] (remote key {:?}{})",
                    remote.remote_key,
                    remote
                        .property()
                        .map(|p| format!(" property {p:?}"))
                        .unwrap_or_default()
                ),
            ));
        }
        if d.metadata
            .as_ref()
            .is_some_and(|m| !m.is_object() && !m.is_null())
        {
            errors.push(ModelError::field(
                format!("{prefix}.data[{i}].metadata"),
                "a map (provider-specific metadata)",
            ));
        }
    }
    check_data_to(spec, prefix, &mut errors);
    if spec.data.is_empty() && spec.data_to.is_empty() {
        errors.push(ModelError::field(
            format!("{prefix}.data"),
            "at least one entry to push",
        ));
    }
    errors
}

/// ESO's `dataTo` rules: a `storeRef` by name (one of `secretStoreRefs`) or labels, no
/// `rewrite` with `remoteKey`, one operation per rewrite, map metadata.
fn check_data_to(spec: &PushSecretSpec, prefix: &str, errors: &mut Vec<ModelError>) {
    for (i, d) in spec.data_to.iter().enumerate() {
        let field = format!("{prefix}.dataTo[{i}]");
        match &d.store_ref {
            None => errors.push(ModelError::field(
                format!("{field}.storeRef"),
                "a store reference (name or labelSelector)",
            )),
            Some(r) => {
                check_store_ref(r, &format!("{field}.storeRef"), errors);
                if let Some(name) = r.name.as_deref().filter(|n| !n.is_empty())
                    && !spec
                        .secret_store_refs
                        .iter()
                        .any(|s| s.kind == r.kind && s.name.as_deref() == Some(name))
                {
                    errors.push(ModelError::field(
                        format!("{field}.storeRef.name"),
                        format!("a store listed in {prefix}.secretStoreRefs ({name:?} is not)"),
                    ));
                }
            }
        }
        if d.remote_key.as_deref().is_some_and(|k| !k.is_empty()) && !d.rewrite.is_empty() {
            errors.push(ModelError::field(
                format!("{field}.rewrite"),
                "no rewrite together with remoteKey (rewrite is only supported per key)",
            ));
        }
        for (j, r) in d.rewrite.iter().enumerate() {
            if r.regexp.is_some() == r.transform.is_some() {
                errors.push(ModelError::field(
                    format!("{field}.rewrite[{j}]"),
                    "exactly one of regexp or transform",
                ));
            }
        }
        if d.metadata
            .as_ref()
            .is_some_and(|m| !m.is_object() && !m.is_null())
        {
            errors.push(ModelError::field(
                format!("{field}.metadata"),
                "a map (provider-specific metadata)",
            ));
        }
    }
}

fn check_store_ref(r: &PushSecretStoreRef, field: &str, errors: &mut Vec<ModelError>) {
    let named = r.name.as_deref().is_some_and(|n| !n.is_empty());
    if named == r.label_selector.is_some() {
        errors.push(ModelError::field(
            field,
            "exactly one of name or labelSelector",
        ));
    }
}

fn check_selector(spec: &PushSecretSpec, prefix: &str, errors: &mut Vec<ModelError>) {
    let field = format!("{prefix}.selector");
    match (&spec.selector.secret, &spec.selector.generator_ref) {
        (Some(_), Some(_)) | (None, None) => errors.push(ModelError::field(
            field,
            "exactly one of secret or generatorRef",
        )),
        (Some(s), None) => {
            let named = s.name.as_deref().is_some_and(|n| !n.is_empty());
            if named == s.selector.is_some() {
                errors.push(ModelError::field(
                    format!("{field}.secret"),
                    "exactly one of name or selector",
                ));
            }
        }
        (None, Some(g)) => {
            for (name, value) in [("kind", &g.kind), ("name", &g.name)] {
                if value.is_empty() {
                    errors.push(ModelError::field(
                        format!("{field}.generatorRef.{name}"),
                        format!("a non-empty generator {name}"),
                    ));
                }
            }
        }
    }
}

/// Validates a ClusterPushSecret spec; returns every problem found.
pub fn validate_cluster_push_secret(spec: &ClusterPushSecretSpec) -> Vec<ModelError> {
    let mut errors = validate_push_secret(&spec.push_secret_spec, "spec.pushSecretSpec");
    if let Some(t) = &spec.refresh_time
        && let Err(e) = parse_go_duration(t)
    {
        errors.push(ModelError::field(
            "spec.refreshTime",
            format!("a Go duration such as 1m ({e})"),
        ));
    }
    if spec.namespace_selectors.is_empty() {
        errors.push(ModelError::field(
            "spec.namespaceSelectors",
            "at least one namespace selector",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> PushSecretSpec {
        serde_yaml::from_str(yaml).expect("test spec parses")
    }

    const BASE: &str = "secretStoreRefs: [{name: vault}]\nselector: {secret: {name: src}}\n";

    #[test]
    fn problems_name_the_field() {
        let cases: &[(&str, &[&str])] = &[
            (
                "data: [{match: {secretKey: a, remoteRef: {remoteKey: x}}}]",
                &[],
            ),
            (
                "data: []",
                &["spec.data: expected at least one entry to push"],
            ),
            (
                "data: [{match: {remoteRef: {remoteKey: ''}}}]",
                &["spec.data[0].match.remoteRef.remoteKey: expected a non-empty remote key"],
            ),
            (
                "data: [{match: {secretKey: a, remoteRef: {remoteKey: x, property: p}}}, {match: {secretKey: b, remoteRef: {remoteKey: x, property: p}}}]",
                &[
                    "spec.data[1].match.remoteRef: expected a destination not already used by spec.data[0] (remote key \"x\" property \"p\")",
                ],
            ),
            (
                "data: [{match: {secretKey: a, remoteRef: {remoteKey: x, property: p}}}, {match: {secretKey: b, remoteRef: {remoteKey: x, property: q}}}]",
                &[],
            ),
            (
                "refreshInterval: soon\ndata: [{match: {remoteRef: {remoteKey: x}}}]",
                &["spec.refreshInterval: expected a Go duration such as 1h0m0s"],
            ),
            (
                "data: [{match: {remoteRef: {remoteKey: x}}, metadata: [1]}]",
                &["spec.data[0].metadata: expected a map"],
            ),
            ("dataTo: [{storeRef: {name: vault}}]", &[]),
            (
                "dataTo: [{storeRef: {labelSelector: {matchLabels: {a: b}}}, match: {regexp: x}, rewrite: [{transform: {template: y}}]}]",
                &[],
            ),
            (
                "dataTo: [{remoteKey: x}]",
                &["spec.dataTo[0].storeRef: expected a store reference"],
            ),
            (
                "dataTo: [{storeRef: {name: other}}]",
                &["spec.dataTo[0].storeRef.name: expected a store listed in spec.secretStoreRefs"],
            ),
            (
                "dataTo: [{storeRef: {name: vault, kind: ClusterSecretStore}}]",
                &["spec.dataTo[0].storeRef.name: expected a store listed"],
            ),
            (
                "dataTo: [{storeRef: {name: vault}, remoteKey: x, rewrite: [{regexp: {source: a, target: b}}]}]",
                &["spec.dataTo[0].rewrite: expected no rewrite together with remoteKey"],
            ),
            (
                "dataTo: [{storeRef: {name: vault}, rewrite: [{}], metadata: 1}]",
                &[
                    "spec.dataTo[0].rewrite[0]: expected exactly one of regexp or transform",
                    "spec.dataTo[0].metadata: expected a map",
                ],
            ),
        ];
        for (extra, expected) in cases {
            let errors: Vec<String> =
                validate_push_secret(&spec(&format!("{BASE}{extra}")), "spec")
                    .iter()
                    .map(|e| e.to_string())
                    .collect();
            assert_eq!(errors.len(), expected.len(), "{extra}: {errors:?}");
            for (got, want) in errors.iter().zip(expected.iter()) {
                assert!(
                    got.starts_with(want),
                    "{extra}: {got} does not start with {want}"
                );
            }
        }
    }

    #[test]
    fn generator_sources_need_a_kind_and_a_name() {
        let base =
            "secretStoreRefs: [{name: vault}]\ndata: [{match: {remoteRef: {remoteKey: x}}}]\n";
        let cases: &[(&str, &[&str])] = &[
            ("selector: {generatorRef: {kind: Password, name: pw}}", &[]),
            (
                "selector: {generatorRef: {kind: '', name: ''}}",
                &[
                    "spec.selector.generatorRef.kind: expected a non-empty generator kind",
                    "spec.selector.generatorRef.name: expected a non-empty generator name",
                ],
            ),
            (
                "selector: {secret: {name: s}, generatorRef: {kind: Password, name: pw}}",
                &["spec.selector: expected exactly one of secret or generatorRef"],
            ),
        ];
        for (selector, expected) in cases {
            let errors: Vec<String> =
                validate_push_secret(&spec(&format!("{base}{selector}")), "spec")
                    .iter()
                    .map(|e| e.to_string())
                    .collect();
            assert_eq!(errors, *expected, "{selector}");
        }
    }

    #[test]
    fn selectors_and_store_refs_need_exactly_one_member() {
        let s = spec(
            "secretStoreRefs: [{kind: ClusterSecretStore}]\nselector: {secret: {}}\ndata: [{match: {remoteRef: {remoteKey: x}}}]",
        );
        let errors: Vec<String> = validate_push_secret(&s, "spec")
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errors,
            [
                "spec.secretStoreRefs[0]: expected exactly one of name or labelSelector",
                "spec.selector.secret: expected exactly one of name or selector",
            ]
        );
    }

    #[test]
    fn cluster_push_secret_paths_are_nested() {
        let c: ClusterPushSecretSpec = serde_yaml::from_str(
            "pushSecretSpec: {secretStoreRefs: [], selector: {secret: {name: s}}, data: [{match: {remoteRef: {remoteKey: x}}}]}\nrefreshTime: 1m",
        )
        .expect("parses");
        let errors: Vec<String> = validate_cluster_push_secret(&c)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errors,
            [
                "spec.pushSecretSpec.secretStoreRefs: expected at least one store reference",
                "spec.namespaceSelectors: expected at least one namespace selector",
            ]
        );
    }
}
