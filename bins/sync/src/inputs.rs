//! Reading manifest files and indexing what they contain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secretsync_model::credentials::StaticCredentials;
use secretsync_model::external_secret::{ExternalSecret, StoreKind};
use secretsync_model::manifest::{Document, Resource, parse_documents};
use secretsync_model::secret_store::SecretStoreSpec;
use secretsync_model::{SecretValue, StoreId};

/// Namespace used for namespaced objects that do not name one (as kubectl does).
pub const DEFAULT_NAMESPACE: &str = "default";

/// Everything read from the manifest files.
#[derive(Default)]
pub struct Inputs {
    /// ExternalSecrets with where they came from (`file: document N`).
    pub external_secrets: Vec<(String, ExternalSecret)>,
    /// Stores by identity.
    pub stores: BTreeMap<StoreId, SecretStoreSpec>,
    /// Secrets and ConfigMaps, usable as credentials and template sources.
    pub credentials: StaticCredentials,
    /// Secret data by (namespace, name), for `templateFrom.secret`.
    pub secrets: BTreeMap<(String, String), BTreeMap<String, SecretValue>>,
    /// ConfigMap data by (namespace, name), for `templateFrom.configMap`.
    pub config_maps: BTreeMap<(String, String), BTreeMap<String, String>>,
}

/// Lists the manifest files under the given paths (directories recursively, sorted).
pub fn manifest_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            collect_dir(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_dir(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and indexes every document; returns the inputs and one message per bad document.
pub fn load(paths: &[PathBuf]) -> (Inputs, Vec<String>) {
    let mut inputs = Inputs::default();
    let mut errors = Vec::new();
    let files = match manifest_files(paths) {
        Ok(f) => f,
        Err(e) => return (inputs, vec![e]),
    };
    for file in files {
        let name = file.display().to_string();
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{name}: {e}"));
                continue;
            }
        };
        for doc in parse_documents(&name, &text) {
            match doc {
                Ok(doc) => inputs.add(doc),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    (inputs, errors)
}

impl Inputs {
    fn add(&mut self, doc: Document) {
        let origin = format!("{}: document {}", doc.source, doc.index);
        match doc.resource {
            Resource::ExternalSecret(mut es) => {
                es.metadata
                    .namespace
                    .get_or_insert_with(|| DEFAULT_NAMESPACE.to_string());
                self.external_secrets.push((origin, *es));
            }
            Resource::SecretStore(s) => {
                let id = StoreId {
                    kind: StoreKind::SecretStore,
                    namespace: Some(
                        s.metadata
                            .namespace
                            .clone()
                            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()),
                    ),
                    name: s.metadata.name.clone().unwrap_or_default(),
                };
                self.stores.insert(id, s.spec);
            }
            Resource::ClusterSecretStore(s) => {
                let id = StoreId {
                    kind: StoreKind::ClusterSecretStore,
                    namespace: None,
                    name: s.metadata.name.clone().unwrap_or_default(),
                };
                self.stores.insert(id, s.spec.store);
            }
            Resource::ClusterExternalSecret(_) => {
                tracing::warn!(
                    "{origin}: ClusterExternalSecret needs a cluster to select namespaces; skipped by render"
                );
            }
            Resource::Secret(s) => {
                let namespace = s
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
                let name = s.metadata.name.clone().unwrap_or_default();
                let mut data: BTreeMap<String, SecretValue> = s
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, SecretValue::new(v.0)))
                    .collect();
                for (k, v) in s.string_data.unwrap_or_default() {
                    data.insert(k, SecretValue::from(v));
                }
                self.credentials
                    .add_secret(Some(namespace.clone()), name.clone(), data.clone());
                self.secrets.insert((namespace, name), data);
            }
            Resource::ConfigMap(c) => {
                let namespace = c
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
                let name = c.metadata.name.clone().unwrap_or_default();
                let data = c.data.unwrap_or_default();
                self.credentials.add_config_map(
                    Some(namespace.clone()),
                    name.clone(),
                    data.clone(),
                );
                self.config_maps.insert((namespace, name), data);
            }
        }
    }
}
