//! The real backends behind ADR-002's three ClusterSecretStores, and the ADR's manifests loaded
//! from `examples/adr-002/` with only their endpoints pointed at those backends.
//!
//! - `vault` → OpenBao (`bao server -dev`, KV v2 at `secret/`) with the Kubernetes auth method
//!   at `auth/kubernetes`, role `external-secrets`, reviewing tokens against the cluster.
//! - `aws-secretsmanager` → moto; the endpoint goes through `ProviderOptions` (as
//!   `SECRETSYNC_AWS_ENDPOINT_URL` does for the operator), the manifest is unchanged.
//! - `azure-keyvault` → the Azure Key Vault + Entra ID double, trusting the cluster's
//!   ServiceAccount token issuer for the federated credential of the annotated ServiceAccount.
//!
//! All three authenticate as ServiceAccount `external-secrets/external-secrets`, as in the ADR.

use std::path::PathBuf;

use secretsync_provider_aws::AwsOptions;
use secretsync_provider_azure::{ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, AzureOptions};
use secretsync_providers::ProviderOptions;
use secretsync_testkit::azure::{
    AzureDouble, AzureDoubleOptions, SecretOptions, TrustedIssuerKeys,
};
use secretsync_testkit::cluster::ClusterAccess;
use secretsync_testkit::peers::{Bao, KubernetesAuth, Moto};
use serde_json::{Value, json};

use crate::kube_support::TestEnv;

/// Namespace and name of the ServiceAccount every ADR store authenticates as.
pub const SERVICE_ACCOUNT: &str = "external-secrets";
/// The remote key of the ADR's ExternalSecret.
pub const REMOTE_KEY: &str = "crossplane-azure-credentials";
/// Application (client) id of the workload identity in the Azure double.
pub const AZURE_CLIENT_ID: &str = "5e1f0c2a-0000-4000-8000-0000000ad002";
/// Role the AWS store assumes (moto accepts any role).
pub const AWS_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/external-secrets";
/// The AWS region of the ADR's store.
pub const AWS_REGION: &str = "us-east-1";

/// How the peers reach the Kubernetes API: the double's address and CA, or those of
/// `SECRETSYNC_TEST_KUBECONFIG`, and the cluster's token issuer.
pub async fn cluster_access(env: &TestEnv) -> ClusterAccess {
    let (url, ca_pem) = match &env.server {
        Some(server) => (server.url().to_string(), server.ca_pem().to_string()),
        None => {
            let path =
                std::env::var("SECRETSYNC_TEST_KUBECONFIG").expect("SECRETSYNC_TEST_KUBECONFIG");
            ClusterAccess::endpoint_of_kubeconfig(&path)
                .await
                .unwrap_or_else(|e| panic!("SECRETSYNC_TEST_KUBECONFIG: {e}"))
        }
    };
    ClusterAccess::discover(&env.client, &url, &ca_pem)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Creates ServiceAccount `external-secrets/external-secrets` with the Azure workload identity
/// and IRSA annotations, and lets it review tokens (`system:auth-delegator`), which OpenBao's
/// Kubernetes auth needs when it reviews a login token with that token itself.
pub async fn create_service_account(env: &mut TestEnv, azure_tenant: &str) {
    env.create_namespace_named(SERVICE_ACCOUNT, Default::default())
        .await;
    env.apply_manifest(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": SERVICE_ACCOUNT,
            "namespace": SERVICE_ACCOUNT,
            "annotations": {
                ANNOTATION_CLIENT_ID: AZURE_CLIENT_ID,
                ANNOTATION_TENANT_ID: azure_tenant,
                "eks.amazonaws.com/role-arn": AWS_ROLE_ARN,
            }
        }
    }))
    .await;
    env.apply_manifest(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": format!("secretsync-e2e-token-review-{}", env.suffix)},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "system:auth-delegator"
        },
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": SERVICE_ACCOUNT}]
    }))
    .await;
}

/// The three backends, seeded with the ADR's remote key.
pub struct Peers {
    /// OpenBao.
    pub bao: Bao,
    /// moto.
    pub moto: Moto,
    /// The Azure double.
    pub azure: AzureDouble,
    secrets_manager: aws_sdk_secretsmanager::Client,
}

impl Peers {
    /// Starts and configures the three backends for `cluster`.
    pub async fn start(cluster: &ClusterAccess) -> Peers {
        let bao = Bao::start()
            .await
            .unwrap_or_else(|e| panic!("starting OpenBao failed (run scripts/peers install): {e}"));
        let moto = Moto::start()
            .await
            .unwrap_or_else(|e| panic!("starting moto failed (run scripts/peers install): {e}"));
        let azure = AzureDouble::start(AzureDoubleOptions::default())
            .expect("start the Azure Key Vault double");
        configure_bao(&bao, cluster).await;
        azure
            .trust_issuer(
                &cluster.issuer,
                TrustedIssuerKeys::Jwks(cluster.jwks.clone()),
            )
            .expect("trust the cluster's token issuer");
        azure.add_federated_credential(
            azure.tenant_id(),
            AZURE_CLIENT_ID,
            &cluster.issuer,
            &format!("system:serviceaccount:{SERVICE_ACCOUNT}:{SERVICE_ACCOUNT}"),
            "api://AzureADTokenExchange",
        );
        let secrets_manager =
            aws_sdk_secretsmanager::Client::new(&moto.admin_sdk_config(AWS_REGION));
        Peers {
            bao,
            moto,
            azure,
            secrets_manager,
        }
    }

    /// Provider options of the operator: AWS calls go to moto, the Azure double's CA is trusted.
    pub fn provider_options(&self) -> ProviderOptions {
        ProviderOptions {
            aws: AwsOptions::with_endpoint(self.moto.endpoint()),
            azure: AzureOptions {
                extra_root_certificates_pem: vec![self.azure.ca_pem().to_string()],
                ..AzureOptions::default()
            },
            ..ProviderOptions::default()
        }
    }

    /// Writes a new version of the ADR's remote key in OpenBao (`secret/`, KV v2).
    pub async fn set_vault_value(&self, data: &Value) {
        self.bao
            .sys_request(
                reqwest::Method::POST,
                &format!("secret/data/{REMOTE_KEY}"),
                Some(json!({ "data": data })),
            )
            .await
            .expect("write to OpenBao");
    }

    /// Writes a new version of the ADR's remote key in moto (creates it the first time).
    pub async fn set_aws_value(&self, value: &str) {
        let exists = self
            .secrets_manager
            .describe_secret()
            .secret_id(REMOTE_KEY)
            .send()
            .await
            .is_ok();
        if exists {
            self.secrets_manager
                .put_secret_value()
                .secret_id(REMOTE_KEY)
                .secret_string(value)
                .send()
                .await
                .expect("put_secret_value on moto");
        } else {
            self.secrets_manager
                .create_secret()
                .name(REMOTE_KEY)
                .secret_string(value)
                .send()
                .await
                .expect("create_secret on moto");
        }
    }

    /// Writes a new version of the ADR's remote key in the Azure double.
    pub fn set_azure_value(&self, value: &str) {
        self.azure
            .set_secret(REMOTE_KEY, value, SecretOptions::default())
            .expect("write to the Azure double");
    }
}

async fn configure_bao(bao: &Bao, cluster: &ClusterAccess) {
    bao.enable_kubernetes_auth(&KubernetesAuth {
        mount: "kubernetes".into(),
        role: "external-secrets".into(),
        service_account: SERVICE_ACCOUNT.into(),
        service_account_namespace: SERVICE_ACCOUNT.into(),
        api_server_url: cluster.url.clone(),
        api_server_ca_pem: cluster.ca_pem.clone(),
    })
    .await
    .unwrap_or_else(|e| panic!("configuring OpenBao's Kubernetes auth: {e}"));
}

/// The ADR's manifests as JSON documents: (ClusterSecretStores, ExternalSecret).
pub fn adr_manifests() -> (Vec<Value>, Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/adr-002");
    let stores = yaml_documents(&dir.join("cluster-secret-stores.yaml"));
    let mut external_secrets = yaml_documents(&dir.join("external-secret.yaml"));
    assert_eq!(
        external_secrets.len(),
        1,
        "external-secret.yaml: one document"
    );
    (stores, external_secrets.remove(0))
}

fn yaml_documents(path: &std::path::Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            <Value as serde::Deserialize>::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// Points one ADR ClusterSecretStore at its peer: the Azure store's `vaultUrl` and authority
/// (`customCloudConfig.activeDirectoryEndpoint`), the Vault store's `server`. The AWS store is
/// left as written (its endpoint comes from [`Peers::provider_options`]).
pub fn point_store_at_peers(store: &mut Value, peers: &Peers) {
    let name = store["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let provider = &mut store["spec"]["provider"];
    match name.as_str() {
        "azure-keyvault" => {
            let azure = provider
                .get_mut("azurekv")
                .expect("azure-keyvault: spec.provider.azurekv");
            azure["vaultUrl"] = json!(peers.azure.vault_url());
            azure["customCloudConfig"] =
                json!({"activeDirectoryEndpoint": peers.azure.authority_host()});
        }
        "vault" => {
            let vault = provider
                .get_mut("vault")
                .expect("vault: spec.provider.vault");
            vault["server"] = json!(peers.bao.addr());
        }
        "aws-secretsmanager" => {
            assert!(
                provider.get("aws").is_some(),
                "aws-secretsmanager: spec.provider.aws"
            );
        }
        other => panic!("unexpected ClusterSecretStore {other:?} in examples/adr-002"),
    }
}
