//! Writes the engine's desired Secret with server-side apply, following ESO's
//! `creationPolicy` / `deletionPolicy` semantics.
//!
//! - One field manager per ExternalSecret (`externalsecrets.external-secrets.io/<name>`), applied
//!   with `force`: keys dropped from the spec disappear because the manager stops applying them,
//!   and keys written by others (Merge) are left alone.
//! - Nothing is sent when the live Secret already carries the desired content: the writer compares
//!   the keyed fingerprint ([`crate::drift`]) of the desired content with the one recomputed from
//!   the live Secret and the one stored on it.
//! - `Owner`: controller ownerReference, `created-by` label, and old-named targets of the same
//!   ExternalSecret deleted after a new one was created. A Secret controlled by another object is
//!   refused ([`WriteError::Owned`]).
//! - `Merge` never creates (missing target: [`WriteOutcome::Missing`]); `CreateOrMerge` creates,
//!   then merges; `Orphan` writes without owner; `None` writes nothing.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use secretsync_engine::DesiredSecret;
use secretsync_model::external_secret::{CreationPolicy, ExternalSecret, labels};
use serde_json::{Value, json};

use crate::drift::{self, DriftKey, HMAC_ANNOTATION};

/// The field manager of an ExternalSecret's writes (ESO's naming).
pub fn field_manager(es_name: &str) -> String {
    format!("externalsecrets.external-secrets.io/{es_name}")
}

/// What the writer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The Secret was created.
    Created,
    /// The Secret was changed (a real change or a drift repair).
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
    /// Another object is the Secret's controller (ESO `ErrSecretIsOwned`); not retried.
    #[error(
        "Secret {namespace}/{name} is controlled by {owner_kind} {owner_name}; not taking it over"
    )]
    Owned {
        /// Namespace.
        namespace: String,
        /// Secret name.
        name: String,
        /// Kind of the controlling owner.
        owner_kind: String,
        /// Name of the controlling owner.
        owner_name: String,
    },
    /// The Secret is immutable and its data would change (ESO `ErrSecretImmutable`); not retried.
    #[error("Secret {namespace}/{name} is immutable and its data differs from the desired data")]
    Immutable {
        /// Namespace.
        namespace: String,
        /// Secret name.
        name: String,
    },
    /// The API call failed.
    #[error("Secret {namespace}/{name}: {action}: {source}")]
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

    /// Creates, updates or leaves the target Secret so it matches `desired`.
    pub async fn write(
        &self,
        es: &ExternalSecret,
        desired: &DesiredSecret,
    ) -> Result<WriteOutcome, WriteError> {
        let policy = desired.creation_policy;
        if policy == CreationPolicy::None {
            return Ok(WriteOutcome::Skipped);
        }
        let (ns, name) = (desired.namespace.as_str(), desired.name.as_str());
        let err = |action, source| WriteError::Kube {
            namespace: ns.to_string(),
            name: name.to_string(),
            action,
            source: Box::new(source),
        };
        let api = self.api(ns);
        let mut live = api.get_opt(name).await.map_err(|e| err("read", e))?;
        if live.is_none() && policy == CreationPolicy::Merge {
            return Ok(WriteOutcome::Missing);
        }
        if let Some(l) = &live {
            check_controller(es, l, policy)?;
        }
        let merge_mode = policy == CreationPolicy::Merge
            || (policy == CreationPolicy::CreateOrMerge && live.is_some());
        let plan = self.plan(es, desired, merge_mode);

        if let Some(l) = &live {
            if self.live_matches(l, &plan, policy, es) {
                return Ok(WriteOutcome::Unchanged);
            }
            let live_data = l.data.clone().unwrap_or_default();
            let data_differs = desired
                .data
                .iter()
                .any(|(k, v)| live_data.get(k).map(|b| b.0.as_slice()) != Some(v.expose()));
            if l.immutable == Some(true) && data_differs {
                return Err(WriteError::Immutable {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                });
            }
            // The type of a Secret cannot change in place: recreate what we fully own.
            let live_type = l.type_.as_deref().unwrap_or("Opaque");
            if !merge_mode && live_type != desired.type_ {
                api.delete(name, &DeleteParams::default())
                    .await
                    .map_err(|e| err("delete to change type", e))?;
                live = None;
            }
        }
        let body = self.body(es, desired, &plan, merge_mode);
        let params = PatchParams::apply(&field_manager(&es.name_any())).force();
        api.patch(name, &params, &Patch::Apply(body))
            .await
            .map_err(|e| err("apply", e))?;
        if live.is_some() {
            return Ok(WriteOutcome::Updated);
        }
        if policy == CreationPolicy::Owner {
            self.cleanup_old_targets(es, ns, name).await?;
        }
        Ok(WriteOutcome::Created)
    }

    /// True when the target Secret is exactly as this writer last wrote it for `es`, judged from
    /// the Secret alone: it carries our keyed fingerprint and that fingerprint matches its whole
    /// content (type, every data key, every label and annotation), and for `Owner` `es` is its
    /// controller. Used after a restart, when no render is cached, to skip a provider call for a
    /// refresh that is not due. Anything another writer added makes this false (a resync then
    /// decides), so it can only err on the side of a provider call; only full-ownership policies
    /// (`Owner`, `Orphan`) can be judged this way.
    pub async fn is_intact(&self, es: &ExternalSecret) -> Result<bool, WriteError> {
        let policy = es.spec.target.creation_policy;
        if !matches!(policy, CreationPolicy::Owner | CreationPolicy::Orphan) {
            return Ok(false);
        }
        let ns = es.namespace().unwrap_or_default();
        let name = es.target_name();
        let live = self
            .api(&ns)
            .get_opt(&name)
            .await
            .map_err(|source| WriteError::Kube {
                namespace: ns.clone(),
                name: name.clone(),
                action: "read",
                source: Box::new(source),
            })?;
        let Some(live) = live else {
            return Ok(false);
        };
        let Some(stored) = live.annotations().get(HMAC_ANNOTATION) else {
            return Ok(false);
        };
        if policy == CreationPolicy::Owner && !is_controlled_by(&live, es) {
            return Ok(false);
        }
        let empty = BTreeMap::new();
        let data = live.data.as_ref().unwrap_or(&empty);
        let fingerprint = self.key.fingerprint(
            live.type_.as_deref().unwrap_or("Opaque"),
            drift::live_pairs(data),
            live.labels(),
            live.annotations(),
        );
        Ok(&fingerprint == stored)
    }

    /// Deletes the Secret if `es` is its controller (deletionPolicy Delete).
    pub async fn delete_owned(
        &self,
        es: &ExternalSecret,
        namespace: &str,
        name: &str,
    ) -> Result<WriteOutcome, WriteError> {
        let api = self.api(namespace);
        let err = |action, source| WriteError::Kube {
            namespace: namespace.to_string(),
            name: name.to_string(),
            action,
            source: Box::new(source),
        };
        let Some(live) = api.get_opt(name).await.map_err(|e| err("read", e))? else {
            return Ok(WriteOutcome::Skipped);
        };
        if !is_controlled_by(&live, es) {
            return Ok(WriteOutcome::Skipped);
        }
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(WriteOutcome::Deleted),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(WriteOutcome::Skipped),
            Err(e) => Err(err("delete", e)),
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
            drift::created_by(namespace, &es.name_any()),
            labels::MANAGED
        );
        let api = self.api(namespace);
        let list = api
            .list_metadata(&ListParams::default().labels(&selector))
            .await
            .map_err(|source| WriteError::Kube {
                namespace: namespace.to_string(),
                name: keep.to_string(),
                action: "list old targets",
                source: Box::new(source),
            })?;
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
                    Err(source) => {
                        return Err(WriteError::Kube {
                            namespace: namespace.to_string(),
                            name: old_name,
                            action: "delete old target",
                            source: Box::new(source),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn plan(&self, es: &ExternalSecret, desired: &DesiredSecret, merge_mode: bool) -> Plan {
        let mut labels = desired.labels.clone();
        labels.insert(labels::MANAGED.to_string(), "true".to_string());
        if desired.creation_policy == CreationPolicy::Owner {
            labels.insert(
                labels::CREATED_BY.to_string(),
                drift::created_by(&desired.namespace, &es.name_any()),
            );
        }
        let mut annotations = desired.annotations.clone();
        let pairs = || desired.data.iter().map(|(k, v)| (k.as_str(), v.expose()));
        if self.eso_data_hash {
            annotations.insert(labels::DATA_HASH.to_string(), drift::eso_data_hash(pairs()));
        }
        let type_ = if merge_mode {
            ""
        } else {
            desired.type_.as_str()
        };
        let fingerprint = self.key.fingerprint(type_, pairs(), &labels, &annotations);
        annotations.insert(HMAC_ANNOTATION.to_string(), fingerprint.clone());
        Plan {
            labels,
            annotations,
            data_keys: desired.data.keys().cloned().collect(),
            merge_mode,
            fingerprint,
        }
    }

    /// True when the live Secret already has everything we own, as desired.
    fn live_matches(
        &self,
        live: &Secret,
        plan: &Plan,
        policy: CreationPolicy,
        es: &ExternalSecret,
    ) -> bool {
        let stored = live.annotations().get(HMAC_ANNOTATION);
        if stored != Some(&plan.fingerprint) {
            return false;
        }
        if policy == CreationPolicy::Owner && !is_controlled_by(live, es) {
            return false;
        }
        live_fingerprint(&self.key, live, plan, plan.merge_mode) == plan.fingerprint
    }

    fn body(
        &self,
        es: &ExternalSecret,
        desired: &DesiredSecret,
        plan: &Plan,
        merge_mode: bool,
    ) -> Value {
        let data: serde_json::Map<String, Value> = desired
            .data
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(STANDARD.encode(v.expose()))))
            .collect();
        let mut metadata = json!({
            "name": desired.name,
            "namespace": desired.namespace,
            "labels": plan.labels,
            "annotations": plan.annotations,
        });
        if !desired.finalizers.is_empty() {
            metadata["finalizers"] = json!(desired.finalizers);
        }
        if desired.creation_policy == CreationPolicy::Owner {
            metadata["ownerReferences"] = json!([{
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "name": es.name_any(),
                "uid": es.meta().uid.clone().unwrap_or_default(),
                "controller": true,
                "blockOwnerDeletion": true,
            }]);
        }
        let mut body = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "data": data,
        });
        if !merge_mode {
            body["type"] = json!(desired.type_);
        }
        if desired.immutable {
            body["immutable"] = json!(true);
        }
        body
    }
}

/// Labels, annotations and fingerprint the writer applies.
struct Plan {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    data_keys: std::collections::BTreeSet<String>,
    merge_mode: bool,
    fingerprint: String,
}

/// Fingerprint of the live Secret restricted to what we own: the desired data keys, our labels
/// and annotations, and the type unless merging. Keys other writers added are theirs (SSA
/// co-ownership) and do not count as drift.
fn live_fingerprint(key: &DriftKey, live: &Secret, plan: &Plan, merge_mode: bool) -> String {
    let empty = BTreeMap::new();
    let data = live.data.as_ref().unwrap_or(&empty);
    let live_type = if merge_mode {
        ""
    } else {
        live.type_.as_deref().unwrap_or("Opaque")
    };
    let owned_labels = restrict(live.labels(), &plan.labels);
    let owned_annotations = restrict(live.annotations(), &plan.annotations);
    let pairs = drift::live_pairs(data).filter(|(k, _)| plan.data_keys.contains(*k));
    key.fingerprint(live_type, pairs, &owned_labels, &owned_annotations)
}

fn restrict(
    live: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    live.iter()
        .filter(|(k, _)| wanted.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether `es` is the controller owner of `secret`.
pub fn is_controlled_by(secret: &Secret, es: &ExternalSecret) -> bool {
    secret
        .owner_references()
        .iter()
        .any(|o| o.controller == Some(true) && Some(&o.uid) == es.meta().uid.as_ref())
}

fn check_controller(
    es: &ExternalSecret,
    live: &Secret,
    policy: CreationPolicy,
) -> Result<(), WriteError> {
    if policy != CreationPolicy::Owner {
        return Ok(());
    }
    let foreign = live
        .owner_references()
        .iter()
        .find(|o| o.controller == Some(true) && Some(&o.uid) != es.meta().uid.as_ref());
    match foreign {
        Some(o) => Err(WriteError::Owned {
            namespace: live.namespace().unwrap_or_default(),
            name: live.name_any(),
            owner_kind: o.kind.clone(),
            owner_name: o.name.clone(),
        }),
        None => Ok(()),
    }
}
