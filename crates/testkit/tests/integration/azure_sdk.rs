//! The configuration the Azure provider will use: Microsoft's Rust SDK
//! (`azure_security_keyvault_secrets` + `azure_identity`) pointed at the double through
//! configuration alone (authority host, vault URL, a transport trusting the double's CA).

use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::error::ErrorKind;
use azure_core::http::{ClientOptions, StatusCode, Transport};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use azure_security_keyvault_secrets::models::{SecretClientGetSecretOptions, SetSecretParameters};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use futures::TryStreamExt as _;
use secretsync_testkit::azure::{
    AzureDouble, AzureDoubleOptions, ManagedIdentity, SecretOptions, TestIssuer, TrustedIssuerKeys,
    grant,
};

const CLIENT: &str = "0f0e0d0c-0b0a-0908-0706-050403020100";
const CLIENT_SECRET: &str = "rust-sdk-client-secret";

/// The provider recipe: a reqwest client trusting the CA (optionally resolving the vault DNS
/// name to the double), wrapped as the SDK transport, plus the custom authority host.
fn client_options(double: &AzureDouble, resolve_vault_name: bool) -> ClientOptions {
    let ca = reqwest::Certificate::from_pem(double.ca_pem().as_bytes()).expect("CA PEM");
    let mut builder = reqwest::Client::builder().tls_certs_only([ca]);
    if resolve_vault_name {
        builder = builder.resolve(&double.vault_dns_name(), double.socket_addr());
    }
    let http = builder.build().expect("reqwest client");
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = double.authority_host();
    ClientOptions {
        transport: Some(Transport::new(Arc::new(http))),
        cloud: Some(Arc::new(CloudConfiguration::from(cloud))),
        ..Default::default()
    }
}

fn secret_client(double: &AzureDouble, credential: Arc<dyn TokenCredential>) -> SecretClient {
    SecretClient::new(
        &double.vault_url(),
        credential,
        Some(SecretClientOptions {
            client_options: client_options(double, false),
            // The 127.0.0.1 vault URL cannot end in ".vault.azure.net" (see the DNS-name test).
            verify_challenge_resource: Some(false),
            ..Default::default()
        }),
    )
    .expect("secret client")
}

fn client_secret_credential(double: &AzureDouble) -> Arc<dyn TokenCredential> {
    double.add_client_secret(double.tenant_id(), CLIENT, CLIENT_SECRET);
    ClientSecretCredential::new(
        double.tenant_id(),
        CLIENT.to_string(),
        Secret::new(CLIENT_SECRET),
        Some(ClientSecretCredentialOptions {
            client_options: client_options(double, false),
        }),
    )
    .expect("credential")
}

fn http_status(err: &azure_core::Error) -> Option<(StatusCode, Option<String>)> {
    match err.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => Some((*status, error_code.clone())),
        _ => None,
    }
}

#[tokio::test]
async fn client_secret_credential_reads_secrets_and_caches_its_token() {
    let double = AzureDouble::start(AzureDoubleOptions::default()).expect("start");
    let v1 = double
        .set_secret("app-config", "first", SecretOptions::default())
        .expect("set");
    double
        .set_secret("app-config", "second", SecretOptions::default())
        .expect("set");
    let client = secret_client(&double, client_secret_credential(&double));

    let latest = client
        .get_secret("app-config", None)
        .await
        .expect("get")
        .into_model()
        .expect("model");
    assert_eq!(latest.value.as_deref(), Some("second"));
    let old = client
        .get_secret(
            "app-config",
            Some(SecretClientGetSecretOptions {
                secret_version: Some(v1.clone()),
                ..Default::default()
            }),
        )
        .await
        .expect("get version")
        .into_model()
        .expect("model");
    assert_eq!(old.value.as_deref(), Some("first"));
    assert!(
        old.id
            .as_deref()
            .is_some_and(|id| id.ends_with(&format!("/secrets/app-config/{v1}")))
    );

    for _ in 0..498 {
        let s = client
            .get_secret("app-config", None)
            .await
            .expect("get")
            .into_model()
            .expect("model");
        assert_eq!(s.value.as_deref(), Some("second"));
    }
    assert_eq!(
        double.token_requests().get(grant::CLIENT_SECRET),
        1,
        "500 reads, one token"
    );
    assert_eq!(double.vault_requests().get("GetSecret"), 500);
    assert_eq!(
        double.vault_requests().unauthorized,
        1,
        "only the first request is challenged"
    );

    let missing = client
        .get_secret("absent", None)
        .await
        .expect_err("missing secret");
    assert_eq!(
        http_status(&missing),
        Some((StatusCode::NotFound, Some("SecretNotFound".into())))
    );
    double.disable_secret("app-config", None).expect("disable");
    let disabled = client
        .get_secret("app-config", None)
        .await
        .expect_err("disabled secret");
    assert_eq!(
        http_status(&disabled).map(|(s, _)| s),
        Some(StatusCode::Forbidden)
    );
}

#[tokio::test]
async fn sdk_set_list_and_throttle_retry() {
    let double = AzureDouble::start(AzureDoubleOptions::default()).expect("start");
    let client = secret_client(&double, client_secret_credential(&double));
    // the first request of a client is the bodiless challenge probe: PUT must survive it
    let set = client
        .set_secret(
            "written",
            SetSecretParameters {
                value: Some("from-sdk".into()),
                ..Default::default()
            }
            .try_into()
            .expect("body"),
            None,
        )
        .await
        .expect("set")
        .into_model()
        .expect("model");
    assert_eq!(set.value.as_deref(), Some("from-sdk"));
    for i in 0..30 {
        double
            .set_secret(&format!("bulk-{i}"), "x", SecretOptions::default())
            .expect("set");
    }
    let names: Vec<String> = client
        .list_secret_properties(None)
        .expect("pager")
        .try_collect::<Vec<_>>()
        .await
        .expect("list")
        .into_iter()
        .filter_map(|p| p.id)
        .collect();
    assert_eq!(names.len(), 31);
    assert_eq!(
        double.vault_requests().get("GetSecrets"),
        2,
        "25 + 6 over two pages"
    );

    double.throttle_next(1, 1);
    let read = client
        .get_secret("written", None)
        .await
        .expect("retried after 429")
        .into_model()
        .expect("model");
    assert_eq!(read.value.as_deref(), Some("from-sdk"));
    assert_eq!(double.vault_requests().throttled, 1);
}

#[tokio::test]
async fn vault_dns_name_passes_challenge_resource_verification() {
    let double = AzureDouble::start(AzureDoubleOptions::default()).expect("start");
    double
        .set_secret("dns", "resolved", SecretOptions::default())
        .expect("set");
    let credential = client_secret_credential(&double);
    let verifying = SecretClient::new(
        &double.vault_dns_url(),
        credential.clone(),
        Some(SecretClientOptions {
            client_options: client_options(&double, true),
            ..Default::default()
        }),
    )
    .expect("client");
    let s = verifying
        .get_secret("dns", None)
        .await
        .expect("get")
        .into_model()
        .expect("model");
    assert_eq!(s.value.as_deref(), Some("resolved"));
    assert!(
        s.id.as_deref()
            .is_some_and(|id| id.starts_with(&double.vault_dns_url()))
    );

    // With the IP URL and verification on, the SDK refuses the challenge, as against a real vault.
    let strict = SecretClient::new(
        &double.vault_url(),
        credential,
        Some(SecretClientOptions {
            client_options: client_options(&double, false),
            ..Default::default()
        }),
    )
    .expect("client");
    let err = strict
        .get_secret("dns", None)
        .await
        .expect_err("challenge resource mismatch");
    let mut chain = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = cause {
        chain.push(e.to_string());
        cause = e.source();
    }
    let chain = chain.join(" / ");
    assert!(
        chain.contains("doesn't match the requested domain"),
        "{chain}"
    );
}

#[tokio::test]
async fn workload_identity_credential_exchanges_a_service_account_token() {
    let double = AzureDouble::start(AzureDoubleOptions::default()).expect("start");
    double
        .set_secret("wi", "federated-ok", SecretOptions::default())
        .expect("set");
    let issuer = TestIssuer::generate("https://oidc.test.local/cluster").expect("issuer");
    let subject = "system:serviceaccount:secretsync:operator";
    double.add_federated_credential(
        double.tenant_id(),
        "wi-client",
        issuer.issuer(),
        subject,
        "api://AzureADTokenExchange",
    );
    double
        .trust_issuer(issuer.issuer(), TrustedIssuerKeys::Jwks(issuer.jwks()))
        .expect("trust");
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        issuer
            .token(subject, "api://AzureADTokenExchange", 3600)
            .expect("sign"),
    )
    .expect("write");
    let credential = WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions {
            client_options: client_options(&double, false),
        },
        client_id: Some("wi-client".into()),
        tenant_id: Some(double.tenant_id().to_string()),
        token_file_path: Some(token_file),
    }))
    .expect("credential");
    let client = secret_client(&double, credential);
    let s = client
        .get_secret("wi", None)
        .await
        .expect("get")
        .into_model()
        .expect("model");
    assert_eq!(s.value.as_deref(), Some("federated-ok"));
    assert_eq!(double.token_requests().get(grant::FEDERATED), 1);
}

/// Runs the managed-identity flow in a child process, because `ManagedIdentityCredential` only
/// reads its endpoint from the process environment (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
#[test]
fn managed_identity_credential_uses_the_app_service_endpoint_from_env() {
    let double = AzureDouble::start(AzureDoubleOptions::default()).expect("start");
    double.add_managed_identity(ManagedIdentity::UserAssigned {
        client_id: "mi-client".into(),
    });
    double
        .set_secret("mi", "managed-ok", SecretOptions::default())
        .expect("set");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, double.ca_pem()).expect("write CA");
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            &child_test_name("managed_identity_child"),
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("IDENTITY_ENDPOINT", double.app_service_identity_endpoint())
        .env("IDENTITY_HEADER", double.identity_header())
        .env("CHILD_VAULT_URL", double.vault_url())
        .env("CHILD_CA", &ca)
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "child did not run:\n{stdout}");
    assert_eq!(double.token_requests().get(grant::MANAGED_IDENTITY), 1);
    assert_eq!(double.vault_requests().get("GetSecret"), 1);
}

#[tokio::test]
#[ignore = "child half of managed_identity_credential_uses_the_app_service_endpoint_from_env"]
async fn managed_identity_child() {
    let vault_url = std::env::var("CHILD_VAULT_URL").expect("CHILD_VAULT_URL");
    let ca_pem = std::fs::read(std::env::var("CHILD_CA").expect("CHILD_CA")).expect("CA");
    let ca = reqwest::Certificate::from_pem(&ca_pem).expect("CA PEM");
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client");
    let transport = Transport::new(Arc::new(http));
    let credential = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        user_assigned_id: Some(UserAssignedId::ClientId("mi-client".into())),
        client_options: ClientOptions {
            transport: Some(transport.clone()),
            ..Default::default()
        },
    }))
    .expect("credential");
    let client = SecretClient::new(
        &vault_url,
        credential,
        Some(SecretClientOptions {
            client_options: ClientOptions {
                transport: Some(transport),
                ..Default::default()
            },
            verify_challenge_resource: Some(false),
            ..Default::default()
        }),
    )
    .expect("client");
    let s = client
        .get_secret("mi", None)
        .await
        .expect("get")
        .into_model()
        .expect("model");
    assert_eq!(s.value.as_deref(), Some("managed-ok"));
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_by_the_sdk() {
    // azure_identity refreshes a cached token once it is within 300 s of expiry: a 301 s token
    // is reused at first and refreshed two seconds later.
    let double = AzureDouble::start(AzureDoubleOptions {
        token_lifetime: std::time::Duration::from_secs(301),
        ..Default::default()
    })
    .expect("start");
    double
        .set_secret("r", "v", SecretOptions::default())
        .expect("set");
    let client = secret_client(&double, client_secret_credential(&double));
    for _ in 0..3 {
        client.get_secret("r", None).await.expect("get");
    }
    assert_eq!(double.token_requests().get(grant::CLIENT_SECRET), 1);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    client
        .get_secret("r", None)
        .await
        .expect("get after refresh window");
    assert_eq!(double.token_requests().get(grant::CLIENT_SECRET), 2);
}

/// The full libtest name of `test` in this module (`<module path>::test`), to re-run it in a
/// child process of this test binary.
fn child_test_name(test: &str) -> String {
    match module_path!().split_once("::") {
        Some((_crate, module)) => format!("{module}::{test}"),
        None => test.to_string(),
    }
}
