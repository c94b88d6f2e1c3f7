//! #14: the operator's own identity (managed identity, its federated token) and hosts outside
//! the cloud's official domains serve ClusterSecretStores only; a SecretStore needing them
//! fails to build, naming the field, before any request.

use secretsync_model::external_secret::StoreKind;
use secretsync_model::provider::StoreContext;
use secretsync_model::providers::AzureAuthType;
use secretsync_model::{FetchRequest, ProviderError, SecretProvider, StoreId};
use secretsync_provider_azure::{AzureProvider, OperatorWorkloadIdentity};
use secretsync_provider_support::AmbientIdentity;
use secretsync_testkit::azure::{ManagedIdentity, SecretOptions};

use crate::common::{context, double, no_credentials, options, selector, spec, static_secret};

fn secret_store() -> StoreContext {
    StoreContext {
        store: StoreId {
            kind: StoreKind::SecretStore,
            namespace: Some("apps".into()),
            name: "kv".into(),
        },
        reader_namespace: Some("apps".into()),
    }
}

#[tokio::test]
async fn secret_stores_may_not_use_the_operators_identity() {
    let d = double();
    d.add_managed_identity(ManagedIdentity::SystemAssigned);
    d.set_secret("db", "v", SecretOptions::default())
        .expect("seed");
    let mut o = options(&d);
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "operator-token").expect("token file");
    o.operator_workload_identity = Some(OperatorWorkloadIdentity {
        token_file,
        client_id: "op-client".into(),
        tenant_id: d.tenant_id().into(),
    });
    let cases = [
        (
            AzureAuthType::ManagedIdentity,
            "spec.provider.azurekv.authType",
        ),
        (
            AzureAuthType::WorkloadIdentity,
            "spec.provider.azurekv.serviceAccountRef",
        ),
    ];
    for (auth, field) in cases {
        let err = AzureProvider::new(secret_store(), spec(&d, auth), no_credentials(), o.clone())
            .expect_err("refused");
        assert!(matches!(err, ProviderError::InvalidStoreConfig(_)), "{err}");
        let text = err.to_string();
        assert!(text.contains("SecretStore apps/kv"), "{text}");
        assert!(text.contains(field), "{auth:?}: {text}");
    }
    assert_eq!(d.token_requests().total(), 0, "no token was asked for");
    assert_eq!(d.vault_requests().total(), 0, "the vault saw nothing");

    // The same stores as ClusterSecretStores work as before.
    let p = AzureProvider::new(
        context("apps"),
        spec(&d, AzureAuthType::ManagedIdentity),
        no_credentials(),
        o.clone(),
    )
    .expect("cluster store");
    let got = p.fetch(&FetchRequest::latest("db")).await.expect("read");
    assert_eq!(got.value.expose_str(), Some("v"));
}

#[tokio::test]
async fn secret_stores_may_only_use_official_hosts() {
    let d = double();
    d.add_client_secret(d.tenant_id(), "sp-client", "sp-secret");
    d.set_secret("db", "v", SecretOptions::default())
        .expect("seed");
    let mut s = spec(&d, AzureAuthType::ServicePrincipal);
    s.tenant_id = Some(d.tenant_id().to_string());
    s.auth_secret_ref = Some(secretsync_model::providers::AzureKvAuth {
        client_id: Some(selector("apps", "sp", "client-id")),
        client_secret: Some(selector("apps", "sp", "client-secret")),
        ..Default::default()
    });
    let creds = || {
        static_secret(
            "apps",
            "sp",
            &[("client-id", "sp-client"), ("client-secret", "sp-secret")],
        )
    };
    // The double listens on 127.0.0.1, not on *.vault.azure.net.
    let err = AzureProvider::new(secret_store(), s.clone(), creds(), options(&d))
        .expect_err("unofficial vault host");
    assert!(
        err.to_string().contains("spec.provider.azurekv.vaultUrl"),
        "{err}"
    );
    assert_eq!(d.vault_requests().total(), 0);

    // ESO's behaviour when the operator allows it.
    let mut any = options(&d);
    any.ambient_identity = AmbientIdentity::AnyStore;
    let p = AzureProvider::new(secret_store(), s, creds(), any).expect("allowed");
    let got = p.fetch(&FetchRequest::latest("db")).await.expect("read");
    assert_eq!(got.value.expose_str(), Some("v"));
}
