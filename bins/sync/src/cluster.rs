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

/// How long the API server has to answer the first request.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A client from `--kubeconfig` (and `--context`), else the usual places (`KUBECONFIG`,
/// `~/.kube/config`, in-cluster), once the API server has answered a first request
/// (`/version`): an unreachable or refusing cluster is reported here, naming the server and
/// the cause, instead of as an obscure error in the middle of the run.
pub async fn client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Client, NoClient> {
    let unconfigured = |reason| NoClient {
        reason,
        unavailable: false,
    };
    let config = config(kubeconfig, context).await.map_err(unconfigured)?;
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| unconfigured(format!("building the Kubernetes client: {e}")))?;
    let reason = match tokio::time::timeout(PROBE_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_)) => return Ok(client),
        Ok(Err(e)) => unreachable_message(&server, e),
        Err(_) => format!(
            "the Kubernetes API server {server} did not answer within {} s",
            PROBE_TIMEOUT.as_secs()
        ),
    };
    Err(NoClient {
        reason,
        unavailable: true,
    })
}

/// Why there is no cluster to ask.
#[derive(Clone, Debug)]
pub struct NoClient {
    /// What went wrong, naming the configuration or the server.
    pub reason: String,
    /// A cluster is configured but its API server is unreachable or refuses us (an outage,
    /// exit code 3), rather than no usable configuration.
    pub unavailable: bool,
}

/// Why the API server at `server` could not be used: the API's refusal (value-free), or the
/// transport error with its causes (e.g. `Connection refused`).
fn unreachable_message(server: &str, error: kube::Error) -> String {
    let cause = match error {
        kube::Error::Api(_) => secretsync_kube::sanitize::api_error(&error),
        other => format!("{:#}", anyhow::Error::from(other)),
    };
    format!("the Kubernetes API server {server} is unreachable or refuses us: {cause}")
}

async fn config(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<kube::Config, String> {
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
    Ok(config)
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
/// with what is missing and why no cluster could be asked (an outage when a configured cluster
/// is unreachable, else invalid input).
pub struct NoCluster {
    reason: Arc<str>,
    unavailable: bool,
}

impl NoCluster {
    /// Stands in for the cluster `why` says is missing.
    pub fn new(why: NoClient) -> Self {
        NoCluster {
            reason: why.reason.into(),
            unavailable: why.unavailable,
        }
    }

    fn error(&self, what: &str) -> EnvironmentError {
        let message = self.missing(what);
        if self.unavailable {
            EnvironmentError::unavailable(message)
        } else {
            EnvironmentError::not_found(message)
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
        Err(self.error(&what))
    }

    fn credentials(&self, context: &StoreContext) -> Arc<dyn CredentialResolver> {
        Arc::new(NoClusterCredentials {
            context: context.clone(),
            reason: self.reason.clone(),
            unavailable: self.unavailable,
        })
    }

    async fn template_source(
        &self,
        kind: TemplateSourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, SecretValue>, EnvironmentError> {
        Err(self.error(&format!("{kind} {namespace}/{name}")))
    }

    async fn generator(
        &self,
        namespace: &str,
        reference: &secretsync_model::external_secret::GeneratorRef,
    ) -> Result<secretsync_model::generator::GeneratorSpec, EnvironmentError> {
        Err(self.error(&format!(
            "{} {namespace}/{}",
            reference.kind, reference.name
        )))
    }
}

struct NoClusterCredentials {
    context: StoreContext,
    reason: Arc<str>,
    unavailable: bool,
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
        let message = format!(
            "{}: {what} is not in the given files, and no cluster is reachable to read it from ({}){hint}",
            self.context.store, self.reason
        );
        if self.unavailable {
            ProviderError::Unavailable(message)
        } else {
            ProviderError::InvalidStoreConfig(message)
        }
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
