//! The engine's render path: one ExternalSecret with 5 keys and a template, providers in memory.
//!
//! `cargo bench -p secretsync-benches --bench engine_render`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use secretsync_engine::{Engine, EngineConfig, FetchConfig, MemoryEnvironment, SyncResult};
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::{
    FetchRequest, ProviderCapabilities, ProviderError, RemoteSecret, SecretProvider, Validation,
};
use secretsync_testkit::providers::TestFactory;

const OBJECTS: usize = 1_000;

struct InMemory(BTreeMap<String, String>);

#[async_trait]
impl SecretProvider for InMemory {
    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities::default()
    }
    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        self.0
            .get(&request.key)
            .map(|v| RemoteSecret::new(v.as_str()))
            .ok_or_else(|| ProviderError::NotFound(request.key.clone()))
    }
    async fn validate(&self) -> Result<Validation, ProviderError> {
        Ok(Validation::Ready)
    }
}

/// Every namespace's SecretStore `vault` (the factory ignores the spec).
fn environment() -> MemoryEnvironment {
    (0..10).fold(MemoryEnvironment::new(), |env, ns| {
        env.with_secret_store(format!("team-{ns}"), "vault", SecretStoreSpec::default())
    })
}

fn objects() -> Vec<ExternalSecret> {
    (0..OBJECTS)
        .map(|i| {
            let yaml = format!(
                r#"
metadata: {{name: app-{i}, namespace: team-{ns}}}
spec:
  secretStoreRef: {{name: vault}}
  target:
    template:
      type: kubernetes.io/basic-auth
      metadata:
        labels: {{app: "app-{i}"}}
      data:
        username: "{{{{ .user }}}}"
        password: "{{{{ .pass }}}}"
        dsn: "postgres://{{{{ .user }}}}:{{{{ .pass | urlquery }}}}@{{{{ .host }}}}:{{{{ .port }}}}/{{{{ .db }}}}"
  data:
    - {{secretKey: user, remoteRef: {{key: apps/app-{i}, property: user}}}}
    - {{secretKey: pass, remoteRef: {{key: apps/app-{i}, property: pass}}}}
    - {{secretKey: host, remoteRef: {{key: shared/db, property: host}}}}
    - {{secretKey: port, remoteRef: {{key: shared/db, property: port}}}}
    - {{secretKey: db, remoteRef: {{key: apps/app-{i}, property: db}}}}
"#,
                ns = i % 10
            );
            serde_yaml::from_str(&yaml).expect("valid ExternalSecret")
        })
        .collect()
}

fn remote() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for i in 0..OBJECTS {
        m.insert(
            format!("apps/app-{i}"),
            format!(r#"{{"user": "user-{i}", "pass": "p@ss/{i}", "db": "db{i}"}}"#),
        );
    }
    m.insert(
        "shared/db".into(),
        r#"{"host": "db.internal", "port": 5432}"#.into(),
    );
    m
}

fn bench_render(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let objects = objects();
    let provider = Arc::new(InMemory(remote()));
    let env = environment();
    for (label, window) in [
        (
            "engine_sync_5keys_template_coalesced",
            Duration::from_secs(1),
        ),
        ("engine_sync_5keys_template_uncached", Duration::ZERO),
    ] {
        let config = EngineConfig {
            fetch: FetchConfig {
                coalesce_window: window,
                ..Default::default()
            },
            ..Default::default()
        };
        let engine = Engine::new(Arc::new(TestFactory::serving(provider.clone())), config);
        // Check once that the path really renders.
        let first = rt.block_on(engine.sync(&objects[0], &env));
        match first.result {
            Ok(SyncResult::Write(d)) => assert_eq!(d.data.len(), 3),
            other => panic!("render failed: {other:?}"),
        }
        let mut i = 0usize;
        c.bench_function(label, |b| {
            b.iter(|| {
                let es = &objects[i % OBJECTS];
                i += 1;
                let out = rt.block_on(engine.sync(es, &env));
                std::hint::black_box(out.result.is_ok())
            })
        });
        // The same work timed by the CPU time of this thread (the runtime is single-threaded),
        // so other processes competing for the cores do not inflate the figure.
        if let Some(start) = thread_cpu_time() {
            let _ = start;
            c.bench_function(&format!("{label}_cpu_time"), |b| {
                b.iter_custom(|iters| {
                    let before = thread_cpu_time().unwrap_or_default();
                    for _ in 0..iters {
                        let es = &objects[i % OBJECTS];
                        i += 1;
                        let out = rt.block_on(engine.sync(es, &env));
                        std::hint::black_box(out.result.is_ok());
                    }
                    thread_cpu_time().unwrap_or_default().saturating_sub(before)
                })
            });
        }
    }
}

/// CPU time of the current thread (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_time() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Some(Duration::new(
        u64::try_from(t.tv_sec).ok()?,
        u32::try_from(t.tv_nsec).ok()?,
    ))
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
