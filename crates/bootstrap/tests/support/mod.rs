//! An empty cluster (the Kubernetes API double, no CRDs), an empty OpenBao, PostgreSQL, moto
//! and the Azure double, seeded with the ADR's two bootstrap keys (canary values), and a
//! `bootstrap.yaml` pointing at them.
#![allow(dead_code)]

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use secretsync_bootstrap::{Bootstrapper, SecretLookup, config};
use secretsync_provider_aws::AwsOptions;
use secretsync_provider_azure::AzureOptions;
use secretsync_providers::ProviderOptions;
use secretsync_testkit::azure::{
    AzureDouble, AzureDoubleOptions, SecretOptions, TrustedIssuerKeys,
};
use secretsync_testkit::cluster::ClusterAccess;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use secretsync_testkit::peers::{Bao, Moto, Postgres};

/// The Azure value of `crossplane-azure-credentials` (a canary: must never be logged).
pub const AZURE_VALUE: &str = "canary-azure-7f3e9b1c-never-log";
/// The AWS value of `crossplane-aws-credentials`.
pub const AWS_VALUE: &str = "canary-aws-2d8a4c6e-never-log";
/// Client id of the workload identity.
pub const AZURE_CLIENT_ID: &str = "5e1f0c2a-0000-4000-8000-0000000b0018";
/// Env name the database password is looked up under.
pub const DB_PASSWORD_ENV: &str = "TEST_DB_PASSWORD";

pub use secretsync_testkit::logs::capture as logs;

/// Everything a test needs.
pub struct World {
    /// The API double.
    pub server: KubeApiServer,
    /// Admin client.
    pub client: kube::Client,
    /// OpenBao (empty: no kubernetes auth, stock `secret/` KV v2 of dev mode).
    pub bao: Bao,
    /// PostgreSQL.
    pub pg: Postgres,
    /// moto.
    pub moto: Moto,
    /// Azure double.
    pub azure: AzureDouble,
    /// The bootstrap.yaml text.
    pub yaml: String,
}

impl World {
    /// Starts every peer and seeds the cloud keys.
    pub async fn start() -> World {
        logs();
        let server = KubeApiServer::start(KubeApiOptions::default())
            .await
            .expect("API double");
        let client = server.client().expect("client");
        let access = ClusterAccess::discover(&client, server.url(), server.ca_pem())
            .await
            .expect("discover");
        let bao = Bao::start().await.expect("OpenBao (scripts/peers install)");
        let pg = Postgres::start().await.expect("PostgreSQL");
        let moto = Moto::start().await.expect("moto");
        let azure = AzureDouble::start(AzureDoubleOptions::default()).expect("Azure double");
        azure
            .trust_issuer(&access.issuer, TrustedIssuerKeys::Jwks(access.jwks.clone()))
            .expect("trust issuer");
        azure.add_federated_credential(
            azure.tenant_id(),
            AZURE_CLIENT_ID,
            &access.issuer,
            "system:serviceaccount:external-secrets:external-secrets",
            "api://AzureADTokenExchange",
        );
        azure
            .set_secret(
                "crossplane-azure-credentials",
                AZURE_VALUE,
                SecretOptions::default(),
            )
            .expect("seed azure");
        aws_sdk_secretsmanager::Client::new(&moto.admin_sdk_config("us-east-1"))
            .create_secret()
            .name("crossplane-aws-credentials")
            .secret_string(AWS_VALUE)
            .send()
            .await
            .expect("seed moto");
        let yaml = format!(
            r#"apiVersion: secretsync.io/v1alpha1
kind: Bootstrap
stores:
  azure:
    vaultUrl: {vault_url}
    authorityHost: {authority}
    clientId: {AZURE_CLIENT_ID}
    tenantId: {tenant}
  aws:
    region: us-east-1
    roleArn: arn:aws:iam::123456789012:role/external-secrets
bootstrapSecrets:
  - name: azure-credentials
    namespace: crossplane-system
    store: azure-keyvault
    data: [{{secretKey: credentials, remoteKey: crossplane-azure-credentials}}]
  - name: aws-credentials
    namespace: crossplane-system
    store: aws-secretsmanager
    data: [{{secretKey: credentials, remoteKey: crossplane-aws-credentials}}]
vault:
  address: {bao}
  server: {bao}
  appRole: {{role: ci, readPaths: ["ci/*"]}}
  database:
    address: 127.0.0.1:{pg_port}/postgres
    username: {pg_user}
    passwordEnv: {DB_PASSWORD_ENV}
    role: app
  pki:
    commonName: bootstrap test CA
    role: internal
    allowedDomains: [svc.cluster.local]
migration:
  - {{store: azure-keyvault, key: crossplane-azure-credentials, to: crossplane/azure-credentials}}
  - {{store: aws-secretsmanager, key: crossplane-aws-credentials, to: crossplane/aws-credentials}}
cutover:
  - {{namespace: crossplane-system, name: azure-credentials}}
  - {{namespace: crossplane-system, name: aws-credentials}}
"#,
            vault_url = azure.vault_url(),
            authority = azure.authority_host(),
            tenant = azure.tenant_id(),
            bao = bao.addr(),
            pg_port = pg.port(),
            pg_user = pg.user(),
        );
        World {
            server,
            client,
            bao,
            pg,
            moto,
            azure,
            yaml,
        }
    }

    /// The operator's provider options pointed at moto and trusting the Azure double.
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

    /// A bootstrapper for `yaml` with the setup token and `db_password`.
    pub async fn bootstrapper_with(&self, yaml: &str, db_password: SecretString) -> Bootstrapper {
        let config = config::parse("bootstrap.yaml", yaml).expect("valid bootstrap.yaml");
        let secrets: SecretLookup =
            Arc::new(move |var: &str| (var == DB_PASSWORD_ENV).then(|| db_password.clone()));
        Bootstrapper::connect(
            config,
            self.client.clone(),
            self.server.url(),
            self.provider_options(),
            Some(self.bao.root_token().clone()),
            secrets,
        )
        .await
        .expect("connect")
    }

    /// The world's configuration without migration and cut-over (phases 1 and 2 only).
    pub fn yaml_phases_only(&self) -> String {
        self.yaml[..self.yaml.find("migration:").expect("migration block")].to_string()
    }

    /// The bootstrapper of the world's own configuration.
    pub async fn bootstrapper(&self) -> Bootstrapper {
        self.bootstrapper_with(&self.yaml, self.pg.password().clone())
            .await
    }

    /// A Secret's key as text.
    pub async fn secret_value(&self, ns: &str, name: &str, key: &str) -> Option<String> {
        let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(self.client.clone(), ns);
        let s = api.get_opt(name).await.expect("read Secret")?;
        let bytes = s.data?.remove(key)?.0;
        Some(String::from_utf8(bytes).expect("utf-8"))
    }

    /// Logs in to PostgreSQL as `user` and runs `SELECT current_user`.
    pub async fn psql_as(&self, user: &str, password: &str) -> Result<String, String> {
        let psql =
            secretsync_testkit::peers::paths::peer_binary("psql").map_err(|e| e.to_string())?;
        let out = tokio::process::Command::new(psql)
            .args(["-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p"])
            .arg(self.pg.port().to_string())
            .args(["-U", user, "-d", "postgres", "-c", "SELECT current_user"])
            .env("PGPASSWORD", password)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }

    /// Everything captured in the logs so far, and whether a secret appears in it.
    pub fn logs_contain_secret(&self) -> Option<&'static str> {
        let text = logs()
            .lock()
            .map(|l| String::from_utf8_lossy(&l).to_string())
            .unwrap_or_default();
        assert!(text.contains("applying"), "the logs were captured");
        let token = self.bao.root_token().expose_secret().to_string();
        let pg = self.pg.password().expose_secret().to_string();
        if text.contains(&token) {
            return Some("the Vault setup token");
        }
        if text.contains(&pg) {
            return Some("the database password");
        }
        [AZURE_VALUE, AWS_VALUE]
            .into_iter()
            .find(|v| text.contains(v))
    }
}
