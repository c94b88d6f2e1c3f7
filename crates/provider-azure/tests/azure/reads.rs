//! Object types, versions, metadata, find, disabled secrets, throttling and token reuse.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use secretsync_model::providers::AzureAuthType;
use secretsync_model::{FetchRequest, FindRequest, SecretProvider};
use secretsync_provider_azure::AzureProvider;
use secretsync_testkit::azure::{
    AzureDouble, CertificateOptions, ClientCertificate, ManagedIdentity, SecretOptions, grant,
};

use crate::common::{double, no_credentials, options, provider, spec};

fn managed_identity_provider(d: &AzureDouble) -> AzureProvider {
    d.add_managed_identity(ManagedIdentity::SystemAssigned);
    provider(
        spec(d, AzureAuthType::ManagedIdentity),
        no_credentials(),
        options(d),
    )
}

fn request(key: &str, version: Option<&str>, metadata: bool) -> FetchRequest {
    FetchRequest {
        key: key.into(),
        version: version.map(str::to_string),
        metadata,
    }
}

#[tokio::test]
async fn secret_versions_and_metadata() {
    let d = double();
    let tags = BTreeMap::from([("team".to_string(), "platform".to_string())]);
    let v1 = d
        .set_secret("app", "first", SecretOptions::default())
        .expect("v1");
    d.set_secret(
        "app",
        "second",
        SecretOptions {
            tags,
            expires: Some(1_893_456_000),
            ..SecretOptions::default()
        },
    )
    .expect("v2");
    let p = managed_identity_provider(&d);

    assert_eq!(
        p.fetch(&request("app", None, false))
            .await
            .expect("latest")
            .value
            .expose_str(),
        Some("second")
    );
    let old = p
        .fetch(&request("secret/app", Some(&v1), false))
        .await
        .expect("v1");
    assert_eq!(old.value.expose_str(), Some("first"));
    assert_eq!(old.version.as_deref(), Some(v1.as_str()));

    let meta = p
        .fetch(&request("app", None, true))
        .await
        .expect("metadata");
    let json: serde_json::Value = serde_json::from_slice(meta.value.expose()).expect("JSON");
    assert_eq!(json["team"], "platform");
    assert_eq!(json["attribute.expires"], "2030-01-01T00:00:00Z");
    assert!(
        json["attribute.created"]
            .as_str()
            .is_some_and(|c| c.ends_with('Z')),
        "{json}"
    );
}

#[tokio::test]
async fn keys_are_jwk_json_and_certificates_der() {
    let d = double();
    d.set_key("signing", serde_json::json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "key_ops": ["sign", "verify"]})).expect("key");
    let cert = ClientCertificate::generate("served").expect("cert");
    d.set_certificate("tls", &cert.cert_der, CertificateOptions::default())
        .expect("cert");
    let p = managed_identity_provider(&d);

    let key = p
        .fetch(&request("key/signing", None, false))
        .await
        .expect("key");
    let jwk: serde_json::Value = serde_json::from_slice(key.value.expose()).expect("JWK JSON");
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert!(
        jwk["kid"]
            .as_str()
            .is_some_and(|k| k.contains("/keys/signing/")),
        "{jwk}"
    );
    assert!(
        key.value
            .expose_str()
            .is_some_and(|t| t.starts_with(r#"{"kid":"#)),
        "Go member order"
    );

    let der = p
        .fetch(&request("cert/tls", None, false))
        .await
        .expect("cert");
    assert_eq!(der.value.expose(), cert.cert_der.as_slice());
    let missing = p
        .fetch(&request("cert/nope", None, false))
        .await
        .expect_err("missing");
    assert_eq!(missing.kind_label(), "NotFound");
    assert!(
        missing
            .to_string()
            .contains("certificate \"nope\" in vault https://127.0.0.1:"),
        "{missing}"
    );
}

#[tokio::test]
async fn disabled_secrets_fail_clearly_and_are_skipped_by_find() {
    let d = double();
    d.set_secret(
        "db-a",
        "a",
        SecretOptions {
            tags: BTreeMap::from([("app".into(), "x".into())]),
            ..SecretOptions::default()
        },
    )
    .expect("a");
    d.set_secret("db-b", "b", SecretOptions::default())
        .expect("b");
    d.set_secret("db-off", "canary-disabled-value", SecretOptions::default())
        .expect("off");
    d.set_secret(
        "other",
        "o",
        SecretOptions {
            tags: BTreeMap::from([("app".into(), "x".into())]),
            ..SecretOptions::default()
        },
    )
    .expect("other");
    d.disable_secret("db-off", None).expect("disable");
    let p = managed_identity_provider(&d);

    let err = p
        .fetch(&request("db-off", None, false))
        .await
        .expect_err("disabled");
    assert_eq!(err.kind_label(), "PermissionDenied", "{err}");
    assert!(
        err.to_string().contains("\"db-off\"") && err.to_string().contains("disabled"),
        "{err}"
    );
    assert!(!err.to_string().contains("canary-disabled-value"));

    let by_name = p
        .find(&FindRequest {
            path: None,
            name_regexp: Some("^db-".into()),
            tags: BTreeMap::new(),
        })
        .await
        .expect("find");
    assert_eq!(by_name.keys().collect::<Vec<_>>(), ["db-a", "db-b"]);
    assert_eq!(by_name["db-a"].value.expose_str(), Some("a"));
    let by_tag = p
        .find(&FindRequest {
            path: None,
            name_regexp: None,
            tags: BTreeMap::from([("app".into(), "x".into())]),
        })
        .await
        .expect("find");
    assert_eq!(by_tag.keys().collect::<Vec<_>>(), ["db-a", "other"]);
}

#[tokio::test]
async fn find_follows_pages() {
    let d = double();
    for i in 0..60 {
        d.set_secret(
            &format!("bulk-{i:02}"),
            &format!("value-{i}"),
            SecretOptions::default(),
        )
        .expect("seed");
    }
    let p = managed_identity_provider(&d);
    let all = p
        .find(&FindRequest {
            path: None,
            name_regexp: Some("^bulk-".into()),
            tags: BTreeMap::new(),
        })
        .await
        .expect("find");
    assert_eq!(all.len(), 60);
    assert_eq!(all["bulk-59"].value.expose_str(), Some("value-59"));
    assert!(
        d.vault_requests().get("GetSecrets") >= 3,
        "25 per page: {:?}",
        d.vault_requests()
    );
}

/// Providers never sleep: a throttled read returns at once as `Throttled` with the vault's
/// `Retry-After` (the engine waits, without holding a slot), and the next read goes through.
#[tokio::test]
async fn throttling_is_reported_not_waited_out() {
    let d = double();
    d.set_secret("busy", "eventually", SecretOptions::default())
        .expect("seed");
    let p = managed_identity_provider(&d);
    p.fetch(&request("busy", None, false))
        .await
        .expect("warm up");
    d.throttle_next(1, 7);
    let err = tokio::time::timeout(
        Duration::from_secs(5),
        p.fetch(&request("busy", None, false)),
    )
    .await
    .expect("the provider does not wait out a 7 s Retry-After")
    .expect_err("throttled");
    assert_eq!(err.kind_label(), "Throttled", "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.to_string().contains("\"busy\""), "{err}");
    assert_eq!(
        d.vault_requests().throttled,
        1,
        "no retry inside the provider"
    );
    let got = p
        .fetch(&request("busy", None, false))
        .await
        .expect("the next read");
    assert_eq!(got.value.expose_str(), Some("eventually"));
}

#[tokio::test]
async fn five_hundred_reads_cost_one_token_sequentially_and_concurrently() {
    let d = double();
    d.set_secret("hot", "hot-value", SecretOptions::default())
        .expect("seed");
    let p = managed_identity_provider(&d);
    for _ in 0..500 {
        assert_eq!(
            p.fetch(&request("hot", None, false))
                .await
                .expect("read")
                .value
                .expose_str(),
            Some("hot-value")
        );
    }
    assert_eq!(d.token_requests().get(grant::MANAGED_IDENTITY), 1);

    // A fresh provider hit by 500 concurrent first reads: one challenge, one token.
    let p = Arc::new(managed_identity_provider(&d));
    d.reset_counters();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                p.fetch(&request("hot", None, false)).await.expect("read");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(
        d.token_requests().total(),
        1,
        "single-flight token acquisition"
    );
    assert_eq!(d.vault_requests().unauthorized, 1, "single challenge");
    assert_eq!(d.vault_requests().get("GetSecret"), 500);
}

#[tokio::test]
async fn wrong_cloud_is_reported_from_the_challenge() {
    let d = double();
    d.add_managed_identity(ManagedIdentity::SystemAssigned);
    d.set_secret("s", "v", SecretOptions::default())
        .expect("seed");
    let mut s = spec(&d, AzureAuthType::ManagedIdentity);
    s.environment_type = secretsync_model::providers::AzureEnvironmentType::ChinaCloud;
    let p = provider(s, no_credentials(), options(&d));
    let err = p
        .fetch(&request("s", None, false))
        .await
        .expect_err("resource mismatch");
    assert_eq!(err.kind_label(), "InvalidStoreConfig", "{err}");
    assert!(err.to_string().contains("https://vault.azure.cn"), "{err}");
    assert_eq!(
        d.token_requests().total(),
        0,
        "no token requested for the wrong audience"
    );
}

#[tokio::test]
async fn validate_authenticates_or_reports_referent_stores_unknown() {
    use secretsync_model::Validation;
    use secretsync_model::meta::ServiceAccountSelector;

    let d = double();
    let p = managed_identity_provider(&d);
    assert_eq!(p.validate().await.expect("validate"), Validation::Ready);
    assert_eq!(d.token_requests().get(grant::MANAGED_IDENTITY), 1);
    assert_eq!(d.vault_requests().get("GetSecrets"), 1);

    // A ClusterSecretStore whose ServiceAccount has no namespace depends on the reader.
    let mut s = spec(&d, AzureAuthType::WorkloadIdentity);
    s.service_account_ref = Some(ServiceAccountSelector {
        name: "reader-sa".into(),
        namespace: None,
        audiences: Vec::new(),
    });
    let mut ctx = crate::common::context("apps");
    ctx.reader_namespace = None;
    let referent = AzureProvider::new(ctx, s, no_credentials(), options(&d)).expect("provider");
    assert!(matches!(
        referent.validate().await,
        Ok(Validation::Unknown(_))
    ));
}

#[tokio::test]
async fn invalid_store_specs_name_the_field() {
    let d = double();
    let mut s = spec(&d, AzureAuthType::ServicePrincipal);
    let err = AzureProvider::new(
        crate::common::context("apps"),
        s.clone(),
        no_credentials(),
        options(&d),
    )
    .expect_err("no tenant");
    assert!(
        err.to_string().contains("spec.provider.azurekv.tenantId"),
        "{err}"
    );
    s.tenant_id = Some("t".into());
    let err = AzureProvider::new(
        crate::common::context("apps"),
        s.clone(),
        no_credentials(),
        options(&d),
    )
    .expect_err("no authSecretRef");
    assert!(
        err.to_string()
            .contains("spec.provider.azurekv.authSecretRef"),
        "{err}"
    );
    s.vault_url = "http://127.0.0.1:1/".into();
    let err = AzureProvider::new(
        crate::common::context("apps"),
        s,
        no_credentials(),
        options(&d),
    )
    .expect_err("plain http vault");
    assert!(
        err.to_string().contains("spec.provider.azurekv.vaultUrl"),
        "{err}"
    );
    let err = AzureProvider::new(
        crate::common::context("apps"),
        spec(&d, AzureAuthType::WorkloadIdentity),
        no_credentials(),
        options(&d),
    )
    .expect_err("no serviceAccountRef and no operator identity");
    assert!(err.to_string().contains("serviceAccountRef"), "{err}");
}
