//! Kubernetes writer and controllers for secretsync.
//!
//! - [`writer`]: server-side apply of the engine's desired Secret with ESO's creation and
//!   deletion policies, no request when nothing changed; the decisions are
//!   [`writer::plan`]'s pure functions.
//! - [`drift`]: keyed HMAC fingerprint of everything we own on a Secret.
//! - [`status`]: ExternalSecret status (ESO reasons, `observedGeneration`, `keys`).
//! - [`credentials`]: the model's `CredentialResolver` over Secrets, ConfigMaps and ServiceAccounts with ESO's namespace rules.
//! - [`cache`]: watch-backed caches (stores, namespaces, managed-Secret metadata) the
//!   reconciles read instead of the API server.
//! - [`environment`]: the engine's `SyncEnvironment`
//!   (store lookup, ClusterSecretStore conditions, controller class).
//! - [`controller`]: ExternalSecret, SecretStore/ClusterSecretStore and ClusterExternalSecret
//!   controllers; [`run_with`] starts them all until a graceful shutdown, [`run`] forever.
//! - [`events`]: events.k8s.io/v1 Events, one per distinct message (ESO's recorder semantics).
//! - [`lifecycle`]: the shutdown token and the readiness signal of [`run_with`].
//! - [`leader`]: leader election on a coordination.k8s.io Lease (client-go's algorithm).
//! - [`flow_control`]: the API server's flow control honoured (429/503/504 retried after
//!   `Retry-After` or a backoff, never hot; a 429 pauses the whole client).
//! - [`rate_limit`]: a client-side QPS/burst token bucket for the Kubernetes client (tower layer).
//! - [`metrics`]: prometheus-client families for the operator binary to register.
//! - [`on_demand`]: refresh on demand — token and access review, then ESO's `force-sync`.
//! - [`sanitize`]: API-server error text without echoed values, for status, events and logs.
//!
//! See `docs/kube.md` for the policies, drift detection, status fields and memory design.

pub mod allocator;
pub mod cache;
pub mod config;
pub mod controller;
pub mod credentials;
pub mod drift;
pub mod environment;
pub mod events;
pub mod flow_control;
pub mod leader;
pub mod lifecycle;
pub mod metrics;
pub mod on_demand;
pub mod rate_limit;
pub mod rollout;
pub mod sanitize;
pub mod status;
#[cfg(test)]
mod test_util;
pub mod writer;

use std::sync::Arc;

use async_trait::async_trait;
use secretsync_engine::{Engine, SyncEnvironment, SyncOutcome};
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::provider::ProviderFactory;

pub use config::Config;
pub use controller::SecretSyncer;
pub use lifecycle::{CancellationToken, Lifecycle, Ready};
pub use metrics::Metrics;

#[async_trait]
impl SecretSyncer for Engine {
    async fn sync(&self, es: &ExternalSecret, env: &dyn SyncEnvironment) -> SyncOutcome {
        Engine::sync(self, es, env).await
    }

    async fn sync_fresh_since(
        &self,
        es: &ExternalSecret,
        env: &dyn SyncEnvironment,
        since: std::time::SystemTime,
    ) -> SyncOutcome {
        Engine::sync_fresh_since(self, es, env, since).await
    }

    fn providers(&self) -> Option<&secretsync_engine::fetch::FetchLayer> {
        Some(self.fetch_layer())
    }

    async fn generated_state(
        &self,
        operation: secretsync_engine::StateOperation,
        namespace: &str,
        kept: &secretsync_engine::GeneratedState,
        env: &dyn SyncEnvironment,
    ) -> Result<Option<serde_json::Value>, secretsync_model::ProviderError> {
        Engine::generated_state(self, operation, namespace, kept, env).await
    }

    async fn generate(
        &self,
        namespace: &str,
        reference: &secretsync_model::external_secret::GeneratorRef,
        env: &dyn SyncEnvironment,
    ) -> Result<secretsync_model::SecretData, String> {
        Engine::run_generator(self, namespace, reference, env)
            .await
            .map(|(_, generated)| generated.data)
            .map_err(|e| e.to_string())
    }
}

/// Errors starting the controllers.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The drift key Secret could not be loaded or created.
    #[error(transparent)]
    DriftKey(#[from] drift::DriftKeyError),
}

/// Starts every controller. Runs until the future is dropped, or fails at start when the drift
/// key cannot be set up. Same as [`run_with`] with a [`Lifecycle`] nobody cancels.
pub async fn run(
    client: kube::Client,
    config: Config,
    syncer: Arc<dyn SecretSyncer>,
    factory: Arc<dyn ProviderFactory>,
    metrics: Metrics,
) -> Result<(), RunError> {
    run_with(
        client,
        config,
        syncer,
        factory,
        metrics,
        Lifecycle::default(),
    )
    .await
}

/// Starts every controller and runs them until `lifecycle.shutdown` is cancelled. Then no new
/// reconcile starts, the watches close, and this returns once every reconcile in flight has
/// finished (their Secret and status writes included). `lifecycle.ready` turns true once every
/// watch has listed, and false when this returns. Fails at start when the drift key cannot be
/// set up.
pub async fn run_with(
    client: kube::Client,
    config: Config,
    syncer: Arc<dyn SecretSyncer>,
    factory: Arc<dyn ProviderFactory>,
    metrics: Metrics,
    lifecycle: Lifecycle,
) -> Result<(), RunError> {
    let key = drift::DriftKey::load_or_create(
        client.clone(),
        &config.operator_namespace,
        &config.drift_key_secret,
    )
    .await?;
    let (caches, cache_writers) = cache::Caches::new();
    let writer = writer::Writer::new(
        client.clone(),
        Arc::new(key),
        config.eso_data_hash,
        caches.targets.clone(),
    );
    let ctx = Arc::new(controller::Context::new(
        client,
        config,
        syncer,
        factory,
        writer,
        metrics,
        lifecycle.shutdown.clone(),
        caches,
    ));
    controller::run_all(ctx.clone(), cache_writers, lifecycle.clone()).await;
    ctx.close_own_providers().await;
    lifecycle.ready.set(false);
    Ok(())
}
