//! Auth methods against a real OpenBao dev server: token, AppRole, userpass, TLS cert, the
//! CLI environment token, and clear errors for wrong credentials and unsupported methods.

use crate::support;

use std::sync::Arc;

use base64::Engine;
use secretsync_model::ProviderError;
use secretsync_model::meta::{CaProvider, CaProviderKind};
use secretsync_model::provider::{FetchRequest, SecretProvider, Validation};
use secretsync_model::providers::{VaultAppRole, VaultAuth, VaultCertAuth, VaultUserPassAuth};
use secretsync_provider_support::AmbientIdentity;
use secretsync_provider_vault::{VaultOptions, VaultProvider};
use serde_json::json;
use support::*;

async fn seeded(bao: &Bao) {
    bao.enable_kv("kv2", 2).await;
    bao.put_v2("kv2", "app/cfg", json!({"hello": "world"}))
        .await;
    bao.put_policy("reader", &read_policy("kv2")).await;
}

async fn assert_reads(p: &VaultProvider) {
    let got = p
        .fetch(&FetchRequest::latest("app/cfg"))
        .await
        .expect("read");
    assert_eq!(json(&got.value), json!({"hello": "world"}));
    assert_eq!(p.validate().await.expect("validate"), Validation::Ready);
}

#[tokio::test]
async fn token_auth_reads_and_wrong_token_is_denied() {
    let bao = Bao::start().await;
    seeded(&bao).await;
    let (auth, creds) = root_token_auth(&bao);
    let p = provider("token", spec(&bao, "kv2", true, auth.clone()), creds);
    assert_reads(&p).await;
    assert_eq!(p.login_count(), 0, "a static token needs no login");

    let creds = credentials(&[("vault-token", &[("token", "s.not-a-real-token")])]);
    let p = provider("bad-token", spec(&bao, "kv2", true, auth), creds);
    let err = p
        .fetch(&FetchRequest::latest("app/cfg"))
        .await
        .expect_err("denied");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");
    assert!(err.to_string().contains("app/cfg"), "{err}");
    assert!(!err.to_string().contains("not-a-real-token"), "{err}");
}

#[tokio::test]
async fn approle_with_role_id_or_role_ref_and_wrong_secret_id() {
    let bao = Bao::start().await;
    seeded(&bao).await;
    let (role_id, secret_id) = approle(&bao, None, "reader", "reader").await;

    let auth = |role_id: Option<String>, role_ref| VaultAuth {
        app_role: Some(VaultAppRole {
            path: "approle".into(),
            role_id,
            role_ref,
            secret_ref: secret_ref("approle", Some("secret-id")),
        }),
        ..VaultAuth::default()
    };
    let creds = |secret: &str| {
        credentials(&[(
            "approle",
            &[("secret-id", secret), ("role-id", role_id.as_str())],
        )])
    };
    let p = provider(
        "approle",
        spec(&bao, "kv2", true, auth(Some(role_id.clone()), None)),
        creds(&secret_id),
    );
    assert_reads(&p).await;
    assert_eq!(p.login_count(), 1);

    let p = provider(
        "approle-ref",
        spec(
            &bao,
            "kv2",
            true,
            auth(None, Some(secret_ref("approle", Some("role-id")))),
        ),
        creds(&secret_id),
    );
    assert_reads(&p).await;

    let p = provider(
        "approle-bad",
        spec(&bao, "kv2", true, auth(Some(role_id.clone()), None)),
        creds("00000000-0000-0000-0000-000000000000"),
    );
    let err = p
        .fetch(&FetchRequest::latest("app/cfg"))
        .await
        .expect_err("denied");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");
    assert!(
        err.to_string().contains("approle login at auth/approle"),
        "{err}"
    );
}

#[tokio::test]
async fn userpass_logs_in_and_wrong_password_is_denied() {
    let bao = Bao::start().await;
    seeded(&bao).await;
    bao.api("POST", "sys/auth/up", Some(json!({"type": "userpass"})))
        .await;
    bao.api(
        "POST",
        "auth/up/users/alice",
        Some(json!({"password": "correct horse", "token_policies": ["reader"]})),
    )
    .await;
    let auth = VaultAuth {
        user_pass: Some(VaultUserPassAuth {
            path: "up".into(),
            username: "alice".into(),
            secret_ref: secret_ref("alice", Some("password")),
        }),
        ..VaultAuth::default()
    };
    let p = provider(
        "userpass",
        spec(&bao, "kv2", true, auth.clone()),
        credentials(&[("alice", &[("password", "correct horse")])]),
    );
    assert_reads(&p).await;
    assert_eq!(p.login_count(), 1);

    let p = provider(
        "userpass-bad",
        spec(&bao, "kv2", true, auth),
        credentials(&[("alice", &[("password", "battery staple")])]),
    );
    let err = p.validate().await.expect_err("denied");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");
    assert!(err.to_string().contains("\"alice\""), "{err}");
    assert!(!err.to_string().contains("battery"), "{err}");
}

/// Issues a client certificate from a PKI mount; returns (ca, cert, key) PEMs.
async fn client_certificate(bao: &Bao) -> (String, String, String) {
    bao.api("POST", "sys/mounts/pki", Some(json!({"type": "pki"})))
        .await;
    let root = bao
        .api(
            "POST",
            "pki/root/generate/internal",
            Some(json!({"common_name": "client-ca", "ttl": "24h"})),
        )
        .await;
    let ca = root["data"]["certificate"]
        .as_str()
        .expect("ca")
        .to_string();
    bao.api(
        "POST",
        "pki/roles/client",
        Some(json!({"allow_any_name": true, "client_flag": true, "server_flag": false, "key_type": "ec", "key_bits": 256})),
    )
    .await;
    let issued = bao
        .api(
            "POST",
            "pki/issue/client",
            Some(json!({"common_name": "secretsync", "ttl": "1h", "private_key_format": "pkcs8"})),
        )
        .await;
    (
        ca,
        issued["data"]["certificate"]
            .as_str()
            .expect("cert")
            .to_string(),
        issued["data"]["private_key"]
            .as_str()
            .expect("key")
            .to_string(),
    )
}

#[tokio::test]
async fn tls_cert_auth_logs_in_with_the_client_certificate() {
    let bao = Bao::start_tls().await;
    seeded(&bao).await;
    let (client_ca, cert, key) = client_certificate(&bao).await;
    bao.api("POST", "sys/auth/cert", Some(json!({"type": "cert"})))
        .await;
    bao.api(
        "POST",
        "auth/cert/certs/sync",
        Some(json!({"certificate": client_ca, "token_policies": ["reader"]})),
    )
    .await;
    let auth = VaultAuth {
        cert: Some(VaultCertAuth {
            path: String::new(),
            vault_role: Some("sync".into()),
            client_cert: secret_ref("client-tls", None),
            secret_ref: secret_ref("client-tls", None),
        }),
        ..VaultAuth::default()
    };
    let mut s = spec(&bao, "kv2", true, auth.clone());
    s.ca_bundle = Some(base64::engine::general_purpose::STANDARD.encode(bao.ca_pem()));
    let p = provider(
        "cert",
        s.clone(),
        credentials(&[("client-tls", &[("tls.crt", &cert), ("tls.key", &key)])]),
    );
    assert_reads(&p).await;
    assert_eq!(p.login_count(), 1);

    // a certificate the method does not trust is refused
    bao.api(
        "POST",
        "auth/cert/certs/sync",
        Some(json!({"certificate": String::from_utf8(bao.ca_pem()).expect("pem"), "token_policies": ["reader"]})),
    )
    .await;
    let p = provider(
        "cert-untrusted",
        s,
        credentials(&[("client-tls", &[("tls.crt", &cert), ("tls.key", &key)])]),
    );
    let err = p.validate().await.expect_err("refused");
    assert!(matches!(err, ProviderError::PermissionDenied(_)), "{err}");
}

#[tokio::test]
async fn tls_ca_bundle_ca_provider_and_untrusted_server() {
    let bao = Bao::start_tls().await;
    seeded(&bao).await;
    let ca_pem = String::from_utf8(bao.ca_pem()).expect("pem");

    // caBundle (base64 PEM in the spec)
    let (auth, creds) = root_token_auth(&bao);
    let mut s = spec(&bao, "kv2", true, auth.clone());
    s.ca_bundle = Some(base64::engine::general_purpose::STANDARD.encode(&ca_pem));
    assert_reads(&provider("ca-bundle", s, creds)).await;

    // caProvider: ConfigMap
    let (_, mut creds) = root_token_auth(&bao);
    creds.add_config_map(
        Some(NS.into()),
        "vault-ca",
        [("ca.crt".to_string(), ca_pem.clone())].into(),
    );
    let mut s = spec(&bao, "kv2", true, auth.clone());
    s.ca_provider = Some(CaProvider {
        kind: CaProviderKind::ConfigMap,
        name: "vault-ca".into(),
        key: Some("ca.crt".into()),
        namespace: None,
    });
    assert_reads(&provider("ca-configmap", s, creds)).await;

    // extra roots from the process options
    let (_, creds) = root_token_auth(&bao);
    let options = VaultOptions {
        extra_root_certificates_pem: vec![bao.ca_pem()],
        ..VaultOptions::default()
    };
    let p = VaultProvider::new(
        context("extra-roots"),
        spec(&bao, "kv2", true, auth.clone()),
        Arc::new(creds),
        options,
    )
    .expect("provider");
    assert_reads(&p).await;

    // no CA: the dev certificate is not trusted
    let (_, creds) = root_token_auth(&bao);
    let p = provider("untrusted", spec(&bao, "kv2", true, auth.clone()), creds);
    let err = p
        .fetch(&FetchRequest::latest("app/cfg"))
        .await
        .expect_err("untrusted");
    assert!(matches!(err, ProviderError::InvalidStoreConfig(_)), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");

    // a different CA is not trusted either
    let other = Bao::start_tls().await;
    let (_, creds) = root_token_auth(&bao);
    let mut s = spec(&bao, "kv2", true, auth);
    s.ca_bundle = Some(base64::engine::general_purpose::STANDARD.encode(other.ca_pem()));
    let err = provider("wrong-ca", s, creds)
        .fetch(&FetchRequest::latest("app/cfg"))
        .await
        .expect_err("wrong CA");
    assert!(matches!(err, ProviderError::InvalidStoreConfig(_)), "{err}");
}

#[tokio::test]
async fn environment_token_only_when_enabled() {
    let bao = Bao::start().await;
    seeded(&bao).await;
    let mut s = spec(&bao, "kv2", true, VaultAuth::default());
    s.auth = None;
    let err = VaultProvider::new(
        context("env"),
        s.clone(),
        Arc::new(credentials(&[])),
        VaultOptions::default(),
    )
    .expect_err("no auth without the CLI option");
    assert!(matches!(err, ProviderError::InvalidStoreConfig(_)), "{err}");
    assert!(
        err.to_string().contains("spec.provider.vault.auth"),
        "{err}"
    );

    let options = VaultOptions {
        environment_token: Some(bao.root_token().into()),
        ..VaultOptions::default()
    };
    // The environment's token is the operator's (or CLI user's) identity: ClusterSecretStores
    // only, unless the options allow every store (the CLI does).
    let err = VaultProvider::new(
        context("env"),
        s.clone(),
        Arc::new(credentials(&[])),
        options.clone(),
    )
    .expect_err("a SecretStore may not use the environment's token");
    assert!(matches!(err, ProviderError::InvalidStoreConfig(_)), "{err}");
    assert!(
        err.to_string()
            .contains("SecretStore team/env: spec.provider.vault.auth"),
        "{err}"
    );
    let p = VaultProvider::new(
        cluster_context("env"),
        s.clone(),
        Arc::new(credentials(&[])),
        options.clone(),
    )
    .expect("provider");
    assert_reads(&p).await;
    let any_store = VaultOptions {
        ambient_identity: AmbientIdentity::AnyStore,
        ..options
    };
    let p = VaultProvider::new(context("env"), s, Arc::new(credentials(&[])), any_store)
        .expect("provider");
    assert_reads(&p).await;
}

#[test]
fn unsupported_methods_are_named() {
    for (method, auth) in [
        (
            "ldap",
            VaultAuth {
                ldap: Some(VaultUserPassAuth::default()),
                ..VaultAuth::default()
            },
        ),
        (
            "iam",
            VaultAuth {
                iam: Some(json!({})),
                ..VaultAuth::default()
            },
        ),
        (
            "gcp",
            VaultAuth {
                gcp: Some(json!({})),
                ..VaultAuth::default()
            },
        ),
    ] {
        let s = secretsync_model::providers::VaultSpec {
            server: "http://127.0.0.1:1".into(),
            auth: Some(auth),
            ..Default::default()
        };
        let err = VaultProvider::new(
            context("unsupported"),
            s,
            Arc::new(credentials(&[])),
            VaultOptions::default(),
        )
        .expect_err("unsupported");
        assert!(matches!(err, ProviderError::Unsupported(_)), "{err}");
        assert!(err.to_string().contains(&format!("auth.{method}")), "{err}");
    }
}

#[test]
fn bad_server_url_is_rejected_without_io() {
    let auth = VaultAuth {
        token_secret_ref: Some(secret_ref("vault-token", None)),
        ..VaultAuth::default()
    };
    let creds = credentials(&[]);
    let s = secretsync_model::providers::VaultSpec {
        server: "vault:8200".into(),
        auth: Some(auth),
        ..Default::default()
    };
    let err = VaultProvider::new(context("url"), s, Arc::new(creds), VaultOptions::default())
        .expect_err("bad URL");
    assert!(
        err.to_string().contains("spec.provider.vault.server"),
        "{err}"
    );
}
