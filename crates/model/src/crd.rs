//! CustomResourceDefinitions, served as `v1` (storage) and `v1beta1`, as generated YAML.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, ValidationRule,
};
use kube_core::CustomResourceExt;

use crate::admission;
use crate::cluster_external_secret::ClusterExternalSecret;
use crate::external_secret::ExternalSecret;
use crate::generator::{
    ClusterGenerator, EcrAuthorizationToken, Fake, GeneratorState, Password, StsSessionToken, Uuid,
    VaultDynamicSecret,
};
use crate::push_secret::{ClusterPushSecret, PushSecret};
use crate::secret_store::{ClusterSecretStore, SecretStore};

/// The size limit of the `last-applied-configuration` annotation that client-side
/// `kubectl apply` writes; every CRD must stay below it.
pub const CLIENT_SIDE_APPLY_LIMIT: usize = 262_144;

/// The API versions served for the ExternalSecret and store kinds: the storage version first.
pub const SERVED_VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// The API version of `PushSecret` and `ClusterPushSecret` (ESO serves only `v1alpha1`).
pub const PUSH_VERSION: &str = "v1alpha1";

/// All CRDs: [`external_secrets`] and [`generators`].
pub fn all() -> Vec<CustomResourceDefinition> {
    let mut all = external_secrets();
    all.extend(generators());
    all
}

/// The `external-secrets.io` CRDs: the ExternalSecret and store kinds with both served
/// versions, the push kinds with `v1alpha1`.
pub fn external_secrets() -> Vec<CustomResourceDefinition> {
    vec![
        with_v1beta1(conditions_by_type(with_admission_rules(
            ExternalSecret::crd(),
            &["spec"],
            admission::RULES,
        ))),
        with_v1beta1(conditions_by_type(fix_store_schema(SecretStore::crd()))),
        with_v1beta1(conditions_by_type(fix_store_schema(
            ClusterSecretStore::crd(),
        ))),
        with_v1beta1(conditions_by_type(with_admission_rules(
            ClusterExternalSecret::crd(),
            &["spec", "externalSecretSpec"],
            admission::RULES,
        ))),
        conditions_by_type(with_admission_rules(
            PushSecret::crd(),
            &["spec"],
            admission::PUSH_RULES,
        )),
        conditions_by_type(with_admission_rules(
            ClusterPushSecret::crd(),
            &["spec", "pushSecretSpec"],
            admission::PUSH_RULES,
        )),
    ]
}

/// The `generators.external-secrets.io` CRDs (served as `v1alpha1` only, as ESO does).
pub fn generators() -> Vec<CustomResourceDefinition> {
    vec![
        Password::crd(),
        Uuid::crd(),
        Fake::crd(),
        VaultDynamicSecret::crd(),
        StsSessionToken::crd(),
        EcrAuthorizationToken::crd(),
        fix_cluster_generator_schema(ClusterGenerator::crd()),
        GeneratorState::crd(),
    ]
}

/// Generator kinds secretsync has no type for must survive pruning in a ClusterGenerator, so
/// they are reported as unsupported instead of arriving empty.
fn fix_cluster_generator_schema(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let body = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .and_then(|root| node_at(root, &["spec", "generator"]));
        if let Some(body) = body {
            preserve_unknown(body);
        }
    }
    crd
}

/// The schema node at `path` below `node` (`[]` steps into array items).
fn node_at<'a>(node: &'a mut JSONSchemaProps, path: &[&str]) -> Option<&'a mut JSONSchemaProps> {
    let Some((first, rest)) = path.split_first() else {
        return Some(node);
    };
    let child = if *first == "[]" {
        match node.items.as_mut()? {
            JSONSchemaPropsOrArray::Schema(s) => s.as_mut(),
            JSONSchemaPropsOrArray::Schemas(_) => return None,
        }
    } else {
        node.properties.as_mut()?.get_mut(*first)?
    };
    node_at(child, rest)
}

/// Places ESO's webhook or CEL rules (`rules`: [`admission::RULES`] in an ExternalSecret
/// spec, [`admission::PUSH_RULES`] in a PushSecret spec) as `x-kubernetes-validations` in the
/// spec schema found at `spec_path`.
fn with_admission_rules(
    mut crd: CustomResourceDefinition,
    spec_path: &[&str],
    rules: &[admission::Rule],
) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let Some(root) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        for rule in rules {
            let path: Vec<&str> = spec_path.iter().chain(rule.scope.path()).copied().collect();
            let node = node_at(root, &path)
                .unwrap_or_else(|| panic!("admission rule scope {path:?} is not in the schema"));
            node.x_kubernetes_validations
                .get_or_insert_with(Vec::new)
                .push(ValidationRule {
                    rule: rule.rule.into(),
                    message: Some(rule.message.into()),
                    ..Default::default()
                });
        }
    }
    crd
}

/// `status.conditions` is a list keyed by `type`, so server-side apply merges conditions by
/// type instead of replacing the whole list (as for Kubernetes' own conditions).
fn conditions_by_type(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let conditions = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .and_then(|root| root.properties.as_mut())
            .and_then(|p| p.get_mut("status"))
            .and_then(|status| status.properties.as_mut())
            .and_then(|p| p.get_mut("conditions"));
        if let Some(conditions) = conditions {
            conditions.x_kubernetes_list_type = Some("map".into());
            conditions.x_kubernetes_list_map_keys = Some(vec!["type".into()]);
        }
    }
    crd
}

/// The file name used under `deploy/crds/` for a CRD.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.clone().unwrap_or_default())
}

/// Renders a CRD as YAML with a header naming the generator.
pub fn to_yaml(crd: &CustomResourceDefinition) -> String {
    let body =
        serde_yaml::to_string(crd).unwrap_or_else(|e| format!("# serialization failed: {e}\n"));
    format!("# Generated by `cargo run -p secretsync-cli -- crds`; do not edit.\n{body}")
}

/// Adds `v1beta1` as a served, non-storage copy of `v1` (conversion strategy None, as ESO's
/// default Helm install: the schemas are identical).
fn with_v1beta1(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let mut beta = crd.spec.versions[0].clone();
    beta.name = "v1beta1".into();
    beta.storage = false;
    beta.served = true;
    crd.spec.versions.push(beta);
    crd
}

/// Provider blocks other than the four typed ones must survive the API server's pruning, so
/// secretsync can report them as unsupported instead of silently seeing an empty provider.
fn fix_store_schema(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let provider = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .and_then(|root| root.properties.as_mut())
            .and_then(|p| p.get_mut("spec"))
            .and_then(|spec| spec.properties.as_mut())
            .and_then(|p| p.get_mut("provider"));
        if let Some(provider) = provider {
            preserve_unknown(provider);
        }
    }
    crd
}

fn preserve_unknown(schema: &mut JSONSchemaProps) {
    schema.x_kubernetes_preserve_unknown_fields = Some(true);
    schema.additional_properties = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_crd_serves_both_versions_and_stays_small() {
        for crd in external_secrets() {
            let names: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
            if crd.spec.names.kind.contains("PushSecret") {
                assert_eq!(names, [PUSH_VERSION], "{}", file_name(&crd));
            } else {
                assert_eq!(names, SERVED_VERSIONS, "{}", file_name(&crd));
            }
            assert_eq!(crd.spec.versions.iter().filter(|v| v.storage).count(), 1);
            let yaml = to_yaml(&crd);
            assert!(
                yaml.len() < CLIENT_SIDE_APPLY_LIMIT,
                "{} is {} bytes, over the client-side apply limit",
                file_name(&crd),
                yaml.len()
            );
        }
    }

    #[test]
    fn conditions_merge_by_type() {
        for crd in external_secrets() {
            let yaml = serde_yaml::to_string(&crd).unwrap_or_default();
            assert!(
                yaml.contains("x-kubernetes-list-type: map"),
                "{}",
                file_name(&crd)
            );
        }
    }

    #[test]
    fn admission_rules_are_placed_in_both_external_secret_schemas() {
        for crd in [&all()[0], &all()[3]] {
            let json = serde_json::to_string(crd).unwrap_or_default();
            for rule in admission::RULES {
                let message = serde_json::to_string(rule.message).unwrap_or_default();
                assert_eq!(
                    json.matches(&message).count(),
                    2,
                    "{}: {} once per served version",
                    file_name(crd),
                    rule.message
                );
            }
        }
    }

    #[test]
    fn push_rules_are_placed_in_both_push_secret_schemas() {
        for crd in [&all()[4], &all()[5]] {
            assert!(crd.spec.names.kind.contains("PushSecret"));
            let json = serde_json::to_string(crd).unwrap_or_default();
            for rule in admission::PUSH_RULES {
                let message = serde_json::to_string(rule.message).unwrap_or_default();
                assert_eq!(json.matches(&message).count(), 1, "{}", rule.message);
            }
        }
    }

    #[test]
    fn generators_serve_v1alpha1_in_their_group() {
        let crds = generators();
        assert_eq!(crds.len(), 8);
        for crd in &crds {
            assert_eq!(crd.spec.group, crate::generator::GROUP);
            let names: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
            assert_eq!(names, ["v1alpha1"], "{}", file_name(crd));
            let plural = crd.spec.names.plural.as_str();
            let known = crate::generator::plural_of(&crd.spec.names.kind);
            assert!(
                known.is_none_or(|p| p == plural),
                "{}: plural {plural} differs from plural_of",
                file_name(crd)
            );
        }
        let yaml = serde_yaml::to_string(&generators()[6]).unwrap_or_default();
        assert!(yaml.contains("x-kubernetes-preserve-unknown-fields: true"));
    }

    #[test]
    fn store_provider_keeps_unknown_fields() {
        let crd = SecretStore::crd();
        let crd = fix_store_schema(crd);
        let yaml = serde_yaml::to_string(&crd).unwrap_or_default();
        assert!(yaml.contains("x-kubernetes-preserve-unknown-fields: true"));
    }
}
