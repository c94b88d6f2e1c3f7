//! `dataFrom[i].sourceRef.generatorRef`: resolve the generator through the host, run the
//! implementation of its kind, then apply the entry's rewrites and ESO's key checks (ESO's
//! `handleGenerateSecrets`).

use std::sync::Arc;

use secretsync_model::StoreId;
use secretsync_model::external_secret::{ExternalSecret, GeneratorRef, StoreKind};
use secretsync_model::generator::{CLUSTER_GENERATOR, GenerateRequest, Generated};
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

/// Why a `generatorRef` produced no values. Messages name kinds and fields, never values.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The kind has no implementation in secretsync.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The host could not resolve the reference (missing object, bad spec).
    #[error("{0}")]
    Environment(String),
    /// The generator failed.
    #[error("generate: {0}")]
    Provider(ProviderError),
}

impl Engine {
    /// Resolves `reference` made from `namespace` through the host and runs the generator of
    /// its kind once: the resolved spec and what it produced (values and any state to keep).
    /// Shared by ExternalSecret `dataFrom` entries and PushSecret `selector.generatorRef`.
    pub async fn run_generator(
        &self,
        namespace: &str,
        reference: &GeneratorRef,
        env: &dyn SyncEnvironment,
    ) -> Result<(GeneratorSpec, Generated), GenerateError> {
        let generators = &self.generators;
        let unsupported = |kind: &str| {
            GenerateError::Unsupported(format!(
                "generator kind {kind} is not supported (supported: {})",
                generators.kinds().collect::<Vec<_>>().join(", ")
            ))
        };
        // Kinds without an implementation are refused before the host is asked (their
        // resources may not even be installed).
        if reference.kind != CLUSTER_GENERATOR && generators.get(&reference.kind).is_none() {
            return Err(unsupported(&reference.kind));
        }
        let spec = env
            .generator(namespace, reference)
            .await
            .map_err(|e| GenerateError::Environment(e.message))?;
        let Some(generator) = generators.get(spec.kind()) else {
            return Err(unsupported(spec.kind()));
        };
        let context = generator_context(namespace, reference);
        let request = GenerateRequest {
            spec: &spec,
            namespace,
            credentials: env.credentials(&context),
            context,
        };
        let generated = generator
            .generate(&request)
            .await
            .map_err(GenerateError::Provider)?;
        Ok((spec, generated))
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
        let (spec, generated) = self
            .engine
            .run_generator(self.namespace, reference, self.env)
            .await
            .map_err(|e| match e {
                GenerateError::Unsupported(message) => EngineError::Unsupported {
                    object: self.object.to_string(),
                    location: location.clone(),
                    message,
                },
                GenerateError::Environment(message) => EngineError::Environment {
                    object: self.object.to_string(),
                    location: location.clone(),
                    message,
                },
                GenerateError::Provider(error) => EngineError::Provider {
                    object: self.object.to_string(),
                    location: location.clone(),
                    store: format!("{} {}", reference.kind, reference.name),
                    request: "generate".into(),
                    error,
                },
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
