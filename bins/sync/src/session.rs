//! What every command sets up: the jobs (ExternalSecrets from files and/or the cluster), the
//! environment (the files' objects, then the cluster or a stand-in that says what is missing,
//! with CI credentials on top), the engine, and the closing summary.

use std::process::ExitCode;
use std::sync::Arc;

use secretsync_engine::{
    Engine, EngineConfig, FetchConfig, KeyState, SyncEnvironment, SyncOutcome,
};
use secretsync_kube::credentials::CredentialIndex;
use secretsync_kube::environment::KubeEnvironment;
use secretsync_model::ProviderFactory;
use secretsync_providers::{AllProviders, AmbientIdentity, ProviderOptions};

use crate::ci::{CiCredentials, CiEnvironment, StorePatterns};
use crate::cli::Source;
use crate::cluster::{self, NoCluster};
use crate::exit::{Class, Failure, classify, exit_code};
use crate::inputs::{self, Job};
use crate::select::Selection;

/// Whether a command needs the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterNeed {
    /// Used when configured (credentials the files lack), else a stand-in explains.
    Optional,
    /// Required (`sync`, `diff`, `--from-cluster`): no cluster is exit code 3.
    Required,
}

/// Everything a command works with.
pub struct Session {
    /// The engine (one per run: every ExternalSecret shares its providers and coalescing).
    pub engine: Engine,
    /// The provider factory (for store validation).
    pub factory: Arc<dyn ProviderFactory>,
    /// The environment.
    pub env: Arc<dyn SyncEnvironment>,
    /// The selected ExternalSecrets.
    pub jobs: Vec<Job>,
    /// The PushSecrets of the files, with their origin (`secretsync push`).
    pub push_secrets: Vec<(String, secretsync_model::push_secret::PushSecret)>,
    /// Problems found while reading the input.
    pub failures: Vec<Failure>,
    /// The cluster, when configured.
    pub client: Option<kube::Client>,
    /// ExternalSecrets worked on at once.
    pub concurrency: usize,
}

/// How long one run reuses a read: longer than any run.
const RUN_COALESCE_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

fn provider_options(source: &Source) -> Result<ProviderOptions, String> {
    let mut options = ProviderOptions::from_env().map_err(|e| e.to_string())?;
    // The one-shot CLI runs as its user: that identity (VAULT_TOKEN, the AWS chain, Azure's
    // federated token or managed identity) may serve every store, as ESO allows.
    options.ambient_identity = AmbientIdentity::AnyStore;
    if let Some(path) = &source.ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        let text = String::from_utf8(pem.clone())
            .map_err(|_| format!("--ca-file {}: not a PEM text file", path.display()))?;
        options.vault.extra_root_certificates_pem.push(pem);
        options.azure.extra_root_certificates_pem.push(text);
    }
    Ok(options)
}

impl Session {
    /// Reads the input and connects what `need` requires. A failure here stops the command.
    pub async fn open(source: &Source, need: ClusterNeed) -> Result<Session, Failure> {
        let invalid = |m: String| Failure::new(Class::Invalid, m);
        let selection = Selection::new(source.namespace.clone(), source.selector.as_deref())
            .map_err(invalid)?;
        let inputs = if source.files.is_empty() {
            inputs::Inputs::default()
        } else {
            inputs::load(&source.files)
        };
        let need = if source.from_cluster {
            ClusterNeed::Required
        } else {
            need
        };
        let client = cluster::client(source.kubeconfig.as_deref(), source.context.as_deref()).await;
        let (client, fallback): (Option<kube::Client>, Arc<dyn SyncEnvironment>) = match client {
            Ok(c) => (
                Some(c.clone()),
                Arc::new(KubeEnvironment::new(
                    c,
                    None,
                    Arc::new(CredentialIndex::default()),
                )),
            ),
            Err(why) if need == ClusterNeed::Required => {
                return Err(Failure::new(
                    Class::Unavailable,
                    format!("this command needs a cluster: {}", why.reason),
                ));
            }
            Err(why) => (None, Arc::new(NoCluster::new(why))),
        };
        let from_files = inputs
            .environment
            .stores()
            .map(|(id, _)| id.clone())
            .collect();
        let memory = inputs.environment.with_fallback(fallback);
        let ci = CiCredentials::from_env().map_err(invalid)?;
        let env = CiEnvironment::new(
            Arc::new(memory),
            ci,
            StorePatterns::new(&source.env_credentials),
            from_files,
        );
        let mut jobs: Vec<Job> = inputs
            .jobs
            .into_iter()
            .filter(|j| selection.matches(&j.es))
            .collect();
        if source.from_cluster
            && let Some(c) = &client
        {
            let listed = cluster::external_secrets(c, &selection)
                .await
                .map_err(|m| Failure::new(Class::Unavailable, m))?;
            jobs.extend(listed);
        }
        let options = provider_options(source).map_err(invalid)?;
        let providers = AllProviders::new(options);
        let generators = providers.generators();
        let factory: Arc<dyn ProviderFactory> = Arc::new(providers);
        let engine = Engine::new(
            factory.clone(),
            EngineConfig {
                fetch: FetchConfig {
                    max_concurrent_per_store: source.per_store.max(1),
                    // A read is made once per run: the values planned ahead and read by one
                    // ExternalSecret serve every other one that asks for them.
                    coalesce_window: RUN_COALESCE_WINDOW,
                    ..FetchConfig::default()
                },
                ..EngineConfig::default()
            },
        )
        .with_generators(generators);
        // Batching providers (AWS) get every plain read in full batches before the syncs run.
        engine.prefetch(jobs.iter().map(|j| &j.es), &env).await;
        Ok(Session {
            engine,
            factory,
            env: Arc::new(env),
            jobs,
            push_secrets: inputs.push_secrets,
            failures: inputs.failures,
            client,
            concurrency: source.concurrency,
        })
    }
}

/// The failures of one ExternalSecret's sync: every missing or failed entry, and the sync's
/// error when no entry carries it. Messages start with the file and document.
pub fn failures_of(job: &Job, outcome: &SyncOutcome) -> Vec<Failure> {
    let error_class = outcome.result.as_ref().err().map(classify);
    let mut out: Vec<Failure> = outcome
        .keys
        .iter()
        .filter_map(|k| match &k.state {
            KeyState::Synced => None,
            KeyState::Missing { reason } => Some(Failure::new(
                Class::Missing,
                format!("{}: {reason}", job.origin),
            )),
            KeyState::Failed { reason } => Some(Failure::new(
                error_class.unwrap_or(Class::Unavailable),
                format!("{}: {reason}", job.origin),
            )),
        })
        .collect();
    if let Err(e) = &outcome.result {
        let message = format!("{}: {e}", job.origin);
        if !out.iter().any(|f| f.message == message) {
            out.push(Failure::new(classify(e), message));
        }
    }
    out
}

/// Prints the summary (every failure, one line each) to stderr and returns the exit code;
/// `extra` raises it (e.g. `diff --exit-code` found changes).
pub fn finish(
    command: &str,
    jobs: usize,
    failures: &[Failure],
    extra: Option<Class>,
    quiet: bool,
) -> ExitCode {
    let failed: std::collections::BTreeSet<&str> =
        failures.iter().map(|f| f.message.as_str()).collect();
    if failures.is_empty() {
        if !quiet {
            eprintln!("secretsync {command}: {jobs} ExternalSecrets, no failures");
        }
    } else {
        eprintln!(
            "secretsync {command}: {jobs} ExternalSecrets, {} failures:",
            failed.len()
        );
        for message in &failed {
            eprintln!("error: {message}");
        }
    }
    let code = exit_code(failures);
    match extra {
        Some(class) if failures.is_empty() => ExitCode::from(class.code()),
        _ => code,
    }
}
