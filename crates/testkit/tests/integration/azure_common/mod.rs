//! Helpers shared by the reqwest-level Azure double tests.

#![allow(dead_code, reason = "each test crate uses a subset")]

use reqwest::StatusCode;
use secretsync_testkit::azure::{AzureDouble, AzureDoubleOptions};
use serde_json::Value;

pub const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET: &str = "s3cr3t-client-value";

pub fn start() -> AzureDouble {
    let double = AzureDouble::start(AzureDoubleOptions::default()).expect("start the double");
    double.add_client_secret(double.tenant_id(), CLIENT, SECRET);
    double
}

pub fn http(double: &AzureDouble) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(double.ca_pem().as_bytes()).expect("CA PEM");
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client")
}

pub async fn token_response(
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

pub async fn vault_token(double: &AzureDouble) -> String {
    let (status, body) =
        token_response(double, CLIENT, SECRET, "https://vault.azure.net/.default").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

pub async fn vault_get(
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
