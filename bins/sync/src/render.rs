//! `secretsync render`: fetch every selected ExternalSecret and print the Secrets they produce.

use std::process::ExitCode;

use secretsync_engine::{DesiredSecret, SyncResult};

use crate::cli::Source;
use crate::exit::{Class, Failure};
use crate::output::{self, Format};
use crate::progress::Progress;
use crate::run::{self, Report};
use crate::session::{ClusterNeed, Session, failures_of, finish};

/// Runs `render`. Secrets go to stdout (or files), problems to stderr.
pub async fn run(source: &Source, format: &Format, quiet: bool) -> ExitCode {
    let session = match Session::open(source, ClusterNeed::Optional).await {
        Ok(s) => s,
        Err(f) => return finish("render", 0, &[f], None, quiet),
    };
    let progress = Progress::new(session.jobs.len(), quiet);
    let reports = run::for_each(&session.jobs, session.concurrency, &progress, |job| {
        let session = &session;
        async move {
            let outcome = session.engine.sync(&job.es, session.env.as_ref()).await;
            let mut report: Report<DesiredSecret> = Report::status("rendered");
            report.failures = failures_of(job, &outcome);
            match outcome.result {
                Ok(SyncResult::Write(desired)) => report.value = Some(desired),
                Ok(SyncResult::Delete { name, namespace }) => {
                    report.status = format!(
                        "no data: deletionPolicy Delete would delete Secret {namespace}/{name}"
                    );
                }
                Ok(SyncResult::Retain { name, namespace }) => {
                    report.status =
                        format!("no data: deletionPolicy Retain keeps Secret {namespace}/{name}");
                }
                Err(_) => {}
            }
            report
        }
    })
    .await;
    session.engine.close().await;
    let mut failures = session.failures.clone();
    let mut secrets = Vec::new();
    for r in reports {
        failures.extend(r.failures);
        secrets.extend(r.value);
    }
    if let Err(m) = output::write(format, &secrets, &mut std::io::stdout().lock()) {
        failures.push(Failure::new(Class::Invalid, m));
    }
    finish("render", session.jobs.len(), &failures, None, quiet)
}
