//! An empty cluster (the Kubernetes API double, no CRDs), an empty OpenBao, PostgreSQL, moto
//! and the Azure double, seeded with the ADR's two bootstrap keys (canary values), and a
//! `bootstrap.yaml` pointing at them.
//!
//! With `SECRETSYNC_TEST_KUBECONFIG` set, the cluster is that real cluster instead. The ADR's
//! names are fixed (three ClusterSecretStores, `crossplane-system`): a test runs during its turn
//! on the cluster (`cluster_lock::take_turn`, one Kubernetes test at a time) and first
//! removes what an earlier run left under those names; the CRDs stay (a real cluster keeps
//! them, and the plan then finds them present).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, ListParams};
use secrecy::{ExposeSecret, SecretString};
use secretsync_bootstrap::{Bootstrapper, SecretLookup, config};
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::ClusterSecretStore;
use secretsync_provider_aws::AwsOptions;
use secretsync_provider_azure::AzureOptions;
use secretsync_providers::ProviderOptions;
use secretsync_testkit::azure::{
    AzureDouble, AzureDoubleOptions, SecretOptions, TrustedIssuerKeys,
};
use secretsync_testkit::cluster::{ClusterAccess, real_cluster_config};
use secretsync_testkit::cluster_lock::ClusterLock;
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};
use secretsync_testkit::peers::{Bao, Moto, Postgres};
use serde_json::Value;

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
    /// The API double (None on a real cluster).
    pub server: Option<KubeApiServer>,
    /// Admin client.
    pub client: kube::Client,
    /// The API server's URL.
    pub cluster_url: String,
    /// This test's turn on a real cluster (one Kubernetes test at a time).
    _turn: Option<std::sync::Arc<ClusterLock>>,
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
        let turn = secretsync_testkit::cluster_lock::take_turn().await;
        let (server, client, cluster_url, ca_pem) = match real_cluster_config().await {
            Some((path, config)) => {
                let (url, ca_pem) = ClusterAccess::endpoint_of_kubeconfig(&path)
                    .await
                    .expect("the real cluster's endpoint");
                let client = kube::Client::try_from(config).expect("kube client");
                remove_adr_objects(&client).await;
                (None, client, url, ca_pem)
            }
            None => {
                let server = KubeApiServer::start(KubeApiOptions::default())
                    .await
                    .expect("API double");
                let client = server.client().expect("client");
                let (url, ca) = (server.url().to_string(), server.ca_pem().to_string());
                (Some(server), client, url, ca)
            }
        };
        let access = ClusterAccess::discover(&client, &cluster_url, &ca_pem)
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
            cluster_url,
            _turn: turn,
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
            &self.cluster_url,
            self.provider_options(),
            Some(self.bao.root_token().clone()),
            secrets,
        )
        .await
        .expect("connect")
    }

    /// The world's configuration, also installing the operator from
    /// `deploy/overlays/cluster-wide` (rendered with `kubectl kustomize`).
    pub fn yaml_installing_the_operator(&self) -> String {
        let overlay = format!(
            "{}/../../deploy/overlays/cluster-wide",
            env!("CARGO_MANIFEST_DIR")
        );
        self.yaml.replacen(
            "kind: Bootstrap\n",
            &format!("kind: Bootstrap\noperator:\n  install: {overlay}\n"),
            1,
        )
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

/// A second `apply` does nothing and `plan` is empty.
pub async fn assert_nothing_to_do(b: &Bootstrapper) {
    let again = b
        .apply(&secretsync_bootstrap::ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("re-run: {e}"));
    assert!(again.done.is_empty(), "{:#?}", again.done);
    assert!(b.plan().await.expect("plan").is_empty());
}

/// The steps `b` would take, as printed.
pub async fn planned(b: &Bootstrapper) -> Vec<String> {
    b.plan()
        .await
        .expect("plan")
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// A Vault API read with the root token.
pub async fn vault_get(world: &World, path: &str) -> Value {
    world
        .bao
        .sys_request(reqwest::Method::GET, path, None)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// What must hold after a complete apply.
pub async fn assert_bootstrapped(world: &World) {
    // Phase 1: the Crossplane Secrets hold the cloud values.
    assert_eq!(
        world
            .secret_value("crossplane-system", "azure-credentials", "credentials")
            .await
            .as_deref(),
        Some(AZURE_VALUE)
    );
    assert_eq!(
        world
            .secret_value("crossplane-system", "aws-credentials", "credentials")
            .await
            .as_deref(),
        Some(AWS_VALUE)
    );
    // Exactly the ADR's three stores and the two ExternalSecrets (no duplicates). A real
    // cluster may hold other tests' objects: there only the bootstrapper's names count.
    let on_double = world.server.is_some();
    let stores: Api<ClusterSecretStore> = Api::all(world.client.clone());
    let mut names: Vec<String> = stores
        .list(&ListParams::default())
        .await
        .expect("list stores")
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .filter(|n| {
            on_double || ["aws-secretsmanager", "azure-keyvault", "vault"].contains(&n.as_str())
        })
        .collect();
    names.sort();
    assert_eq!(names, ["aws-secretsmanager", "azure-keyvault", "vault"]);
    let es: Api<ExternalSecret> = Api::namespaced(world.client.clone(), "crossplane-system");
    let mut es_names: Vec<String> = es
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|e| e.metadata.name)
        .filter(|n| on_double || ["aws-credentials", "azure-credentials"].contains(&n.as_str()))
        .collect();
    es_names.sort();
    assert_eq!(es_names, ["aws-credentials", "azure-credentials"]);
    // Phase 2: mounts once each, the policy and role as designed.
    let mounts = vault_get(world, "sys/mounts").await;
    let data = mounts.get("data").unwrap_or(&mounts);
    assert_eq!(data["secret/"]["type"], "kv");
    assert_eq!(data["secret/"]["options"]["version"], "2");
    assert_eq!(data["database/"]["type"], "database");
    assert_eq!(data["pki/"]["type"], "pki");
    let auth = vault_get(world, "sys/auth").await;
    let data = auth.get("data").unwrap_or(&auth);
    assert_eq!(data["kubernetes/"]["type"], "kubernetes");
    assert_eq!(data["approle/"]["type"], "approle");
    let role = vault_get(world, "auth/kubernetes/role/external-secrets").await;
    assert_eq!(
        role["data"]["bound_service_account_names"][0],
        "external-secrets"
    );
    assert_eq!(
        role["data"]["bound_service_account_namespaces"][0],
        "external-secrets"
    );
    assert_eq!(role["data"]["token_policies"][0], "external-secrets");
    let policy = vault_get(world, "sys/policies/acl/external-secrets").await;
    assert!(
        policy["data"]["policy"]
            .as_str()
            .is_some_and(|p| p.contains("secret/data/*")),
        "{policy}"
    );
    // The database role issues working PostgreSQL credentials.
    let creds = vault_get(world, "database/creds/app").await;
    let user = creds["data"]["username"].as_str().expect("username");
    let password = creds["data"]["password"].as_str().expect("password");
    assert_eq!(world.psql_as(user, password).await.as_deref(), Ok(user));
    // Migration and cut-over: each value once in Vault, both ExternalSecrets on `vault`.
    for (path, value) in [
        ("crossplane/azure-credentials", AZURE_VALUE),
        ("crossplane/aws-credentials", AWS_VALUE),
    ] {
        let data = vault_get(world, &format!("secret/data/{path}")).await;
        assert_eq!(data["data"]["data"]["value"], value, "{path}");
        assert_eq!(data["data"]["data"].as_object().map(|o| o.len()), Some(1));
    }
    assert_eq!(store_refs(world).await, ["vault", "vault"]);
    // The PKI role issues a certificate.
    let cert = world
        .bao
        .sys_request(
            reqwest::Method::POST,
            "pki/issue/internal",
            Some(serde_json::json!({"common_name": "app.svc.cluster.local"})),
        )
        .await
        .expect("issue");
    assert!(
        cert["data"]["certificate"]
            .as_str()
            .is_some_and(|c| c.starts_with("-----BEGIN CERTIFICATE-----"))
    );
}

/// The store each cut-over ExternalSecret references.
pub async fn store_refs(world: &World) -> Vec<String> {
    let api: Api<ExternalSecret> = Api::namespaced(world.client.clone(), "crossplane-system");
    let mut out = Vec::new();
    for name in ["azure-credentials", "aws-credentials"] {
        let es = api.get(name).await.expect("ExternalSecret");
        out.push(es.spec.secret_store_ref.map(|r| r.name).unwrap_or_default());
    }
    out
}

/// Removes, on a real cluster, what an earlier run left under the ADR's fixed names (the three
/// stores, the two bootstrap ExternalSecrets and their Secrets) and waits until they are gone.
async fn remove_adr_objects(client: &kube::Client) {
    let stores: Api<ClusterSecretStore> = Api::all(client.clone());
    let external_secrets: Api<ExternalSecret> =
        Api::namespaced(client.clone(), "crossplane-system");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), "crossplane-system");
    for name in ["vault", "azure-keyvault", "aws-secretsmanager"] {
        let _ = stores.delete(name, &DeleteParams::default()).await;
    }
    for name in ["azure-credentials", "aws-credentials"] {
        let _ = external_secrets
            .delete(name, &DeleteParams::default())
            .await;
        let _ = secrets.delete(name, &DeleteParams::default()).await;
    }
    // An earlier run's record of verified phases (the operator's default namespace): each
    // test starts from a cluster never bootstrapped.
    let records: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), "external-secrets");
    let _ = records
        .delete(
            secretsync_bootstrap::record::RECORD,
            &DeleteParams::default(),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut left = Vec::new();
        for name in ["vault", "azure-keyvault", "aws-secretsmanager"] {
            if matches!(stores.get_opt(name).await, Ok(Some(_))) {
                left.push(format!("ClusterSecretStore {name}"));
            }
        }
        for name in ["azure-credentials", "aws-credentials"] {
            if matches!(external_secrets.get_opt(name).await, Ok(Some(_))) {
                left.push(format!("ExternalSecret crossplane-system/{name}"));
            }
            if matches!(secrets.get_opt(name).await, Ok(Some(_))) {
                left.push(format!("Secret crossplane-system/{name}"));
            }
        }
        if matches!(
            records.get_opt(secretsync_bootstrap::record::RECORD).await,
            Ok(Some(_))
        ) {
            left.push("the bootstrap record ConfigMap".into());
        }
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left over from an earlier run and not deleted within 60 s: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
