//! Writes the engine's desired Secret with server-side apply, following ESO's
//! `creationPolicy` / `deletionPolicy` semantics. The decisions are [`plan`]'s pure functions;
//! this module reads the live Secret and performs what they decide.
//!
//! - One field manager per ExternalSecret (`externalsecrets.external-secrets.io/<name>`), applied
//!   with `force`: keys dropped from the spec disappear because the manager stops applying them,
//!   and keys written by others (Merge) are left alone.
//! - Nothing is sent when the live Secret already carries the desired content (keyed
//!   fingerprint, [`crate::drift`]).
//! - `Owner`: controller ownerReference, `created-by` label, and old-named targets of the same
//!   ExternalSecret deleted after a new one was created. An existing Secret this ExternalSecret
//!   does not control is a conflict ([`plan::Conflict`]): never adopted, written, deleted or
//!   re-created.

pub mod plan;
mod requests;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Resource, ResourceExt};
use secretsync_engine::DesiredSecret;
use secretsync_model::external_secret::{CreationPolicy, ExternalSecret};

use crate::cache::{Lookup, ManagedSecrets, TargetMeta, Verified};
use crate::drift::DriftKey;
pub use plan::{
    Conflict, WriteAction, WritePlan, desired_fingerprint, is_controlled_by, ownership_conflict,
    plan_write,
};

/// The field manager of an ExternalSecret's writes (ESO's naming).
pub fn field_manager(es_name: &str) -> String {
    format!("externalsecrets.external-secrets.io/{es_name}")
}

/// What the writer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The Secret was created.
    Created,
    /// The Secret was changed (a real change, a drift repair, or recreated for a type change).
    Updated,
    /// The live Secret already matched; no request was sent.
    Unchanged,
    /// The Secret was deleted.
    Deleted,
    /// `creationPolicy: Merge` and the Secret does not exist.
    Missing,
    /// Nothing to do under this policy (`creationPolicy: None`, or a Secret we do not own).
    Skipped,
}

/// What a write did, and whether it changed the `data` of a Secret that existed before (a
/// first creation changes nothing a workload could have read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteReport {
    /// What the writer did.
    pub outcome: WriteOutcome,
    /// The Secret existed and its `data` is now different.
    pub data_changed: bool,
}

impl WriteReport {
    fn unchanged_data(outcome: WriteOutcome) -> Self {
        WriteReport {
            outcome,
            data_changed: false,
        }
    }
}

/// Why a write failed. Messages name objects and fields, never values.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The plan refused the write; not retried.
    #[error("{}", conflict_message(.namespace, .name, .conflict))]
    Conflict {
        /// Namespace.
        namespace: String,
        /// Secret name.
        name: String,
        /// Why.
        conflict: Conflict,
    },
    /// The Secret was absent, then someone else created it while this write was replanned
    /// (retried).
    #[error(
        "Secret {namespace}/{name} was created by someone else while this ExternalSecret was creating it; retrying"
    )]
    Raced {
        /// Namespace.
        namespace: String,
        /// Secret name.
        name: String,
    },
    /// The API call failed (the API server's text is sanitized: no echoed values).
    #[error("Secret {namespace}/{name}: {action}: {}", crate::sanitize::api_error(.source))]
    Kube {
        /// Namespace.
        namespace: String,
        /// Secret name.
        name: String,
        /// What was attempted.
        action: &'static str,
        /// The API error.
        source: Box<kube::Error>,
    },
}

fn conflict_message(namespace: &str, name: &str, conflict: &Conflict) -> String {
    match conflict {
        Conflict::ControlledByOther { kind, name: owner } => format!(
            "conflict: Secret {namespace}/{name} is controlled by {kind} {owner}; not taking it over"
        ),
        Conflict::NotOwned => format!(
            "conflict: Secret {namespace}/{name} already exists and is not owned by this ExternalSecret; \
             creationPolicy Owner does not take over existing Secrets (delete it, or use creationPolicy Merge or Orphan)"
        ),
        Conflict::Immutable => format!(
            "Secret {namespace}/{name} is immutable and its data differs from the desired data"
        ),
        Conflict::TypeChange { live, desired } => format!(
            "conflict: Secret {namespace}/{name} has type {live}, the template wants {desired}, \
             and it was not written by an ExternalSecret; not re-creating it"
        ),
    }
}

impl WriteError {
    /// Whether retrying can help (ESO does not retry ownership and immutability errors).
    pub fn is_retryable(&self) -> bool {
        matches!(self, WriteError::Kube { .. } | WriteError::Raced { .. })
    }
}

/// Writes desired Secrets, consulting the managed-Secret cache before the API server.
#[derive(Clone)]
pub struct Writer {
    client: kube::Client,
    key: std::sync::Arc<DriftKey>,
    eso_data_hash: bool,
    targets: std::sync::Arc<ManagedSecrets>,
}

impl Writer {
    /// A writer using `key` for drift fingerprints and `targets` (the managed-Secret cache) to
    /// avoid reads; `eso_data_hash` also writes ESO's unkeyed `data-hash` annotation
    /// (compatibility with tools that read it).
    pub fn new(
        client: kube::Client,
        key: std::sync::Arc<DriftKey>,
        eso_data_hash: bool,
        targets: std::sync::Arc<ManagedSecrets>,
    ) -> Self {
        Writer {
            client,
            key,
            eso_data_hash,
            targets,
        }
    }

    fn api(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// The live Secret `namespace/name`, if it exists (a GET).
    pub async fn live(&self, namespace: &str, name: &str) -> Result<Option<Secret>, WriteError> {
        self.api(namespace)
            .get_opt(name)
            .await
            .map_err(|e| kube_error(namespace, name, "read", e))
    }

    /// The cached metadata of `namespace/name`; [`Lookup::Unknown`] until the watch listed.
    fn cached(&self, namespace: &str, name: &str) -> Lookup<TargetMeta> {
        match self.targets.get(namespace, name) {
            Some(meta) => Lookup::Found(meta),
            None if self.targets.is_listed() => Lookup::Absent,
            None => Lookup::Unknown,
        }
    }

    /// Creates, updates or leaves the target Secret so it matches `desired`
    /// ([`plan_write`] decides). Without a read when the cache can tell: an absent target is
    /// created with a create-only request (a conflict, 409, means it exists after all: then it
    /// is read and planned for); a target still at the version this writer last wrote or
    /// verified with the desired fingerprint is unchanged; ownership conflicts come from the
    /// cached controller.
    pub async fn write(
        &self,
        es: &ExternalSecret,
        desired: &DesiredSecret,
    ) -> Result<WriteOutcome, WriteError> {
        self.write_reporting(es, desired).await.map(|r| r.outcome)
    }

    /// [`Writer::write`], also saying whether an existing Secret's `data` changed (what a
    /// rollout restart waits for).
    pub async fn write_reporting(
        &self,
        es: &ExternalSecret,
        desired: &DesiredSecret,
    ) -> Result<WriteReport, WriteError> {
        let (ns, name) = (desired.namespace.as_str(), desired.name.as_str());
        let policy = desired.creation_policy;
        if policy == CreationPolicy::None {
            return Ok(WriteReport::unchanged_data(WriteOutcome::Skipped));
        }
        let live = match self.cached(ns, name) {
            Lookup::Found(meta) => {
                if let Some(conflict) = ownership_conflict(es, policy, meta.controller.as_ref()) {
                    return Err(WriteError::Conflict {
                        namespace: ns.to_string(),
                        name: name.to_string(),
                        conflict,
                    });
                }
                let fingerprint = desired_fingerprint(es, desired, &self.key, self.eso_data_hash);
                if self
                    .targets
                    .verified_current(ns, name)
                    .is_some_and(|v| v.fingerprint == fingerprint)
                {
                    return Ok(WriteReport::unchanged_data(WriteOutcome::Unchanged));
                }
                self.live(ns, name).await?
            }
            // Merge never creates: whether an unmanaged Secret exists must be read.
            Lookup::Absent if policy != CreationPolicy::Merge => None,
            Lookup::Absent | Lookup::Unknown => self.live(ns, name).await?,
        };
        match self.perform(es, desired, live).await? {
            Performed::Done(report) => Ok(report),
            Performed::ExistsAfterAll => {
                let live = self.live(ns, name).await?;
                match self.perform(es, desired, live).await? {
                    Performed::Done(report) => Ok(report),
                    Performed::ExistsAfterAll => Err(WriteError::Raced {
                        namespace: ns.to_string(),
                        name: name.to_string(),
                    }),
                }
            }
        }
    }

    /// Plans against `live` and sends what the plan says.
    async fn perform(
        &self,
        es: &ExternalSecret,
        desired: &DesiredSecret,
        live: Option<Secret>,
    ) -> Result<Performed, WriteError> {
        let (ns, name) = (desired.namespace.as_str(), desired.name.as_str());
        let plan = plan_write(es, desired, live.as_ref(), &self.key, self.eso_data_hash);
        let (action, body) = match plan {
            WritePlan::Skip => {
                return Ok(Performed::Done(WriteReport::unchanged_data(
                    WriteOutcome::Skipped,
                )));
            }
            WritePlan::Missing => {
                return Ok(Performed::Done(WriteReport::unchanged_data(
                    WriteOutcome::Missing,
                )));
            }
            WritePlan::Unchanged => {
                if let Some(live) = &live {
                    let fingerprint =
                        desired_fingerprint(es, desired, &self.key, self.eso_data_hash);
                    self.remember(live, fingerprint);
                }
                return Ok(Performed::Done(WriteReport::unchanged_data(
                    WriteOutcome::Unchanged,
                )));
            }
            WritePlan::Conflict(conflict) => {
                return Err(WriteError::Conflict {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                    conflict,
                });
            }
            WritePlan::Write { action, body } => (action, body),
        };
        let fingerprint = desired_fingerprint(es, desired, &self.key, self.eso_data_hash);
        let manager = field_manager(&es.name_any());
        let written = match (action, &live) {
            (WriteAction::Create, _) => match self.create(ns, name, &manager, body).await? {
                Some(created) => created,
                None => return Ok(Performed::ExistsAfterAll),
            },
            (WriteAction::Recreate, Some(live)) => {
                self.delete_exactly(
                    ns,
                    name,
                    live.metadata.uid.as_deref(),
                    "delete to change type",
                )
                .await?;
                match self.create(ns, name, &manager, body).await? {
                    Some(created) => created,
                    None => return Ok(Performed::ExistsAfterAll),
                }
            }
            (_, live) => {
                if let Some(live) = live {
                    self.upgrade_ownership(live, &manager, &body).await;
                }
                self.apply(ns, name, &manager, body).await?
            }
        };
        self.remember(&written, fingerprint);
        let data_changed = live
            .as_ref()
            .is_some_and(|live| live.data.as_ref() != written.data.as_ref());
        match action {
            WriteAction::Apply | WriteAction::Recreate => Ok(Performed::Done(WriteReport {
                outcome: WriteOutcome::Updated,
                data_changed,
            })),
            WriteAction::Create => {
                if desired.creation_policy == CreationPolicy::Owner {
                    self.cleanup_old_targets(es, ns, name).await?;
                }
                Ok(Performed::Done(WriteReport {
                    outcome: WriteOutcome::Created,
                    data_changed,
                }))
            }
        }
    }

    /// Records that `secret` (as just written or read) carries content matching `fingerprint`.
    fn remember(&self, secret: &Secret, fingerprint: String) {
        let (Some(uid), Some(rv)) = (&secret.metadata.uid, &secret.metadata.resource_version)
        else {
            return;
        };
        self.targets.verify(
            &secret.namespace().unwrap_or_default(),
            &secret.name_any(),
            Verified {
                uid: uid.clone(),
                resource_version: rv.clone(),
                fingerprint,
            },
        );
    }

    /// True when the target Secret is provably as last written for `es` ([`plan::target_intact`]:
    /// secretsync's keyed fingerprint, or ESO's `isSecretValid` on a Secret ESO wrote). Without
    /// a read when the cache can tell: a target that is not a managed Secret is not intact; one
    /// still at a version this writer verified is.
    pub async fn is_intact(&self, es: &ExternalSecret) -> Result<bool, WriteError> {
        let ns = es.namespace().unwrap_or_default();
        let name = es.target_name();
        match self.cached(&ns, &name) {
            Lookup::Absent => return Ok(false),
            Lookup::Found(meta) => {
                let owner_ok = es.spec.target.creation_policy != CreationPolicy::Owner
                    || meta
                        .controller
                        .as_ref()
                        .is_some_and(|c| Some(&c.uid) == es.metadata.uid.as_ref());
                if !owner_ok {
                    return Ok(false);
                }
                if self.targets.verified_current(&ns, &name).is_some() {
                    return Ok(plan::target_intact_policy(es));
                }
            }
            Lookup::Unknown => {}
        }
        let live = self.live(&ns, &name).await?;
        let intact = plan::target_intact(es, live.as_ref(), &self.key);
        if intact && let Some(live) = &live {
            self.remember(live, plan::stored_fingerprint(live));
        }
        Ok(intact)
    }

    /// Deletes the Secret if `es` is its controller (deletionPolicy Delete). The cache tells
    /// whether it does; the delete carries the cached uid as a precondition, so a Secret
    /// re-created meanwhile by someone else is never deleted.
    pub async fn delete_owned(
        &self,
        es: &ExternalSecret,
        namespace: &str,
        name: &str,
    ) -> Result<WriteOutcome, WriteError> {
        let uid = match self.cached(namespace, name) {
            Lookup::Absent => return Ok(WriteOutcome::Skipped),
            Lookup::Found(meta) => meta
                .controller
                .filter(|c| Some(&c.uid) == es.metadata.uid.as_ref())
                .map(|_| meta.uid),
            Lookup::Unknown => self
                .live(namespace, name)
                .await?
                .filter(|live| plan::may_delete(es, Some(live)))
                .and_then(|live| live.metadata.uid),
        };
        let Some(uid) = uid else {
            return Ok(WriteOutcome::Skipped);
        };
        if self
            .delete_exactly(namespace, name, Some(&uid), "delete")
            .await?
        {
            Ok(WriteOutcome::Deleted)
        } else {
            Ok(WriteOutcome::Skipped)
        }
    }

    /// ESO's orphan cleanup: Secrets this ExternalSecret created under an older target name
    /// (from the cache's `created-by` index; no LIST).
    async fn cleanup_old_targets(
        &self,
        es: &ExternalSecret,
        namespace: &str,
        keep: &str,
    ) -> Result<(), WriteError> {
        for (old_name, meta) in self.targets.created_for(namespace, &es.name_any()) {
            let owned = meta
                .controller
                .as_ref()
                .is_some_and(|c| Some(&c.uid) == es.meta().uid.as_ref());
            if old_name != keep && owned {
                tracing::info!(namespace, secret = %old_name, "deleting old target of renamed ExternalSecret");
                self.delete_exactly(namespace, &old_name, Some(&meta.uid), "delete old target")
                    .await?;
            }
        }
        Ok(())
    }
}

/// What [`Writer::perform`] ended with.
enum Performed {
    /// Done.
    Done(WriteReport),
    /// A create-only request found the Secret existing: read it and plan again.
    ExistsAfterAll,
}

fn kube_error(
    namespace: &str,
    name: &str,
    action: &'static str,
    source: kube::Error,
) -> WriteError {
    WriteError::Kube {
        namespace: namespace.to_string(),
        name: name.to_string(),
        action,
        source: Box::new(source),
    }
}
