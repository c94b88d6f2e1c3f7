//! Lease-aware generators for the ExternalSecret reconciler (beyond ESO): what generator
//! entries issued with a lifetime (a Vault lease, a PKI certificate) is kept in ESO's
//! `GeneratorState` objects — namespaced, labelled with the ExternalSecret's owner key, owned by
//! it — so an operator restart reads it back and issues nothing new. The pure decisions are in
//! [`super::decide::lease`]; this module reads and writes the states and calls the generators.
//!
//! A state's `spec.state` is a [`LeaseState`] (never a credential), `spec.resource` the
//! generator that issued it, `spec.garbageCollectionDeadline` the end of the grace period once
//! newer credentials superseded it (then it is revoked and deleted).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use secretsync_engine::{GeneratedState, StateOperation};
use secretsync_model::external_secret::{ExternalSecret, GeneratorRef};
use secretsync_model::generator::lease::{LeaseState, Timestamp, after};
use secretsync_model::generator::state::OWNER_KEY_LABEL;
use secretsync_model::generator::{GeneratorState, GeneratorStateSpec};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::decide::lease::{
    Held, LeaseAction, LeasePlan, LeaseSettings, decide_lease, plan_current, settings_of,
};
use super::{Context, ReconcileError};

/// GeneratorState annotation: the `generatorRef` (`Kind/name`) that produced the state.
const REF_ANNOTATION: &str = "secretsync.io/generator-ref";
/// GeneratorState annotation: the `spec.dataFrom` index of the entry.
const INDEX_ANNOTATION: &str = "secretsync.io/data-from-index";

/// One kept state.
#[derive(Clone, Debug)]
pub(super) struct Kept {
    /// The GeneratorState's name.
    name: String,
    held: Held,
    lease: LeaseState,
    generated: GeneratedState,
}

/// The leases of one ExternalSecret at the start of a reconcile.
#[derive(Debug)]
pub(super) struct Leases {
    settings: LeaseSettings,
    /// States whose credentials are in the Secret.
    current: Vec<Kept>,
    /// The earliest time a superseded state needs attention.
    superseded_wake: Option<Timestamp>,
    /// What the current states call for.
    pub(super) plan: LeasePlan,
}

/// True when the ExternalSecret has generator entries (its leases need a finalizer).
pub(super) fn has_generators(es: &ExternalSecret) -> bool {
    es.spec.data_from.iter().any(|d| {
        d.source_ref
            .as_ref()
            .is_some_and(|s| s.generator_ref.is_some())
    })
}

/// The value of the owner-key label of an ExternalSecret's states (a label value cannot hold
/// `ns/name`): the first 40 hex digits of SHA-256 over `ExternalSecret/<ns>/<name>`.
fn owner_key(es: &ExternalSecret) -> String {
    let digest = Sha256::digest(format!(
        "ExternalSecret/{}/{}",
        es.namespace().unwrap_or_default(),
        es.name_any()
    ));
    digest.iter().take(20).map(|b| format!("{b:02x}")).collect()
}

fn api(ctx: &Context, es: &ExternalSecret) -> Api<GeneratorState> {
    Api::namespaced(ctx.client.clone(), &es.namespace().unwrap_or_default())
}

/// Reads a GeneratorState back; `None` for one that holds no lease state.
fn kept_of(object: &GeneratorState) -> Option<Kept> {
    let lease = LeaseState::from_json(&object.spec.state)?;
    let annotations = object.annotations();
    let (kind, name) = annotations.get(REF_ANNOTATION)?.split_once('/')?;
    let index = annotations.get(INDEX_ANNOTATION)?.parse().ok()?;
    let held = match &object.spec.garbage_collection_deadline {
        Some(deadline) => Held::Superseded {
            revoke_at: deadline.0,
        },
        None => Held::Current,
    };
    Some(Kept {
        name: object.name_any(),
        held,
        generated: GeneratedState {
            index,
            reference: GeneratorRef {
                api_version: None,
                kind: kind.to_string(),
                name: name.to_string(),
            },
            resource: object.spec.resource.clone(),
            state: object.spec.state.clone(),
        },
        lease,
    })
}

/// Lists the ExternalSecret's states. Without the GeneratorState resource (CRD not installed)
/// there is nothing kept: generators then behave as in ESO.
async fn list(ctx: &Context, es: &ExternalSecret) -> Result<Vec<Kept>, ReconcileError> {
    let selector = format!("{OWNER_KEY_LABEL}={}", owner_key(es));
    match api(ctx, es)
        .list(&ListParams::default().labels(&selector))
        .await
    {
        Ok(list) => Ok(list.items.iter().filter_map(kept_of).collect()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// A message for events and status: the entry, never the lease id.
fn entry(kept: &GeneratedState) -> String {
    format!(
        "spec.dataFrom[{}] ({} {})",
        kept.index, kept.reference.kind, kept.reference.name
    )
}

impl Leases {
    /// Loads the states, revokes superseded ones whose grace period is over, renews the
    /// current ones due, and says what the Secret needs. `reissue` (a forced sync or a spec
    /// change) plans a re-issue whatever the leases say. A bad settings annotation is an error
    /// message for the status.
    pub(super) async fn prepare(
        es: &ExternalSecret,
        ctx: &Context,
        reissue: bool,
    ) -> Result<Result<Leases, String>, ReconcileError> {
        let settings = match settings_of(es.annotations()) {
            Ok(s) => s,
            Err(message) => return Ok(Err(format!("{}: {message}", object_of(es)))),
        };
        let all = list(ctx, es).await?;
        let now = Timestamp::now();
        let mut superseded_wake: Option<Timestamp> = None;
        let mut current = Vec::new();
        for kept in all {
            if kept.held == Held::Current {
                current.push(kept);
                continue;
            }
            match decide_lease(&kept.lease, kept.held, &settings, now) {
                LeaseAction::Keep { until } => {
                    superseded_wake = Some(superseded_wake.map_or(until, |w| w.min(until)));
                }
                LeaseAction::Forget => forget(ctx, es, &kept.name).await?,
                _ => {
                    if let Err(message) = release(ctx, es, &kept).await {
                        ctx.event(es, EventType::Warning, "LeaseRevocationFailed", message)
                            .await;
                        // Retried at the next reconcile; the lease ends at its expiry anyway.
                        let retry = after(now, ctx.config.error_backoff_max);
                        superseded_wake = Some(superseded_wake.map_or(retry, |w| w.min(retry)));
                    }
                }
            }
        }
        let leases: Vec<LeaseState> = current.iter().map(|k| k.lease.clone()).collect();
        let mut plan = if reissue {
            LeasePlan::Reissue
        } else {
            plan_current(&leases, &settings, now)
        };
        if let LeasePlan::Renew(due) = &plan {
            plan = renew(ctx, es, &mut current, due, &settings).await?;
        }
        Ok(Ok(Leases {
            settings,
            current,
            superseded_wake,
            plan,
        }))
    }

    /// True when no state is kept: the generators have not issued anything to track yet.
    pub(super) fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// After new credentials were written: keeps their states and supersedes the old ones
    /// (revoked when the grace period is over). Returns when the next reconcile is due.
    pub(super) async fn replaced(
        &self,
        es: &ExternalSecret,
        ctx: &Context,
        generated: &[GeneratedState],
    ) -> Result<Option<Timestamp>, ReconcileError> {
        let now = Timestamp::now();
        let mut fresh = Vec::new();
        for g in generated {
            if let Some(lease) = LeaseState::from_json(&g.state) {
                create(ctx, es, g, &lease).await?;
                fresh.push(lease);
            }
        }
        let revoke_at = after(now, self.settings.revoke_grace);
        let mut wake = self.superseded_wake;
        for old in &self.current {
            let deadline = Time(revoke_at);
            api(ctx, es)
                .patch(
                    &old.name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"garbageCollectionDeadline": deadline}})),
                )
                .await?;
            if let LeaseAction::Keep { until } = decide_lease(
                &old.lease,
                Held::Superseded { revoke_at },
                &self.settings,
                now,
            ) {
                wake = Some(wake.map_or(until, |w| w.min(until)));
            }
        }
        if self.settings.revoke_grace.is_zero() {
            for old in &self.current {
                if let Err(message) = release(ctx, es, old).await {
                    ctx.event(es, EventType::Warning, "LeaseRevocationFailed", message)
                        .await;
                }
            }
        }
        let next = match plan_current(&fresh, &self.settings, now) {
            LeasePlan::Keep { until } if until < Timestamp::MAX => Some(until),
            LeasePlan::Keep { .. } => None,
            // Already due (a lifetime shorter than a reconcile): right away.
            _ => Some(now),
        };
        Ok(match (next, wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// When the Secret is kept as it is: the next renewal or re-issue point, or the end of a
    /// grace period, whichever comes first.
    pub(super) fn keep_until(&self) -> Option<Timestamp> {
        if self.current.is_empty() {
            return None;
        }
        let LeasePlan::Keep { until } = self.plan else {
            return None;
        };
        Some(self.superseded_wake.map_or(until, |w| w.min(until)))
    }
}

fn object_of(es: &ExternalSecret) -> String {
    format!(
        "ExternalSecret {}/{}",
        es.namespace().unwrap_or_default(),
        es.name_any()
    )
}

/// Renews the states at `due`; a failed renewal re-issues (the lease may be gone).
async fn renew(
    ctx: &Context,
    es: &ExternalSecret,
    current: &mut [Kept],
    due: &[usize],
    settings: &LeaseSettings,
) -> Result<LeasePlan, ReconcileError> {
    let ns = es.namespace().unwrap_or_default();
    for &i in due {
        let Some(kept) = current.get_mut(i) else {
            continue;
        };
        let renewed = ctx
            .syncer
            .generated_state(
                StateOperation::Renew,
                &ns,
                &kept.generated,
                &ctx.environment,
            )
            .await;
        let state = match renewed {
            Ok(Some(state)) => state,
            Ok(None) => return Ok(LeasePlan::Reissue),
            Err(e) => {
                ctx.event(
                    es,
                    EventType::Warning,
                    "LeaseRenewalFailed",
                    format!(
                        "{}: renewing failed, issuing new credentials: {e}",
                        entry(&kept.generated)
                    ),
                )
                .await;
                return Ok(LeasePlan::Reissue);
            }
        };
        let Some(lease) = LeaseState::from_json(&state) else {
            return Ok(LeasePlan::Reissue);
        };
        api(ctx, es)
            .patch(
                &kept.name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"state": state}})),
            )
            .await?;
        tracing::debug!(namespace = %ns, name = %es.name_any(), lease = %lease.lease_id, expires = %lease.expires_at, "lease renewed");
        kept.generated.state = state;
        kept.lease = lease;
    }
    let leases: Vec<LeaseState> = current.iter().map(|k| k.lease.clone()).collect();
    Ok(match plan_current(&leases, settings, Timestamp::now()) {
        // Renewed but already due again (a period shorter than the call): issue anew.
        LeasePlan::Renew(_) => LeasePlan::Reissue,
        plan => plan,
    })
}

/// Creates the GeneratorState of a freshly generated state, owned by the ExternalSecret.
async fn create(
    ctx: &Context,
    es: &ExternalSecret,
    generated: &GeneratedState,
    lease: &LeaseState,
) -> Result<(), ReconcileError> {
    let id = format!("{}/{}", lease.lease_id, lease.issued_at);
    let digest = Sha256::digest(id.as_bytes());
    let suffix: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    let base: String = es.name_any().chars().take(200).collect();
    let name = format!("{base}-{}-{suffix}", generated.index);
    let owner = OwnerReference {
        api_version: ExternalSecret::api_version(&()).to_string(),
        kind: ExternalSecret::kind(&()).to_string(),
        name: es.name_any(),
        uid: es.uid().unwrap_or_default(),
        controller: Some(false),
        block_owner_deletion: None,
    };
    let mut object = GeneratorState::new(
        &name,
        GeneratorStateSpec {
            garbage_collection_deadline: None,
            resource: generated.resource.clone(),
            state: generated.state.clone(),
        },
    );
    object.metadata.namespace = es.namespace();
    object.metadata.labels = Some(BTreeMap::from([(
        OWNER_KEY_LABEL.to_string(),
        owner_key(es),
    )]));
    object.metadata.annotations = Some(BTreeMap::from([
        (
            REF_ANNOTATION.to_string(),
            format!("{}/{}", generated.reference.kind, generated.reference.name),
        ),
        (INDEX_ANNOTATION.to_string(), generated.index.to_string()),
    ]));
    object.metadata.owner_references = Some(vec![owner]);
    match api(ctx, es).create(&PostParams::default(), &object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a GeneratorState (gone already is fine).
async fn forget(ctx: &Context, es: &ExternalSecret, name: &str) -> Result<(), ReconcileError> {
    match api(ctx, es).delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Revokes a kept lease (the generator's cleanup) and deletes its state. The error is a
/// message for an event (the entry, never the lease id).
async fn release(ctx: &Context, es: &ExternalSecret, kept: &Kept) -> Result<(), String> {
    revoke(ctx, es, &kept.generated).await?;
    tracing::debug!(namespace = %es.namespace().unwrap_or_default(), name = %es.name_any(), lease = %kept.lease.lease_id, "lease revoked");
    forget(ctx, es, &kept.name).await.map_err(|e| e.to_string())
}

/// Calls the generator's cleanup for a state.
async fn revoke(ctx: &Context, es: &ExternalSecret, state: &GeneratedState) -> Result<(), String> {
    ctx.syncer
        .generated_state(
            StateOperation::Cleanup,
            &es.namespace().unwrap_or_default(),
            state,
            &ctx.environment,
        )
        .await
        .map(|_| ())
        .map_err(|e| format!("{}: revoking the lease failed: {e}", entry(state)))
}

/// Revokes what a sync generated but never wrote (the sync or the write failed): nobody holds
/// those credentials.
pub(super) async fn discard(ctx: &Context, es: &ExternalSecret, generated: &[GeneratedState]) {
    for g in generated {
        if let Err(message) = revoke(ctx, es, g).await {
            ctx.event(es, EventType::Warning, "LeaseRevocationFailed", message)
                .await;
        }
    }
}

/// On ExternalSecret deletion: revokes every kept lease and deletes the states. A lease that
/// cannot be revoked yet (Vault unreachable) keeps the finalizer — retried with backoff —
/// until it would have expired anyway.
pub(super) async fn release_all(es: &ExternalSecret, ctx: &Context) -> Result<(), ReconcileError> {
    let now = Timestamp::now();
    let mut failures = Vec::new();
    for kept in list(ctx, es).await? {
        let live = now < kept.lease.expires_at && !kept.lease.lease_id.is_empty();
        if !live {
            forget(ctx, es, &kept.name).await?;
        } else if let Err(message) = release(ctx, es, &kept).await {
            failures.push(message);
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    let message = failures.join("; ");
    ctx.event(
        es,
        EventType::Warning,
        "LeaseRevocationFailed",
        message.clone(),
    )
    .await;
    Err(ReconcileError::Lease(message))
}
