//! The ExternalSecret reconcile's decisions as pure functions (plain data in, plain data out):
//! whether to read the providers ([`decide_refresh`]), and what a step's result means for the
//! status, the event and the next reconcile ([`report`]). The reconciler
//! ([`super::external_secret`]) performs what these decide.

pub mod lease;

use std::time::{Duration, SystemTime};

use secretsync_model::external_secret::reasons;

use crate::status::Readiness;
use crate::writer::{WriteError, WriteOutcome};

/// What is known before deciding to read the providers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshFacts {
    /// A store or credential change forced a refresh.
    pub forced: bool,
    /// ESO's `shouldRefresh` ([`secretsync_engine::refresh::should_refresh`]).
    pub due: bool,
    /// The last render of this spec is cached (drift repair needs no provider).
    pub cached: bool,
    /// The status says the last sync succeeded (`Ready=True`, `SecretSynced`).
    pub last_sync_succeeded: bool,
}

/// Whether and how to sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Read the providers and render.
    Sync,
    /// Not due: re-apply the cached render (repairs drift without a provider read).
    RepairFromCache,
    /// Not due, nothing cached (after a restart, a failover or a takeover from ESO): when the
    /// target is provably intact ([`crate::writer::plan::target_intact`]) do nothing until the
    /// next refresh; otherwise sync.
    SkipIfIntact,
}

/// ESO's skip rule (`!shouldRefresh && isSecretValid`), with the cached render first.
pub fn decide_refresh(f: RefreshFacts) -> RefreshDecision {
    if f.forced || f.due {
        RefreshDecision::Sync
    } else if f.cached {
        RefreshDecision::RepairFromCache
    } else if f.last_sync_succeeded {
        RefreshDecision::SkipIfIntact
    } else {
        RefreshDecision::Sync
    }
}

/// What decides which provider reads made for other ExternalSecrets may serve a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreshnessFacts {
    /// A store or credential change, or a lease re-issue, forced the sync.
    pub forced: bool,
    /// Never synced, or its spec, labels or annotations changed since the last sync
    /// ([`super::external_secret::sync_class`]).
    pub first_sync: bool,
    /// When the periodic refresh fell due ([`secretsync_engine::refresh::periodic_due_at`]).
    pub periodic_due: Option<SystemTime>,
    /// When the operator first saw the object's current spec, labels and annotations
    /// ([`super::runner::Observed::changed_at`]).
    pub changed_at: Option<SystemTime>,
}

/// The instant since which a provider read must have started to serve this sync
/// ([`crate::SecretSyncer::sync_fresh_since`]); `None`: only reads in flight or completed
/// within the coalescing window serve it.
/// - forced: `None`, it reads afresh;
/// - a first sync: when its current spec was first seen. Every change the user made to the
///   object, and so everything they changed in the provider before it, happened before that
///   instant, so such a read is as fresh as ESO's read at its sync would be. The
///   ExternalSecrets that share keys then share reads during a mass first sync (an operator
///   start, a migration), however long the first sync takes;
/// - a periodic refresh: when it fell due;
/// - anything else (a missing target Secret, an unknown sighting): `None`.
pub fn reads_fresh_since(f: FreshnessFacts) -> Option<SystemTime> {
    if f.forced {
        None
    } else if f.first_sync {
        f.changed_at
    } else {
        f.periodic_due
    }
}

/// The result of the reconcile's work, as the report needs it.
#[derive(Debug)]
pub enum Step<'a> {
    /// The engine could not produce the desired Secret (the Secret is not touched).
    FetchFailed {
        /// The error text (names objects and fields, never values).
        message: String,
        /// The provider's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The desired Secret was written (or found unchanged, missing, skipped).
    Wrote {
        /// What the writer did.
        outcome: WriteOutcome,
        /// `namespace/name` of the target.
        target: &'a str,
        /// Entries the `secretsync.io/fallback-store` served because their store was
        /// unavailable (`spec.data[0] from SecretStore ns/backup`); empty when none.
        fallbacks: &'a [String],
    },
    /// `deletionPolicy: Delete` and the provider returned nothing.
    Deleted {
        /// `Deleted` or `Skipped` (not ours, or already gone).
        outcome: WriteOutcome,
        /// `namespace/name` of the target.
        target: &'a str,
    },
    /// `deletionPolicy: Retain` and the provider returned nothing.
    Retained,
    /// Writing or deleting the Secret failed.
    WriteFailed(&'a WriteError),
    /// The reconcile was cut short (deadline, panic); `message` says why.
    Aborted {
        /// Why.
        message: String,
    },
}

/// An event to publish on the ExternalSecret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventNote {
    /// Warning (true) or Normal.
    pub warning: bool,
    /// ESO's event reason.
    pub reason: &'static str,
    /// The note (never a value).
    pub note: String,
}

/// When to reconcile next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// At the next periodic refresh (success; the failure count is cleared).
    Refresh,
    /// After the error backoff (the failure count goes up), at least `retry_after`.
    Backoff {
        /// The provider's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Only when the ExternalSecret changes (retrying cannot help: conflicts).
    AwaitChange,
}

/// What a step means: the Ready condition, the event, the next reconcile, and whether the
/// Secret was written (the `secret_writes` metric).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The Ready condition to write.
    pub readiness: Readiness,
    /// The event to publish, if any.
    pub event: Option<EventNote>,
    /// When to reconcile next.
    pub next: Next,
    /// The Secret was created, updated or deleted.
    pub wrote: bool,
}

/// Status, event and next reconcile for a step.
pub fn report(step: &Step<'_>) -> Report {
    let failed = |message: String, next: Next| Report {
        readiness: Readiness::error(message.clone()),
        event: Some(EventNote {
            warning: true,
            reason: reasons::UPDATE_FAILED,
            note: message,
        }),
        next,
        wrote: false,
    };
    match step {
        Step::FetchFailed {
            message,
            retry_after,
        } => failed(
            message.clone(),
            Next::Backoff {
                retry_after: *retry_after,
            },
        ),
        Step::Aborted { message } => failed(message.clone(), Next::Backoff { retry_after: None }),
        Step::WriteFailed(e) => failed(
            e.to_string(),
            if e.is_retryable() {
                Next::Backoff { retry_after: None }
            } else {
                Next::AwaitChange
            },
        ),
        Step::Wrote {
            outcome,
            target,
            fallbacks,
        } => {
            let event = |reason, verb| {
                Some(EventNote {
                    warning: false,
                    reason,
                    note: format!("Secret {target} {verb}"),
                })
            };
            let (readiness, event) = match outcome {
                WriteOutcome::Missing => (
                    Readiness {
                        ready: true,
                        reason: reasons::SECRET_MISSING,
                        message: format!(
                            "Secret {target} does not exist and creationPolicy is Merge"
                        ),
                    },
                    None,
                ),
                WriteOutcome::Created => (
                    Readiness::synced("secret synced"),
                    event(reasons::CREATED, "created"),
                ),
                WriteOutcome::Updated => (
                    Readiness::synced("secret synced"),
                    event(reasons::UPDATED, "updated"),
                ),
                _ => (Readiness::synced("secret synced"), None),
            };
            let wrote = event.is_some();
            let readiness = served_from_fallback(readiness, fallbacks);
            Report {
                readiness,
                event,
                next: Next::Refresh,
                wrote,
            }
        }
        Step::Deleted { outcome, target } => {
            let wrote = *outcome == WriteOutcome::Deleted;
            Report {
                readiness: Readiness {
                    ready: false,
                    reason: reasons::SECRET_DELETED,
                    message: "the provider returned no data; Secret deleted (deletionPolicy Delete)"
                        .to_string(),
                },
                event: wrote.then(|| EventNote {
                    warning: false,
                    reason: reasons::DELETED,
                    note: format!(
                        "Secret {target} deleted: the provider returned no data (deletionPolicy Delete)"
                    ),
                }),
                next: Next::Refresh,
                wrote,
            }
        }
        Step::Retained => Report {
            readiness: Readiness::synced(
                "the provider returned no data; Secret retained (deletionPolicy Retain)",
            ),
            event: None,
            next: Next::Refresh,
            wrote: false,
        },
    }
}

/// The Ready message prefix saying the Secret holds values of the fallback store (the reason
/// stays ESO's `SecretSynced`, so ESO tooling still sees a synced Secret).
pub const FALLBACK_MESSAGE: &str = "secret synced from the fallback store";

/// Marks a successful readiness as served by the fallback store when `fallbacks` is not empty.
fn served_from_fallback(readiness: Readiness, fallbacks: &[String]) -> Readiness {
    if fallbacks.is_empty() || readiness.reason != reasons::SECRET_SYNCED {
        return readiness;
    }
    Readiness {
        message: format!(
            "{FALLBACK_MESSAGE} (primary store unavailable): {}",
            fallbacks.join(", ")
        ),
        ..readiness
    }
}

#[cfg(test)]
mod tests;
