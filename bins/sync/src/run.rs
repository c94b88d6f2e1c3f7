//! Runs one action per ExternalSecret concurrently (bounded), so one failure never stops the
//! others, and collects what each reported, in input order.

use futures::StreamExt;

use crate::exit::Failure;
use crate::inputs::Job;
use crate::progress::Progress;

/// What one ExternalSecret's action reported.
#[derive(Default)]
pub struct Report<T> {
    /// Its failures (the summary lists every one).
    pub failures: Vec<Failure>,
    /// Its result, if any.
    pub value: Option<T>,
    /// Short status for the progress line (`synced`, `unchanged`, `failed`, ...).
    pub status: String,
}

impl<T> Report<T> {
    /// A report with status `status`.
    pub fn status(status: impl Into<String>) -> Self {
        Report {
            failures: Vec::new(),
            value: None,
            status: status.into(),
        }
    }
}

/// Runs `action` for every job, at most `concurrency` at once; reports are in job order.
pub async fn for_each<'a, T, F, Fut>(
    jobs: &'a [Job],
    concurrency: usize,
    progress: &Progress,
    action: F,
) -> Vec<Report<T>>
where
    F: Fn(&'a Job) -> Fut,
    Fut: std::future::Future<Output = Report<T>>,
{
    let mut indexed: Vec<(usize, Report<T>)> = futures::stream::iter(jobs.iter().enumerate())
        .map(|(i, job)| {
            let fut = action(job);
            async move {
                let report = fut.await;
                let status = if report.failures.is_empty() {
                    report.status.as_str()
                } else {
                    "failed"
                };
                progress.finished(&job.label(), status);
                (i, report)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    progress.done();
    indexed.sort_by_key(|(i, _)| *i);
    indexed.into_iter().map(|(_, r)| r).collect()
}
