//! Read cost through one Azure provider against the Key Vault double: warm-token sequential
//! reads, 500 concurrent reads, and a cold start (challenge + token + read). Token requests
//! are counted at the double and printed after each group.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use secretsync_model::credentials::StaticCredentials;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::provider::StoreContext;
use secretsync_model::providers::{AzureAuthType, AzureCustomCloudConfig, AzureKvSpec};
use secretsync_model::{FetchRequest, SecretProvider, StoreId};
use secretsync_provider_azure::{AzureOptions, AzureProvider, ManagedIdentityEndpoint};
use secretsync_testkit::azure::{AzureDouble, AzureDoubleOptions, ManagedIdentity, SecretOptions};

fn provider(d: &AzureDouble) -> AzureProvider {
    let spec = AzureKvSpec {
        auth_type: AzureAuthType::ManagedIdentity,
        vault_url: d.vault_url(),
        custom_cloud_config: Some(AzureCustomCloudConfig {
            active_directory_endpoint: d.authority_host(),
            ..AzureCustomCloudConfig::default()
        }),
        ..AzureKvSpec::default()
    };
    let options = AzureOptions {
        extra_root_certificates_pem: vec![d.ca_pem().to_string()],
        managed_identity: ManagedIdentityEndpoint::Imds {
            base_url: d.managed_identity_endpoint(),
        },
        ..AzureOptions::default()
    };
    let context = StoreContext {
        store: StoreId {
            kind: StoreKind::ClusterSecretStore,
            namespace: None,
            name: "bench".into(),
        },
        reader_namespace: None,
    };
    AzureProvider::new(context, spec, Arc::new(StaticCredentials::new()), options)
        .expect("provider")
}

fn reads(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let d = AzureDouble::start(AzureDoubleOptions::default()).expect("double");
    d.add_managed_identity(ManagedIdentity::SystemAssigned);
    d.set_secret("bench-secret", "bench-value", SecretOptions::default())
        .expect("seed");
    let request = FetchRequest::latest("bench-secret");

    let p = Arc::new(provider(&d));
    rt.block_on(p.fetch(&request)).expect("warm up");
    let mut group = c.benchmark_group("azure");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    group.bench_function("fetch_warm_token", |b| {
        b.iter(|| rt.block_on(p.fetch(&request)).expect("read"))
    });
    group.bench_function("fetch_500_concurrent", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..50)
                    .map(|_| {
                        let p = p.clone();
                        let request = request.clone();
                        tokio::spawn(async move {
                            for _ in 0..10 {
                                p.fetch(&request).await.expect("read");
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task");
                }
            })
        })
    });
    let counts = d.token_requests();
    println!(
        "azure: warm provider, {} vault reads, {} token request(s)",
        d.vault_requests().get("GetSecret"),
        counts.total()
    );
    group.bench_function("cold_start_challenge_token_read", |b| {
        b.iter(|| {
            let fresh = provider(&d);
            rt.block_on(fresh.fetch(&request)).expect("read")
        })
    });
    group.finish();
}

criterion_group!(benches, reads);
criterion_main!(benches);
