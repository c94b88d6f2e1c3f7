//! Reading manifest files: ExternalSecrets become jobs, stores, Secrets and ConfigMaps go into
//! the engine's [`MemoryEnvironment`]; every bad document is one failure naming the file, the
//! document, the object and the field. Valid documents of a file are used even when others in
//! it are not.

use std::path::{Path, PathBuf};

use secretsync_engine::MemoryEnvironment;
use secretsync_engine::memory::DEFAULT_NAMESPACE;
use secretsync_model::external_secret::ExternalSecret;
use secretsync_model::manifest::{Resource, parse_documents};

use crate::exit::{Class, Failure};

/// One ExternalSecret to work on and where it came from.
#[derive(Clone, Debug)]
pub struct Job {
    /// `file: document N`, or `cluster` for `--from-cluster`.
    pub origin: String,
    /// The ExternalSecret (namespace always set).
    pub es: ExternalSecret,
}

impl Job {
    /// A job for `es`, defaulting its namespace as `kubectl` does.
    pub fn new(origin: impl Into<String>, mut es: ExternalSecret) -> Self {
        es.metadata
            .namespace
            .get_or_insert_with(|| DEFAULT_NAMESPACE.to_string());
        Job {
            origin: origin.into(),
            es,
        }
    }

    /// `namespace/name` of the ExternalSecret.
    pub fn object(&self) -> String {
        format!(
            "{}/{}",
            self.es.metadata.namespace.as_deref().unwrap_or_default(),
            self.es.metadata.name.as_deref().unwrap_or_default()
        )
    }

    /// `origin (ExternalSecret namespace/name)`, the prefix of every message about this job.
    pub fn label(&self) -> String {
        format!("{} (ExternalSecret {})", self.origin, self.object())
    }
}

/// Everything read from the files.
#[derive(Default)]
pub struct Inputs {
    /// The ExternalSecrets, in file and document order.
    pub jobs: Vec<Job>,
    /// The PushSecrets (`secretsync push`), with their origin, in file and document order.
    pub push_secrets: Vec<(String, secretsync_model::push_secret::PushSecret)>,
    /// Stores, Secrets and ConfigMaps of the files.
    pub environment: MemoryEnvironment,
    /// One failure per unreadable file or bad document.
    pub failures: Vec<Failure>,
}

/// Lists the manifest files under the given paths (directories recursively, sorted; files
/// named `*.yaml`, `*.yml` or `*.json`).
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

/// Reads and indexes every document of the given files and directories.
pub fn load(paths: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs::default();
    let files = match manifest_files(paths) {
        Ok(f) => f,
        Err(e) => {
            inputs.failures.push(Failure::new(Class::Invalid, e));
            return inputs;
        }
    };
    for file in files {
        let name = file.display().to_string();
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                inputs
                    .failures
                    .push(Failure::new(Class::Invalid, format!("{name}: {e}")));
                continue;
            }
        };
        for doc in parse_documents(&name, &text) {
            let doc = match doc {
                Ok(doc) => doc,
                Err(e) => {
                    inputs
                        .failures
                        .push(Failure::new(Class::Invalid, e.to_string()));
                    continue;
                }
            };
            let origin = format!("{}: document {}", doc.source, doc.index);
            match inputs.environment.insert(doc.resource) {
                Some(Resource::ExternalSecret(es)) => inputs.jobs.push(Job::new(origin, *es)),
                Some(Resource::PushSecret(ps)) => inputs.push_secrets.push((origin, *ps)),
                Some(other) => tracing::warn!(
                    "{origin}: {} needs a cluster to select namespaces; skipped",
                    other.describe()
                ),
                None => {}
            }
        }
    }
    inputs
}
