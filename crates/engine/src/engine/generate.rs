//! `dataFrom[i].sourceRef.generatorRef`: resolve the generator through the host, run the
//! implementation of its kind, then apply the entry's rewrites and ESO's key checks (ESO's
//! `handleGenerateSecrets`).

use std::sync::Arc;

use secretsync_model::StoreId;
use secretsync_model::external_secret::{ExternalSecret, GeneratorRef, StoreKind};
use secretsync_model::generator::{CLUSTER_GENERATOR, GenerateRequest};
use secretsync_model::provider::StoreContext;

use super::{EntryResult, SyncCtx, has_transform};
use crate::error::EngineError;
use crate::pipeline::process_generated;

impl SyncCtx<'_> {
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
        let cluster = reference.kind == CLUSTER_GENERATOR;
        // A namespaced generator reads credentials as a SecretStore of its namespace would,
        // a ClusterGenerator as a ClusterSecretStore.
        let context = StoreContext {
            store: StoreId {
                kind: if cluster {
                    StoreKind::ClusterSecretStore
                } else {
                    StoreKind::SecretStore
                },
                namespace: (!cluster).then(|| self.namespace.to_string()),
                name: format!("{}/{}", reference.kind, reference.name),
            },
            reader_namespace: Some(self.namespace.to_string()),
        };
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
