//! The ADR-002 manifests parse under v1beta1 and v1, and round-trip through serialization.

use std::path::PathBuf;

use secretsync_model::external_secret::{CreationPolicy, StoreKind};
use secretsync_model::manifest::{Resource, parse_documents};
use secretsync_model::secret_store::ProviderConfig;

fn adr_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/adr-002")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(adr_dir().join(name)).expect("ADR manifest exists")
}

fn parse_all(text: &str) -> Vec<Resource> {
    parse_documents("adr", text)
        .into_iter()
        .map(|d| {
            d.unwrap_or_else(|e| panic!("ADR manifest must parse: {e}"))
                .resource
        })
        .collect()
}

fn both_versions(text: &str) -> [String; 2] {
    [
        text.to_string(),
        text.replace("external-secrets.io/v1beta1", "external-secrets.io/v1"),
    ]
}

#[test]
fn stores_parse_in_both_versions() {
    for text in both_versions(&read("cluster-secret-stores.yaml")) {
        let resources = parse_all(&text);
        let mut seen = Vec::new();
        for r in &resources {
            let Resource::ClusterSecretStore(css) = r else {
                panic!("expected ClusterSecretStores, got {}", r.describe())
            };
            let provider = css.spec.provider.config().expect("one supported provider");
            seen.push((
                css.metadata.name.clone().unwrap_or_default(),
                provider.name(),
            ));
            match provider {
                ProviderConfig::AzureKv(a) => {
                    assert_eq!(a.vault_url, "https://illm-k8s-lab-kv.vault.azure.net");
                    assert_eq!(
                        a.service_account_ref.as_ref().map(|s| s.name.as_str()),
                        Some("external-secrets")
                    );
                }
                ProviderConfig::Aws(a) => {
                    assert_eq!(a.region, "us-east-1");
                    assert!(a.auth.jwt.is_some());
                }
                ProviderConfig::Vault(v) => {
                    assert_eq!(v.server, "http://vault.vault:8200");
                    let k8s = v
                        .auth
                        .as_ref()
                        .and_then(|a| a.kubernetes.as_ref())
                        .expect("kubernetes auth");
                    assert_eq!(
                        (k8s.mount_path.as_str(), k8s.role.as_str()),
                        ("kubernetes", "external-secrets")
                    );
                }
                ProviderConfig::Fake(_) | ProviderConfig::OpenBao(_) => {
                    panic!("the ADR has no fake or openBao store")
                }
            }
        }
        assert_eq!(
            seen,
            [
                ("azure-keyvault".into(), "azurekv"),
                ("aws-secretsmanager".into(), "aws"),
                ("vault".into(), "vault")
            ]
        );
    }
}

#[test]
fn external_secret_parses_in_both_versions() {
    for text in both_versions(&read("external-secret.yaml")) {
        let resources = parse_all(&text);
        let [Resource::ExternalSecret(es)] = resources.as_slice() else {
            panic!("one ExternalSecret expected")
        };
        assert_eq!(es.metadata.namespace.as_deref(), Some("crossplane-system"));
        let store = es.spec.secret_store_ref.as_ref().expect("store ref");
        assert_eq!(
            (store.name.as_str(), store.kind),
            ("azure-keyvault", StoreKind::ClusterSecretStore)
        );
        assert_eq!(es.spec.target.creation_policy, CreationPolicy::Owner);
        assert_eq!(es.spec.refresh_interval.as_deref(), Some("1h"));
        assert_eq!(es.spec.data[0].secret_key, "credentials");
        assert_eq!(
            es.spec.data[0].remote_ref.key,
            "crossplane-azure-credentials"
        );
    }
}

#[test]
fn serialize_then_parse_round_trips() {
    for name in ["cluster-secret-stores.yaml", "external-secret.yaml"] {
        for text in both_versions(&read(name)) {
            let first = parse_all(&text);
            let reserialized: Vec<String> = first
                .iter()
                .map(|r| match r {
                    Resource::ExternalSecret(x) => serde_yaml::to_string(x),
                    Resource::ClusterSecretStore(x) => serde_yaml::to_string(x),
                    other => panic!("unexpected {}", other.describe()),
                })
                .map(|y| y.expect("serializes"))
                .collect();
            let second = parse_all(&reserialized.join("---\n"));
            assert_eq!(first.len(), second.len());
            for (a, b) in first.iter().zip(&second) {
                match (a, b) {
                    (Resource::ExternalSecret(x), Resource::ExternalSecret(y)) => {
                        assert_eq!(x.spec, y.spec)
                    }
                    (Resource::ClusterSecretStore(x), Resource::ClusterSecretStore(y)) => {
                        assert_eq!(x.spec, y.spec)
                    }
                    _ => panic!("kinds differ after a round trip"),
                }
            }
        }
    }
}
