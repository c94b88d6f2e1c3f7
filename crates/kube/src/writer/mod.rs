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

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use secretsync_engine::DesiredSecret;
use secretsync_engine::refresh;
use secretsync_model::external_secret::{ExternalSecret, labels};

use crate::drift::DriftKey;
pub use plan::{Conflict, WriteAction, WritePlan, is_controlled_by, plan_write};

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
        matches!(self, WriteError::Kube { .. })
    }
}

/// Applies desired Secrets.
#[derive(Clone)]
pub struct Writer {
    client: kube::Client,
    key: std::sync::Arc<DriftKey>,
    eso_data_hash: bool,
}

impl Writer {
    /// A writer using `key` for drift fingerprints; `eso_data_hash` also writes ESO's unkeyed
    /// `data-hash` annotation (compatibility with tools that read it).
    pub fn new(client: kube::Client, key: std::sync::Arc<DriftKey>, eso_data_hash: bool) -> Self {
        Writer {
            client,
            key,
            eso_data_hash,
        }
    }

    fn api(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// The live Secret `namespace/name`, if it exists.
    pub async fn live(&self, namespace: &str, name: &str) -> Result<Option<Secret>, WriteError> {
        self.api(namespace)
            .get_opt(name)
            .await
            .map_err(|e| kube_error(namespace, name, "read", e))
    }

    /// Creates, updates or leaves the target Secret so it matches `desired`
    /// ([`plan_write`] decides).
    pub async fn write(
        &self,
        es: &ExternalSecret,
        desired: &DesiredSecret,
    ) -> Result<WriteOutcome, WriteError> {
        let (ns, name) = (desired.namespace.as_str(), desired.name.as_str());
        let live = self.live(ns, name).await?;
        let plan = plan_write(es, desired, live.as_ref(), &self.key, self.eso_data_hash);
        let (action, body) = match plan {
            WritePlan::Skip => return Ok(WriteOutcome::Skipped),
            WritePlan::Missing => return Ok(WriteOutcome::Missing),
            WritePlan::Unchanged => return Ok(WriteOutcome::Unchanged),
            WritePlan::Conflict(conflict) => {
                return Err(WriteError::Conflict {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                    conflict,
                });
            }
            WritePlan::Write { action, body } => (action, body),
        };
        let api = self.api(ns);
        if action == WriteAction::Recreate {
            api.delete(name, &DeleteParams::default())
                .await
                .map_err(|e| kube_error(ns, name, "delete to change type", e))?;
        }
        let params = PatchParams::apply(&field_manager(&es.name_any())).force();
        api.patch(name, &params, &Patch::Apply(body))
            .await
            .map_err(|e| kube_error(ns, name, "apply", e))?;
        match action {
            WriteAction::Apply | WriteAction::Recreate => Ok(WriteOutcome::Updated),
            WriteAction::Create => {
                if desired.creation_policy
                    == secretsync_model::external_secret::CreationPolicy::Owner
                {
                    self.cleanup_old_targets(es, ns, name).await?;
                }
                Ok(WriteOutcome::Created)
            }
        }
    }

    /// True when the target Secret is provably as last written for `es` ([`plan::target_intact`]:
    /// secretsync's keyed fingerprint, or ESO's `isSecretValid` on a Secret ESO wrote).
    pub async fn is_intact(&self, es: &ExternalSecret) -> Result<bool, WriteError> {
        let ns = es.namespace().unwrap_or_default();
        let live = self.live(&ns, &es.target_name()).await?;
        Ok(plan::target_intact(es, live.as_ref(), &self.key))
    }

    /// Deletes the Secret if `es` is its controller (deletionPolicy Delete).
    pub async fn delete_owned(
        &self,
        es: &ExternalSecret,
        namespace: &str,
        name: &str,
    ) -> Result<WriteOutcome, WriteError> {
        let live = self.live(namespace, name).await?;
        if !plan::may_delete(es, live.as_ref()) {
            return Ok(WriteOutcome::Skipped);
        }
        match self
            .api(namespace)
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(WriteOutcome::Deleted),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(WriteOutcome::Skipped),
            Err(e) => Err(kube_error(namespace, name, "delete", e)),
        }
    }

    /// ESO's orphan cleanup: Secrets this ExternalSecret created under an older target name.
    async fn cleanup_old_targets(
        &self,
        es: &ExternalSecret,
        namespace: &str,
        keep: &str,
    ) -> Result<(), WriteError> {
        let selector = format!(
            "{}={},{}=true",
            labels::CREATED_BY,
            refresh::created_by(namespace, &es.name_any()),
            labels::MANAGED
        );
        let api = self.api(namespace);
        let list = api
            .list_metadata(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| kube_error(namespace, keep, "list old targets", e))?;
        for old in list.items {
            let old_name = old.name_any();
            let owned = old
                .owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && Some(&o.uid) == es.meta().uid.as_ref());
            if old_name != keep && owned {
                tracing::info!(namespace, secret = %old_name, "deleting old target of renamed ExternalSecret");
                match api.delete(&old_name, &DeleteParams::default()).await {
                    Ok(_) | Err(kube::Error::Api(_)) => {}
                    Err(e) => return Err(kube_error(namespace, &old_name, "delete old target", e)),
                }
            }
        }
        Ok(())
    }
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
