//! Wire-level tests of the double's Key Vault API with plain reqwest: api-version checks, secrets
//! CRUD, paging, versions, disabled secrets, throttling, keys and certificates.

use crate::azure_common;

use azure_common::{http, start, vault_get, vault_token};
use reqwest::StatusCode;
use secretsync_testkit::azure::SecretOptions;
use serde_json::{Value, json};

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
        "The specified version (9.9) is not recognized. Consider using the latest supported version (2026-04-01)."
    );
    for v in ["7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"] {
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
