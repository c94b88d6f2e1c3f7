//! WorkloadIdentity with `serviceAccountRef`, using the Kubernetes API double's TokenRequest,
//! and the ADR-002 store and ExternalSecret.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{ObjectMeta, PostParams};
use secretsync_model::manifest::{Resource, parse_documents};
use secretsync_model::meta::ServiceAccountSelector;
use secretsync_model::providers::{AzureAuthType, AzureCustomCloudConfig, AzureKvAuth};
use secretsync_model::{FetchRequest, SecretProvider};
use secretsync_provider_azure::{ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, AzureProvider};
use secretsync_testkit::azure::{AzureDouble, SecretOptions, TrustedIssuerKeys, grant};
use secretsync_testkit::kube_api::{KubeApiOptions, KubeApiServer};

use crate::common::{context, create_secret, double, kube_credentials, options, selector, spec};

const WI_CLIENT: &str = "c1d2e3f4-0000-4000-8000-00000000beef";
const SUBJECT: &str = "system:serviceaccount:external-secrets:external-secrets";

/// Starts the API double with the `external-secrets` ServiceAccount (with `annotations`) and
/// makes the Azure double trust its tokens for `WI_CLIENT`.
async fn cluster(
    d: &AzureDouble,
    annotations: BTreeMap<String, String>,
) -> (KubeApiServer, kube::Client) {
    let api = KubeApiServer::start(KubeApiOptions {
        namespaces: vec!["external-secrets".into()],
        ..KubeApiOptions::default()
    })
    .await
    .expect("start the Kubernetes API double");
    let client = api.client().expect("kube client");
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some("external-secrets".into()),
            namespace: Some("external-secrets".into()),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    };
    kube::Api::<ServiceAccount>::namespaced(client.clone(), "external-secrets")
        .create(&PostParams::default(), &sa)
        .await
        .expect("create the ServiceAccount");
    let jwks: serde_json::Value = client
        .request(
            http::Request::get("/openid/v1/jwks")
                .body(Vec::new())
                .expect("request"),
        )
        .await
        .expect("JWKS of the API double");
    d.trust_issuer(api.service_account_issuer(), TrustedIssuerKeys::Jwks(jwks))
        .expect("trust");
    d.add_federated_credential(
        d.tenant_id(),
        WI_CLIENT,
        api.service_account_issuer(),
        SUBJECT,
        "api://AzureADTokenExchange",
    );
    (api, client)
}

#[tokio::test]
async fn adr_store_reads_crossplane_credentials_via_service_account_annotations() {
    let d = double();
    let credentials_json =
        r#"{"clientId":"x","clientSecret":"adr-canary","subscriptionId":"s","tenantId":"t"}"#;
    d.set_secret(
        "crossplane-azure-credentials",
        credentials_json,
        SecretOptions::default(),
    )
    .expect("seed");
    let annotations = BTreeMap::from([
        (ANNOTATION_CLIENT_ID.to_string(), WI_CLIENT.to_string()),
        (ANNOTATION_TENANT_ID.to_string(), d.tenant_id().to_string()),
    ]);
    let (_api, kube) = cluster(&d, annotations).await;

    let text = include_str!("../fixtures/adr-002-azure.yaml");
    let docs: Vec<_> = parse_documents("adr-002-azure.yaml", text)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("the ADR manifests parse");
    let store = docs
        .iter()
        .find_map(|doc| match &doc.resource {
            Resource::ClusterSecretStore(s) => Some(s.clone()),
            _ => None,
        })
        .expect("ClusterSecretStore azure-keyvault");
    let external_secret = docs
        .iter()
        .find_map(|doc| match &doc.resource {
            Resource::ExternalSecret(e) => Some(e.clone()),
            _ => None,
        })
        .expect("ExternalSecret azure-credentials");
    let mut azure = store
        .spec
        .store
        .provider
        .azurekv
        .clone()
        .expect("azurekv block");
    assert_eq!(azure.auth_type, AzureAuthType::WorkloadIdentity);
    // Patch only the vault URL and the authority (the double stands in for Azure).
    azure.vault_url = d.vault_url();
    azure.custom_cloud_config = Some(AzureCustomCloudConfig {
        active_directory_endpoint: d.authority_host(),
        ..AzureCustomCloudConfig::default()
    });
    let creds = kube_credentials(&kube, context("crossplane-system"));
    let p = AzureProvider::new(context("crossplane-system"), azure, creds, options(&d))
        .expect("provider");

    let remote = &external_secret.spec.data[0].remote_ref;
    assert_eq!(remote.key, "crossplane-azure-credentials");
    let got = p
        .fetch(&FetchRequest::from_remote_ref(remote))
        .await
        .expect("read");
    assert_eq!(got.value.expose_str(), Some(credentials_json));
    assert_eq!(d.token_requests().get(grant::FEDERATED), 1);
    assert_eq!(d.token_requests().failures, 0);
}

#[tokio::test]
async fn service_account_with_ids_from_auth_secret_ref() {
    let d = double();
    d.set_secret("wi-secret", "via-auth-secret-ref", SecretOptions::default())
        .expect("seed");
    let (_api, kube) = cluster(&d, BTreeMap::new()).await;
    create_secret(
        &kube,
        "external-secrets",
        "azure-ids",
        &[("client-id", WI_CLIENT), ("tenant-id", d.tenant_id())],
    )
    .await;
    let creds = kube_credentials(&kube, context("apps"));
    let mut s = spec(&d, AzureAuthType::WorkloadIdentity);
    s.service_account_ref = Some(ServiceAccountSelector {
        name: "external-secrets".into(),
        namespace: Some("external-secrets".into()),
        audiences: Vec::new(),
    });
    s.auth_secret_ref = Some(AzureKvAuth {
        client_id: Some(selector("external-secrets", "azure-ids", "client-id")),
        tenant_id: Some(selector("external-secrets", "azure-ids", "tenant-id")),
        ..AzureKvAuth::default()
    });
    let p = AzureProvider::new(context("apps"), s, creds, options(&d)).expect("provider");
    let got = p
        .fetch(&FetchRequest::latest("wi-secret"))
        .await
        .expect("read");
    assert_eq!(got.value.expose_str(), Some("via-auth-secret-ref"));
    assert_eq!(d.token_requests().get(grant::FEDERATED), 1);
}

#[tokio::test]
async fn client_id_in_both_annotation_and_auth_secret_ref_is_rejected() {
    let d = double();
    let annotations = BTreeMap::from([(ANNOTATION_CLIENT_ID.to_string(), WI_CLIENT.to_string())]);
    let (_api, kube) = cluster(&d, annotations).await;
    create_secret(
        &kube,
        "external-secrets",
        "azure-ids",
        &[("client-id", WI_CLIENT)],
    )
    .await;
    let creds = kube_credentials(&kube, context("apps"));
    let mut s = spec(&d, AzureAuthType::WorkloadIdentity);
    s.tenant_id = Some(d.tenant_id().into());
    s.service_account_ref = Some(ServiceAccountSelector {
        name: "external-secrets".into(),
        namespace: Some("external-secrets".into()),
        audiences: Vec::new(),
    });
    s.auth_secret_ref = Some(AzureKvAuth {
        client_id: Some(selector("external-secrets", "azure-ids", "client-id")),
        ..AzureKvAuth::default()
    });
    let p = AzureProvider::new(context("apps"), s, creds, options(&d)).expect("provider");
    let err = p
        .fetch(&FetchRequest::latest("anything"))
        .await
        .expect_err("conflict");
    assert_eq!(err.kind_label(), "InvalidStoreConfig", "{err}");
    assert!(err.to_string().contains(ANNOTATION_CLIENT_ID), "{err}");
    assert_eq!(d.token_requests().total(), 0);
}
