//! `secretsync render`: fetch every ExternalSecret of the given manifests and print Secrets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use secretsync_engine::{
    Engine, EngineConfig, EnvironmentError, KeyState, ResolvedStore, SyncEnvironment, SyncResult,
    TemplateSourceKind,
};
use secretsync_model::credentials::{CredentialResolver, StaticCredentials};
use secretsync_model::external_secret::{SecretStoreRef, StoreKind};
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::{SecretValue, StoreContext, StoreId};
use secretsync_providers::{AllProviders, AmbientIdentity, ProviderOptions};

use crate::inputs::{self, Inputs};
use crate::output;

/// Renders the manifests; prints Secrets to stdout and one line per problem to stderr.
pub async fn render(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let (inputs, mut problems) = inputs::load(files);
    let Inputs {
        external_secrets,
        stores,
        credentials,
        secrets,
        config_maps,
    } = inputs;
    let env = ManifestEnvironment {
        stores: stores
            .into_iter()
            .map(|(id, spec)| (id, Arc::new(spec)))
            .collect(),
        credentials: Arc::new(credentials),
        secrets,
        config_maps,
    };
    // The one-shot CLI runs as its user: that identity may serve every store.
    let providers = AllProviders::new(ProviderOptions {
        ambient_identity: AmbientIdentity::AnyStore,
        ..ProviderOptions::from_env()?.with_vault_environment_token()
    });
    let engine = Engine::new(Arc::new(providers), EngineConfig::default());
    let mut rendered = Vec::new();
    for (origin, es) in &external_secrets {
        let origin = format!(
            "{origin} (ExternalSecret/{})",
            es.metadata.name.as_deref().unwrap_or_default()
        );
        let outcome = engine.sync(es, &env).await;
        if outcome.is_partial() {
            // The sync succeeded without some remote secrets (deletionPolicy Delete/Merge):
            // say which, so a partial result is never mistaken for a full one.
            for key in &outcome.keys {
                if let KeyState::Missing { reason } | KeyState::Failed { reason } = &key.state {
                    problems.push(format!("{origin}: {}: {reason}", key.location));
                }
            }
        }
        match outcome.result {
            Ok(SyncResult::Write(desired)) => rendered.push(output::to_secret(&desired)),
            Ok(SyncResult::Delete { name, namespace }) => {
                eprintln!(
                    "{origin}: providers returned no data; deletionPolicy Delete would delete Secret {namespace}/{name}"
                );
            }
            Ok(SyncResult::Retain { name, namespace }) => {
                eprintln!(
                    "{origin}: providers returned no data; deletionPolicy Retain keeps Secret {namespace}/{name}"
                );
            }
            Err(e) => problems.push(format!("{origin}: {e}")),
        }
    }
    engine.close().await;
    print!("{}", output::to_yaml_stream(&rendered)?);
    problems.dedup();
    for p in &problems {
        eprintln!("error: {p}");
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The engine's view of the manifest files.
struct ManifestEnvironment {
    stores: BTreeMap<StoreId, Arc<SecretStoreSpec>>,
    credentials: Arc<StaticCredentials>,
    secrets: BTreeMap<(String, String), BTreeMap<String, SecretValue>>,
    config_maps: BTreeMap<(String, String), BTreeMap<String, String>>,
}

#[async_trait]
impl SyncEnvironment for ManifestEnvironment {
    async fn store(
        &self,
        namespace: &str,
        reference: &SecretStoreRef,
    ) -> Result<ResolvedStore, EnvironmentError> {
        let id = StoreId {
            kind: reference.kind,
            namespace: (reference.kind == StoreKind::SecretStore).then(|| namespace.to_string()),
            name: reference.name.clone(),
        };
        let spec = self.stores.get(&id).ok_or_else(|| {
            EnvironmentError::not_found(format!("{id} not found in the given manifests"))
        })?;
        if id.kind == StoreKind::ClusterSecretStore {
            admits_namespace(spec, namespace)
                .map_err(|m| EnvironmentError::other(format!("{id}: {m}")))?;
        }
        Ok(ResolvedStore {
            id,
            spec: spec.clone(),
        })
    }

    fn credentials(&self, _context: &StoreContext) -> Arc<dyn CredentialResolver> {
        self.credentials.clone()
    }

    async fn template_source(
        &self,
        kind: TemplateSourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, SecretValue>, EnvironmentError> {
        let key = (namespace.to_string(), name.to_string());
        let missing = || {
            EnvironmentError::not_found(format!(
                "{kind} {namespace}/{name} not found in the given manifests"
            ))
        };
        match kind {
            TemplateSourceKind::Secret => self.secrets.get(&key).cloned().ok_or_else(missing),
            TemplateSourceKind::ConfigMap => self
                .config_maps
                .get(&key)
                .map(|d| {
                    d.iter()
                        .map(|(k, v)| (k.clone(), SecretValue::from(v.as_str())))
                        .collect()
                })
                .ok_or_else(missing),
        }
    }
}

/// ESO's ClusterSecretStore `conditions`, as far as they can be checked without a cluster:
/// namespace names and regexes; label selectors need the Namespace objects.
fn admits_namespace(spec: &SecretStoreSpec, namespace: &str) -> Result<(), String> {
    if spec.conditions.is_empty() {
        return Ok(());
    }
    for condition in &spec.conditions {
        if condition.namespaces.iter().any(|n| n == namespace) {
            return Ok(());
        }
        for pattern in &condition.namespace_regexes {
            let re = regex_lite(pattern)?;
            if re.is_match(namespace) {
                return Ok(());
            }
        }
    }
    if spec
        .conditions
        .iter()
        .any(|c| c.namespace_selector.is_some())
    {
        return Err(format!(
            "namespace {namespace:?} is not admitted by spec.conditions names or regexes, and namespaceSelector needs a cluster"
        ));
    }
    Err(format!(
        "namespace {namespace:?} is not admitted by spec.conditions"
    ))
}

fn regex_lite(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern)
        .map_err(|e| format!("spec.conditions namespaceRegexes {pattern:?}: {e}"))
}
