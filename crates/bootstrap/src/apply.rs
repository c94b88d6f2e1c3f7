//! `plan`, `apply` and `status` over the pieces: desired items, observation, the pure plan,
//! execution. A failure stops the run and says which step failed, what was done, and how to
//! resume (run `apply` again: every step observes first).

use std::collections::BTreeMap;

use crate::context::Bootstrapper;
use crate::desired::desired;
use crate::execute::StepError;
use crate::observe::ObserveError;
use crate::plan::{Item, Phase, State, Step, Want, plan};

/// Options of `apply`.
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// Stop (as if killed) after this many steps: the test hook for interruption safety.
    pub stop_after: Option<usize>,
    /// Let migration overwrite a different value already in Vault.
    pub force: bool,
}

/// What `apply` did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApplyReport {
    /// The steps performed, as printed.
    pub done: Vec<String>,
}

/// Why `apply` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Observation failed before anything was done.
    #[error("observing: {0}")]
    Observe(#[from] ObserveError),
    /// A step failed.
    #[error(
        "step failed: {step}: {source}\n{} step(s) done before it; fix the cause and run apply again (done steps are skipped)",
        done.len()
    )]
    Step {
        /// The failed step.
        step: String,
        /// The error.
        source: StepError,
        /// Steps done before.
        done: Vec<String>,
    },
    /// Stopped by [`ApplyOptions::stop_after`].
    #[error("stopped after {} step(s) as asked; run apply again to continue", done.len())]
    Interrupted {
        /// Steps done.
        done: Vec<String>,
    },
}

/// Where one phase stands.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseStatus {
    /// The phase.
    pub phase: Phase,
    /// Items of the phase.
    pub items: usize,
    /// Items as wanted.
    pub done: usize,
    /// Whether the phase's checks passed for this configuration (always true for a phase
    /// without checks of its own).
    pub verified: bool,
    /// Items not as wanted, with their state.
    pub pending: Vec<(String, State)>,
}

impl Bootstrapper {
    /// The desired items.
    pub fn items(&self) -> Vec<Item> {
        desired(&self.config, &self.cluster, &self.operator_manifests)
    }

    /// The steps `apply` would take now (reads only).
    pub async fn plan(&self) -> Result<Vec<Step>, ObserveError> {
        let items = self.items();
        let observed = self.observe(&items).await?;
        Ok(plan(&items, &observed))
    }

    /// Performs the plan, step by step, logging each step (never a value).
    pub async fn apply(&self, options: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
        let steps = self.plan().await?;
        let mut report = ApplyReport::default();
        for step in steps {
            if options.stop_after == Some(report.done.len()) {
                return Err(ApplyError::Interrupted { done: report.done });
            }
            let line = step.to_string();
            tracing::info!(step = %line, "applying");
            if let Err(source) = self.execute(&step, options.force).await {
                return Err(ApplyError::Step {
                    step: line,
                    source,
                    done: report.done,
                });
            }
            tracing::info!(step = %line, "done");
            report.done.push(line);
        }
        Ok(report)
    }

    /// Where each phase stands.
    pub async fn status(&self) -> Result<Vec<PhaseStatus>, ObserveError> {
        let items = self.items();
        let observed = self.observe(&items).await?;
        Ok(phase_status(&items, &observed))
    }
}

/// Summarises observations per phase (pure).
pub fn phase_status(items: &[Item], observed: &BTreeMap<String, State>) -> Vec<PhaseStatus> {
    let mut out: Vec<PhaseStatus> = Vec::new();
    for item in items {
        let state = observed.get(&item.id).cloned().unwrap_or(State::Absent);
        if out.last().is_none_or(|p| p.phase != item.phase) {
            out.push(PhaseStatus {
                phase: item.phase,
                items: 0,
                done: 0,
                // phases without checks of their own (migration, cut-over) are verified by
                // their steps
                verified: true,
                pending: Vec::new(),
            });
        }
        let Some(p) = out.last_mut() else { continue };
        p.items += 1;
        if matches!(item.want, Want::Verified { .. }) {
            p.verified = state == State::Matches;
        }
        if state == State::Matches {
            p.done += 1;
        } else {
            p.pending.push((item.id.clone(), state));
        }
    }
    out
}
