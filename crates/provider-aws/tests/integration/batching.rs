//! Batching, single-flight and credential caching, counted at moto (its recorder), with web
//! identity from a TokenRequest token of the Kubernetes API double.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;

use common::*;
use futures::future::join_all;
use secretsync_model::providers::AwsSpec;
use secretsync_model::{FetchRequest, ProviderError, SecretProvider};
use secretsync_provider_aws::AwsProvider;

const ROLE: &str = "arn:aws:iam::123456789012:role/eso-reader";

#[tokio::test]
async fn thousand_fetches_of_200_secrets_make_10_batch_calls_and_one_sts_call() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    for i in 0..200 {
        create_secret(&sm, &format!("svc/secret-{i:03}"), &format!("value-{i}")).await;
    }
    let (kube, resolver) = kube_with_service_account(ROLE).await;
    let provider = AwsProvider::new(
        context(),
        AwsSpec {
            auth: jwt_auth(),
            ..sm_spec()
        },
        resolver.clone(),
        options(&moto),
    )
    .unwrap();
    moto.start_recording().await.unwrap();

    // 1,000 concurrent fetches referencing 200 distinct secrets (5 references each).
    let requests: Vec<FetchRequest> = (0..1000)
        .map(|i| FetchRequest::latest(format!("svc/secret-{:03}", i % 200)))
        .collect();
    let results = provider.fetch_many(&requests).await;
    for (i, result) in results.iter().enumerate() {
        let value = result.as_ref().expect("fetch");
        assert_eq!(
            value.value.expose_str(),
            Some(format!("value-{}", i % 200).as_str()),
            "request {i} got another secret's value"
        );
    }
    let first = calls(&moto).await;
    let batches = count(&first, "BatchGetSecretValue");
    eprintln!(
        "first sync: {batches} BatchGetSecretValue calls, {} calls in total",
        first.len()
    );
    assert!(
        (1..=10).contains(&batches),
        "BatchGetSecretValue calls: {first:?}"
    );
    assert_eq!(count(&first, "GetSecretValue"), 0);
    assert_eq!(count(&first, "AssumeRoleWithWebIdentity"), 1, "{first:?}");
    assert_eq!(token_requests(&kube), 1);
    let sm_calls = first
        .iter()
        .filter(|c| c.service == "secretsmanager")
        .count();
    assert!(sm_calls <= 10, "Secrets Manager calls: {sm_calls}");

    // A second sync within the credentials' lifetime: no STS call, no new token.
    moto.reset_recording().await.unwrap();
    let again = provider.fetch_many(&requests).await;
    assert!(again.iter().all(Result::is_ok));
    let second = calls(&moto).await;
    assert_eq!(count(&second, "AssumeRoleWithWebIdentity"), 0, "{second:?}");
    assert!(second.iter().all(|c| c.service != "sts"), "{second:?}");
    assert_eq!(count(&second, "BatchGetSecretValue"), 10, "{second:?}");
    assert_eq!(token_requests(&kube), 1);

    // 1,000 independent concurrent `fetch` calls (as from many ExternalSecret tasks) batch
    // too; how they interleave depends on scheduling, so only "far fewer calls than secrets".
    moto.reset_recording().await.unwrap();
    let results = join_all(requests.iter().map(|r| provider.fetch(r))).await;
    assert!(results.iter().all(Result::is_ok));
    let third = calls(&moto).await;
    let batches = count(&third, "BatchGetSecretValue");
    eprintln!("independent fetches: {batches} BatchGetSecretValue calls");
    assert!((10..=50).contains(&batches), "{third:?}");
    assert_eq!(
        count(&third, "GetSecretValue") + batches,
        third.len(),
        "{third:?}"
    );
    assert!(third.len() < 100, "{third:?}");
}

#[tokio::test]
async fn per_id_errors_reach_the_right_callers() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    for i in 0..10 {
        create_secret(&sm, &format!("mix/ok-{i}"), &format!("ok-{i}")).await;
    }
    let provider = Arc::new(provider(&moto, sm_spec()));
    moto.start_recording().await.unwrap();
    let mut requests = Vec::new();
    for i in 0..10 {
        requests.push(FetchRequest::latest(format!("mix/ok-{i}")));
        requests.push(FetchRequest::latest(format!("mix/missing-{i}")));
    }
    let results = provider.fetch_many(&requests).await;
    for (request, result) in requests.iter().zip(&results) {
        if request.key.contains("missing") {
            let err = result.as_ref().expect_err("missing");
            assert!(matches!(err, ProviderError::NotFound(_)), "{err}");
            assert!(err.to_string().contains(&request.key), "{err}");
        } else {
            let n = request.key.rsplit('-').next().unwrap();
            assert_eq!(
                result.as_ref().unwrap().value.expose_str(),
                Some(format!("ok-{n}").as_str())
            );
        }
    }
    let calls = calls(&moto).await;
    assert_eq!(count(&calls, "BatchGetSecretValue"), 1, "{calls:?}");
    assert_eq!(count(&calls, "GetSecretValue"), 0, "{calls:?}");
}

#[tokio::test]
async fn identical_versioned_and_metadata_reads_are_made_once() {
    let moto = moto().await;
    let sm = sm_admin(&moto);
    let v1 = create_secret(&sm, "same", "one").await;
    let provider = provider(&moto, sm_spec());
    provider.warm_up().await.unwrap();
    moto.start_recording().await.unwrap();
    let versioned = FetchRequest {
        key: "same".into(),
        version: Some(format!("uuid/{v1}")),
        metadata: false,
    };
    let tags = FetchRequest {
        key: "same".into(),
        version: None,
        metadata: true,
    };
    let mut requests = vec![versioned.clone(); 50];
    requests.extend(vec![tags; 50]);
    let results = provider.fetch_many(&requests).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(results[0].as_ref().unwrap().value.expose_str(), Some("one"));
    let calls = calls(&moto).await;
    assert_eq!(count(&calls, "GetSecretValue"), 1, "{calls:?}");
    assert_eq!(count(&calls, "DescribeSecret"), 1, "{calls:?}");
}
