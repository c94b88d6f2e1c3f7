//! Distinct, clear errors: missing secret, wrong region, denied access and invalid keys (moto
//! with IAM enforcement), throttling and outages (a local stub through the endpoint override),
//! and no secret values in any message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;

use common::*;
use secretsync_model::providers::AwsSpec;
use secretsync_model::{FetchRequest, ProviderError, SecretProvider};
use secretsync_provider_aws::{AwsOptions, AwsProvider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CANARY: &str = "canary-7f3a9c-do-not-log";

#[tokio::test]
async fn missing_secret_and_wrong_region_name_key_and_region() {
    let moto = moto().await;
    create_secret(&sm_admin(&moto), "only-in-us-east-1", CANARY).await;
    let provider = provider(&moto, sm_spec());
    let missing = provider
        .fetch(&FetchRequest::latest("does-not-exist"))
        .await
        .expect_err("missing");
    assert!(matches!(missing, ProviderError::NotFound(_)), "{missing}");
    let text = missing.to_string();
    assert!(
        text.contains("\"does-not-exist\"") && text.contains("us-east-1"),
        "{text}"
    );

    // The secret exists, but in another region than the store's.
    let eu = provider_in(&moto, "eu-west-1");
    let wrong_region = eu
        .fetch(&FetchRequest::latest("only-in-us-east-1"))
        .await
        .expect_err("wrong region");
    let text = wrong_region.to_string();
    assert!(matches!(wrong_region, ProviderError::NotFound(_)), "{text}");
    assert!(text.contains("eu-west-1"), "{text}");
    assert!(text.contains("spec.provider.aws.region"), "{text}");
    assert!(!text.contains(CANARY));
    eprintln!("missing: {missing}\nwrong region: {text}");

    // Not a region at all: rejected when the store is built, naming the field.
    let err = AwsProvider::new(
        context(),
        AwsSpec {
            region: "europe".into(),
            ..sm_spec()
        },
        Arc::new(static_keys("AKIAEXAMPLE000000001", "x")),
        options(&moto),
    )
    .expect_err("bad region");
    assert!(matches!(err, ProviderError::InvalidStoreConfig(_)), "{err}");
    assert!(
        err.to_string().contains("spec.provider.aws.region"),
        "{err}"
    );

    // Values never show up in Debug output either.
    let value = provider
        .fetch(&FetchRequest::latest("only-in-us-east-1"))
        .await
        .unwrap();
    assert!(!format!("{value:?}").contains(CANARY));
    assert!(!format!("{provider:?}").contains("static-secret-key"));
}

fn provider_in(moto: &secretsync_testkit::peers::Moto, region: &str) -> AwsProvider {
    provider(
        moto,
        AwsSpec {
            region: region.into(),
            ..sm_spec()
        },
    )
}

/// Creates an IAM user (optionally with a policy) and returns its access keys.
async fn iam_user(
    moto: &secretsync_testkit::peers::Moto,
    name: &str,
    actions: &[&str],
) -> (String, String) {
    let iam = aws_sdk_iam_free::client(moto);
    iam.create_user(name).await;
    if !actions.is_empty() {
        iam.put_user_policy(name, actions).await;
    }
    iam.create_access_key(name).await
}

/// Minimal IAM query-API client (aws-sdk-iam is not a dependency): form-encoded query calls
/// with a placeholder `Authorization` header, which moto accepts while its auth is off (the
/// header only tells moto the service is IAM).
mod aws_sdk_iam_free {
    pub struct Iam {
        endpoint: String,
        http: reqwest::Client,
    }

    pub fn client(moto: &secretsync_testkit::peers::Moto) -> Iam {
        Iam {
            endpoint: moto.endpoint().to_string(),
            http: reqwest::Client::new(),
        }
    }

    impl Iam {
        async fn call(&self, params: &[(&str, &str)]) -> String {
            let mut form: Vec<(&str, &str)> = vec![("Version", "2010-05-08")];
            form.extend_from_slice(params);
            let response = self
                .http
                .post(&self.endpoint)
                .header(
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAADMIN0000000000/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
                )
                .form(&form)
                .send()
                .await
                .expect("iam call");
            let status = response.status();
            let text = response.text().await.unwrap();
            assert!(status.is_success(), "IAM {params:?}: {status} {text}");
            text
        }

        pub async fn create_user(&self, name: &str) {
            self.call(&[("Action", "CreateUser"), ("UserName", name)])
                .await;
        }

        pub async fn put_user_policy(&self, name: &str, actions: &[&str]) {
            let policy = serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            })
            .to_string();
            self.call(&[
                ("Action", "PutUserPolicy"),
                ("UserName", name),
                ("PolicyName", "reader"),
                ("PolicyDocument", &policy),
            ])
            .await;
        }

        pub async fn create_access_key(&self, name: &str) -> (String, String) {
            let xml = self
                .call(&[("Action", "CreateAccessKey"), ("UserName", name)])
                .await;
            let field = |tag: &str| {
                let start = xml.find(&format!("<{tag}>")).expect(tag) + tag.len() + 2;
                let end = xml[start..].find(&format!("</{tag}>")).expect(tag) + start;
                xml[start..end].to_string()
            };
            (field("AccessKeyId"), field("SecretAccessKey"))
        }
    }
}

fn keyed_provider(moto: &secretsync_testkit::peers::Moto, id: &str, secret: &str) -> AwsProvider {
    AwsProvider::new(
        context(),
        sm_spec(),
        Arc::new(static_keys(id, secret)),
        options(moto),
    )
    .unwrap()
}

#[tokio::test]
async fn denied_access_and_invalid_keys_are_permission_errors() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    for name in ["a", "b", "c"] {
        create_secret(&sm, name, CANARY).await;
    }
    // May read secrets one at a time, but not batch.
    let reader = iam_user(&moto, "reader", &["secretsmanager:GetSecretValue"]).await;
    let nobody = iam_user(&moto, "nobody", &[]).await;
    enable_moto_auth(&moto).await;

    // Allowed: three concurrent reads fall back from the denied batch call to GetSecretValue.
    let allowed = keyed_provider(&moto, &reader.0, &reader.1);
    let requests: Vec<FetchRequest> = ["a", "b", "c"].map(FetchRequest::latest).to_vec();
    for result in allowed.fetch_many(&requests).await {
        assert_eq!(result.unwrap().value.expose_str(), Some(CANARY));
    }

    // Denied by policy.
    let denied = keyed_provider(&moto, &nobody.0, &nobody.1)
        .fetch(&FetchRequest::latest("a"))
        .await
        .expect_err("denied");
    let denied_text = denied.to_string();
    assert!(
        matches!(denied, ProviderError::PermissionDenied(_)),
        "{denied_text}"
    );
    assert!(denied_text.contains("AccessDenied"), "{denied_text}");
    assert!(denied_text.contains("GetSecretValue"), "{denied_text}");

    // Keys moto never issued.
    let invalid = keyed_provider(&moto, "AKIAINVALID000000000", "wrong")
        .fetch(&FetchRequest::latest("a"))
        .await
        .expect_err("invalid keys");
    let invalid_text = invalid.to_string();
    assert!(
        matches!(invalid, ProviderError::PermissionDenied(_)),
        "{invalid_text}"
    );
    assert!(
        invalid_text.contains("UnrecognizedClient")
            || invalid_text.contains("InvalidClientTokenId"),
        "{invalid_text}"
    );
    eprintln!("denied: {denied_text}\ninvalid keys: {invalid_text}");
    assert_ne!(denied_text, invalid_text);
    for text in [&denied_text, &invalid_text] {
        assert!(
            !text.contains(CANARY) && !text.contains(&nobody.1),
            "{text}"
        );
        assert!(!text.contains("unhandled error"), "{text}");
    }
}

/// A one-response-per-connection HTTP stub: answers every request with `response`.
async fn stub(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        response.push_str(&format!("{k}: {v}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(body);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read headers and the announced body, then answer.
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

fn stub_provider(endpoint: String) -> AwsProvider {
    AwsProvider::new(
        context(),
        sm_spec(),
        Arc::new(static_keys("AKIAEXAMPLE000000001", "static-secret-key")),
        AwsOptions::with_endpoint(endpoint),
    )
    .unwrap()
}

const JSON: (&str, &str) = ("Content-Type", "application/x-amz-json-1.1");

#[tokio::test]
async fn throttling_outages_and_garbage_map_to_distinct_errors() {
    let throttled = stub(
        "400 Bad Request",
        &[JSON, ("x-amzn-ErrorType", "ThrottlingException")],
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
    )
    .await;
    let err = stub_provider(throttled)
        .fetch(&FetchRequest::latest("hot"))
        .await
        .expect_err("throttled");
    assert!(matches!(err, ProviderError::Throttled { .. }), "{err}");
    assert_eq!(
        err.retry_after(),
        None,
        "no Retry-After: the retry policy decides"
    );
    assert!(err.to_string().contains("ThrottlingException"), "{err}");

    let too_many = stub("429 Too Many Requests", &[JSON, ("Retry-After", "9")], "{}").await;
    let err = stub_provider(too_many)
        .fetch(&FetchRequest::latest("hot"))
        .await
        .expect_err("429");
    assert!(matches!(err, ProviderError::Throttled { .. }), "{err}");
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(9)));

    let outage = stub(
        "503 Service Unavailable",
        &[JSON],
        r#"{"__type":"ServiceUnavailable","message":"try later"}"#,
    )
    .await;
    let err = stub_provider(outage)
        .fetch(&FetchRequest::latest("k"))
        .await
        .expect_err("503");
    assert!(matches!(err, ProviderError::Unavailable(_)), "{err}");
    assert!(err.is_transient());

    // A 200 whose body is not what Secrets Manager sends, carrying a canary: the error says
    // the response was unreadable and does not echo the body.
    let garbage = stub("200 OK", &[JSON], &format!("{{\"SecretString\": {CANARY}")).await;
    let err = stub_provider(garbage)
        .fetch(&FetchRequest::latest("k"))
        .await
        .expect_err("garbage");
    assert!(matches!(err, ProviderError::BadResponse(_)), "{err}");
    assert!(!err.to_string().contains(CANARY), "{err}");

    // Nothing listening: Unavailable, naming the endpoint.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let err = stub_provider(closed.clone())
        .fetch(&FetchRequest::latest("k"))
        .await
        .expect_err("closed port");
    assert!(matches!(err, ProviderError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains(&closed), "{err}");
    eprintln!("unreachable: {err}");
}

/// Only AWS's "no such secret" is `NotFound`; a missing credential Secret or key, an empty key
/// and a denial are errors that leave target Secrets alone.
#[tokio::test]
async fn only_a_missing_remote_secret_is_not_found() {
    let moto = moto().await;
    create_secret(&sm_admin(&moto), "present", "v").await;
    let with = |creds: secretsync_model::credentials::StaticCredentials| {
        AwsProvider::new(context(), sm_spec(), Arc::new(creds), options(&moto)).unwrap()
    };
    let no_secret_key = {
        let mut c = secretsync_model::credentials::StaticCredentials::new();
        c.add_secret(
            Some("ns".into()),
            "aws-keys",
            [("id".to_string(), "AKIAEXAMPLE000000001".into())].into(),
        );
        c
    };
    let cases: [(&str, AwsProvider, &str, Option<&str>); 5] = [
        ("present", provider(&moto, sm_spec()), "present", None),
        (
            "missing secret",
            provider(&moto, sm_spec()),
            "absent",
            Some("NotFound"),
        ),
        (
            "missing credential Secret",
            with(secretsync_model::credentials::StaticCredentials::new()),
            "present",
            Some("InvalidStoreConfig"),
        ),
        (
            "missing credential key",
            with(no_secret_key),
            "present",
            Some("InvalidStoreConfig"),
        ),
        (
            "empty key",
            provider(&moto, sm_spec()),
            "",
            Some("Unsupported"),
        ),
    ];
    for (case, p, key, want) in cases {
        match (want, p.fetch(&FetchRequest::latest(key)).await) {
            (None, Ok(_)) => {}
            (Some(kind), Err(e)) => {
                assert_eq!(e.kind_label(), kind, "{case}: {e}");
                if case.starts_with("missing credential") {
                    assert!(
                        e.to_string().contains("spec.provider.aws.auth.secretRef"),
                        "{e}"
                    );
                }
            }
            (want, got) => panic!("{case}: expected {want:?}, got {got:?}"),
        }
    }
}
