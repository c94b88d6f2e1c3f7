//! How providers obtain credentials without knowing about Kubernetes.
//!
//! The `kube` crate implements [`CredentialResolver`] with ESO's namespace rules (TokenRequest,
//! Secret reads); in-memory hosts hold Secrets and ConfigMaps in [`StaticCredentials`] and apply
//! the same rules through [`reference_namespace`].

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::external_secret::StoreKind;
use crate::meta::{SecretKeySelector, ServiceAccountSelector};
use crate::provider::StoreContext;
use crate::providers::AwsSessionTagsPolicy;
use crate::secret_store::SecretStoreSpec;
use crate::value::SecretValue;

/// The namespace a credential reference (`kind` `name`, naming namespace `requested`) made by
/// the store of `context` resolves to, under ESO's rules:
///
/// - a `SecretStore` never leaves its own namespace: a reference naming another namespace is
///   refused;
/// - a `ClusterSecretStore` reference may name a namespace; without one, the namespace of the
///   ExternalSecret reading through the store is used ("referent" authentication), and without
///   a reader (store validation) the reference cannot be resolved.
pub fn reference_namespace(
    context: &StoreContext,
    kind: &str,
    name: &str,
    requested: Option<&str>,
) -> Result<String, ProviderError> {
    let store = &context.store;
    let requested = requested.filter(|n| !n.is_empty());
    match store.kind {
        StoreKind::SecretStore => {
            let own = store.namespace.clone().unwrap_or_default();
            match requested {
                Some(ns) if ns != own => Err(ProviderError::InvalidStoreConfig(format!(
                    "{store}: {kind} reference {name:?} names namespace {ns:?}; a SecretStore may only read from its own namespace {own:?}"
                ))),
                _ => Ok(own),
            }
        }
        StoreKind::ClusterSecretStore => match requested {
            Some(ns) => Ok(ns.to_string()),
            None => context.reader_namespace.clone().ok_or_else(|| {
                ProviderError::InvalidStoreConfig(format!(
                    "{store}: {kind} reference {name:?} names no namespace and there is no reading ExternalSecret to take it from"
                ))
            }),
        },
    }
}

/// The context a provider for `context` is built and cached under: without the reader's
/// namespace when nothing the store does depends on it
/// ([`shared_by_readers`]), so every namespace's ExternalSecrets (and store validation) share
/// one provider, one session and one read per key; else `context` itself.
pub fn provider_context(context: &StoreContext, spec: &SecretStoreSpec) -> StoreContext {
    shared_context(context, || shared_by_readers(context.store.kind, spec))
}

/// [`provider_context`] with the sharing judgement supplied (`shared`, asked only when
/// `context` names a reader namespace): for a host that judges each store spec once
/// ([`shared_by_readers`] serialises the provider block).
pub fn shared_context(context: &StoreContext, shared: impl FnOnce() -> bool) -> StoreContext {
    if context.reader_namespace.is_some() && shared() {
        StoreContext {
            store: context.store.clone(),
            reader_namespace: None,
        }
    } else {
        context.clone()
    }
}

/// Whether a store of `kind` configured by `spec` reads the same values with the same identity
/// whichever namespace the reading ExternalSecret is in.
///
/// - A `SecretStore` is only ever read from its own namespace: always.
/// - A `ClusterSecretStore` only when every reference in its provider block names its
///   namespace: judged conservatively on the block's JSON, so that any object with a `name`
///   (Secret, ConfigMap, ServiceAccount references of every provider, present and future) must
///   carry a non-empty `namespace`; a reference without one resolves in each reader's namespace
///   (ESO's "referent" authentication), and results read with one tenant's credentials must
///   never serve another tenant. AWS session tags naming the reader's namespace
///   (`sessionTagsPolicy` `Simple`/`Custom`) make the identity differ per namespace too.
pub fn shared_by_readers(kind: StoreKind, spec: &SecretStoreSpec) -> bool {
    if kind == StoreKind::SecretStore {
        return true;
    }
    if spec.provider.aws.as_ref().is_some_and(|aws| {
        aws.session_tags_policy.unwrap_or_default() != AwsSessionTagsPolicy::None
    }) {
        return false;
    }
    match serde_json::to_value(&spec.provider) {
        Ok(block) => every_reference_names_its_namespace(&block),
        Err(_) => false,
    }
}

fn every_reference_names_its_namespace(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            let names_namespace = map
                .get("namespace")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|ns| !ns.is_empty());
            (!map.contains_key("name") || names_namespace)
                && map.values().all(every_reference_names_its_namespace)
        }
        serde_json::Value::Array(items) => items.iter().all(every_reference_names_its_namespace),
        _ => true,
    }
}

/// The key a Secret reference reads: the selector's own (when not empty), else `default_key`
/// (e.g. Vault's `token`); neither is an error naming the store and the reference.
pub fn reference_key<'a>(
    context: &StoreContext,
    selector: &'a SecretKeySelector,
    default_key: Option<&'a str>,
) -> Result<&'a str, ProviderError> {
    selector
        .key
        .as_deref()
        .filter(|k| !k.is_empty())
        .or(default_key)
        .ok_or_else(|| {
            ProviderError::InvalidStoreConfig(format!(
                "{}: secret reference {:?} names no key",
                context.store, selector.name
            ))
        })
}

/// Resolves the credential references found in store specs.
#[async_trait]
pub trait CredentialResolver: Send + Sync {
    /// Reads one key of a Secret. `default_key` applies when the selector names no key.
    async fn secret_value(
        &self,
        selector: &SecretKeySelector,
        default_key: Option<&str>,
    ) -> Result<SecretValue, ProviderError>;

    /// Reads one key of a ConfigMap (for `caProvider` of type ConfigMap).
    async fn config_map_value(
        &self,
        name: &str,
        namespace: Option<&str>,
        key: &str,
    ) -> Result<String, ProviderError>;

    /// Issues a ServiceAccount token (TokenRequest) for the given audiences.
    async fn service_account_token(
        &self,
        account: &ServiceAccountSelector,
        audiences: &[String],
        expiration: Option<Duration>,
    ) -> Result<SecretValue, ProviderError>;

    /// The annotations of a ServiceAccount (IRSA role, Azure client/tenant ids).
    async fn service_account_annotations(
        &self,
        account: &ServiceAccountSelector,
    ) -> Result<BTreeMap<String, String>, ProviderError>;
}

/// In-memory credentials: Secrets and ConfigMaps by (namespace, name), no ServiceAccounts.
#[derive(Default, Debug, Clone)]
pub struct StaticCredentials {
    secrets: BTreeMap<(Option<String>, String), BTreeMap<String, SecretValue>>,
    config_maps: BTreeMap<(Option<String>, String), BTreeMap<String, String>>,
}

impl StaticCredentials {
    /// Empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Secret's data.
    pub fn add_secret(
        &mut self,
        namespace: Option<String>,
        name: impl Into<String>,
        data: BTreeMap<String, SecretValue>,
    ) {
        self.secrets.insert((namespace, name.into()), data);
    }

    /// Adds a ConfigMap's data.
    pub fn add_config_map(
        &mut self,
        namespace: Option<String>,
        name: impl Into<String>,
        data: BTreeMap<String, String>,
    ) {
        self.config_maps.insert((namespace, name.into()), data);
    }

    /// The data of Secret `namespace/name`, looked up exactly.
    pub fn secret(&self, namespace: &str, name: &str) -> Option<&BTreeMap<String, SecretValue>> {
        self.secrets
            .get(&(Some(namespace.to_string()), name.to_string()))
    }

    /// The data of ConfigMap `namespace/name`, looked up exactly.
    pub fn config_map(&self, namespace: &str, name: &str) -> Option<&BTreeMap<String, String>> {
        self.config_maps
            .get(&(Some(namespace.to_string()), name.to_string()))
    }

    fn lookup<'a, V>(
        map: &'a BTreeMap<(Option<String>, String), V>,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&'a V> {
        if let Some(v) = namespace.and_then(|ns| map.get(&(Some(ns.to_string()), name.to_string())))
        {
            return Some(v);
        }
        // Without an exact namespace match, accept a unique object of that name.
        let mut candidates = map.iter().filter(|((_, n), _)| n == name).map(|(_, v)| v);
        let first = candidates.next();
        if candidates.next().is_some() {
            None
        } else {
            first
        }
    }
}

#[async_trait]
impl CredentialResolver for StaticCredentials {
    async fn secret_value(
        &self,
        selector: &SecretKeySelector,
        default_key: Option<&str>,
    ) -> Result<SecretValue, ProviderError> {
        let key = selector.key.as_deref().or(default_key).ok_or_else(|| {
            ProviderError::InvalidStoreConfig(format!(
                "secret reference {:?} names no key",
                selector.name
            ))
        })?;
        // A missing credential is misconfiguration, never `NotFound` (which means "the remote
        // secret does not exist" and may delete the target Secret).
        let data = Self::lookup(&self.secrets, selector.namespace.as_deref(), &selector.name)
            .ok_or_else(|| {
                ProviderError::InvalidStoreConfig(format!(
                    "credential Secret {:?} does not exist",
                    selector.name
                ))
            })?;
        data.get(key).cloned().ok_or_else(|| {
            ProviderError::InvalidStoreConfig(format!(
                "credential Secret {:?} has no key {key:?}",
                selector.name
            ))
        })
    }

    async fn config_map_value(
        &self,
        name: &str,
        namespace: Option<&str>,
        key: &str,
    ) -> Result<String, ProviderError> {
        let data = Self::lookup(&self.config_maps, namespace, name).ok_or_else(|| {
            ProviderError::InvalidStoreConfig(format!("ConfigMap {name:?} does not exist"))
        })?;
        data.get(key).cloned().ok_or_else(|| {
            ProviderError::InvalidStoreConfig(format!("ConfigMap {name:?} has no key {key:?}"))
        })
    }

    async fn service_account_token(
        &self,
        account: &ServiceAccountSelector,
        _audiences: &[String],
        _expiration: Option<Duration>,
    ) -> Result<SecretValue, ProviderError> {
        Err(ProviderError::Unsupported(format!(
            "ServiceAccount {:?}: service account tokens need a Kubernetes cluster",
            account.name
        )))
    }

    async fn service_account_annotations(
        &self,
        account: &ServiceAccountSelector,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        Err(ProviderError::Unsupported(format!(
            "ServiceAccount {:?}: service accounts need a Kubernetes cluster",
            account.name
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::StoreId;

    fn context(kind: StoreKind, reader: Option<&str>) -> StoreContext {
        StoreContext {
            store: StoreId {
                kind,
                namespace: (kind == StoreKind::SecretStore).then(|| "own".to_string()),
                name: "s".into(),
            },
            reader_namespace: reader.map(str::to_string),
        }
    }

    #[test]
    fn providers_are_shared_by_readers_only_when_no_reference_depends_on_them() {
        use StoreKind::{ClusterSecretStore as Css, SecretStore as Ss};
        let sa = |ns: Option<&str>| match ns {
            Some(ns) => serde_json::json!({"name": "reader", "namespace": ns}),
            None => serde_json::json!({"name": "reader"}),
        };
        let vault_k8s = |ns| {
            serde_json::json!({"vault": {"server": "https://v", "path": "secret",
            "auth": {"kubernetes": {"mountPath": "kubernetes", "role": "r", "serviceAccountRef": sa(ns)}}}})
        };
        let aws_jwt = |ns, tags: Option<&str>| {
            let mut aws = serde_json::json!({"service": "SecretsManager", "region": "eu-west-1",
                "auth": {"jwt": {"serviceAccountRef": sa(ns)}}});
            if let Some(t) = tags {
                aws["sessionTagsPolicy"] = serde_json::json!(t);
            }
            serde_json::json!({"aws": aws})
        };
        let azure_wi = |ns| {
            serde_json::json!({"azurekv": {"authType": "WorkloadIdentity",
            "vaultUrl": "https://k.vault.azure.net", "serviceAccountRef": sa(ns)}})
        };
        // (store kind, provider block, shared by every reader namespace?)
        let cases = [
            (
                Css,
                serde_json::json!({"fake": {"data": [{"key": "k", "value": "v"}]}}),
                true,
            ),
            (Css, vault_k8s(Some("ops")), true),
            (Css, vault_k8s(None), false),
            (Css, vault_k8s(Some("")), false),
            (Ss, vault_k8s(None), true),
            (
                Css,
                serde_json::json!({"vault": {"server": "https://v", "path": "secret",
                "auth": {"tokenSecretRef": {"name": "t", "key": "token"}}}}),
                false,
            ),
            (
                Css,
                serde_json::json!({"vault": {"server": "https://v", "path": "secret",
                "caProvider": {"type": "ConfigMap", "name": "ca", "key": "ca.crt"},
                "auth": {"tokenSecretRef": {"name": "t", "namespace": "ops", "key": "token"}}}}),
                false,
            ),
            (Css, aws_jwt(Some("ops"), None), true),
            (Css, aws_jwt(Some("ops"), Some("None")), true),
            (Css, aws_jwt(Some("ops"), Some("Simple")), false),
            (Ss, aws_jwt(Some("ops"), Some("Simple")), true),
            (Css, aws_jwt(None, None), false),
            (
                Css,
                serde_json::json!({"aws": {"service": "SecretsManager", "region": "eu-west-1",
                "auth": {"secretRef": {
                    "accessKeyIDSecretRef": {"name": "aws", "namespace": "ops", "key": "id"},
                    "secretAccessKeySecretRef": {"name": "aws", "key": "secret"}}}}}),
                false,
            ),
            (Css, azure_wi(Some("ops")), true),
            (Css, azure_wi(None), false),
        ];
        for (kind, provider, expected) in cases {
            let spec: SecretStoreSpec =
                serde_json::from_value(serde_json::json!({"provider": provider.clone()}))
                    .expect("spec");
            assert_eq!(
                shared_by_readers(kind, &spec),
                expected,
                "{kind} {provider}"
            );
            let reading = context(kind, Some("team"));
            let built = provider_context(&reading, &spec);
            assert_eq!(built.store, reading.store);
            let expected_reader = if expected { None } else { Some("team") };
            assert_eq!(
                built.reader_namespace.as_deref(),
                expected_reader,
                "{kind} {provider}"
            );
        }
    }

    #[test]
    fn reference_namespace_follows_eso() {
        use StoreKind::{ClusterSecretStore as Css, SecretStore as Ss};
        // (store kind, reader, requested namespace, expected namespace or error)
        let cases = [
            (Ss, Some("own"), None, Ok("own")),
            (Ss, Some("own"), Some(""), Ok("own")),
            (Ss, Some("own"), Some("own"), Ok("own")),
            (Ss, Some("own"), Some("other"), Err(())),
            (Css, Some("team"), None, Ok("team")),
            (Css, Some("team"), Some("shared"), Ok("shared")),
            (Css, None, Some("shared"), Ok("shared")),
            (Css, None, None, Err(())),
        ];
        for (kind, reader, requested, expected) in cases {
            let expected: Result<&str, ()> = expected;
            let got = reference_namespace(&context(kind, reader), "Secret", "creds", requested);
            match expected {
                Ok(ns) => assert_eq!(got.ok().as_deref(), Some(ns), "{kind} {requested:?}"),
                Err(()) => {
                    let err = got.expect_err("must be refused");
                    assert!(err.to_string().contains("\"creds\""), "{err}");
                }
            }
        }
    }

    fn selector(name: &str, key: &str) -> SecretKeySelector {
        SecretKeySelector {
            name: name.into(),
            namespace: Some("ns".into()),
            key: Some(key.into()),
        }
    }

    #[tokio::test]
    async fn missing_credentials_are_misconfiguration_not_missing_secrets() {
        let mut creds = StaticCredentials::new();
        creds.add_secret(
            Some("ns".into()),
            "present",
            [("k".to_string(), SecretValue::from("v"))].into(),
        );
        let ok = creds.secret_value(&selector("present", "k"), None).await;
        assert_eq!(ok.ok().as_ref().and_then(|v| v.expose_str()), Some("v"));
        for (name, key) in [("absent", "k"), ("present", "other")] {
            let err = creds
                .secret_value(&selector(name, key), None)
                .await
                .expect_err("missing");
            assert_eq!(
                err.kind_label(),
                "InvalidStoreConfig",
                "{name}/{key}: {err}"
            );
        }
        let err = creds
            .config_map_value("absent", Some("ns"), "ca.crt")
            .await
            .expect_err("missing");
        assert_eq!(err.kind_label(), "InvalidStoreConfig");
    }
}
