//! Cut-over of any ExternalSecret (the bootstrapper's own, or one a user, Helm or GitOps
//! created) to the `vault` store, and `rollback`.
//!
//! A cut-over step reads the live ExternalSecret, works out which references switch
//! ([`translate`]: every one must be covered by `migration:`), renders the switched form
//! through the operator's engine **in memory**, and proves the result byte-identical to the
//! live target Secret ([`prove`]). Only then does it send one JSON patch that tests the
//! `resourceVersion` the proof saw, changes only those references and records the originals
//! in annotation [`translate::ORIGINAL_ANNOTATION`]. One request: a run killed anywhere leaves
//! the ExternalSecret either untouched or switched, and the next run finishes. The target
//! Secret is never written (the operator, reconciling the changed ExternalSecret, finds it as
//! desired).
//!
//! `rollback` reads the annotation back and restores exactly the recorded references (from any
//! machine), then removes the annotation; a reference edited since the cut-over is left alone
//! and named.

pub mod prove;
pub mod translate;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use secretsync_model::external_secret::ExternalSecret;
use serde_json::Value;

use crate::cluster;
use crate::config::VAULT_STORE;
use crate::context::Bootstrapper;
use crate::execute::StepError;
use crate::observe::ObserveError;
use crate::plan::{KubeObject, State};
use translate::{ORIGINAL_ANNOTATION, Rollback, translate};

/// The ExternalSecret `namespace/name` as the bootstrapper reads and patches it.
fn external_secret_object(namespace: &str, name: &str) -> KubeObject {
    KubeObject {
        api_version: "external-secrets.io/v1".into(),
        kind: "ExternalSecret".into(),
        plural: "externalsecrets".into(),
        namespace: Some(namespace.to_string()),
        name: name.to_string(),
        body: Value::Null,
        also: Vec::new(),
    }
}

/// The stores `changes` switch away from (`aws-secretsmanager, azure-keyvault`).
fn sources(changes: &[translate::Change]) -> String {
    let mut names: Vec<&str> = changes
        .iter()
        .filter(|c| c.path.ends_with("storeRef") || c.path == "/spec/secretStoreRef")
        .filter_map(|c| c.was.as_ref().and_then(|r| r["name"].as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

impl Bootstrapper {
    /// Where the cut-over of `namespace/name` stands: absent, done (nothing left to switch),
    /// pending with why (which stores it reads), or not covered (the first reference).
    pub(crate) async fn observe_cutover(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<State, ObserveError> {
        let obj = external_secret_object(namespace, name);
        let live = cluster::get(&self.client, &obj)
            .await
            .map_err(|source| ObserveError::Kube {
                what: format!("ExternalSecret {namespace}/{name}"),
                source,
            })?;
        let Some(live) = live else {
            return Ok(State::Absent);
        };
        Ok(match translate(&live, &self.config.migration) {
            Err(e) => State::Differs(format!("not covered, will be refused: {e}")),
            Ok(changes) if changes.is_empty() => State::Matches,
            Ok(changes) => State::Differs(format!(
                "reads {}; {} reference field(s) to switch, every one covered by migration; \
                 switched only if rendering through {VAULT_STORE} is byte-identical",
                sources(&changes),
                changes.len()
            )),
        })
    }

    /// Cuts `namespace/name` over (observing again first): proves, then switches.
    pub(crate) async fn cut_over(&self, namespace: &str, name: &str) -> Result<(), StepError> {
        let what = format!("ExternalSecret {namespace}/{name}");
        let obj = external_secret_object(namespace, name);
        let live = cluster::get(&self.client, &obj)
            .await
            .map_err(|e| StepError(format!("reading {what}: {e}")))?
            .ok_or_else(|| StepError(format!("{what} does not exist")))?;
        let changes = translate(&live, &self.config.migration)
            .map_err(|e| StepError(format!("{what}: not cut over: {e}")))?;
        if changes.is_empty() {
            return Ok(());
        }
        let mut switched = live.clone();
        translate::switch(&mut switched, &changes);
        let es: ExternalSecret = serde_json::from_value(switched)
            .map_err(|e| StepError(format!("{what}: reading its cut-over form: {e}")))?;
        let desired = self.render(&es).await?;
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let target = secrets
            .get_opt(&desired.name)
            .await
            .map_err(|e| StepError(format!("reading Secret {namespace}/{}: {e}", desired.name)))?
            .ok_or_else(|| {
                StepError(format!(
                    "{what}: its target Secret {namespace}/{} does not exist, so there is \
                     nothing to prove the cut-over against; not switched",
                    desired.name
                ))
            })?;
        if let Some(diff) = prove::first_difference(&desired, &target) {
            return Err(StepError(format!(
                "{what}: rendering through {VAULT_STORE} differs from Secret {namespace}/{} in \
                 {diff}; not switched (check the migrated value, or the cloud value changed \
                 since migration)",
                desired.name
            )));
        }
        cluster::json_patch(
            &self.client,
            &obj,
            &translate::switch_patch(&live, &changes),
        )
        .await
        .map_err(|e| StepError(format!("switching {what}: {e}")))?;
        tracing::info!(
            es = %what,
            from = %sources(&changes),
            fields = changes.len(),
            "cut over to vault (proven byte-identical; target Secret not written)"
        );
        Ok(())
    }

    /// Switches every ExternalSecret under `cutover:` back to the references recorded on it;
    /// returns what changed.
    pub async fn rollback(&self) -> Result<Vec<String>, StepError> {
        let mut done = Vec::new();
        for c in &self.config.cutover {
            let what = format!("ExternalSecret {}/{}", c.namespace, c.name);
            let obj = external_secret_object(&c.namespace, &c.name);
            let Some(live) = cluster::get(&self.client, &obj)
                .await
                .map_err(|e| StepError(format!("reading {what}: {e}")))?
            else {
                continue;
            };
            let Some(text) = live["metadata"]["annotations"][ORIGINAL_ANNOTATION].as_str() else {
                if translate(&live, &[]) == Ok(Vec::new()) {
                    tracing::warn!(es = %what, "on vault but without {ORIGINAL_ANNOTATION}: nothing recorded to restore");
                }
                continue;
            };
            let changes = translate::parse_record(text).map_err(|e| {
                StepError(format!(
                    "{what}: annotation {ORIGINAL_ANNOTATION}: {e}; not rolled back"
                ))
            })?;
            if let Rollback::Changed(path) = translate::rollback_of(&live, &changes) {
                return Err(StepError(format!(
                    "{what}: {path} was changed since the cut-over (it holds neither the vault \
                     reference nor the original); not rolled back: restore it by hand from \
                     annotation {ORIGINAL_ANNOTATION}"
                )));
            }
            cluster::json_patch(
                &self.client,
                &obj,
                &translate::rollback_patch(&live, &changes),
            )
            .await
            .map_err(|e| StepError(format!("rolling back {what}: {e}")))?;
            let line = format!("{what} back on {}", sources(&changes));
            tracing::info!(es = %what, "rolled back");
            done.push(line);
        }
        Ok(done)
    }
}
