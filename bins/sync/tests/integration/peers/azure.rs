//! The Azure Key Vault double: every command and output mode with the GitHub Actions OIDC
//! example (federated token file), and a client secret replacing the cluster's workload
//! identity.

use secretsync_testkit::azure::{
    AzureDouble, AzureDoubleOptions, SecretOptions, TestIssuer, TrustedIssuerKeys, grant,
};
use serde_json::json;

use crate::peers::common::{Peer, exercise, external_secrets, remote_document};

const SUBJECT: &str = "repo:example/app:environment:production";

fn store(double: &AzureDouble, service_account: bool) -> String {
    let mut azure = json!({
        "authType": "WorkloadIdentity",
        "vaultUrl": double.vault_url(),
        "customCloudConfig": {"activeDirectoryEndpoint": double.authority_host()},
    });
    if service_account {
        azure["serviceAccountRef"] = json!({"name": "eso", "namespace": "eso"});
    }
    serde_yaml::to_string(&json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "azure"},
        "spec": {"provider": {"azurekv": azure}}
    }))
    .expect("YAML")
}

fn double_with_app() -> AzureDouble {
    let double = AzureDouble::start(AzureDoubleOptions::default()).expect("Azure double");
    double
        .set_secret("app", &remote_document(), SecretOptions::default())
        .expect("seed");
    double
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_and_output_mode_with_a_federated_token_file() {
    let double = double_with_app();
    let issuer =
        TestIssuer::generate("https://token.actions.githubusercontent.com").expect("issuer");
    double
        .trust_issuer(
            issuer.issuer(),
            TrustedIssuerKeys::PublicKeyPem(issuer.public_key_pem().expect("pem")),
        )
        .expect("trust");
    let tenant = double.tenant_id().to_string();
    double.add_federated_credential(
        &tenant,
        "ci-app",
        issuer.issuer(),
        SUBJECT,
        "api://AzureADTokenExchange",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("azure-token");
    std::fs::write(
        &token_file,
        issuer
            .token(SUBJECT, "api://AzureADTokenExchange", 600)
            .expect("token"),
    )
    .expect("write");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, double.ca_pem()).expect("write");
    exercise(&Peer {
        stores: store(&double, false),
        store: "azure".into(),
        env: vec![
            (
                "AZURE_FEDERATED_TOKEN_FILE".into(),
                token_file.display().to_string(),
            ),
            ("AZURE_CLIENT_ID".into(), "ci-app".into()),
            ("AZURE_TENANT_ID".into(), tenant),
        ],
        args: vec!["--ca-file".into(), ca.display().to_string()],
    })
    .await;
    assert!(double.token_requests().get(grant::FEDERATED) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_replaces_the_cluster_identity() {
    let double = double_with_app();
    let tenant = double.tenant_id().to_string();
    double.add_client_secret(&tenant, "ci-app", "ci-client-secret");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, double.ca_pem()).expect("write");
    let stores = dir.path().join("stores.yaml");
    std::fs::write(&stores, store(&double, true)).expect("write");
    let apps = dir.path().join("apps.yaml");
    std::fs::write(&apps, external_secrets("azure")).expect("write");
    let peer = Peer {
        stores: String::new(),
        store: "azure".into(),
        env: vec![
            ("AZURE_CLIENT_SECRET".into(), "ci-client-secret".into()),
            ("AZURE_CLIENT_ID".into(), "ci-app".into()),
            ("AZURE_TENANT_ID".into(), tenant),
        ],
        args: vec![
            "--ca-file".into(),
            ca.display().to_string(),
            "--env-credentials".into(),
            "azure".into(),
        ],
    };
    let r = peer.run(&["check", "-q"], &[&stores, &apps]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("ci-client-secret"));
    assert_eq!(
        double.token_requests().get(grant::CLIENT_SECRET),
        2,
        "check validates the store and reads: one token each provider instance"
    );
}
