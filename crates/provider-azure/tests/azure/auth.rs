//! Each authentication type against the double: challenge, token grant, refresh at expiry,
//! and errors that never carry secrets.

use std::time::Duration;

use secretsync_model::providers::{AzureAuthType, AzureKvAuth};
use secretsync_model::{FetchRequest, SecretProvider};
use secretsync_provider_azure::{AzureOptions, ManagedIdentityEndpoint, OperatorWorkloadIdentity};
use secretsync_provider_support::ManualClock;
use secretsync_testkit::azure::{
    ClientCertificate, ManagedIdentity, SecretOptions, TestIssuer, TrustedIssuerKeys, grant,
};

use crate::common::{
    double, double_with_lifetime, no_credentials, options, provider, selector, spec, static_secret,
};

const SP_CLIENT: &str = "11111111-2222-3333-4444-555555555555";

fn service_principal_secret_spec(
    d: &secretsync_testkit::azure::AzureDouble,
) -> secretsync_model::providers::AzureKvSpec {
    let mut s = spec(d, AzureAuthType::ServicePrincipal);
    s.tenant_id = Some(d.tenant_id().to_string());
    s.auth_secret_ref = Some(AzureKvAuth {
        client_id: Some(selector("ops", "azure-sp", "client-id")),
        client_secret: Some(selector("ops", "azure-sp", "client-secret")),
        ..AzureKvAuth::default()
    });
    s
}

#[tokio::test]
async fn service_principal_secret_reads_after_the_challenge() {
    let d = double();
    d.add_client_secret(d.tenant_id(), SP_CLIENT, "sp-secret-1");
    d.set_secret("db-password", "hunter2-value", SecretOptions::default())
        .expect("seed");
    let creds = static_secret(
        "ops",
        "azure-sp",
        &[("client-id", SP_CLIENT), ("client-secret", "sp-secret-1")],
    );
    let p = provider(service_principal_secret_spec(&d), creds, options(&d));

    let got = p
        .fetch(&FetchRequest::latest("db-password"))
        .await
        .expect("read");
    assert_eq!(got.value.expose_str(), Some("hunter2-value"));
    assert_eq!(
        got.version.as_deref().map(str::len),
        Some(32),
        "version id from the bundle"
    );
    assert_eq!(
        d.vault_requests().unauthorized,
        1,
        "first request unauthenticated, answered by the challenge"
    );
    assert_eq!(d.token_requests().get(grant::CLIENT_SECRET), 1);
    assert_eq!(d.vault_requests().get("GetSecret"), 1);
}

#[tokio::test]
async fn service_principal_certificate_signs_a_client_assertion() {
    let d = double();
    let cert = ClientCertificate::generate("secretsync-sp").expect("cert");
    d.add_client_certificate(d.tenant_id(), SP_CLIENT, &cert.cert_pem)
        .expect("register");
    d.set_secret("api-key", "cert-auth-value", SecretOptions::default())
        .expect("seed");
    let creds = static_secret(
        "ops",
        "azure-sp",
        &[("client-id", SP_CLIENT), ("tls.pem", &cert.combined_pem())],
    );
    let mut s = spec(&d, AzureAuthType::ServicePrincipal);
    s.tenant_id = Some(d.tenant_id().to_string());
    s.auth_secret_ref = Some(AzureKvAuth {
        client_id: Some(selector("ops", "azure-sp", "client-id")),
        client_certificate: Some(selector("ops", "azure-sp", "tls.pem")),
        ..AzureKvAuth::default()
    });
    let p = provider(s, creds, options(&d));
    let got = p
        .fetch(&FetchRequest::latest("secret/api-key"))
        .await
        .expect("read");
    assert_eq!(got.value.expose_str(), Some("cert-auth-value"));
    assert_eq!(d.token_requests().get(grant::CLIENT_CERTIFICATE), 1);
    assert_eq!(d.token_requests().failures, 0);
}

#[tokio::test]
async fn managed_identity_system_assigned_via_imds() {
    let d = double();
    d.add_managed_identity(ManagedIdentity::SystemAssigned);
    d.set_secret(
        "mi-secret",
        "from-system-identity",
        SecretOptions::default(),
    )
    .expect("seed");
    let p = provider(
        spec(&d, AzureAuthType::ManagedIdentity),
        no_credentials(),
        options(&d),
    );
    let got = p
        .fetch(&FetchRequest::latest("mi-secret"))
        .await
        .expect("read");
    assert_eq!(got.value.expose_str(), Some("from-system-identity"));
    assert_eq!(d.token_requests().get(grant::MANAGED_IDENTITY), 1);
}

#[tokio::test]
async fn managed_identity_user_assigned_via_imds_and_app_service() {
    let d = double();
    d.add_managed_identity(ManagedIdentity::UserAssigned {
        client_id: "mi-client-7".into(),
    });
    d.set_secret("mi-secret", "from-user-identity", SecretOptions::default())
        .expect("seed");
    let mut s = spec(&d, AzureAuthType::ManagedIdentity);
    s.identity_id = Some("mi-client-7".into());

    let imds = provider(s.clone(), no_credentials(), options(&d));
    let got = imds
        .fetch(&FetchRequest::latest("mi-secret"))
        .await
        .expect("read via IMDS");
    assert_eq!(got.value.expose_str(), Some("from-user-identity"));

    let mut app_service = options(&d);
    app_service.managed_identity = ManagedIdentityEndpoint::AppService {
        endpoint: d.app_service_identity_endpoint(),
        header: d.identity_header().to_string().into(),
    };
    let p = provider(s, no_credentials(), app_service);
    let got = p
        .fetch(&FetchRequest::latest("mi-secret"))
        .await
        .expect("read via App Service endpoint");
    assert_eq!(got.value.expose_str(), Some("from-user-identity"));
    assert_eq!(d.token_requests().get(grant::MANAGED_IDENTITY), 2);

    // The system-assigned identity is not registered: a clear permission error.
    let p = provider(
        spec(&d, AzureAuthType::ManagedIdentity),
        no_credentials(),
        options(&d),
    );
    let err = p
        .fetch(&FetchRequest::latest("mi-secret"))
        .await
        .expect_err("no system identity");
    assert_eq!(err.kind_label(), "PermissionDenied", "{err}");
    assert!(
        err.to_string().contains("system-assigned managed identity"),
        "{err}"
    );
}

#[tokio::test]
async fn operator_workload_identity_reads_its_token_file() {
    let d = double();
    let issuer = TestIssuer::generate("https://oidc.operator.test").expect("issuer");
    d.trust_issuer(issuer.issuer(), TrustedIssuerKeys::Jwks(issuer.jwks()))
        .expect("trust");
    let subject = "system:serviceaccount:secretsync:secretsync";
    d.add_federated_credential(
        d.tenant_id(),
        "op-client",
        issuer.issuer(),
        subject,
        "api://AzureADTokenExchange",
    );
    d.set_secret("op-secret", "operator-value", SecretOptions::default())
        .expect("seed");
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(
        &token_file,
        issuer
            .token(subject, "api://AzureADTokenExchange", 600)
            .expect("sign"),
    )
    .expect("write");
    let mut o = options(&d);
    o.operator_workload_identity = Some(OperatorWorkloadIdentity {
        token_file,
        client_id: "op-client".into(),
        tenant_id: d.tenant_id().into(),
    });
    let p = provider(
        spec(&d, AzureAuthType::WorkloadIdentity),
        no_credentials(),
        o,
    );
    let got = p
        .fetch(&FetchRequest::latest("op-secret"))
        .await
        .expect("read");
    assert_eq!(got.value.expose_str(), Some("operator-value"));
    assert_eq!(d.token_requests().get(grant::FEDERATED), 1);
}

#[tokio::test]
async fn tokens_are_refreshed_by_the_shared_rule_without_a_new_challenge() {
    let d = double();
    d.add_client_secret(d.tenant_id(), SP_CLIENT, "sp-secret-1");
    d.set_secret("rotating", "v1", SecretOptions::default())
        .expect("seed");
    let creds = static_secret(
        "ops",
        "azure-sp",
        &[("client-id", SP_CLIENT), ("client-secret", "sp-secret-1")],
    );
    // One-hour tokens, the provider's clock injected: due 5 minutes before expiry.
    let clock = ManualClock::new();
    let o = AzureOptions {
        clock: clock.shared(),
        ..options(&d)
    };
    let p = provider(service_principal_secret_spec(&d), creds, o);
    for _ in 0..3 {
        p.fetch(&FetchRequest::latest("rotating"))
            .await
            .expect("read");
    }
    assert_eq!(d.token_requests().total(), 1, "reused while fresh");
    clock.advance(Duration::from_secs(54 * 60));
    p.fetch(&FetchRequest::latest("rotating"))
        .await
        .expect("read");
    assert_eq!(
        d.token_requests().total(),
        1,
        "still fresh after 54 minutes"
    );
    clock.advance(Duration::from_secs(2 * 60));
    let got = p
        .fetch(&FetchRequest::latest("rotating"))
        .await
        .expect("read after the renewal time");
    assert_eq!(got.value.expose_str(), Some("v1"));
    assert_eq!(
        d.token_requests().total(),
        2,
        "refreshed once the renewal time passed"
    );
    assert_eq!(
        d.vault_requests().unauthorized,
        1,
        "one challenge for the provider's life"
    );
}

#[tokio::test]
async fn wrong_client_secret_is_permission_denied_without_the_secret() {
    let d = double();
    d.add_client_secret(d.tenant_id(), SP_CLIENT, "the-right-secret");
    d.set_secret(
        "db-password",
        "canary-value-0xC0FFEE",
        SecretOptions::default(),
    )
    .expect("seed");
    let creds = static_secret(
        "ops",
        "azure-sp",
        &[
            ("client-id", SP_CLIENT),
            ("client-secret", "canary-client-secret-0xBAD"),
        ],
    );
    let p = provider(service_principal_secret_spec(&d), creds, options(&d));
    let err = p
        .fetch(&FetchRequest::latest("db-password"))
        .await
        .expect_err("bad secret");
    let text = format!("{err} {err:?}");
    assert_eq!(err.kind_label(), "PermissionDenied", "{text}");
    assert!(
        text.contains(SP_CLIENT) && text.contains("AADSTS7000215"),
        "names client and reason: {text}"
    );
    for canary in [
        "canary-client-secret-0xBAD",
        "the-right-secret",
        "canary-value-0xC0FFEE",
    ] {
        assert!(!text.contains(canary), "error leaks {canary}: {text}");
    }
    assert!(
        !format!("{p:?}").contains("canary"),
        "Debug of the provider leaks"
    );
}

#[tokio::test]
async fn a_rejected_token_is_replaced_once_then_reported() {
    // Tokens that are already expired when issued: the vault rejects every one of them.
    let d = double_with_lifetime(Duration::ZERO);
    d.add_managed_identity(ManagedIdentity::SystemAssigned);
    d.set_secret("s", "never-read", SecretOptions::default())
        .expect("seed");
    let p = provider(
        spec(&d, AzureAuthType::ManagedIdentity),
        no_credentials(),
        options(&d),
    );
    let err = p
        .fetch(&FetchRequest::latest("s"))
        .await
        .expect_err("rejected token");
    assert_eq!(err.kind_label(), "PermissionDenied", "{err}");
    assert!(
        err.to_string().contains("rejected the access token"),
        "{err}"
    );
    assert!(
        err.to_string().contains("AKV10013"),
        "names the vault's reason: {err}"
    );
    assert_eq!(
        d.token_requests().total(),
        2,
        "one new token after the first rejection, no more"
    );
    assert_eq!(
        d.vault_requests().unauthorized,
        3,
        "challenge + two rejected tokens"
    );
}
