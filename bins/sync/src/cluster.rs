//! The cluster, when there is one: the client, the ExternalSecrets it holds, and the
//! environment that stands in for it when none is reachable (saying exactly what is missing).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use secretsync_engine::{EnvironmentError, ResolvedStore, SyncEnvironment, TemplateSourceKind};
use secretsync_model::credentials::{CredentialResolver, reference_namespace};
use secretsync_model::external_secret::{ExternalSecret, SecretStoreRef};
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::provider::StoreContext;
use secretsync_model::{ProviderError, SecretValue};

use crate::inputs::Job;
use crate::select::Selection;

/// Builds a client from `--kubeconfig` (and `--context`), else the usual places (`KUBECONFIG`,
/// `~/.kube/config`, in-cluster). Nothing is sent to the server here.
pub async fn client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Client, String> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| format!("--kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| format!("--kubeconfig {}: {e}", path.display()))?
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| format!("kubeconfig: {e}"))?,
        None => kube::Config::infer().await.map_err(|e| {
            format!(
                "no Kubernetes configuration found (KUBECONFIG, ~/.kube/config or in-cluster): {e}"
            )
        })?,
    };
    kube::Client::try_from(config).map_err(|e| format!("building the Kubernetes client: {e}"))
}

/// The ExternalSecrets of the cluster that `selection` selects (`--from-cluster`).
pub async fn external_secrets(
    client: &kube::Client,
    selection: &Selection,
) -> Result<Vec<Job>, String> {
    let api: Api<ExternalSecret> = match &selection.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut params = ListParams::default();
    if let Some((text, _)) = &selection.selector {
        params = params.labels(text);
    }
    let list = api
        .list(&params)
        .await
        .map_err(|e| format!("listing ExternalSecrets in the cluster: {e}"))?;
    Ok(list
        .items
        .into_iter()
        .map(|es| Job::new("cluster", es))
        .collect())
}

/// The environment behind the files when no cluster is reachable: every question is answered
/// with what is missing and why no cluster could be asked.
pub struct NoCluster {
    reason: Arc<str>,
}

impl NoCluster {
    /// `reason`: why there is no cluster (e.g. no kubeconfig).
    pub fn new(reason: impl Into<String>) -> Self {
        NoCluster {
            reason: reason.into().into(),
        }
    }

    fn missing(&self, what: &str) -> String {
        format!(
            "{what} is not in the given files, and no cluster is reachable to read it from ({})",
            self.reason
        )
    }
}

#[async_trait]
impl SyncEnvironment for NoCluster {
    async fn store(
        &self,
        namespace: &str,
        reference: &SecretStoreRef,
    ) -> Result<ResolvedStore, EnvironmentError> {
        let what = match reference.kind {
            secretsync_model::external_secret::StoreKind::SecretStore => {
                format!("SecretStore {namespace}/{}", reference.name)
            }
            secretsync_model::external_secret::StoreKind::ClusterSecretStore => {
                format!("ClusterSecretStore {}", reference.name)
            }
        };
        Err(EnvironmentError::not_found(self.missing(&what)))
    }

    fn credentials(&self, context: &StoreContext) -> Arc<dyn CredentialResolver> {
        Arc::new(NoClusterCredentials {
            context: context.clone(),
            reason: self.reason.clone(),
        })
    }

    async fn template_source(
        &self,
        kind: TemplateSourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, SecretValue>, EnvironmentError> {
        Err(EnvironmentError::not_found(
            self.missing(&format!("{kind} {namespace}/{name}")),
        ))
    }
}

struct NoClusterCredentials {
    context: StoreContext,
    reason: Arc<str>,
}

impl NoClusterCredentials {
    fn missing(&self, kind: &str, name: &str, namespace: Option<&str>) -> ProviderError {
        let what = match reference_namespace(&self.context, kind, name, namespace) {
            Ok(ns) => format!("{kind} {ns}/{name}"),
            Err(e) => return e,
        };
        let hint = if kind == "ServiceAccount" {
            "; to use the CI's own credentials instead, name the store in --env-credentials"
        } else {
            ""
        };
        ProviderError::InvalidStoreConfig(format!(
            "{}: {what} is not in the given files, and no cluster is reachable to read it from ({}){hint}",
            self.context.store, self.reason
        ))
    }
}

#[async_trait]
impl CredentialResolver for NoClusterCredentials {
    async fn secret_value(
        &self,
        selector: &SecretKeySelector,
        _default_key: Option<&str>,
    ) -> Result<SecretValue, ProviderError> {
        Err(self.missing("Secret", &selector.name, selector.namespace.as_deref()))
    }

    async fn config_map_value(
        &self,
        name: &str,
        namespace: Option<&str>,
        _key: &str,
    ) -> Result<String, ProviderError> {
        Err(self.missing("ConfigMap", name, namespace))
    }

    async fn service_account_token(
        &self,
        account: &ServiceAccountSelector,
        _audiences: &[String],
        _expiration: Option<Duration>,
    ) -> Result<SecretValue, ProviderError> {
        Err(self.missing(
            "ServiceAccount",
            &account.name,
            account.namespace.as_deref(),
        ))
    }

    async fn service_account_annotations(
        &self,
        account: &ServiceAccountSelector,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        Err(self.missing(
            "ServiceAccount",
            &account.name,
            account.namespace.as_deref(),
        ))
    }
}
