//! Wire-level tests of the Azure double with plain reqwest: challenge, token issue and
//! validation, secrets CRUD, paging, versions, disabled secrets, throttling, api-version checks.

use std::time::Duration;

use reqwest::StatusCode;
use secretsync_testkit::azure::{
    AzureDouble, AzureDoubleOptions, SecretOptions, TrustedIssuerKeys, grant,
};
use serde_json::{Value, json};

const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const SECRET: &str = "s3cr3t-client-value";

fn start() -> AzureDouble {
    let double = AzureDouble::start(AzureDoubleOptions::default()).expect("start the double");
    double.add_client_secret(double.tenant_id(), CLIENT, SECRET);
    double
}

fn http(double: &AzureDouble) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(double.ca_pem().as_bytes()).expect("CA PEM");
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client")
}

async fn token_response(
    double: &AzureDouble,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> (StatusCode, Value) {
    let resp = http(double)
        .post(double.token_endpoint(double.tenant_id()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token request");
    let status = resp.status();
    (status, resp.json().await.expect("token JSON"))
}

async fn vault_token(double: &AzureDouble) -> String {
    let (status, body) =
        token_response(double, CLIENT, SECRET, "https://vault.azure.net/.default").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

async fn vault_get(
    double: &AzureDouble,
    token: &str,
    path_and_query: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let url = format!(
        "{}{}",
        double.vault_url().trim_end_matches('/'),
        path_and_query
    );
    let resp = http(double)
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("vault request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

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
async fn api_version_is_required_and_checked() {
    let double = start();
    double
        .set_secret("a", "1", SecretOptions::default())
        .expect("set");
    let token = vault_token(&double).await;
    let (status, _, body) = vault_get(&double, &token, "/secrets/a").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BadParameter");
    let (status, _, body) = vault_get(&double, &token, "/secrets/a?api-version=9.9").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "The specified version (9.9) is not recognized. Consider using the latest supported version (2025-07-01)."
    );
    for v in ["7.4", "7.5", "7.6", "2025-07-01"] {
        let (status, _, _) =
            vault_get(&double, &token, &format!("/secrets/a?api-version={v}")).await;
        assert_eq!(status, StatusCode::OK, "api-version {v}");
    }
}

#[tokio::test]
async fn missing_and_disabled_secrets_use_service_errors() {
    let double = start();
    let v1 = double
        .set_secret("s", "one", SecretOptions::default())
        .expect("set");
    double
        .set_secret("s", "two", SecretOptions::default())
        .expect("set");
    double.disable_secret("s", None).expect("disable");
    let token = vault_token(&double).await;
    let (status, _, body) = vault_get(&double, &token, "/secrets/s?api-version=7.4").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"error": {"code": "Forbidden", "message": "Operation get is not allowed on a disabled secret.", "innererror": {"code": "SecretDisabled"}}})
    );
    // the older version stays readable
    let (status, _, body) =
        vault_get(&double, &token, &format!("/secrets/s/{v1}?api-version=7.4")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"], "one");
    double.enable_secret("s", None).expect("enable");
    let (_, _, body) = vault_get(&double, &token, "/secrets/s/?api-version=7.4").await;
    assert_eq!(body["value"], "two");

    let (status, _, body) = vault_get(&double, &token, "/secrets/nope?api-version=7.4").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "SecretNotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("A secret with (name/id) nope was not found in this key vault.")
    );
    let (status, _, _) = vault_get(&double, &token, "/secrets/bad_name?api-version=7.4").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn list_pages_with_next_link_and_never_returns_values() {
    let double = start();
    for i in 0..7 {
        double
            .set_secret(
                &format!("s{i}"),
                &format!("value-{i}"),
                SecretOptions::default(),
            )
            .expect("set");
    }
    let token = vault_token(&double).await;
    let client = http(&double);
    let mut url = format!("{}secrets?api-version=7.4&maxresults=3", double.vault_url());
    let mut pages = Vec::new();
    loop {
        let body: Value = client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let items = body["value"].as_array().expect("value").clone();
        for item in &items {
            assert!(
                item.get("value").is_none(),
                "list items carry no value: {item}"
            );
            assert!(
                item["id"]
                    .as_str()
                    .expect("id")
                    .starts_with(&format!("{}secrets/s", double.vault_url()))
            );
        }
        pages.push(items.len());
        match body["nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => {
                assert!(body["nextLink"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, vec![3, 3, 1]);
    assert_eq!(double.vault_requests().get("GetSecrets"), 3);
    let (status, _, _) = vault_get(&double, &token, "/secrets?api-version=7.4&maxresults=26").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn versions_are_listed_and_addressable() {
    let double = start();
    let mut ids = Vec::new();
    for v in ["a", "b", "c"] {
        ids.push(
            double
                .set_secret("multi", v, SecretOptions::default())
                .expect("set"),
        );
    }
    let token = vault_token(&double).await;
    let (status, _, body) = vault_get(
        &double,
        &token,
        "/secrets/multi/versions?api-version=7.4&maxresults=2",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"].as_array().map(Vec::len), Some(2));
    assert!(body["nextLink"].is_string());
    let first_id = body["value"][0]["id"].as_str().expect("id");
    assert!(first_id.ends_with(&format!("/secrets/multi/{}", ids[0])));
    for (id, expected) in ids.iter().zip(["a", "b", "c"]) {
        let (_, _, body) = vault_get(
            &double,
            &token,
            &format!("/secrets/multi/{id}?api-version=7.4"),
        )
        .await;
        assert_eq!(body["value"], expected);
    }
    let (_, _, latest) = vault_get(&double, &token, "/secrets/multi?api-version=7.4").await;
    assert_eq!(latest["value"], "c");
    let (status, _, body) = vault_get(
        &double,
        &token,
        "/secrets/multi/00000000000000000000000000000000?api-version=7.4",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "SecretNotFound");
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_then_recovers() {
    let double = start();
    double
        .set_secret("t", "v", SecretOptions::default())
        .expect("set");
    let token = vault_token(&double).await;
    double.throttle_next(2, 1);
    for _ in 0..2 {
        let (status, headers, body) =
            vault_get(&double, &token, "/secrets/t?api-version=7.4").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers["retry-after"], "1");
        assert_eq!(body["error"]["code"], "Throttled");
    }
    let (status, _, _) = vault_get(&double, &token, "/secrets/t?api-version=7.4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(double.vault_requests().throttled, 2);
    assert_eq!(double.vault_requests().get("GetSecret"), 1);
}

#[tokio::test]
async fn set_update_delete_round_trip_over_http() {
    let double = start();
    let token = vault_token(&double).await;
    let client = http(&double);
    let base = double.vault_url();
    let set: Value = client
        .put(format!("{base}secrets/new?api-version=2025-07-01"))
        .bearer_auth(&token)
        .json(&json!({"value": "v1", "contentType": "text/plain", "tags": {"team": "a"}}))
        .send()
        .await
        .expect("put")
        .json()
        .await
        .expect("json");
    assert_eq!(set["value"], "v1");
    assert_eq!(set["tags"], json!({"team": "a"}));
    let id = set["id"].as_str().expect("id");
    let version = id.rsplit('/').next().expect("version");
    assert_eq!(version.len(), 32);
    let patched = client
        .patch(format!(
            "{base}secrets/new/{version}?api-version=2025-07-01"
        ))
        .bearer_auth(&token)
        .json(&json!({"attributes": {"enabled": false}, "tags": {"team": "b"}}))
        .send()
        .await
        .expect("patch");
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.expect("json");
    assert_eq!(patched["attributes"]["enabled"], false);
    assert!(patched.get("value").is_none());
    let deleted: Value = client
        .delete(format!("{base}secrets/new?api-version=2025-07-01"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete")
        .json()
        .await
        .expect("json");
    assert_eq!(deleted["recoveryId"], format!("{base}deletedsecrets/new"));
    assert!(deleted["scheduledPurgeDate"].is_i64());
    let (status, _, _) = vault_get(&double, &token, "/secrets/new?api-version=7.4").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = vault_get(&double, &token, "/deletedsecrets/new?api-version=7.4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tags"], json!({"team": "b"}));
    let conflict = client
        .put(format!("{base}secrets/new?api-version=7.4"))
        .bearer_auth(&token)
        .json(&json!({"value": "again"}))
        .send()
        .await
        .expect("put");
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    double.purge_deleted_secret("new").expect("purge");
    double
        .set_secret("new", "reborn", SecretOptions::default())
        .expect("name reusable after purge");
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
async fn keys_and_certificates_are_served_read_only() {
    let double = start();
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "d": "private", "key_ops": ["verify"]});
    let key_version = double.set_key("signing", jwk).expect("key");
    let cert = secretsync_testkit::azure::ClientCertificate::generate("served").expect("cert");
    let cert_version = double
        .set_certificate(
            "tls",
            &cert.cert_der,
            secretsync_testkit::azure::CertificateOptions {
                private_key_pem: Some(cert.key_pem.clone()),
                ..Default::default()
            },
        )
        .expect("cert");
    let token = vault_token(&double).await;
    let (status, _, body) = vault_get(&double, &token, "/keys/signing?api-version=7.4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["key"]["kid"],
        format!("{}keys/signing/{key_version}", double.vault_url())
    );
    assert!(
        body["key"].get("d").is_none(),
        "private material is never served"
    );
    let (status, _, body) = vault_get(&double, &token, "/certificates/tls?api-version=7.4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["sid"],
        format!("{}secrets/tls/{cert_version}", double.vault_url())
    );
    use base64::Engine as _;
    let cer = base64::engine::general_purpose::STANDARD
        .decode(body["cer"].as_str().expect("cer"))
        .expect("b64");
    assert_eq!(cer, cert.cert_der);
    let (_, _, secret) = vault_get(&double, &token, "/secrets/tls?api-version=7.4").await;
    assert_eq!(secret["managed"], true);
    assert_eq!(secret["contentType"], "application/x-pem-file");
    assert!(
        secret["value"]
            .as_str()
            .expect("value")
            .contains("BEGIN CERTIFICATE")
    );
    let (status, _, body) = vault_get(&double, &token, "/keys/nope?api-version=7.4").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "KeyNotFound");
}
