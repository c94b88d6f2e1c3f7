//! What a run works with: the configuration, the cluster, the provider factory (the same one
//! the operator builds), the Vault setup client when a token was given, and where secret
//! fields come from.

use std::sync::Arc;

use secrecy::SecretString;
use secretsync_model::ProviderFactory;
use secretsync_providers::{AllProviders, ProviderOptions};

use crate::config::Bootstrap;
use crate::desired::ClusterEndpoint;
use crate::vault_admin::VaultAdmin;

/// Looks up a secret input (the database admin password) by environment variable name.
pub type SecretLookup = Arc<dyn Fn(&str) -> Option<SecretString> + Send + Sync>;

/// Everything one `plan` / `apply` / `status` run uses.
pub struct Bootstrapper {
    /// The validated `bootstrap.yaml`.
    pub config: Bootstrap,
    /// The cluster.
    pub client: kube::Client,
    /// Builds providers for the stores (checks and the one-time sync).
    pub factory: Arc<dyn ProviderFactory>,
    /// Builds the migration's Vault provider, which writes with the setup token through the
    /// Vault write path of `secretsync-provider-vault` (present when a token was given).
    pub setup_factory: Option<Arc<dyn ProviderFactory>>,
    /// Vault setup calls, when a setup token was given for this run.
    pub vault: Option<VaultAdmin>,
    /// The API server as Vault's Kubernetes auth reaches it.
    pub cluster: ClusterEndpoint,
    /// Secret inputs.
    pub secrets: SecretLookup,
    /// The operator's manifests (`operator.install`), loaded once per run.
    pub operator_manifests: Vec<serde_json::Value>,
}

impl Bootstrapper {
    /// Name of the drift key Secret shared with the operator.
    pub fn drift_key_secret(&self) -> String {
        self.config
            .operator
            .drift_key_secret
            .clone()
            .unwrap_or_else(|| secretsync_kube::Config::default().drift_key_secret)
    }
}

/// A problem setting a run up.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

impl Bootstrapper {
    /// Sets a run up (`options` configure the providers, as the operator's do): resolves the API server Vault's Kubernetes auth should trust
    /// (`vault.kubernetes.host` / `caFile`, else `cluster_url` and the cluster's
    /// `kube-root-ca.crt` ConfigMap in `default`) and the Vault setup client when `token` is
    /// given (it lives in this value only, for this run).
    pub async fn connect(
        config: Bootstrap,
        client: kube::Client,
        cluster_url: &str,
        options: ProviderOptions,
        token: Option<SecretString>,
        secrets: SecretLookup,
    ) -> Result<Self, SetupError> {
        let read = |field: &str, path: &str| {
            std::fs::read(path).map_err(|e| SetupError(format!("{field}: reading {path}: {e}")))
        };
        let mut cluster = ClusterEndpoint {
            host: cluster_url.trim_end_matches('/').to_string(),
            ca_pem: String::new(),
        };
        let mut vault = None;
        let mut setup_factory: Option<Arc<dyn ProviderFactory>> = None;
        if let Some(v) = &config.vault {
            if let Some(host) = &v.kubernetes.host {
                cluster.host = host.clone();
            }
            cluster.ca_pem = match &v.kubernetes.ca_file {
                Some(path) => String::from_utf8(read("vault.kubernetes.caFile", path)?)
                    .map_err(|_| SetupError("vault.kubernetes.caFile: not PEM text".into()))?,
                None => root_ca(&client).await?,
            };
            if let Some(token) = token {
                let ca = match &v.ca_file {
                    Some(path) => Some(read("vault.caFile", path)?),
                    None => None,
                };
                let mut setup = options.clone();
                setup.vault.environment_token = Some(token.clone());
                setup.vault.extra_root_certificates_pem.extend(ca.clone());
                setup_factory = Some(Arc::new(AllProviders::new(setup)));
                vault = Some(
                    VaultAdmin::new(&v.address, token, ca.as_deref())
                        .map_err(|e| SetupError(e.to_string()))?,
                );
            }
        }
        let operator_manifests = match &config.operator.install {
            Some(path) => crate::operator_install::load(path)?,
            None => Vec::new(),
        };
        Ok(Bootstrapper {
            operator_manifests,
            config,
            client,
            factory: Arc::new(AllProviders::new(options)),
            setup_factory,
            vault,
            cluster,
            secrets,
        })
    }
}

/// The cluster's CA as every Pod sees it (ConfigMap `default/kube-root-ca.crt`).
async fn root_ca(client: &kube::Client) -> Result<String, SetupError> {
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "default");
    api.get_opt("kube-root-ca.crt")
        .await
        .map_err(|e| SetupError(format!("reading ConfigMap default/kube-root-ca.crt: {e}")))?
        .and_then(|c| c.data)
        .and_then(|mut d| d.remove("ca.crt"))
        .ok_or_else(|| {
            SetupError(
                "ConfigMap default/kube-root-ca.crt has no ca.crt; set vault.kubernetes.caFile"
                    .into(),
            )
        })
}
