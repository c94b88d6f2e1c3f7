//! Wire-level tests of the double's authentication with plain reqwest: the Key Vault challenge,
//! token issue and validation, AADSTS errors, federated and certificate assertions, managed
//! identity endpoints.

use crate::azure_common;

use std::time::Duration;

use azure_common::{CLIENT, SECRET, http, start, token_response, vault_get, vault_token};
use reqwest::StatusCode;
use secretsync_testkit::azure::{SecretOptions, TrustedIssuerKeys, grant};
use serde_json::{Value, json};

#[tokio::test]
async fn unauthenticated_request_gets_the_key_vault_challenge() {
    let double = start();
    let resp = http(&double)
        .get(format!(
            "{}secrets/x?api-version=2025-07-01",
            double.vault_url()
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(
        challenge,
        format!(
            "Bearer authorization=\"{}/{}\", resource=\"https://vault.azure.net\"",
            double.authority_host(),
            double.tenant_id()
        )
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": {"code": "Unauthorized", "message": "Request is missing a Bearer or PoP token."}})
    );
    assert_eq!(double.vault_requests().unauthorized, 1);
    assert_eq!(double.vault_requests().total(), 0);
}

#[tokio::test]
async fn client_secret_token_reads_a_secret_and_is_counted() {
    let double = start();
    let version = double
        .set_secret("db-password", "hunter2", SecretOptions::default())
        .expect("set");
    let (status, body) =
        token_response(&double, CLIENT, SECRET, "https://vault.azure.net/.default").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["ext_expires_in"], 3600);
    let token = body["access_token"].as_str().expect("token");
    for _ in 0..5 {
        let (status, _, secret) =
            vault_get(&double, token, "/secrets/db-password?api-version=7.4").await;
        assert_eq!(status, StatusCode::OK, "{secret}");
        assert_eq!(secret["value"], "hunter2");
        assert_eq!(
            secret["id"],
            format!("{}secrets/db-password/{version}", double.vault_url())
        );
        assert_eq!(secret["attributes"]["enabled"], true);
        assert_eq!(
            secret["attributes"]["recoveryLevel"],
            "Recoverable+Purgeable"
        );
    }
    assert_eq!(double.token_requests().get(grant::CLIENT_SECRET), 1);
    assert_eq!(double.token_requests().total(), 1);
    assert_eq!(double.vault_requests().get("GetSecret"), 5);
    double.reset_counters();
    assert_eq!(double.vault_requests().total(), 0);
    assert_eq!(double.token_requests().total(), 0);
}

#[tokio::test]
async fn token_endpoint_errors_follow_aadsts_shapes() {
    let double = start();
    let (status, body) =
        token_response(&double, CLIENT, "wrong", "https://vault.azure.net/.default").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    let description = body["error_description"].as_str().expect("description");
    assert!(
        description.starts_with("AADSTS7000215: Invalid client secret provided."),
        "{description}"
    );
    assert!(
        !description.contains("wrong"),
        "the presented secret must not be echoed"
    );
    for field in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[field].is_string(), "missing {field} in {body}");
    }

    let (status, body) = token_response(
        &double,
        "unknown-app",
        SECRET,
        "https://vault.azure.net/.default",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(body["error_codes"], json!([700016]));

    let (status, body) = token_response(&double, CLIENT, SECRET, "https://vault.azure.net").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");

    let resp = http(&double)
        .post(double.token_endpoint("no-such-tenant"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", "https://vault.azure.net/.default"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error_codes"], json!([90002]));
    assert_eq!(double.token_requests().failures, 4);
}

#[tokio::test]
async fn vault_rejects_bad_tokens_with_a_challenge() {
    let double = start();
    double
        .set_secret("a", "1", SecretOptions::default())
        .expect("set");
    // wrong audience
    let (_, body) = token_response(
        &double,
        CLIENT,
        SECRET,
        "https://storage.azure.com/.default",
    )
    .await;
    let storage_token = body["access_token"].as_str().expect("token").to_string();
    let (status, headers, body) =
        vault_get(&double, &storage_token, "/secrets/a?api-version=7.4").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key("www-authenticate"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("AKV10022"),
        "{body}"
    );
    // tampered signature
    let token = vault_token(&double).await;
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    let (status, _, _) = vault_get(&double, &tampered, "/secrets/a?api-version=7.4").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // a token from another issuer entirely
    let foreign =
        secretsync_testkit::azure::TestIssuer::generate("https://evil.example").expect("issuer");
    let forged = foreign
        .token("x", "https://vault.azure.net", 600)
        .expect("sign");
    let (status, _, _) = vault_get(&double, &forged, "/secrets/a?api-version=7.4").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // expired: lifetime 0 means exp == iat
    double.set_token_lifetime(Duration::ZERO);
    let expired = vault_token(&double).await;
    let (status, _, body) = vault_get(&double, &expired, "/secrets/a?api-version=7.4").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // the good token still works
    let (status, _, _) = vault_get(&double, &token, "/secrets/a?api-version=7.4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(double.vault_requests().unauthorized, 4);
}

#[tokio::test]
async fn federated_assertions_are_matched_and_verified() {
    let double = start();
    let tenant = double.tenant_id().to_string();
    let issuer = secretsync_testkit::azure::TestIssuer::generate("https://kubernetes.default.svc")
        .expect("issuer");
    let subject = "system:serviceaccount:ns:sa";
    double.add_federated_credential(
        &tenant,
        "wi-app",
        issuer.issuer(),
        subject,
        "api://AzureADTokenExchange",
    );
    double
        .trust_issuer(issuer.issuer(), TrustedIssuerKeys::Jwks(issuer.jwks()))
        .expect("trust");
    let exchange = |assertion: String| {
        let double = &double;
        async move {
            let resp = http(double)
                .post(double.token_endpoint(double.tenant_id()))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "wi-app"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                    ("scope", "https://vault.azure.net/.default"),
                ])
                .send()
                .await
                .expect("token");
            let status = resp.status();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = exchange(
        issuer
            .token(subject, "api://AzureADTokenExchange", 600)
            .expect("sign"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = exchange(
        issuer
            .token(
                "system:serviceaccount:ns:other",
                "api://AzureADTokenExchange",
                600,
            )
            .expect("sign"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"], json!([70021]));
    let (status, body) = exchange(
        issuer
            .token(subject, "api://AzureADTokenExchange", -10)
            .expect("sign"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error_codes"], json!([700024]));
    let impostor =
        secretsync_testkit::azure::TestIssuer::generate(issuer.issuer()).expect("issuer");
    let (status, body) = exchange(
        impostor
            .token(subject, "api://AzureADTokenExchange", 600)
            .expect("sign"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([50013]));
    // a PEM public key works as trust root too
    double
        .trust_issuer(
            issuer.issuer(),
            TrustedIssuerKeys::PublicKeyPem(issuer.public_key_pem().expect("pem")),
        )
        .expect("trust");
    let (status, _) = exchange(
        issuer
            .token(subject, "api://AzureADTokenExchange", 600)
            .expect("sign"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(double.token_requests().get(grant::FEDERATED), 5);
}

#[tokio::test]
async fn certificate_assertions_are_verified_against_the_registered_certificate() {
    let double = start();
    let cert = secretsync_testkit::azure::ClientCertificate::generate("cert-app").expect("cert");
    let other = secretsync_testkit::azure::ClientCertificate::generate("other").expect("cert");
    double
        .add_client_certificate(double.tenant_id(), "cert-app", &cert.cert_pem)
        .expect("register");
    let endpoint = double.token_endpoint(double.tenant_id());
    let exchange = |assertion: String| {
        let double = &double;
        let endpoint = endpoint.clone();
        async move {
            let resp = http(double)
                .post(endpoint)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "cert-app"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                    ("scope", "https://vault.azure.net/.default"),
                ])
                .send()
                .await
                .expect("token");
            let status = resp.status();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = exchange(
        cert.client_assertion("cert-app", &endpoint)
            .expect("assertion"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = exchange(
        other
            .client_assertion("cert-app", &endpoint)
            .expect("assertion"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([700027]));
    let (status, _) = exchange(
        cert.client_assertion("cert-app", "https://elsewhere/token")
            .expect("assertion"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(double.token_requests().get(grant::CLIENT_CERTIFICATE), 3);
}

#[tokio::test]
async fn managed_identity_endpoints_need_their_headers() {
    let double = start();
    double.add_managed_identity(secretsync_testkit::azure::ManagedIdentity::UserAssigned {
        client_id: "mi-1".into(),
    });
    let client = http(&double);
    let imds = format!(
        "{}/metadata/identity/oauth2/token",
        double.managed_identity_endpoint()
    );
    let query = [
        ("api-version", "2018-02-01"),
        ("resource", "https://vault.azure.net"),
        ("client_id", "mi-1"),
    ];
    let resp = client.get(&imds).query(&query).send().await.expect("imds");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = client
        .get(&imds)
        .query(&query)
        .header("Metadata", "true")
        .send()
        .await
        .expect("imds");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert!(body["expires_on"].is_string() && body["expires_in"].is_string());
    let token = body["access_token"].as_str().expect("token").to_string();
    double
        .set_secret("mi", "ok", SecretOptions::default())
        .expect("set");
    let (status, _, _) = vault_get(&double, &token, "/secrets/mi?api-version=7.4").await;
    assert_eq!(status, StatusCode::OK);
    // system-assigned is not registered
    let resp = client
        .get(&imds)
        .query(&query[..2])
        .header("Metadata", "true")
        .send()
        .await
        .expect("imds");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // App Service style
    let app = [
        ("api-version", "2019-08-01"),
        ("resource", "https://vault.azure.net"),
        ("client_id", "mi-1"),
    ];
    let resp = client
        .get(double.app_service_identity_endpoint())
        .query(&app)
        .send()
        .await
        .expect("msi");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = client
        .get(double.app_service_identity_endpoint())
        .query(&app)
        .header("X-IDENTITY-HEADER", double.identity_header())
        .send()
        .await
        .expect("msi");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(double.token_requests().get(grant::MANAGED_IDENTITY), 5);
}

#[tokio::test]
async fn discovery_documents_point_back_at_the_double() {
    let double = start();
    let client = http(&double);
    let tenant = double.tenant_id().to_string();
    let oidc: Value = client
        .get(format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            double.authority_host()
        ))
        .send()
        .await
        .expect("oidc")
        .json()
        .await
        .expect("json");
    assert_eq!(oidc["token_endpoint"], double.token_endpoint(&tenant));
    assert_eq!(
        oidc["authorization_endpoint"],
        format!("{}/{tenant}/oauth2/v2.0/authorize", double.authority_host())
    );
    let jwks: Value = client
        .get(oidc["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(jwks, double.token_signing_jwks());
    let discovery: Value = client
        .get(format!(
            "{}/common/discovery/instance",
            double.authority_host()
        ))
        .query(&[
            ("api-version", "1.1"),
            (
                "authorization_endpoint",
                &format!("{}/{tenant}/oauth2/v2.0/authorize", double.authority_host()),
            ),
        ])
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(
        discovery["tenant_discovery_endpoint"],
        format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            double.authority_host()
        )
    );
    let unknown = client
        .get(format!(
            "{}/other-tenant/v2.0/.well-known/openid-configuration",
            double.authority_host()
        ))
        .send()
        .await
        .expect("oidc");
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rs256_issuer_like_kubernetes_verifies_by_jwks_and_pem() {
    let double = start();
    let tenant = double.tenant_id().to_string();
    let issuer = secretsync_testkit::azure::TestIssuer::generate_rsa(
        "https://kubernetes.default.svc.cluster.local",
    )
    .expect("issuer");
    let subject = "system:serviceaccount:ns:rsa";
    double.add_federated_credential(
        &tenant,
        "rsa-app",
        issuer.issuer(),
        subject,
        "api://AzureADTokenExchange",
    );
    let exchange = |assertion: String| {
        let double = &double;
        async move {
            http(double)
                .post(double.token_endpoint(double.tenant_id()))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "rsa-app"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                    ("scope", "https://vault.azure.net/.default"),
                ])
                .send()
                .await
                .expect("token")
                .status()
        }
    };
    let token = issuer
        .token(subject, "api://AzureADTokenExchange", 600)
        .expect("sign");
    // no keys configured for the issuer yet
    assert_eq!(exchange(token.clone()).await, StatusCode::BAD_REQUEST);
    double
        .trust_issuer(issuer.issuer(), TrustedIssuerKeys::Jwks(issuer.jwks()))
        .expect("trust");
    assert_eq!(exchange(token.clone()).await, StatusCode::OK);
    let pem = issuer.public_key_pem().expect("pem");
    double
        .trust_issuer(issuer.issuer(), TrustedIssuerKeys::PublicKeyPem(pem))
        .expect("trust");
    assert_eq!(exchange(token).await, StatusCode::OK);
    let other =
        secretsync_testkit::azure::TestIssuer::generate_rsa(issuer.issuer()).expect("issuer");
    let forged = other
        .token(subject, "api://AzureADTokenExchange", 600)
        .expect("sign");
    assert_eq!(exchange(forged).await, StatusCode::UNAUTHORIZED);
}
