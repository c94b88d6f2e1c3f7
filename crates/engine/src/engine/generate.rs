//! `dataFrom[i].sourceRef.generatorRef`: resolve the generator through the host, run the
//! implementation of its kind, then apply the entry's rewrites and ESO's key checks (ESO's
//! `handleGenerateSecrets`).

use std::sync::Arc;

use secretsync_model::StoreId;
use secretsync_model::external_secret::{ExternalSecret, GeneratorRef, StoreKind};
use secretsync_model::generator::{CLUSTER_GENERATOR, GenerateRequest};
use secretsync_model::provider::StoreContext;

use secretsync_model::ProviderError;
use secretsync_model::generator::GeneratorSpec;

use super::{Engine, EntryResult, SyncCtx, has_transform};
use crate::env::SyncEnvironment;
use crate::error::EngineError;
use crate::outcome::GeneratedState;
use crate::pipeline::process_generated;

/// The store context of a generator referenced from `namespace`: a namespaced generator reads
/// credentials as a SecretStore of its namespace would, a ClusterGenerator as a
/// ClusterSecretStore.
fn generator_context(namespace: &str, reference: &GeneratorRef) -> StoreContext {
    let cluster = reference.kind == CLUSTER_GENERATOR;
    StoreContext {
        store: StoreId {
            kind: if cluster {
                StoreKind::ClusterSecretStore
            } else {
                StoreKind::SecretStore
            },
            namespace: (!cluster).then(|| namespace.to_string()),
            name: format!("{}/{}", reference.kind, reference.name),
        },
        reader_namespace: Some(namespace.to_string()),
    }
}

/// What to do with a kept generator state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateOperation {
    /// [`Generator::renew`](secretsync_model::generator::Generator::renew).
    Renew,
    /// [`Generator::cleanup`](secretsync_model::generator::Generator::cleanup).
    Cleanup,
}

impl Engine {
    /// Renews or cleans up a state a generator entry of an ExternalSecret in `namespace`
    /// produced, with the generator it was produced by (`kept.resource`). `Renew` returns the
    /// new state (`None`: the kind renews nothing); `Cleanup` returns `None`.
    pub async fn generated_state(
        &self,
        operation: StateOperation,
        namespace: &str,
        kept: &GeneratedState,
        env: &dyn SyncEnvironment,
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        let spec = GeneratorSpec::from_resource(&kept.resource)
            .map_err(ProviderError::InvalidStoreConfig)?;
        let generator = self.generators.get(spec.kind()).ok_or_else(|| {
            ProviderError::Unsupported(format!("generator kind {} is not supported", spec.kind()))
        })?;
        let context = generator_context(namespace, &kept.reference);
        let request = GenerateRequest {
            spec: &spec,
            namespace,
            credentials: env.credentials(&context),
            context,
        };
        match operation {
            StateOperation::Renew => generator.renew(&request, &kept.state).await,
            StateOperation::Cleanup => generator
                .cleanup(&request, &kept.state)
                .await
                .map(|()| None),
        }
    }
}

impl SyncCtx<'_> {
    /// The generator states kept by this sync's entries, in `dataFrom` order.
    pub(super) fn take_generated(&self) -> Vec<GeneratedState> {
        let mut kept = self
            .generated
            .lock()
            .map(|mut g| std::mem::take(&mut *g))
            .unwrap_or_default();
        kept.sort_by_key(|g| g.index);
        kept
    }

    /// Generates the values of `dataFrom[i]`.
    pub(super) async fn generate(
        &self,
        es: &ExternalSecret,
        i: usize,
        reference: &GeneratorRef,
    ) -> EntryResult {
        let location = format!("spec.dataFrom[{i}].sourceRef.generatorRef");
        let generators = &self.engine.generators;
        let unsupported = |kind: &str| EngineError::Unsupported {
            object: self.object.to_string(),
            location: location.clone(),
            message: format!(
                "generator kind {kind} is not supported (supported: {})",
                generators.kinds().collect::<Vec<_>>().join(", ")
            ),
        };
        // Kinds without an implementation are refused before the host is asked (their
        // resources may not even be installed).
        if reference.kind != CLUSTER_GENERATOR && generators.get(&reference.kind).is_none() {
            return Err(unsupported(&reference.kind));
        }
        let spec = self
            .env
            .generator(self.namespace, reference)
            .await
            .map_err(|e| EngineError::Environment {
                object: self.object.to_string(),
                location: location.clone(),
                message: e.message,
            })?;
        let Some(generator) = generators.get(spec.kind()) else {
            return Err(unsupported(spec.kind()));
        };
        let context = generator_context(self.namespace, reference);
        let request = GenerateRequest {
            spec: &spec,
            namespace: self.namespace,
            credentials: self.env.credentials(&context),
            context,
        };
        let generated =
            generator
                .generate(&request)
                .await
                .map_err(|error| EngineError::Provider {
                    object: self.object.to_string(),
                    location: location.clone(),
                    store: format!("{} {}", reference.kind, reference.name),
                    request: "generate".into(),
                    error,
                })?;
        if let (Some(state), Ok(mut kept)) = (generated.state, self.generated.lock()) {
            kept.push(GeneratedState {
                index: i,
                reference: reference.clone(),
                resource: spec.to_resource(),
                state,
            });
        }
        let rewrites = &es.spec.data_from[i].rewrite;
        let result = if has_transform(rewrites) {
            let (rewrites, cache) = (rewrites.clone(), Arc::clone(&self.engine.templates));
            let data = generated.data;
            self.engine
                .renderer
                .run(move || process_generated(&rewrites, data, &cache))
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        } else {
            process_generated(rewrites, generated.data, &self.engine.templates)
        };
        result.map_err(|m| self.value_error(&location, m))
    }
}
