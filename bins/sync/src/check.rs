//! `secretsync check`: a pre-deploy gate. Validates the manifests, each store's connectivity
//! (the provider's own validation: reachability, authentication, access) and that every key the
//! ExternalSecrets reference exists. Prints no value.

use std::collections::BTreeSet;
use std::process::ExitCode;

use secretsync_model::provider::StoreContext;
use secretsync_model::{StoreId, Validation};

use crate::cli::Source;
use crate::exit::{Failure, classify_store};
use crate::progress::Progress;
use crate::run::{self, Report};
use crate::session::{ClusterNeed, Session, failures_of, finish};

/// Runs `check`.
pub async fn run(source: &Source, quiet: bool) -> ExitCode {
    let session = match Session::open(source, ClusterNeed::Optional).await {
        Ok(s) => s,
        Err(f) => return finish("check", 0, &[f], None, quiet),
    };
    let mut failures = session.failures.clone();
    failures.extend(check_stores(&session).await);
    let progress = Progress::new(session.jobs.len(), quiet);
    let reports = run::for_each(&session.jobs, session.concurrency, &progress, |job| {
        let session = &session;
        async move {
            let outcome = session.engine.sync(&job.es, session.env.as_ref()).await;
            let mut report: Report<()> =
                Report::status(format!("{} keys present", outcome.keys.len()));
            report.failures = failures_of(job, &outcome);
            report
        }
    })
    .await;
    session.engine.close().await;
    failures.extend(reports.into_iter().flat_map(|r| r.failures));
    finish("check", session.jobs.len(), &failures, None, quiet)
}

/// Validates every store the selected ExternalSecrets use, once per store and reading
/// namespace. Stores that cannot be resolved are reported by the ExternalSecrets' own checks.
async fn check_stores(session: &Session) -> Vec<Failure> {
    let mut seen: BTreeSet<(StoreId, String)> = BTreeSet::new();
    let mut failures = Vec::new();
    for job in &session.jobs {
        let namespace = job.es.metadata.namespace.clone().unwrap_or_default();
        for reference in job.es.spec.store_refs() {
            let Ok(store) = session.env.store(&namespace, reference).await else {
                continue;
            };
            if !seen.insert((store.id.clone(), namespace.clone())) {
                continue;
            }
            let context = StoreContext {
                store: store.id.clone(),
                reader_namespace: Some(namespace.clone()),
            };
            let what = format!("{} (read from namespace {namespace})", store.id);
            let provider = match session
                .factory
                .build(&context, &store.spec, session.env.credentials(&context))
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    failures.push(Failure::new(classify_store(&e), format!("{what}: {e}")));
                    continue;
                }
            };
            match provider.validate().await {
                Ok(Validation::Ready) => tracing::info!("{what}: ready"),
                Ok(Validation::Unknown(why)) => tracing::info!("{what}: not validated: {why}"),
                Err(e) => failures.push(Failure::new(
                    classify_store(&e),
                    format!("{what}: validation failed: {e}"),
                )),
            }
            provider.close().await;
        }
    }
    failures
}
