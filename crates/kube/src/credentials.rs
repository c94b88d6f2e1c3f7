//! [`CredentialResolver`] backed by the cluster, with ESO's namespace rules.
//!
//! The rules (a `SecretStore` never leaves its own namespace; a `ClusterSecretStore` reference
//! without a namespace resolves in the reading ExternalSecret's namespace) are
//! [`secretsync_model::credentials::reference_namespace`], shared with in-memory hosts.
//!
//! Every Secret read is recorded in a [`CredentialIndex`], so the controller can requeue exactly
//! the ExternalSecrets whose stores use a credential Secret that changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::api::{Api, PostParams};
use secretsync_model::credentials::{CredentialResolver, reference_key, reference_namespace};
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::provider::StoreContext;
use secretsync_model::{ProviderError, SecretValue, StoreId};

/// Which stores read which credential Secrets (`namespace/name` → stores), and the
/// `resourceVersion` last read, so that only a real change of a credential requeues its users.
#[derive(Default, Debug)]
pub struct CredentialIndex {
    uses: Mutex<HashMap<(String, String), CredentialUse>>,
}

#[derive(Default, Debug)]
struct CredentialUse {
    stores: BTreeSet<StoreId>,
    resource_version: Option<String>,
}

impl CredentialIndex {
    /// Records that `store` reads Secret `namespace/name` (before the read, so that a Secret
    /// that does not exist yet is watched for too).
    pub fn record(&self, namespace: &str, name: &str, store: &StoreId) {
        if let Ok(mut uses) = self.uses.lock() {
            uses.entry((namespace.to_string(), name.to_string()))
                .or_default()
                .stores
                .insert(store.clone());
        }
    }

    /// Records the `resourceVersion` of Secret `namespace/name` a store just read.
    pub fn read_version(&self, namespace: &str, name: &str, resource_version: Option<&str>) {
        if let Ok(mut uses) = self.uses.lock()
            && let Some(u) = uses.get_mut(&(namespace.to_string(), name.to_string()))
        {
            u.resource_version = resource_version.map(str::to_string);
        }
    }

    /// The stores that read Secret `namespace/name`.
    pub fn stores_using(&self, namespace: &str, name: &str) -> Vec<StoreId> {
        self.uses
            .lock()
            .ok()
            .and_then(|u| {
                u.get(&(namespace.to_string(), name.to_string()))
                    .map(|u| u.stores.iter().cloned().collect())
            })
            .unwrap_or_default()
    }

    /// The stores to refresh because Secret `namespace/name` is now at `resource_version`:
    /// those that read it, when that is not the version they read (a watch's initial list or
    /// re-list of an unchanged Secret is not a change). Remembers the new version.
    pub fn changed(
        &self,
        namespace: &str,
        name: &str,
        resource_version: Option<&str>,
    ) -> Vec<StoreId> {
        let Ok(mut uses) = self.uses.lock() else {
            return Vec::new();
        };
        match uses.get_mut(&(namespace.to_string(), name.to_string())) {
            Some(u) if u.resource_version.as_deref() != resource_version => {
                u.resource_version = resource_version.map(str::to_string);
                u.stores.iter().cloned().collect()
            }
            _ => Vec::new(),
        }
    }

    /// Forgets that `store` reads any Secret (it was deleted); Secrets no store reads any more
    /// are dropped from the index.
    pub fn forget_store(&self, store: &StoreId) {
        if let Ok(mut uses) = self.uses.lock() {
            uses.retain(|_, u| {
                u.stores.remove(store);
                !u.stores.is_empty()
            });
        }
    }
}

/// Credentials for one store context, read from the cluster.
pub struct KubeCredentials {
    client: kube::Client,
    context: StoreContext,
    index: Arc<CredentialIndex>,
}

impl KubeCredentials {
    /// A resolver for `context`; reads are recorded in `index`.
    pub fn new(client: kube::Client, context: StoreContext, index: Arc<CredentialIndex>) -> Self {
        KubeCredentials {
            client,
            context,
            index,
        }
    }

    /// The namespace a reference resolves to under ESO's rules
    /// ([`secretsync_model::credentials::reference_namespace`]).
    pub fn namespace_for(
        &self,
        kind: &str,
        name: &str,
        requested: Option<&str>,
    ) -> Result<String, ProviderError> {
        reference_namespace(&self.context, kind, name, requested)
    }
}

/// Maps a Kubernetes API error reading a credential. A missing credential object is a store
/// misconfiguration, never `NotFound` (which means "the remote secret does not exist" and, with
/// `deletionPolicy: Delete`, deletes the target Secret).
fn kube_error(what: String, e: kube::Error) -> ProviderError {
    match e {
        kube::Error::Api(s) if s.code == 404 => {
            ProviderError::InvalidStoreConfig(format!("{what} does not exist"))
        }
        kube::Error::Api(s) if s.code == 403 || s.code == 401 => {
            ProviderError::PermissionDenied(format!("{what}: {}", s.message))
        }
        other => ProviderError::Unavailable(format!("{what}: {other}")),
    }
}

#[async_trait]
impl CredentialResolver for KubeCredentials {
    async fn secret_value(
        &self,
        selector: &SecretKeySelector,
        default_key: Option<&str>,
    ) -> Result<SecretValue, ProviderError> {
        let ns = self.namespace_for("Secret", &selector.name, selector.namespace.as_deref())?;
        let key = reference_key(&self.context, selector, default_key)?;
        self.index.record(&ns, &selector.name, &self.context.store);
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &ns);
        let what = format!("credential Secret {ns}/{}", selector.name);
        let secret = api
            .get(&selector.name)
            .await
            .map_err(|e| kube_error(what.clone(), e))?;
        self.index.read_version(
            &ns,
            &selector.name,
            secret.metadata.resource_version.as_deref(),
        );
        let mut data = secret.data.unwrap_or_default();
        match data.remove(key) {
            Some(bytes) => Ok(SecretValue::new(bytes.0)),
            None => Err(ProviderError::InvalidStoreConfig(format!(
                "{what} has no key {key:?}"
            ))),
        }
    }

    async fn config_map_value(
        &self,
        name: &str,
        namespace: Option<&str>,
        key: &str,
    ) -> Result<String, ProviderError> {
        let ns = self.namespace_for("ConfigMap", name, namespace)?;
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &ns);
        let what = format!("ConfigMap {ns}/{name}");
        let cm = api
            .get(name)
            .await
            .map_err(|e| kube_error(what.clone(), e))?;
        cm.data
            .and_then(|mut d| d.remove(key))
            .ok_or_else(|| ProviderError::InvalidStoreConfig(format!("{what} has no key {key:?}")))
    }

    async fn service_account_token(
        &self,
        account: &ServiceAccountSelector,
        audiences: &[String],
        expiration: Option<Duration>,
    ) -> Result<SecretValue, ProviderError> {
        let ns = self.namespace_for(
            "ServiceAccount",
            &account.name,
            account.namespace.as_deref(),
        )?;
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &ns);
        let mut wanted: Vec<String> = audiences.to_vec();
        wanted.extend(account.audiences.iter().cloned());
        wanted.dedup();
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: wanted,
                expiration_seconds: expiration.map(|d| d.as_secs() as i64),
                ..Default::default()
            },
            ..Default::default()
        };
        let what = format!("ServiceAccount {ns}/{}", account.name);
        let response = api
            .create_token_request(&account.name, &PostParams::default(), &request)
            .await
            .map_err(|e| kube_error(what.clone(), e))?;
        let token = response
            .status
            .map(|s| s.token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ProviderError::BadResponse(format!("{what}: TokenRequest returned no token"))
            })?;
        Ok(SecretValue::new(token.into_bytes()))
    }

    async fn service_account_annotations(
        &self,
        account: &ServiceAccountSelector,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let ns = self.namespace_for(
            "ServiceAccount",
            &account.name,
            account.namespace.as_deref(),
        )?;
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &ns);
        let what = format!("ServiceAccount {ns}/{}", account.name);
        let sa = api
            .get(&account.name)
            .await
            .map_err(|e| kube_error(what, e))?;
        Ok(sa.metadata.annotations.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> kube::Error {
        let mut status = kube::core::Status::failure("boom", "Reason");
        status.code = code;
        kube::Error::Api(status.boxed())
    }

    #[test]
    fn credential_read_errors_are_never_not_found() {
        let cases = [
            (404, "InvalidStoreConfig"),
            (403, "PermissionDenied"),
            (401, "PermissionDenied"),
            (500, "Unavailable"),
        ];
        for (code, kind) in cases {
            let e = kube_error("credential Secret ns/s".into(), api_error(code));
            assert_eq!(e.kind_label(), kind, "HTTP {code}: {e}");
            assert!(e.to_string().contains("credential Secret ns/s"), "{e}");
        }
    }

    fn store(name: &str) -> StoreId {
        StoreId {
            kind: secretsync_model::external_secret::StoreKind::SecretStore,
            namespace: Some("ns".into()),
            name: name.into(),
        }
    }

    #[test]
    fn a_deleted_store_is_forgotten_and_unread_secrets_dropped() {
        let index = CredentialIndex::default();
        index.record("ns", "shared", &store("a"));
        index.record("ns", "shared", &store("b"));
        index.record("ns", "only-a", &store("a"));
        index.forget_store(&store("a"));
        assert_eq!(index.stores_using("ns", "shared"), vec![store("b")]);
        assert!(index.stores_using("ns", "only-a").is_empty());
        assert_eq!(index.uses.lock().map(|u| u.len()).unwrap_or(0), 1);
        index.forget_store(&store("b"));
        assert_eq!(index.uses.lock().map(|u| u.len()).unwrap_or(9), 0);
    }
}
