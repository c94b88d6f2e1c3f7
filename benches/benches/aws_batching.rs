//! The 1,000-fetch scenario of the AWS provider against moto: 1,000 concurrent fetches through
//! one store referencing 200 distinct secrets.
//!
//! Variants:
//! - `per-reference`: one `GetSecretValue` per reference with a plain SDK client (what a
//!   controller does without cross-object coalescing);
//! - `single-flight`: the provider with batching off (`batch_size: 1`): identical reads in
//!   flight are merged, each distinct secret costs one `GetSecretValue`;
//! - `batched`: the provider with its defaults (`BatchGetSecretValue`, 20 ids per call).
//!
//! Times are wall-clock per round (median, min, max over `ROUNDS`); call counts come from
//! moto's recorder in one extra round per variant (recording is off while timing).
//!
//! Run: `SECRETSYNC_PYTHON=<python with moto[server]> cargo bench -p secretsync-benches --bench aws_batching`
//! (or after `scripts/peers install`). Set `AWS_BENCH_ROUNDS` to change the round count.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use futures::future::join_all;
use secretsync_model::credentials::StaticCredentials;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::meta::SecretKeySelector;
use secretsync_model::provider::{StoreContext, StoreId};
use secretsync_model::providers::{AwsAuth, AwsAuthSecretRef, AwsService, AwsSpec};
use secretsync_model::{FetchRequest, SecretProvider, SecretValue};
use secretsync_provider_aws::{AwsOptions, AwsProvider};
use secretsync_testkit::peers::Moto;

const REFERENCES: usize = 1000;
const DISTINCT: usize = 200;
const REGION: &str = "us-east-1";

fn sdk_config(moto: &Moto) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIABENCH0000000000",
            "bench-secret",
            None,
            None,
            "bench",
        )))
        .build()
}

fn provider(moto: &Moto, batch_size: usize) -> AwsProvider {
    let mut creds = StaticCredentials::new();
    creds.add_secret(
        Some("bench".into()),
        "keys",
        [
            ("id".to_string(), SecretValue::from("AKIABENCH0000000000")),
            ("secret".to_string(), SecretValue::from("bench-secret")),
        ]
        .into(),
    );
    let selector = |key: &str| SecretKeySelector {
        name: "keys".into(),
        namespace: None,
        key: Some(key.into()),
    };
    AwsProvider::new(
        StoreContext {
            store: StoreId {
                kind: StoreKind::SecretStore,
                namespace: Some("bench".into()),
                name: "aws".into(),
            },
            reader_namespace: Some("bench".into()),
        },
        AwsSpec {
            service: AwsService::SecretsManager,
            region: REGION.into(),
            auth: AwsAuth {
                secret_ref: Some(AwsAuthSecretRef {
                    access_key_id: selector("id"),
                    secret_access_key: selector("secret"),
                    session_token: None,
                }),
                jwt: None,
            },
            ..AwsSpec::default()
        },
        Arc::new(creds),
        AwsOptions {
            batch_size,
            ..AwsOptions::with_endpoint(moto.endpoint())
        },
    )
    .expect("provider")
}

fn keys() -> Vec<String> {
    (0..REFERENCES)
        .map(|i| format!("bench/secret-{:03}", i % DISTINCT))
        .collect()
}

async fn per_reference(client: &aws_sdk_secretsmanager::Client, keys: &[String]) {
    let results = join_all(
        keys.iter()
            .map(|k| client.get_secret_value().secret_id(k).send()),
    )
    .await;
    assert!(
        results.iter().all(Result::is_ok),
        "per-reference reads failed"
    );
}

async fn through_provider(provider: &AwsProvider, requests: &[FetchRequest]) {
    let results = provider.fetch_many(requests).await;
    assert!(results.iter().all(Result::is_ok), "provider reads failed");
}

struct Row {
    name: &'static str,
    times: Vec<Duration>,
    calls: Vec<(String, usize)>,
}

fn summarize(times: &mut [Duration]) -> (Duration, Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[0], times[times.len() - 1])
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing special. Either way
    // run the scenario once per variant at least.
    let rounds: usize = std::env::var("AWS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let moto = Moto::start().await.unwrap_or_else(|e| {
        panic!("aws_batching needs moto: run scripts/peers install (or set SECRETSYNC_PYTHON): {e}")
    });
    let config = sdk_config(&moto);
    let admin = aws_sdk_secretsmanager::Client::new(&config);
    for i in 0..DISTINCT {
        admin
            .create_secret()
            .name(format!("bench/secret-{i:03}"))
            .secret_string(format!("{{\"password\":\"value-{i}\"}}"))
            .send()
            .await
            .expect("seed");
    }
    let keys = keys();
    let requests: Vec<FetchRequest> = keys.iter().map(FetchRequest::latest).collect();
    let single_flight = provider(&moto, 1);
    let batched = provider(&moto, secretsync_provider_aws::MAX_BATCH_SIZE);
    // Warm up: connections and credentials.
    per_reference(&admin, &keys[..10]).await;
    through_provider(&single_flight, &requests[..10]).await;
    through_provider(&batched, &requests[..10]).await;

    let mut rows = Vec::new();
    for name in ["per-reference", "single-flight", "batched"] {
        let run = || async {
            match name {
                "per-reference" => per_reference(&admin, &keys).await,
                "single-flight" => through_provider(&single_flight, &requests).await,
                _ => through_provider(&batched, &requests).await,
            }
        };
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Instant::now();
            run().await;
            times.push(start.elapsed());
        }
        moto.start_recording().await.expect("recording");
        run().await;
        let recorded = moto.recorded_calls().await.expect("recorded calls");
        moto.stop_recording().await.expect("stop recording");
        let mut calls: Vec<(String, usize)> = Vec::new();
        for call in recorded {
            match calls.iter_mut().find(|(a, _)| *a == call.action) {
                Some((_, n)) => *n += 1,
                None => calls.push((call.action, 1)),
            }
        }
        rows.push(Row { name, times, calls });
    }

    println!(
        "aws_batching: {REFERENCES} concurrent fetches of {DISTINCT} distinct secrets, {rounds} rounds"
    );
    println!("| variant | median | min | max | AWS calls per round (moto recorder) |");
    println!("|---|---|---|---|---|");
    for mut row in rows {
        let (median, min, max) = summarize(&mut row.times);
        let calls = row
            .calls
            .iter()
            .map(|(a, n)| format!("{n} {a}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
            row.name,
            median.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            calls
        );
    }
}
