//! `secretsync sync`: apply the Secrets once, as the operator would. The same crates do the
//! work: the engine renders, `secretsync_kube`'s writer applies with ESO's creation and
//! deletion policies and the operator's drift stamp (the drift key Secret is shared with the
//! operator), and its status functions write the ExternalSecret's status when the cluster
//! holds that ExternalSecret with the same spec. An operator starting afterwards finds every
//! Secret intact and writes nothing.
//!
//! Unlike the operator, `sync` adds no finalizer (no controller may be there to remove it) and
//! emits no events. A file's ExternalSecret that the cluster does not hold cannot own its
//! Secret: with `creationPolicy: Owner` the Secret is written without an owner (as `Orphan`).

use std::process::ExitCode;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::Api;
use secretsync_engine::{SyncOutcome, SyncResult, refresh};
use secretsync_kube::cache::ManagedSecrets;
use secretsync_kube::controller::decide::{self, Next, Step};
use secretsync_kube::drift::DriftKey;
use secretsync_kube::status::{next_status, write_status};
use secretsync_kube::writer::{WriteOutcome, Writer};
use secretsync_model::external_secret::{CreationPolicy, ExternalSecret};

use crate::cli::Source;
use crate::exit::{Class, Failure};
use crate::inputs::Job;
use crate::progress::Progress;
use crate::run::{self, Report};
use crate::session::{ClusterNeed, Session, failures_of, finish};
use crate::target;

/// Where the operator keeps its drift key.
#[derive(Clone, Debug)]
pub struct DriftKeySecret {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Runs `sync`.
pub async fn run(source: &Source, key_secret: &DriftKeySecret, quiet: bool) -> ExitCode {
    let session = match Session::open(source, ClusterNeed::Required).await {
        Ok(s) => s,
        Err(f) => return finish("sync", 0, &[f], None, quiet),
    };
    let Some(client) = session.client.clone() else {
        return finish("sync", 0, &session.failures, None, quiet);
    };
    let key =
        match DriftKey::load_or_create(client.clone(), &key_secret.namespace, &key_secret.name)
            .await
        {
            Ok(k) => k,
            Err(e) => {
                let failure = Failure::new(Class::Unavailable, e.to_string());
                return finish("sync", session.jobs.len(), &[failure], None, quiet);
            }
        };
    let writer = Writer::new(
        client.clone(),
        Arc::new(key),
        secretsync_kube::Config::default().eso_data_hash,
        Arc::new(managed_secrets(&client, source.namespace.as_deref()).await),
    );
    let progress = Progress::new(session.jobs.len(), quiet);
    let reports = run::for_each(&session.jobs, session.concurrency, &progress, |job| {
        let (session, client, writer) = (&session, &client, &writer);
        async move {
            let started = Timestamp::now();
            let outcome = session.engine.sync(&job.es, session.env.as_ref()).await;
            sync_one(job, outcome, client, writer, started).await
        }
    })
    .await;
    session.engine.close().await;
    let mut failures = session.failures.clone();
    failures.extend(reports.into_iter().flat_map(|r| r.failures));
    finish("sync", session.jobs.len(), &failures, None, quiet)
}

/// The managed Secrets from one LIST, so absent targets are created without a read each; when
/// the list is refused (RBAC of a namespaced CI identity), a cache that never lists: every
/// write reads its target first.
async fn managed_secrets(client: &kube::Client, namespace: Option<&str>) -> ManagedSecrets {
    match ManagedSecrets::list_once(client.clone(), namespace).await {
        Ok(cache) => cache,
        Err(e) => {
            tracing::warn!(
                "listing managed Secrets failed ({}); each target is read before it is written",
                secretsync_kube::sanitize::api_error(&e)
            );
            ManagedSecrets::default()
        }
    }
}

async fn sync_one(
    job: &Job,
    outcome: SyncOutcome,
    client: &kube::Client,
    writer: &Writer,
    started: Timestamp,
) -> Report<()> {
    let mut report: Report<()> = Report::status("synced");
    report.failures = failures_of(job, &outcome);
    let keys = outcome.key_statuses();
    let cluster_es = match target::cluster_object(client, job).await {
        Ok(es) => es,
        Err(e) => {
            report.failures.push(Failure::new(
                Class::Unavailable,
                format!(
                    "{}: reading the ExternalSecret from the cluster: {e}",
                    job.label()
                ),
            ));
            return report;
        }
    };
    // Status only for the cluster's own object, and only when the file says the same.
    let status_es = cluster_es.as_ref().filter(|c| c.spec == job.es.spec);
    if cluster_es.is_some() && status_es.is_none() {
        tracing::warn!(
            "{}: the cluster's ExternalSecret has another spec; its status is left alone",
            job.label()
        );
    }
    let owner = cluster_es.as_ref().unwrap_or(&job.es);
    let write_error;
    let target;
    let fallbacks = outcome.fallbacks;
    let step = match outcome.result {
        Err(e) => {
            report.status = format!("failed ({})", e.kind_label());
            Step::FetchFailed {
                message: e.to_string(),
                retry_after: e.retry_after(),
            }
        }
        Ok(SyncResult::Write(mut desired)) => {
            if desired.creation_policy == CreationPolicy::Owner && owner.metadata.uid.is_none() {
                tracing::warn!(
                    "{}: not in the cluster, so it cannot own Secret {}/{}: written without an owner",
                    job.label(),
                    desired.namespace,
                    desired.name
                );
                desired.creation_policy = CreationPolicy::Orphan;
            }
            target = format!("{}/{}", desired.namespace, desired.name);
            match writer.write(owner, &desired).await {
                Ok(outcome) => {
                    report.status = write_status_word(outcome).into();
                    Step::Wrote {
                        outcome,
                        target: &target,
                        fallbacks: &fallbacks,
                    }
                }
                Err(e) => {
                    write_error = e;
                    Step::WriteFailed(&write_error)
                }
            }
        }
        Ok(SyncResult::Delete { name, namespace }) => {
            target = format!("{namespace}/{name}");
            match writer.delete_owned(owner, &namespace, &name).await {
                Ok(outcome) => {
                    report.status = write_status_word(outcome).into();
                    Step::Deleted {
                        outcome,
                        target: &target,
                    }
                }
                Err(e) => {
                    write_error = e;
                    Step::WriteFailed(&write_error)
                }
            }
        }
        Ok(SyncResult::Retain { .. }) => {
            report.status = "retained (no data)".into();
            Step::Retained
        }
    };
    if let Step::WriteFailed(error) = &step {
        let class = if error.is_retryable() {
            Class::Unavailable
        } else {
            Class::Invalid
        };
        report
            .failures
            .push(Failure::new(class, format!("{}: {error}", job.label())));
    }
    // The operator's decision (the same pure function): Ready condition, and the refresh time
    // and syncedResourceVersion only after a successful read and write.
    let decided = decide::report(&step);
    if let Some(es) = status_es {
        let (refreshed, version) = if decided.next == Next::Refresh {
            (Some(started), Some(refresh::current_resource_version(es)))
        } else {
            (None, None)
        };
        let status = next_status(
            es,
            &decided.readiness,
            refreshed,
            version,
            Some(keys),
            Timestamp::now(),
        );
        write_status_reporting(client, es, &status, job, &mut report).await;
    }
    report
}

fn write_status_word(outcome: WriteOutcome) -> &'static str {
    match outcome {
        WriteOutcome::Created => "created",
        WriteOutcome::Updated => "updated",
        WriteOutcome::Unchanged => "unchanged",
        WriteOutcome::Deleted => "deleted",
        WriteOutcome::Missing => "missing (creationPolicy Merge)",
        WriteOutcome::Skipped => "skipped",
    }
}

async fn write_status_reporting(
    client: &kube::Client,
    es: &ExternalSecret,
    status: &secretsync_model::external_secret::ExternalSecretStatus,
    job: &Job,
    report: &mut Report<()>,
) {
    let api: Api<ExternalSecret> =
        Api::namespaced(client.clone(), &es.namespace().unwrap_or_default());
    if let Err(e) = write_status(&api, es, status).await {
        report.failures.push(Failure::new(
            Class::Unavailable,
            format!("{}: writing status: {e}", job.label()),
        ));
    }
}
